"""Writing tables as XLSX: numbers stay numbers, text never becomes a formula.

Text cells go through `cells.neutralise` (as CSV cells do): a text beginning with
=, +, -, @, tab or CR gets a leading quote, so Excel shows it and never runs it.
Characters XML cannot hold are replaced by U+FFFD instead of failing the export.
"""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from adapters.common.parsing import read_bytes
from adapters.reports.cells import aligned, neutralise
from domain.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path

    from openpyxl.worksheet.worksheet import Worksheet

MAX_UNZIPPED_BYTES = 256 * 1024 * 1024
"""A workbook that inflates beyond this is refused before it is parsed."""

HEAD_FONT = Font(bold=True)
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_SHEET_NAME_BAD = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))


CellValue = bool | int | float | Decimal | str | None


def cell_value(value: object) -> CellValue:
    """A value as an XLSX cell holds it: numbers as numbers, everything else text."""
    if value is None or isinstance(value, bool | int | Decimal | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))
    return neutralise(text)


def write_table(
    sheet: Worksheet,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    first_row: int = 1,
) -> int:
    """Write a header and rows from `first_row`; return the last row written."""
    for column, name in enumerate(header, start=1):
        cell = sheet.cell(first_row, column, cell_value(name))
        cell.font, cell.fill = HEAD_FONT, HEAD_FILL
    last = first_row
    for last, row in enumerate(rows, start=first_row + 1):
        for column, value in enumerate(row, start=1):
            sheet.cell(last, column, cell_value(value))
    sheet.freeze_panes = sheet.cell(first_row + 1, 1).coordinate
    for column, name in enumerate(header, start=1):
        width = max(8, min(40, len(str(name)) * 2 + 2))
        sheet.column_dimensions[get_column_letter(column)].width = width
    return last


def sheet_name(title: str) -> str:
    """A title shortened and cleaned to what Excel allows as a sheet name."""
    return title.translate(_SHEET_NAME_BAD)[:31] or "kofu"


def to_bytes(book: Workbook) -> bytes:
    """The workbook as the bytes of an .xlsx file."""
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rows_to_xlsx(rows: list[dict[str, Any]], title: str) -> bytes:
    """Flat rows (as the other formats render them) as a one-sheet workbook."""
    return tables_to_xlsx([(title, rows)])


def tables_to_xlsx(tables: list[tuple[str, list[dict[str, Any]]]]) -> bytes:
    """Several titled tables of flat rows, one sheet each, in one workbook."""
    book = Workbook()
    first = book.active
    assert first is not None  # noqa: S101 - a new workbook has one sheet
    book.remove(first)
    for index, (title, given) in enumerate(tables, start=1):
        sheet = book.create_sheet(f"{index} {sheet_name(title)}"[:31])
        rows = aligned(given)
        header = list(rows[0]) if rows else []
        write_table(sheet, header, (list(r.values()) for r in rows))
    return to_bytes(book)


def write_binary(data: bytes) -> None:
    """Write bytes to standard output, unless it is a terminal.

    Raises:
        InvalidInput: standard output is a terminal.
    """
    if sys.stdout.isatty():
        msg = "xlsx is binary: redirect it to a file (> out.xlsx)"
        raise InvalidInput(msg, field="--format")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def open_workbook(path: Path) -> Workbook:
    """Open an .xlsx file for reading its values (formulas as last calculated).

    Raises:
        InvalidInput: missing, too large, inflating too far, or not a workbook.
    """
    data = BytesIO(read_bytes(path))  # a regular file within the input size limit
    try:
        with zipfile.ZipFile(data) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
        too_big = inflated > MAX_UNZIPPED_BYTES
        book = None if too_big else load_workbook(data, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on bad files
        msg = (
            "not a readable Excel workbook (.xlsx); it may be truncated, damaged or "
            f"of another format ({type(exc).__name__}: {exc})"
        )
        raise InvalidInput(msg, field=str(path)) from None
    if book is None:
        msg = f"inflates to {inflated:,} bytes, over the {MAX_UNZIPPED_BYTES:,} limit"
        raise InvalidInput(msg, field=str(path))
    return book
