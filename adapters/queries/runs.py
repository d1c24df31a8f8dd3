"""Run queries: the runs in force, one line per run, one row per entity of a run.

`in_force_allocations` reads the same amounts from the `allocations` read model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adapters.queries.rows import Row
from domain.programme import PHASES

if TYPE_CHECKING:
    from uuid import UUID

    from adapters.storage.read_store import ReadStore
    from domain.allocation_run import AllocationRun, PhaseRuns
    from domain.ledger import Ledger


@dataclass(frozen=True, slots=True)
class RunSummary(Row):
    """One line per run: totals and the rule label."""

    run_id: str
    grant: str
    tier: str
    entities: int
    paid: int
    budget_yen: int
    allocated_yen: int
    remainder_yen: int
    capped_off_yen: int
    adjustments_yen: int
    supersedes: str | None
    hypothesis: bool
    rule: str


def summary_rows(runs: list[AllocationRun]) -> list[RunSummary]:
    """One line per run: totals and the rule label."""
    rows = []
    for run in runs:
        c = run.calculated
        rows.append(
            RunSummary(
                run_id=c.run_id,
                grant=c.grant,
                tier=c.tier,
                entities=len(c.results),
                paid=sum(r.amount_yen > 0 for r in c.results),
                budget_yen=c.inputs.budget_yen,
                allocated_yen=c.totals.allocated_yen,
                remainder_yen=c.totals.remainder_yen,
                capped_off_yen=c.totals.capped_off_yen,
                adjustments_yen=c.totals.adjustments_yen,
                supersedes=c.supersedes,
                hypothesis=c.hypothesis,
                rule=c.label,
            )
        )
    return rows


def grant_years(ledger: Ledger) -> list[int]:
    """The grant years the ledger holds a catalogue of, oldest first."""
    return sorted({year for year, _, _ in ledger.catalogue_versions()})


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


@dataclass(frozen=True, slots=True)
class AllocationRow(Row):
    """One entity's line of a run (docs/INTERFACE.md)."""

    run_id: str
    fiscal_year: int
    grant: str
    tier: str
    phase: str
    entity: str
    insurer_number: str | None
    name: str
    score: int
    max_score: int
    category1_insured: int
    size_band: int | None
    eligible: bool
    rank_in_tier: int
    rank_in_band: int | None
    draft_yen: int
    required_yen: int | None
    amount_yen: int
    adjustment_yen: int | None
    adjustment: str | None
    rule_status: str
    hypothesis: bool


def allocation_rows(runs: list[AllocationRun]) -> list[AllocationRow]:
    """One row per entity of each run (docs/INTERFACE.md)."""
    return [
        AllocationRow(
            run_id=c.run_id,
            fiscal_year=c.grant_year,
            grant=c.grant,
            tier=c.tier,
            phase=c.phase,
            entity=r.entity,
            insurer_number=r.insurer_number,
            name=r.name,
            score=r.score,
            max_score=r.max_score,
            category1_insured=r.insured,
            size_band=r.size_band,
            eligible=r.eligible,
            rank_in_tier=r.rank_in_tier,
            rank_in_band=r.rank_in_band,
            draft_yen=r.draft_yen,
            required_yen=r.required_yen,
            amount_yen=r.amount_yen,
            adjustment_yen=r.adjustment_yen,
            adjustment=r.adjustment,
            rule_status=c.inputs.rule_status,
            hypothesis=c.hypothesis,
        )
        for run in runs
        for c in (run.calculated,)
        for r in c.results
    ]


def in_force_allocations(
    store: ReadStore, run: AllocationRun.Calculated
) -> list[dict[str, Any]]:
    """The `allocations` read model's rows of a run's phase (its run in force)."""
    where: dict[str, object] = {
        "grant_year": run.grant_year,
        "grant": run.grant,
        "tier": run.tier,
        "phase": run.phase,
    }
    return store.rows("allocations", where, ["entity"])
