"""`kofu trajectory` and `kofu trend`: the grant years side by side (issue 18)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from adapters.cli.options import EntityOption, FormatOption, GrantOption
from adapters.common.formats import Format

if TYPE_CHECKING:
    import typer

    from domain.ledger import Ledger


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    ledger: Callable[[], AbstractContextManager[Ledger]],
) -> None:
    """Add the commands of the years side by side to the CLI."""

    @app.command()
    @handled
    def trajectory(
        entity: EntityOption,
        grant: GrantOption = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """An entity's years side by side: score, rank, band, amount, and why.

        Each year's change of amount against the year before is split into the
        pool budget, own insured, own score, the others' scores, and rounding,
        caps and eligibility; a change of size band or rule is flagged.

        Example: kofu trajectory --entity 131041 --format csv
        """
        from adapters.queries.rows import as_dicts  # noqa: PLC0415
        from adapters.queries.trajectory import trajectory as years  # noqa: PLC0415
        from adapters.reports.output import render  # noqa: PLC0415

        with ledger() as opened:
            rows = as_dicts(years(opened, entity, grant))
        render(rows, fmt, "trajectory")

    @app.command()
    @handled
    def trend(fmt: FormatOption = Format.table) -> None:
        """The nation year by year: budgets, totals, mean score by band, quartiles.

        Example: kofu trend --format json
        """
        from adapters.queries.rows import as_dicts  # noqa: PLC0415
        from adapters.queries.trajectory import national_trend  # noqa: PLC0415
        from adapters.reports.output import render  # noqa: PLC0415

        with ledger() as opened:
            rows = as_dicts(national_trend(opened))
        render(rows, fmt, "trend")
