"""Rendering rows for people (a table) and for programs (JSON, CSV).

JSON is an array of flat objects (or one object) with snake_case keys; amounts are
integer yen, codes strings, decimals strings (never floats). CSV and XLSX text cells
that a spreadsheet would run as a formula are prefixed with a quote (OWASP CSV
injection advice); numbers stay numbers.

Files a command writes (`--out`, `--output`, `--export`) go through
`adapters/common/writing.py: write_file`.
"""

from __future__ import annotations

import csv
import io
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from rich.console import Console
from rich.table import Table

from adapters.common.formats import Format
from adapters.queries.rows import as_dicts
from adapters.queries.runs import summary_rows
from adapters.reports.cells import aligned, neutralise
from domain.glossary import HYPOTHESIS_NOTE

if TYPE_CHECKING:
    from domain.allocation_run import AllocationRun


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
        from adapters.reports.xlsx import rows_to_xlsx, write_binary  # noqa: PLC0415

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
        from adapters.reports.xlsx import tables_to_xlsx, write_binary  # noqa: PLC0415

        write_binary(tables_to_xlsx(tables))
        return
    for title, rows in tables:
        render(rows, fmt, title, console)


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
