"""`kofu projections status|rebuild|follow` and `kofu audit`: the read models."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console

from adapters.cli.allocations import position_as_of
from adapters.cli.options import EntityOption, FormatOption, YearOption
from adapters.cli.reads import progress
from adapters.kofu import Kofu
from adapters.output import Format, render
from adapters.projecting import as_of, follow, open_store, rebuild
from adapters.read_store import ReadStore, view_name
from projections.read_models import TABLES

if TYPE_CHECKING:
    from domain.ledger import Ledger


def fresh_store(ledger: Ledger) -> ReadStore:
    """The read store, caught up with the ledger before a read (`Kofu.store`)."""
    return Kofu(ledger=ledger).store()


@contextmanager
def reading(
    ledger: Ledger, as_of_text: str | None, live: Callable[[], ReadStore] | None = None
) -> Iterator[ReadStore]:
    """The live read models (from `live`, if given), or as they stood at a point."""
    if as_of_text is None:
        yield live() if live else fresh_store(ledger)
        return
    with as_of(ledger, position_as_of(ledger, as_of_text)) as store:
        yield store


def score_rows(
    ledger: Ledger, store: ReadStore, where: dict[str, object], items: bool
) -> list[dict[str, Any]]:
    """Totals with ranks, and with `items` one column per sub-item (results file)."""
    names = {d.lg_code: d.name for d in ledger.entities()}
    rows = [
        {
            "rank": r["rank"],
            "entity": r["entity"],
            "name": names.get(r["entity"], ""),
            "total": r["total"],
            "max_total": r["max_total"],
            "catalogue_version": r["catalogue_version"],
        }
        for r in store.rows("scores", where, ["rank", "entity"])
    ]
    if not items or not rows:
        return rows
    spec = ledger.catalogue(
        int(str(where["grant_year"])), str(where["tier"]), rows[0]["catalogue_version"]
    ).spec
    points: dict[str, dict[str, int]] = {}
    for r in store.rows("item_scores", where, ["entity", "item"]):
        points.setdefault(r["entity"], {})[r["item"]] = r["points"]
    codes = list(spec.sub_items())
    return [
        row | {code: points.get(row["entity"], {}).get(code, 0) for code in codes}
        for row in rows
    ]


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
        where: dict[str, object] = {"grant_year": fiscal_year}
        if tier:
            where["tier"] = tier
        if prefecture:
            where["prefecture_code"] = prefecture
        with ledger() as opened, reading(opened, as_of) as store:
            rows = store.rows("submission_status", where, ["tier", "entity"])
            render(rows, fmt, f"FY{fiscal_year} submission status")

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
            render(rows, fmt, f"FY{fiscal_year} {grant} {tier} scores")

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
            store = fresh_store(opened)
            rows = store.rows(
                "audit_trail",
                {"entity": entity, "grant_year": fiscal_year},
                ["position"],
                up_to,
            )
            render(
                [flat_trail_row(r) for r in rows],
                fmt,
                f"audit trail {entity} FY{fiscal_year}",
            )


def flat_trail_row(row: dict[str, Any]) -> dict[str, Any]:
    """An audit-trail row with its event's own fields beside the common ones."""
    details = orjson.loads(row.pop("details") or "{}")
    return row | {k: v for k, v in details.items() if k not in row}
