"""`kofu workbook`, `kofu export results|allocations`: Excel in the ministry layouts.

The workbook is the questionnaire an entity answers (read back by `kofu submit`);
the exports are the national tables the ministry publishes, in XLSX or CSV with the
same columns.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from openpyxl import Workbook
from rich.console import Console

from adapters.cli.options import YearOption
from adapters.common.writing import write_file
from adapters.excel.national_tables import NationalTable
from adapters.reports.output import to_csv
from adapters.reports.xlsx import (
    HEAD_FONT,
    sheet_name,
    to_bytes,
    write_binary,
    write_table,
)
from domain.errors import InvalidInput

if TYPE_CHECKING:
    from domain.ledger import Ledger

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
    ledger: Callable[[], AbstractContextManager[Ledger]],
    console: Console,
) -> None:
    """Add the Excel commands to the CLI."""

    @app.command()
    @handled
    def workbook(
        entity: Annotated[str, typer.Option("--entity", "-e", help="LG code.")],
        fiscal_year: YearOption,
        output: OutputOption,
        tier: Annotated[
            str | None, typer.Option(help="Default: the entity's own tier.")
        ] = None,
        force: ForceOption = False,
    ) -> None:
        """Write the self-evaluation workbook (該当状況調査票) of an entity and year."""
        from io import BytesIO  # noqa: PLC0415

        from adapters.excel.workbook import build_workbook  # noqa: PLC0415

        if output.suffix.lower() != ".xlsx":
            msg = "the workbook is written as .xlsx"
            raise InvalidInput(msg, field="--output")
        with ledger() as opened:
            book = build_workbook(opened, entity, fiscal_year, tier)
        buffer = BytesIO()
        book.save(buffer)
        write_file(output, buffer.getvalue(), force=force)
        console.print(f"workbook written to {output}")

    export = typer.Typer(
        help="The ministry's national tables (XLSX or CSV).", no_args_is_help=True
    )
    app.add_typer(export, name="export")

    @export.command("results")
    @handled
    def results(
        fiscal_year: YearOption,
        tier: TierChoice = "municipal",
        grant: GrantChoice = "promotion",
        fmt: ExportFormatOption = ExportFormat.xlsx,
        output: ExportPathOption = None,
        force: ForceOption = False,
    ) -> None:
        """評価結果: a row per entity, points per sub-item, total, rank, statistics."""
        from adapters.excel.national_tables import results_table  # noqa: PLC0415
        from adapters.queries.asof import fresh_store  # noqa: PLC0415

        with ledger() as opened:
            table = results_table(opened, fresh_store(opened), fiscal_year, tier, grant)
        emit(table, fmt, output, "評価結果", force=force)

    @export.command("allocations")
    @handled
    def allocations(
        fiscal_year: YearOption,
        tier: TierChoice = "municipal",
        grant: GrantChoice = "promotion",
        phase: Annotated[
            str | None, typer.Option(help="Default: the latest phase run.")
        ] = None,
        fmt: ExportFormatOption = ExportFormat.xlsx,
        output: ExportPathOption = None,
        force: ForceOption = False,
    ) -> None:
        """交付額: the run in force, one row per entity, amounts in 千円 (exact)."""
        from adapters.excel.national_tables import allocation_table  # noqa: PLC0415

        with ledger() as opened:
            table = allocation_table(opened, fiscal_year, grant, tier, phase)
        emit(table, fmt, output, "交付額", force=force)


class ExportFormat(StrEnum):
    """Formats of the national tables (the same columns in both)."""

    xlsx = "xlsx"
    csv = "csv"


ExportFormatOption = Annotated[
    ExportFormat, typer.Option("--format", "-f", help="xlsx or csv.")
]


def table_csv(table: NationalTable) -> str:
    """The table as CSV: header, entity rows, summary rows (formulas neutralised)."""
    return to_csv([dict(zip(table.header, row, strict=True)) for row in table.lines()])


def table_xlsx(table: NationalTable, sheet: str) -> bytes:
    """The table on its first sheet (the CSV's layout), the notes on sheet 説明."""
    book = Workbook()
    first = book.active
    assert first is not None  # noqa: S101 - a new workbook has one sheet
    first.title = sheet_name(sheet)
    last = write_table(first, table.header, table.lines())
    for row in first.iter_rows(min_row=last - len(table.footer) + 1, max_row=last):
        for cell in row:
            cell.font = HEAD_FONT
            if isinstance(cell.value, float):
                cell.number_format = "0.00"
    about = book.create_sheet("説明")
    write_table(about, ["項目", "内容"], table.notes)
    about.column_dimensions["B"].width = 80
    return to_bytes(book)


def emit(
    table: NationalTable,
    fmt: ExportFormat,
    output: Path | None,
    sheet: str,
    *,
    force: bool = False,
) -> None:
    """Write the table to `output` (`write_file`), or to standard output."""
    if fmt is ExportFormat.csv:
        text = table_csv(table)
        if output is None:
            sys.stdout.write(text)
        else:
            write_file(output, text.encode("utf-8"), force=force)
        return
    data = table_xlsx(table, sheet)
    if output is None:
        write_binary(data)
    else:
        write_file(output, data, force=force)
