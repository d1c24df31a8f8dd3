"""Cells as a spreadsheet reads them: formula-like text neutralised, rows aligned.

Shared by the CSV/table rendering (`output.py`) and the XLSX rendering (`xlsx.py`), so
that neither imports the other for it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Text a spreadsheet would run as a formula, prefixed with a quote.

    A text that is a plain number (such as -5 or +3.5) is left as it is: a
    spreadsheet reads it as that number, not as a formula.
    """
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


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
