"""`kofu allocate`, `kofu allocations`, `kofu runs`: phases, amounts, recorded runs."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from adapters.cli.options import FormatOption, YearOption
from adapters.kofu import Kofu, allocate_phase
from adapters.output import Format, print_runs, render, render_all
from adapters.queries.asof import position_as_of
from adapters.queries.rows import as_dicts
from adapters.queries.runs import (
    HYPOTHESIS_NOTE,
    allocation_rows,
    current_runs,
    summary_rows,
)
from domain.errors import InvalidInput
from domain.programme import PHASES

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
        fiscal_year: YearOption,
        phase: Annotated[str, typer.Option(help=f"One of: {', '.join(PHASES)}.")],
        actor: Annotated[
            str, typer.Option(help="ministry:<staff id>")
        ] = "ministry:kofu",
        idempotency_key: Annotated[
            str | None, typer.Option("--idempotency-key")
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Score and allocate a phase (both grants, both tiers); record the runs."""
        if phase not in PHASES:
            msg = f"phase must be one of {', '.join(PHASES)}, got {phase!r}"
            raise InvalidInput(msg, field="--phase")
        with ledger() as opened:
            cmd = allocate_phase(fiscal_year, phase, actor, idempotency_key)
            runs = Kofu(ledger=opened).execute(cmd).runs
        title = f"FY{fiscal_year} {phase}: runs recorded"
        if fmt is Format.table:
            print_runs(runs, title, console)
        else:
            render(as_dicts(summary_rows(runs)), fmt, title)

    @app.command()
    @handled
    def allocations(
        fiscal_year: YearOption,
        grant: Annotated[
            str | None, typer.Option(help="promotion or effort_support")
        ] = None,
        tier: Annotated[
            str | None, typer.Option(help="municipal or prefectural")
        ] = None,
        phase: Annotated[
            str | None, typer.Option(help="Default: the latest phase run.")
        ] = None,
        as_of: Annotated[
            str | None,
            typer.Option(
                "--as-of", help="A ledger position or an ISO time (with zone)."
            ),
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Allocations in force (or as they stood at a past position or time)."""
        with ledger() as opened:
            position = position_as_of(opened, as_of) if as_of else None
            runs = current_runs(opened, fiscal_year, grant, tier, phase, position)
            render(as_dicts(allocation_rows(runs)), fmt, f"FY{fiscal_year} allocations")
        if fmt is Format.table and any(r.calculated.hypothesis for r in runs):
            console.print(f"[yellow]{HYPOTHESIS_NOTE}[/yellow]")

    @app.command()
    @handled
    def replay(
        run_id: Annotated[
            str | None,
            typer.Argument(help="e.g. FY2020-promotion-municipal-expected-1"),
        ] = None,
        fiscal_year: Annotated[
            int | None, typer.Option("--fiscal-year", "-y", help="Every run of a year.")
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Recompute recorded runs from the ledger prefix each read, and compare."""
        from adapters.replay import replay_many  # noqa: PLC0415

        if (run_id is None) == (fiscal_year is None):
            msg = "give one RUN or --fiscal-year (every run of that year)"
            raise InvalidInput(msg, field="RUN")
        with ledger() as opened:
            runs = (
                [opened.run(run_id)]
                if run_id
                else [
                    opened.run(r)
                    for phase_runs in opened.phase_runs(int(str(fiscal_year)))
                    for r in phase_runs.runs
                ]
            )
            outcomes = replay_many(opened, runs)
        rows = [
            {
                "run_id": o.run_id,
                "ledger_position": o.position,
                "ledger_sha256": o.ledger_sha256,
                "recorded_ledger_sha256": o.recorded_ledger_sha256,
                "recorded_output_sha256": o.recorded_sha256,
                "replayed_output_sha256": o.replayed_sha256,
                "same": o.same,
                "differences": len(o.differences),
            }
            for o in outcomes
        ]
        render(rows[0] if run_id and fmt is Format.json else rows, fmt, "replay")
        differences = [
            d | {"run_id": o.run_id} for o in outcomes for d in o.differences
        ]
        if differences and fmt is Format.table:
            render(differences[:50], fmt, "differences (first 50)")
        if not all(o.same for o in outcomes):
            raise typer.Exit(1)

    @app.command("diff")
    @handled
    def diff_command(
        run_a: Annotated[str, typer.Argument(help="The earlier run.")],
        run_b: Annotated[str, typer.Argument(help="The later run.")],
        fmt: FormatOption = Format.table,
    ) -> None:
        """What changed per entity between two runs, attributed so it adds up."""
        from adapters.diff import diff  # noqa: PLC0415

        with ledger() as opened:
            rows = diff(
                opened, opened.run(run_a).calculated, opened.run(run_b).calculated
            )
        render(rows, fmt, f"{run_a} → {run_b}")

    @app.command("sensitivity")
    @handled
    def sensitivity_command(
        run_id: Annotated[str, typer.Argument(help="The recorded run.")],
        threshold: Annotated[
            str, typer.Option(help="Flag corrections moving more than this share.")
        ] = "0.0001",
        entity: Annotated[
            str | None,
            typer.Option("--entity", "-e", help="Yen per sub-item of one entity."),
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Yen per score point per entity; corrections that moved a lot of money."""
        from fractions import Fraction  # noqa: PLC0415

        from adapters.sensitivity import (  # noqa: PLC0415
            item_sensitivity,
            sensitivity,
        )

        try:
            share = Fraction(threshold)
        except (ValueError, ZeroDivisionError):
            msg = f"--threshold takes a share such as 0.0001, got {threshold!r}"
            raise InvalidInput(msg, field="--threshold") from None
        with ledger() as opened:
            found = sensitivity(opened, opened.run(run_id), share)
            if entity:
                found["items"] = item_sensitivity(opened, opened.run(run_id), entity)
        if fmt is Format.json:
            render(found, fmt)
            return
        tables = []
        if entity:
            tables.append((f"{entity}: yen at stake per sub-item", found["items"]))
        tables.append(
            (f"corrections moving > {threshold} of the budget", found["flagged"])
        )
        tables.append(("yen per score point", found["entities"]))
        render_all(tables, fmt)

    @app.command("what-if")
    @handled
    def what_if_command(
        run_id: Annotated[str, typer.Argument(help="The recorded run.")],
        without_correction: Annotated[
            int | None,
            typer.Option(
                "--without-correction", help="Ledger position of a correction to undo."
            ),
        ] = None,
        rule: Annotated[str | None, typer.Option(help="Another rule version.")] = None,
        at: Annotated[
            str | None, typer.Option(help="Another ledger position or ISO time.")
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Recompute a run without a correction, under another rule or position.

        Nothing is written: the ledger prefix is copied into memory.
        """
        from adapters.whatif import what_if  # noqa: PLC0415

        with ledger() as opened:
            position = position_as_of(opened, at) if at else None
            again, rows = what_if(
                opened,
                opened.run(run_id),
                without=without_correction,
                rule=rule,
                at=position,
            )
        summary = {
            "run_id": f"what-if of {run_id}",
            "budget_yen": again.inputs.budget_yen,
            "allocated_yen": again.totals.allocated_yen,
            "remainder_yen": again.totals.remainder_yen,
            "rule": again.label,
            "changed_entities": len(rows),
        }
        if fmt is Format.json:
            render({"what_if": summary, "diff": rows}, fmt)
            return
        render_all(
            [
                ("what-if (not recorded)", [summary]),
                ("diff against the recorded run", rows),
            ],
            fmt,
        )

    @app.command()
    @handled
    def runs(
        fiscal_year: YearOption,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Every recorded run of a grant year, superseded ones included."""
        with ledger() as opened:
            recorded = [
                opened.run(run_id)
                for phase_runs in opened.phase_runs(fiscal_year)
                for run_id in phase_runs.runs
            ]
            if fmt is Format.table:
                print_runs(recorded, f"FY{fiscal_year} runs", console)
            else:
                render(as_dicts(summary_rows(recorded)), fmt, f"FY{fiscal_year} runs")
