"""`kofu projections status|rebuild|follow` and `kofu audit`: the read models."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from adapters.cli.options import EntityOption, FormatOption, YearOption
from adapters.common.progress import progress
from adapters.queries.asof import fresh_store, position_as_of, reading
from adapters.queries.rows import as_dicts
from adapters.queries.scores import score_rows
from adapters.queries.submissions import submission_status
from adapters.queries.trail import audit_trail
from adapters.reports.output import Format, render
from adapters.storage.projecting import follow, open_store, rebuild
from adapters.storage.read_store import view_name
from projections.read_models import TABLES

if TYPE_CHECKING:
    from domain.ledger import Ledger


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    ledger: Callable[[], AbstractContextManager[Ledger]],
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
        with ledger() as opened:
            store = open_store(opened)
            head = opened.count_events()
            position = store.position()
            rows = [
                {
                    "view": view_name(table),
                    "generation": store.generation,
                    "position": position,
                    "ledger_position": head,
                    "behind": head - position,
                    "rows": store.count(table.name),
                }
                for table in TABLES
            ]
            render(rows, fmt, "read models")

    @group.command("rebuild")
    @handled
    def rebuild_command(
        batch: Annotated[int, typer.Option(min=1, max=100_000)] = 1000,
    ) -> None:
        """Rebuild every read model from position 0 beside the live one, then switch."""
        with ledger() as opened:
            total = opened.count_events()
            with progress(console, "rebuilding read models", total) as advance:
                store = rebuild(opened, batch=batch, progress=advance)
            console.print(
                f"read models rebuilt to position {store.position()} "
                f"(generation {store.generation})"
            )

    @group.command("follow")
    @handled
    def follow_command(
        interval: Annotated[float, typer.Option(min=0.05, max=60)] = 0.5,
    ) -> None:
        """Keep the read models up to date as events are recorded (Ctrl-C stops)."""
        with ledger() as opened:
            store = open_store(opened)
            console.print(f"following from position {store.position()}")
            try:
                follow(
                    opened,
                    store,
                    interval=interval,
                    on_batch=lambda n: console.print(
                        f"+{n} events → position {store.position()}"
                    ),
                )
            except KeyboardInterrupt:
                console.print(f"stopped at position {store.position()}")

    @app.command("status")
    @handled
    def status_board(
        fiscal_year: YearOption,
        tier: Annotated[str | None, typer.Option()] = None,
        prefecture: Annotated[str | None, typer.Option(help="2-digit code")] = None,
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="A ledger position or an ISO time."),
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """The submission status board: submitted, revised, confirmed, corrected."""
        with ledger() as opened, reading(opened, as_of) as store:
            rows = submission_status(store, fiscal_year, tier, prefecture)
            render(as_dicts(rows), fmt, f"FY{fiscal_year} submission status")

    @app.command()
    @handled
    def scores(
        fiscal_year: YearOption,
        grant: Annotated[
            str, typer.Option(help="promotion or effort_support")
        ] = "promotion",
        tier: Annotated[
            str, typer.Option(help="municipal or prefectural")
        ] = "municipal",
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
        where: dict[str, object] = {
            "grant_year": fiscal_year,
            "tier": tier,
            "grant": grant,
        }
        with ledger() as opened, reading(opened, as_of) as store:
            rows = score_rows(opened, store, where, items)
            render(as_dicts(rows), fmt, f"FY{fiscal_year} {grant} {tier} scores")

    @app.command()
    @handled
    def audit(
        entity: EntityOption,
        fiscal_year: YearOption,
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="A ledger position or an ISO time."),
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """The audit trail of one entity and year: every event, in ledger order."""
        with ledger() as opened:
            opened.entity(entity)
            up_to = position_as_of(opened, as_of) if as_of else None
            rows = audit_trail(fresh_store(opened), entity, fiscal_year, up_to)
            render(
                as_dicts(rows),
                fmt,
                f"audit trail {entity} FY{fiscal_year}",
            )
