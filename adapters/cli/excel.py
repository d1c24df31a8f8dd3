"""`kofu workbook`, `kofu export results|allocations`: Excel in the ministry layouts.

The workbook is the questionnaire an entity answers (read back by `kofu submit`);
the exports are the national tables the ministry publishes, in XLSX or CSV with the
same columns.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console

from adapters.cli.options import AnyTierOption, PhaseOption, YearOption

if TYPE_CHECKING:
    from adapters.kofu import Kofu

Tier = Literal["municipal", "prefectural"]
Grant = Literal["promotion", "effort_support"]

OutputOption = Annotated[
    Path, typer.Option("--output", "-o", help="The file to write (.xlsx or .csv).")
]
ExportPathOption = Annotated[Path | None, typer.Option("--output", "-o")]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force", help="Replace the output file if it exists (a link, not its target)."
    ),
]
TierChoice = Annotated[Tier, typer.Option(help="municipal or prefectural")]
GrantChoice = Annotated[Grant, typer.Option(help="promotion or effort_support")]


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    session: Callable[[], Kofu],
    console: Console,
) -> None:
    """Add the Excel commands to the CLI."""

    @app.command()
    @handled
    def workbook(
        entity: Annotated[str, typer.Option("--entity", "-e", help="LG code.")],
        grant_year: YearOption,
        output: OutputOption,
        tier: AnyTierOption = None,
        blank: Annotated[
            bool,
            typer.Option("--blank", help="Empty answer cells (default: the current)."),
        ] = False,
        force: ForceOption = False,
    ) -> None:
        """Write the self-evaluation workbook (該当状況調査票) of an entity and year.

        Its answer cells hold the entity's answers as they stand (a revision
        changes only what changes); --blank leaves them empty.

        Example: kofu workbook --entity 131041 --fiscal-year 2024 --output 131041.xlsx
        """
        from adapters.common.writing import write_file  # noqa: PLC0415
        from domain.errors import InvalidInput  # noqa: PLC0415

        if output.suffix.lower() != ".xlsx":
            msg = "the workbook is written as .xlsx"
            raise InvalidInput(msg, field="--output")
        with session() as kofu:
            data = kofu.workbook(entity, grant_year, tier, blank=blank)
        write_file(output, data, force=force)
        note = "blank" if blank else "with the current answers"
        console.print(f"workbook written to {output} ({note})")

    export = typer.Typer(
        help="The ministry's national tables (XLSX or CSV).", no_args_is_help=True
    )
    app.add_typer(export, name="export")

    @export.command("results")
    @handled
    def results(
        grant_year: YearOption,
        tier: TierChoice = "municipal",
        grant: GrantChoice = "promotion",
        fmt: ExportFormatOption = ExportFormat.xlsx,
        output: ExportPathOption = None,
        encoding: EncodingOption = None,
        force: ForceOption = False,
    ) -> None:
        """評価結果: a row per entity, points per sub-item, total, rank, statistics.

        Example: kofu export results -y 2020 -f csv -o results.csv --encoding shift_jis
        """
        with session() as kofu:
            data = kofu.results_file(
                grant_year, tier, grant, csv=fmt is ExportFormat.csv
            )
        emit(data, fmt, output, force=force, encoding=encoding)

    @export.command("allocations")
    @handled
    def allocations(
        grant_year: YearOption,
        tier: TierChoice = "municipal",
        grant: GrantChoice = "promotion",
        phase: PhaseOption = None,
        fmt: ExportFormatOption = ExportFormat.xlsx,
        output: ExportPathOption = None,
        encoding: EncodingOption = None,
        force: ForceOption = False,
    ) -> None:
        """交付額: the run in force, one row per entity, amounts in 千円 (exact).

        Example: kofu export allocations -y 2020 -f csv -o allocations.csv
        """
        with session() as kofu:
            data = kofu.allocations_file(
                grant_year, tier, grant, phase, csv=fmt is ExportFormat.csv
            )
        emit(data, fmt, output, force=force, encoding=encoding)


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
