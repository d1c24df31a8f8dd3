"""Rendering rows for people (a table) and for programs (JSON, CSV).

JSON is an array of flat objects (or one object) with snake_case keys; amounts are
integer yen, codes strings, decimals strings (never floats). CSV and XLSX text cells
that a spreadsheet would run as a formula are prefixed with a quote (OWASP CSV
injection advice); numbers stay numbers.

Files a command writes (`--out`, `--output`, `--export`) go through `write_file`:
it never replaces an existing file or follows a symbolic link unless told to
(`--force`), and any failure is a bad-input error naming the path and the reason.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import stat
import sys
import tempfile
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from rich.console import Console
from rich.table import Table

from adapters.queries.rows import as_dicts
from adapters.queries.runs import HYPOTHESIS_NOTE, summary_rows
from domain.errors import InvalidInput

if TYPE_CHECKING:
    from domain.runs import AllocationRun


class Format(StrEnum):
    """Output formats of read commands."""

    table = "table"
    json = "json"
    csv = "csv"
    html = "html"
    xlsx = "xlsx"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Text a spreadsheet would run as a formula, prefixed with a quote.

    A text that is a plain number (such as -5 or +3.5) is left as it is: a
    spreadsheet reads it as that number, not as a formula.
    """
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _plain(value: object) -> object:
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def to_json(data: Any, *, indent: bool = True) -> str:
    """Serialise rows or an object as JSON (decimals as strings)."""
    option = orjson.OPT_INDENT_2 if indent else 0
    return orjson.dumps(data, default=_plain, option=option).decode()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return neutralise(str(_plain(value)))


def _is_number(text: str) -> bool:
    try:
        number = Decimal(text)
    except ArithmeticError:
        return False
    return number.is_finite() and text == text.strip()


def aligned(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with every column any of them has, in order of first appearance.

    Rows of different kinds (audit-trail events with their own fields) then share
    one header, each value under its own column, empty where a row has none.
    """
    columns = list(dict.fromkeys(key for row in rows for key in row))
    if all(list(row) == columns for row in rows):
        return rows
    return [{column: row.get(column) for column in columns} for row in rows]


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Serialise rows as CSV with a header (formula-like cells neutralised)."""
    buffer = io.StringIO()
    rows = aligned(rows)
    if rows:
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(list(rows[0]))
        for row in rows:
            writer.writerow([_cell(v) for v in row.values()])
    return buffer.getvalue()


def templates() -> Environment:
    """The HTML templates shipped with kofu (autoescaped)."""
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )


def to_html(rows: list[dict[str, Any]], title: str) -> str:
    """Rows as a standalone HTML page (a table), for reading and printing."""
    plain = [{k: _cell(v) for k, v in row.items()} for row in aligned(rows)]
    return templates().get_template("table.html.j2").render(title=title, rows=plain)


def render(
    rows: list[dict[str, Any]] | dict[str, Any],
    fmt: Format,
    title: str | None = None,
    console: Console | None = None,
) -> None:
    """Print rows in the chosen format."""
    if fmt is Format.json:
        sys.stdout.write(to_json(rows) + "\n")
        return
    listed = aligned([rows] if isinstance(rows, dict) else rows)
    if fmt is Format.csv:
        sys.stdout.write(to_csv(listed))
        return
    if fmt is Format.html:
        sys.stdout.write(to_html(listed, title or "kofu"))
        return
    if fmt is Format.xlsx:
        from adapters.xlsx import rows_to_xlsx, write_binary  # noqa: PLC0415

        write_binary(rows_to_xlsx(listed, title or "kofu"))
        return
    console = console or Console()
    if not listed:
        console.print(f"[dim]{title + ': ' if title else ''}nothing to show[/dim]")
        return
    table = Table(title=title, show_lines=False)
    for column in listed[0]:
        table.add_column(column, overflow="fold")
    for row in listed:
        table.add_row(*(_cell(v) for v in row.values()))
    console.print(table)


def render_all(
    tables: list[tuple[str, list[dict[str, Any]]]],
    fmt: Format,
    console: Console | None = None,
) -> None:
    """Print several titled tables; as XLSX, one workbook with a sheet each."""
    if fmt is Format.xlsx:
        from adapters.xlsx import tables_to_xlsx, write_binary  # noqa: PLC0415

        write_binary(tables_to_xlsx(tables))
        return
    for title, rows in tables:
        render(rows, fmt, title, console)


def _cannot(path: Path, exc: OSError) -> InvalidInput:
    if exc.errno == errno.EEXIST:
        reason = "it already exists (give --force to replace it)"
    elif exc.errno == errno.ELOOP:
        reason = "it is a symbolic link (give --force to replace the link itself)"
    else:
        reason = exc.strerror or type(exc).__name__
    return InvalidInput(f"cannot write: {reason}", field=str(path))


