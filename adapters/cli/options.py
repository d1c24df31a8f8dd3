"""The options that many commands share, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

from adapters.common.formats import Format

FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
YearOption = Annotated[
    int, typer.Option("--fiscal-year", "-y", help="Grant year (交付年度).")
]
EntityOption = Annotated[
    str, typer.Option("--entity", "-e", help="LG code (6 digits).")
]
TierOption = Annotated[str, typer.Option("--tier", help="municipal or prefectural.")]
