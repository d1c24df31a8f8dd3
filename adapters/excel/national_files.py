"""The national tables as files: XLSX or CSV, the same columns in both.

`kofu export results|allocations` writes them (through the application facade);
the tables themselves are built in `national_tables.py`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.styles import Alignment

from adapters.reports.output import to_csv
from adapters.reports.xlsx import HEAD_FONT, sheet_name, to_bytes, write_table

if TYPE_CHECKING:
    from adapters.excel.national_tables import NationalTable


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
    for row in first.iter_rows(min_row=2, max_row=last):
        for cell in row:
            cell.number_format = number_format(cell.value)
    for row in first.iter_rows(min_row=last - len(table.footer) + 1, max_row=last):
        for cell in row:
            cell.font = HEAD_FONT
            if isinstance(cell.value, float):
                cell.number_format = "0.00"
    about = book.create_sheet("説明")
    last = write_table(about, ["項目", "内容"], table.notes)
    for (cell,) in about.iter_rows(min_row=2, max_row=last, min_col=2, max_col=2):
        cell.number_format = number_format(cell.value)
        cell.alignment = Alignment(horizontal="left", wrap_text=True)
    about.column_dimensions["B"].width = 80
    return to_bytes(book)


def number_format(value: object) -> str:
    """How a cell shows its number (text: as it is).

    Yen and counts with separators (#,##0); thousands of yen exact to the yen.
    """
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return "General"
    if isinstance(value, Decimal) and value != value.to_integral_value():
        return "#,##0.0##"
    return "#,##0"


def table_file(table: NationalTable, sheet: str, *, csv: bool = False) -> bytes:
    """The table as the bytes of a file: an XLSX workbook, or UTF-8 CSV."""
    if csv:
        return table_csv(table).encode("utf-8")
    return table_xlsx(table, sheet)