def check_target(path: Path, *, force: bool = False, folder: bool = False) -> None:
    """Refuse, before anything is done, a place `write_file` would refuse.

    A command that records something (a seal, a chain extension) before it writes
    its file checks the place first, so that a bad path writes nothing at all.
    `write_file` still opens the file exclusively: this check is not what protects.

    Raises:
        InvalidInput: something that may not be replaced is there, or (`folder`)
            a file that is not a folder.
    """
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        if not folder and not path.parent.is_dir():
            msg = f"cannot write: no such folder {path.parent}"
            raise InvalidInput(msg, field=str(path)) from None
        return
    except OSError as exc:
        raise _cannot(path, exc) from None
    except ValueError:  # a NUL in the path: no file can have that name
        msg = "cannot write: the path holds a NUL character"
        raise InvalidInput(msg, field=repr(str(path))) from None
    if folder:
        if not stat.S_ISDIR(path.stat().st_mode):
            msg = "cannot write: it exists and is not a folder"
            raise InvalidInput(msg, field=str(path))
        return
    if stat.S_ISLNK(mode) and not force:
        raise _cannot(path, OSError(errno.ELOOP, "symbolic link"))
    if stat.S_ISLNK(mode) and _links_to_special(path):
        # e.g. /dev/stdout: replacing that link would break the system's own.
        msg = (
            "cannot write: a symbolic link to a device, pipe or folder, or one of "
            "the system's in /dev or /proc (not replaced, not followed)"
        )
        raise InvalidInput(msg, field=str(path))
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        msg = "cannot write: not a regular file (a folder, device or pipe)"
        raise InvalidInput(msg, field=str(path))
    if not force:
        raise _cannot(path, OSError(errno.EEXIST, "exists"))


_SYSTEM_FOLDERS = ("/dev/", "/proc/")


def _links_to_special(path: Path) -> bool:
    """Whether the link `path` is one of the system's or leads to no regular file.

    /dev/stdout (a link in /dev to /proc/self/fd/1) is the example: replacing it
    would break the system's own link, whatever fd 1 is at the moment.
    """
    try:
        text = str(path.readlink())
        folder = str(path.parent.resolve()) + "/"
    except OSError:
        return False
    if folder.startswith(_SYSTEM_FOLDERS) or text.startswith(_SYSTEM_FOLDERS):
        return True
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False  # a dangling link (or a loop): replacing it harms nothing


def write_file(path: Path, data: bytes, *, force: bool = False) -> None:
    """Write a new file at `path`; with `force`, replace what is there.

    Without `force` the file is created with O_CREAT|O_EXCL|O_NOFOLLOW: an existing
    file, a symbolic link (even a dangling one), a device or a folder there is left
    alone and refused. With `force`, the bytes go to a new file beside it that then
    takes the name (`os.replace`): a symbolic link is replaced, never followed, and
    something that is not a regular file or a link (a device, a folder) is refused,
    as is a link to one or a link of the system's (/dev/stdout). A path with a NUL
    is refused by name.
    A file left half-written by a failure is removed.

    Raises:
        InvalidInput: it cannot be written (names the path and the reason).
    """
    check_target(path, force=force)
    if force:
        _replace(path, data)
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise _cannot(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as target:
            target.write(data)
    except OSError as exc:
        with contextlib.suppress(OSError):
            path.unlink()
        raise _cannot(path, exc) from None


def _replace(path: Path, data: bytes) -> None:
    try:
        with contextlib.suppress(FileNotFoundError):
            mode = path.lstat().st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                msg = "cannot write: not a regular file (a folder, device or pipe)"
                raise InvalidInput(msg, field=str(path))
        fd, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".part", dir=path.parent
        )
    except OSError as exc:
        raise _cannot(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as target:
            target.write(data)
        Path(temporary).chmod(0o644)
        Path(temporary).replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise _cannot(path, exc) from None


def write_files(folder: Path, files: dict[str, bytes], *, force: bool = False) -> None:
    """Write several files into `folder` (made if missing), all or, on failure, none.

    Raises:
        InvalidInput: the folder or a file cannot be written; the files this call
            created are removed again (with `force`, the ones it replaced stay).
    """
    check_target(folder, folder=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot(folder, exc) from None
    written: list[Path] = []
    try:
        for name, content in files.items():
            target = folder / name
            existed = target.is_symlink() or target.exists()
            write_file(target, content, force=force)
            if not existed:
                written.append(target)
    except InvalidInput:
        for target in written:
            with contextlib.suppress(OSError):
                target.unlink()
        raise


_TABLE_COLUMNS = (
    "run_id",
    "paid",
    "budget_yen",
    "allocated_yen",
    "remainder_yen",
    "capped_off_yen",
    "adjustments_yen",
)


def print_runs(runs: list[AllocationRun], title: str, console: Console) -> None:
    """A compact table of runs for people, then each rule label once."""
    rows = [
        {
            k: (f"{v:,}" if isinstance(v, int) and k.endswith("_yen") else v)
            for k, v in row.items()
            if k in _TABLE_COLUMNS
        }
        for row in as_dicts(summary_rows(runs))
    ]
    for row, run in zip(rows, runs, strict=True):
        row["paid"] = f"{row['paid']}/{len(run.calculated.results)}"
    render(rows, Format.table, title, console)
    for label in sorted({run.calculated.label for run in runs}):
        console.print(f"  rule: {label}", highlight=False)
    if any(run.calculated.hypothesis for run in runs):
        console.print(f"[yellow]{HYPOTHESIS_NOTE}[/yellow]")
