"""`kofu submissions` and `kofu history`: the self-evaluations and their events."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from adapters.cli.options import (
    AnyTierOption,
    EntityOption,
    FormatOption,
    PrefectureOption,
    YearOption,
)
from adapters.common.formats import Format

if TYPE_CHECKING:
    import typer

    from domain.ledger import Ledger


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    ledger: Callable[[], AbstractContextManager[Ledger]],
) -> None:
    """Add the self-evaluation commands to the CLI."""

    @app.command()
    @handled
    def submissions(
        grant_year: YearOption,
        tier: AnyTierOption = None,
        prefecture: PrefectureOption = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """List the self-evaluations of a grant year and their status."""
        from adapters.queries.rows import as_dicts  # noqa: PLC0415
        from adapters.queries.submissions import submission_rows  # noqa: PLC0415
        from adapters.reports.output import render  # noqa: PLC0415

        with ledger() as opened:
            rows = submission_rows(opened, grant_year, tier, prefecture)
            render(as_dicts(rows), fmt, f"FY{grant_year} self-evaluations")

    @app.command()
    @handled
    def history(
        entity: EntityOption,
        grant_year: YearOption,
        tier: AnyTierOption = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Every event of an entity's self-evaluation, oldest first."""
        from adapters.queries.rows import as_dicts  # noqa: PLC0415
        from adapters.queries.submissions import history_rows  # noqa: PLC0415
        from adapters.reports.output import render  # noqa: PLC0415

        with ledger() as opened:
            details = opened.entity(entity)
            chosen = tier or (
                "municipal" if details.kind == "municipality" else "prefectural"
            )
            evaluation = opened.self_evaluation(entity, grant_year, chosen)
            rows = history_rows(opened, evaluation)
            title = f"{details.name} FY{grant_year}"
            unsealed = sum(not row.sealed for row in rows)
            if unsealed:
                title += f" — 未封印 {unsealed} 件 (unsealed)"
            render(as_dicts(rows), fmt, title)
