"""`kofu allocate`, `kofu allocations`, `kofu runs`: phases, amounts, recorded runs."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from adapters.cli.options import FormatOption, YearOption
from adapters.kofu import Kofu, allocate_phase
from adapters.output import Format, render, render_all
from domain.errors import InvalidInput
from domain.programme import PHASES
from domain.runs import AllocationRun, PhaseRuns

if TYPE_CHECKING:
    from uuid import UUID

    from domain.ledger import Ledger

HYPOTHESIS_NOTE = (
    "HYPOTHESIS (仮説): this run uses a rule that is not the published official "
    "formula; see its label and reference."
)


def summary_rows(runs: list[AllocationRun]) -> list[dict[str, Any]]:
    """One line per run: totals and the rule label."""
    rows = []
    for run in runs:
        c = run.calculated
        rows.append(
            {
                "run_id": c.run_id,
                "grant": c.grant,
                "tier": c.tier,
                "entities": len(c.results),
                "paid": sum(r.amount_yen > 0 for r in c.results),
                "budget_yen": c.inputs.budget_yen,
                "allocated_yen": c.totals.allocated_yen,
                "remainder_yen": c.totals.remainder_yen,
                "capped_off_yen": c.totals.capped_off_yen,
                "adjustments_yen": c.totals.adjustments_yen,
                "supersedes": c.supersedes,
                "hypothesis": c.hypothesis,
                "rule": c.label,
            }
        )
    return rows


_TABLE_COLUMNS = (
    "run_id",
    "paid",
    "budget_yen",
    "allocated_yen",
    "remainder_yen",
    "capped_off_yen",
    "adjustments_yen",
)


def print_runs(runs: list[AllocationRun], title: str, console: Console) -> None:
    """A compact table of runs for people, then each rule label once."""
    rows = [
        {
            k: (f"{v:,}" if isinstance(v, int) and k.endswith("_yen") else v)
            for k, v in row.items()
            if k in _TABLE_COLUMNS
        }
        for row in summary_rows(runs)
    ]
    for row, run in zip(rows, runs, strict=True):
        row["paid"] = f"{row['paid']}/{len(run.calculated.results)}"
    render(rows, Format.table, title, console)
    for label in sorted({run.calculated.label for run in runs}):
        console.print(f"  rule: {label}", highlight=False)
    if any(run.calculated.hypothesis for run in runs):
        console.print(f"[yellow]{HYPOTHESIS_NOTE}[/yellow]")


def position_as_of(ledger: Ledger, as_of: str, name: str = "--as-of") -> int:
    """A ledger position, or the last position recorded at or before a time.

    `name` is the option or field the value came in (`--as-of`, `as_of`), named in
    the message and as the field of the error.

    Raises:
        InvalidInput: neither a whole number nor an ISO date/time.
    """
    if as_of.isascii() and as_of.isdigit():
        # Past the head, the ledger stands as it does now.
        return min(int(as_of), ledger.count_events())
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError:
        msg = f"{name} takes a position (a whole number) or an ISO time, got {as_of!r}"
        raise InvalidInput(msg, field=name) from None
    if moment.tzinfo is None:
        msg = f"{name} time needs a time zone, e.g. 2019-12-27T18:00+09:00"
        raise InvalidInput(msg, field=name)
    return ledger.position_at(moment)


def current_runs(
    ledger: Ledger,
    grant_year: int,
    grant: str | None,
    tier: str | None,
    phase: str | None,
    position: int | None,
    visible: Callable[[str], bool] | None = None,
) -> list[AllocationRun]:
    """The run in force per (grant, tier): of `phase`, else of the latest phase run.

    With `visible`, only the runs it accepts count (readers see published runs).
    """
    chosen: dict[tuple[str, str], tuple[int, str]] = {}
    wanted = [
        p
        for p in ledger.phase_runs(grant_year)
        if not (grant and p.grant != grant)
        and not (tier and p.tier != tier)
        and not (phase and p.phase != phase)
    ]
    recorded = ledger.run_positions(wanted) if position is not None else {}
    for phase_runs in wanted:
        run_id = _run_as_of(phase_runs, recorded, position, visible)
        if run_id is None:
            continue
        order = PHASES.index(phase_runs.phase)
        key = (phase_runs.grant, phase_runs.tier)
        if key not in chosen or chosen[key][0] < order:
            chosen[key] = (order, run_id)
    return [ledger.run(run_id) for _, (_, run_id) in sorted(chosen.items())]


def _run_as_of(
    phase_runs: PhaseRuns,
    recorded: dict[UUID, list[tuple[str, int]]],
    position: int | None,
    visible: Callable[[str], bool] | None,
) -> str | None:
    if position is None:
        found = list(phase_runs.runs)
    else:
        found = [run_id for run_id, at in recorded[phase_runs.id] if at <= position]
    if visible is not None:
        found = [run_id for run_id in found if visible(run_id)]
    return found[-1] if found else None


def allocation_rows(runs: list[AllocationRun]) -> list[dict[str, Any]]:
    """One row per entity of each run (docs/INTERFACE.md)."""
    return [
        {
            "run_id": c.run_id,
            "fiscal_year": c.grant_year,
            "grant": c.grant,
            "tier": c.tier,
            "phase": c.phase,
            "entity": r.entity,
            "insurer_number": r.insurer_number,
            "name": r.name,
            "score": r.score,
            "max_score": r.max_score,
            "category1_insured": r.insured,
            "size_band": r.size_band,
            "eligible": r.eligible,
            "rank_in_tier": r.rank_in_tier,
            "rank_in_band": r.rank_in_band,
            "draft_yen": r.draft_yen,
            "required_yen": r.required_yen,
            "amount_yen": r.amount_yen,
            "adjustment_yen": r.adjustment_yen,
            "adjustment": r.adjustment,
            "rule_status": c.inputs.rule_status,
            "hypothesis": c.hypothesis,
        }
        for run in runs
        for c in (run.calculated,)
        for r in c.results
    ]


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
            render(summary_rows(runs), fmt, title)

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
            render(allocation_rows(runs), fmt, f"FY{fiscal_year} allocations")
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
                render(summary_rows(recorded), fmt, f"FY{fiscal_year} runs")
