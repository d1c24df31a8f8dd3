"""`kofu projections status|rebuild|follow` and `kofu audit`: the read models."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from adapters.cli.options import (
    AnyTierOption,
    EntityOption,
    FormatOption,
    GrantRequired,
    PrefectureOption,
    TierOption,
    YearOption,
)
from adapters.common.formats import Format

if TYPE_CHECKING:
    from adapters.kofu import Kofu


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    session: Callable[[], Kofu],
    console: Console,
) -> None:
    """Add the read-model commands to the CLI."""
    group = typer.Typer(
        help="Read models for downstream readers.", no_args_is_help=True
    )
    app.add_typer(group, name="projections")

    @group.command("status")
    @handled
    def status(fmt: FormatOption = Format.table) -> None:
        """How far each read model has projected the ledger."""
        from adapters.queries.rows import as_dicts  # noqa: PLC0415
        from adapters.queries.status import projection_status  # noqa: PLC0415
        from adapters.reports.output import render  # noqa: PLC0415

        with session() as kofu:
            store = kofu.store(catch_up_first=False)
            rows = projection_status(kofu.ledger, store)
            render(as_dicts(rows), fmt, "read models")

    @group.command("rebuild")
    @handled
    def rebuild_command(
        batch: Annotated[int, typer.Option(min=1, max=100_000)] = 1000,
    ) -> None:
        """Rebuild every read model from position 0 beside the live one, then switch."""
        from adapters.common.progress import progress  # noqa: PLC0415

        with session() as kofu:
            total = kofu.ledger.count_events()
            with progress(console, "rebuilding read models", total) as advance:
                rebuilt = kofu.rebuild(batch, progress=advance)
            console.print(
                f"read models rebuilt to position {rebuilt.position} "
                f"(generation {rebuilt.generation})"
            )

    @group.command("follow")
    @handled
    def follow_command(
        interval: Annotated[float, typer.Option(min=0.05, max=60)] = 0.5,
    ) -> None:
        """Keep the read models up to date as events are recorded (Ctrl-C stops)."""
        with session() as kofu:
            console.print(f"following from position {kofu.projected().position}")
            try:
                kofu.follow(
                    interval,
                    lambda n, position: console.print(
                        f"+{n} events → position {position}"
                    ),
                )
            except KeyboardInterrupt:
                console.print(f"stopped at position {kofu.projected().position}")

    @app.command("status")
    @handled
    def status_board(
        grant_year: YearOption,
        tier: AnyTierOption = None,
        prefecture: PrefectureOption = None,
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="A ledger position or an ISO time."),
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """The submission status board: submitted, revised, confirmed, corrected."""
        from adapters.queries.rows import as_dicts  # noqa: PLC0415
        from adapters.queries.submissions import submission_status  # noqa: PLC0415
        from adapters.reports.output import render  # noqa: PLC0415

        with session() as kofu, kofu.reading(as_of) as store:
            rows = submission_status(store, grant_year, tier, prefecture)
            render(as_dicts(rows), fmt, f"FY{grant_year} submission status")

    @app.command()
    @handled
    def scores(
        grant_year: YearOption,
        grant: GrantRequired = "promotion",
        tier: TierOption = "municipal",
        items: Annotated[
            bool, typer.Option("--items", help="One column per sub-item.")
        ] = False,
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="A ledger position or an ISO time."),
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Scores as the answers stand, ranked (the national results table)."""
        from adapters.queries.rows import as_dicts  # noqa: PLC0415
        from adapters.queries.scores import score_rows  # noqa: PLC0415
        from adapters.reports.output import render  # noqa: PLC0415

        where: dict[str, object] = {
            "grant_year": grant_year,
            "tier": tier,
            "grant": grant,
        }
        with session() as kofu, kofu.reading(as_of) as store:
            rows = score_rows(kofu.ledger, store, where, items)
            render(as_dicts(rows), fmt, f"FY{grant_year} {grant} {tier} scores")

    @app.command()
    @handled
    def audit(
        entity: EntityOption,
        grant_year: YearOption,
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="A ledger position or an ISO time."),
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """The audit trail of one entity and year: every event, in ledger order.

        `sealed` is false for an event no trusted signed checkpoint covers (未封印).
        """
        from adapters.queries.asof import position_as_of  # noqa: PLC0415
        from adapters.queries.rows import as_dicts  # noqa: PLC0415
        from adapters.queries.trail import audit_trail  # noqa: PLC0415
        from adapters.reports.output import render  # noqa: PLC0415

        with session() as kofu:
            kofu.ledger.entity(entity)
            up_to = position_as_of(kofu.ledger, as_of) if as_of else None
            rows = audit_trail(kofu.store(), entity, grant_year, up_to)
            unsigned = kofu.unsigned([row.position for row in rows])
            title = f"audit trail {entity} FY{grant_year}"
            if unsigned:
                title += f" — 未封印 {len(unsigned)} 件 (unsealed)"
            flagged = [
                row | {"sealed": row["position"] not in unsigned}
                for row in as_dicts(rows)
            ]
            render(flagged, fmt, title)
