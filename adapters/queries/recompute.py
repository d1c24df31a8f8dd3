"""Queries that recompute or compare recorded runs: replay, diff, sensitivity, what-if.

Each reads the ledger and writes nothing (a recomputation runs on an in-memory copy
of the prefix a run read). The engines are in `adapters/runtools/`, the layer
below; these named queries are what the CLI, the HTTP API and the web pages call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.runtools import sensitivity as sensitivity_engine
from adapters.runtools.diff import diff
from adapters.runtools.replay import Replay, replay_many
from adapters.runtools.whatif import what_if as what_if_engine

if TYPE_CHECKING:
    from fractions import Fraction

    from domain.allocation_run import AllocationRun
    from domain.ledger import Ledger


def recorded_runs(
    ledger: Ledger, run_id: str | None = None, grant_year: int | None = None
) -> list[AllocationRun]:
    """One recorded run, or every run of a grant year (phase by phase, in order).

    Raises:
        InvalidInput: an unknown run.
    """
    if run_id is not None:
        return [ledger.run(run_id)]
    if grant_year is None:
        return []
    return [
        ledger.run(r)
        for phase_runs in ledger.phase_runs(grant_year)
        for r in phase_runs.runs
    ]


def replays(ledger: Ledger, runs: list[AllocationRun]) -> list[Replay]:
    """Each run recomputed from the ledger prefix it read, compared with its record."""
    return replay_many(ledger, runs)


def run_diff(
    ledger: Ledger, before: AllocationRun, after: AllocationRun
) -> list[dict[str, Any]]:
    """Per entity whose score or amount changed: the change, attributed so it adds up.

    Raises:
        InvalidInput: the runs are of different grant years, grants or tiers.
    """
    return diff(ledger, before.calculated, after.calculated)


def sensitivity(
    ledger: Ledger, run: AllocationRun, threshold: Fraction, entity: str | None = None
) -> dict[str, Any]:
    """Yen per point per entity and the corrections moving more than `threshold`.

    With `entity`, also (as "items") that entity's yen at stake per sub-item.
    """
    found = sensitivity_engine.sensitivity(ledger, run, threshold)
    if entity:
        found["items"] = sensitivity_engine.item_sensitivity(ledger, run, entity)
    return found


def what_if(
    ledger: Ledger,
    run: AllocationRun,
    *,
    without: int | None = None,
    rule: str | None = None,
    at: int | None = None,
    counterfactual: bool = False,
) -> tuple[AllocationRun.Calculated, list[dict[str, Any]]]:
    """The run recomputed without a correction, under a rule or at a position.

    `counterfactual` lets a rule apply outside its valid years (labelled so).

    Raises:
        InvalidInput: the position is not a correction, or the rule is unknown.
    """
    return what_if_engine(
        ledger, run, without=without, rule=rule, at=at, counterfactual=counterfactual
    )
