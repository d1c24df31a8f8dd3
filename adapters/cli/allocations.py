"""`kofu allocate`, `kofu allocations`, `kofu runs`: phases, amounts, recorded runs."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from adapters.cli.options import (
    AnyTierOption,
    FormatOption,
    GrantOption,
    PhaseOption,
    PhaseRequired,
    YearOption,
)
from adapters.common.formats import Format
from domain.glossary import HYPOTHESIS_NOTE

if TYPE_CHECKING:
    from domain.ledger import Ledger


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    ledger: Callable[[], AbstractContextManager[Ledger]],
    console: Console,
) -> None:
    """Add the allocation commands to the CLI."""

    @app.command()
    @handled
    def allocate(
        grant_year: YearOption,
        phase: PhaseRequired,
        actor: Annotated[
            str, typer.Option(help="ministry:<staff id>")
        ] = "ministry:kofu",
        idempotency_key: Annotated[
            str | None, typer.Option("--idempotency-key")
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Score and allocate a phase (both grants, both tiers); record the runs."""
        from adapters.kofu import Kofu, allocate_phase  # noqa: PLC0415
        from adapters.queries.rows import as_dicts  # noqa: PLC0415
        from adapters.queries.runs import summary_rows  # noqa: PLC0415
        from adapters.reports.output import print_runs, render  # noqa: PLC0415
        from domain.errors import InvalidInput  # noqa: PLC0415
        from domain.programme import PHASES  # noqa: PLC0415

        if phase not in PHASES:
            msg = f"phase must be one of {', '.join(PHASES)}, got {phase!r}"
            raise InvalidInput(msg, field="--phase")
        with ledger() as opened:
            cmd = allocate_phase(grant_year, phase, actor, idempotency_key)
            runs = Kofu(ledger=opened).execute(cmd).runs
        title = f"FY{grant_year} {phase}: runs recorded"
        if fmt is Format.table:
            print_runs(runs, title, console)
        else:
            render(as_dicts(summary_rows(runs)), fmt, title)

    @app.command()
    @handled
    def allocations(
        grant_year: YearOption,
        grant: GrantOption = None,
        tier: AnyTierOption = None,
        phase: PhaseOption = None,
        as_of: Annotated[
            str | None,
            typer.Option(
                "--as-of", help="A ledger position or an ISO time (with zone)."
            ),
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Allocations in force (or as they stood at a past position or time)."""
        from adapters.queries.asof import position_as_of  # noqa: PLC0415
        from adapters.queries.rows import as_dicts  # noqa: PLC0415
        from adapters.queries.runs import allocation_rows, current_runs  # noqa: PLC0415
        from adapters.reports.output import render  # noqa: PLC0415

        with ledger() as opened:
            position = position_as_of(opened, as_of) if as_of else None
            runs = current_runs(opened, grant_year, grant, tier, phase, position)
            render(as_dicts(allocation_rows(runs)), fmt, f"FY{grant_year} allocations")
        if fmt is Format.table and any(r.calculated.hypothesis for r in runs):
            console.print(f"[yellow]{HYPOTHESIS_NOTE}[/yellow]")

    @app.command()
    @handled
    def runs(
        grant_year: YearOption,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Every recorded run of a grant year, superseded ones included."""
        from adapters.queries.rows import as_dicts  # noqa: PLC0415
        from adapters.queries.runs import summary_rows  # noqa: PLC0415
        from adapters.reports.output import print_runs, render  # noqa: PLC0415

        with ledger() as opened:
            recorded = [
                opened.run(run_id)
                for phase_runs in opened.phase_runs(grant_year)
                for run_id in phase_runs.runs
            ]
            if fmt is Format.table:
                print_runs(recorded, f"FY{grant_year} runs", console)
            else:
                render(as_dicts(summary_rows(recorded)), fmt, f"FY{grant_year} runs")
