"""`kofu workbook`, `kofu export results|allocations`: Excel in the ministry layouts.

The workbook is the questionnaire an entity answers (read back by `kofu submit`);
the exports are the national tables the ministry publishes, in XLSX or CSV with the
same columns.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from domain.errors import InvalidInput

if TYPE_CHECKING:
    from domain.ledger import Ledger

OutputOption = Annotated[
    Path, typer.Option("--output", "-o", help="The file to write (.xlsx or .csv).")
]


def write_bytes(path: Path, data: bytes) -> None:
    """Write a whole file, naming it if that fails.

    Raises:
        InvalidInput: the file cannot be written.
    """
    try:
        path.write_bytes(data)
    except OSError as exc:
        msg = f"cannot write: {exc.strerror}"
        raise InvalidInput(msg, field=str(path)) from None


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
        fiscal_year: Annotated[int, typer.Option("--fiscal-year", "-y")],
        output: OutputOption,
        tier: Annotated[
            str | None, typer.Option(help="Default: the entity's own tier.")
        ] = None,
    ) -> None:
        """Write the self-evaluation workbook (該当状況調査票) of an entity and year."""
        from io import BytesIO  # noqa: PLC0415

        from adapters.workbook import build_workbook  # noqa: PLC0415

        if output.suffix.lower() != ".xlsx":
            msg = "the workbook is written as .xlsx"
            raise InvalidInput(msg, field="--output")
        with ledger() as opened:
            book = build_workbook(opened, entity, fiscal_year, tier)
        buffer = BytesIO()
        book.save(buffer)
        write_bytes(output, buffer.getvalue())
        console.print(f"workbook written to {output}")
