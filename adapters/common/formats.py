"""The output formats of read commands.

Light on purpose: the command line's options need it before anything heavy loads.
"""

from __future__ import annotations

from enum import StrEnum


class Format(StrEnum):
    """Output formats of read commands."""

    table = "table"
    json = "json"
    csv = "csv"
    html = "html"
    xlsx = "xlsx"
