"""How a national table leaves the command line: its format, its encoding, its file.

XLSX, or CSV for Excel (a BOM by default in a file, `--encoding` utf-8-sig, utf-8
or shift_jis) and plain UTF-8 CSV on standard output for scripts (docs/FORMATS.md).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class ExportFormat(StrEnum):
    """Formats of the national tables (the same columns in both)."""

    xlsx = "xlsx"
    csv = "csv"


ExportFormatOption = Annotated[
    ExportFormat, typer.Option("--format", "-f", help="xlsx or csv.")
]


class Encoding(StrEnum):
    """Encodings of an exported CSV file."""

    utf_8_sig = "utf-8-sig"
    utf_8 = "utf-8"
    shift_jis = "shift_jis"


EncodingOption = Annotated[
    Encoding | None,
    typer.Option(
        "--encoding",
        help="CSV encoding: utf-8-sig (with BOM: Excel reads it; the default for "
        "--output), utf-8 (the default on standard output), or shift_jis (cp932).",
    ),
]
_CODECS = {
    Encoding.utf_8_sig: "utf-8-sig",
    Encoding.utf_8: "utf-8",
    Encoding.shift_jis: "cp932",
}


def encoded(text: str, encoding: Encoding) -> bytes:
    """A CSV text in `encoding`; a character Shift_JIS cannot hold is named.

    Raises:
        InvalidInput: the character, its line and column, and what to do instead.
    """
    from domain.errors import InvalidInput  # noqa: PLC0415

    try:
        return text.encode(_CODECS[encoding])
    except UnicodeEncodeError as exc:
        before = text[: exc.start]
        line = before.count("\n") + 1
        column = exc.start - (before.rfind("\n") + 1) + 1
        character = text[exc.start]
        msg = (
            f"line {line}, character {column}: {character!r} (U+{ord(character):04X}) "
            f"cannot be written in {encoding.value}; use --encoding utf-8-sig, which "
            "Excel also reads"
        )
        raise InvalidInput(msg, field="--encoding") from None


def emit(
    data: bytes,
    fmt: ExportFormat,
    output: Path | None,
    *,
    force: bool = False,
    encoding: Encoding | None = None,
) -> None:
    """Write a table's file to `output` (`write_file`), or to standard output.

    A CSV file written for Excel gets a BOM unless another `encoding` is asked
    for; on standard output it stays plain UTF-8 for scripts.
    """
    from adapters.common.writing import write_file  # noqa: PLC0415
    from adapters.reports.xlsx import write_binary  # noqa: PLC0415
    from domain.errors import InvalidInput  # noqa: PLC0415

    if fmt is ExportFormat.csv:
        default = Encoding.utf_8 if output is None else Encoding.utf_8_sig
        data = encoded(data.decode("utf-8"), encoding or default)
    elif encoding is not None:
        msg = "--encoding applies to --format csv only (xlsx has its own)"
        raise InvalidInput(msg, field="--encoding")
    if output is not None:
        write_file(output, data, force=force)
    elif fmt is ExportFormat.csv:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_binary(data)
