"""Run endpoints: allocations in force, runs and their receipts, diff, explain.

Ministry and auditors read every run; insurers and prefectures the rows of the
entities in their scope; readers published runs only (404 for the others).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from adapters.http.auth import Principal
from adapters.http.errors import ApiError, KofuJSON
from adapters.http.reads import Anyone, LedgerDep, in_scope, position, published_only
from adapters.http.schemas import (
    AsOf,
    EntityCode,
    GrantQuery,
    Limit,
    Offset,
    Page,
    PhaseQuery,
    TierQuery,
    Year,
    paged,
)
from adapters.queries import recompute
from adapters.queries.explain import explanation
from adapters.queries.rows import as_dicts
from adapters.queries.runs import allocation_rows, current_runs, summary_rows
from domain.allocation_run import AllocationRun
from domain.errors import InvalidInput
from domain.glossary import HYPOTHESIS_NOTE
from domain.ledger import Ledger

router = APIRouter(prefix="/api", tags=["runs"])


def visible_run(ledger: Ledger, who: Principal, run_id: str) -> AllocationRun:
    """A run this caller may see (404 if unknown, or for a reader unpublished)."""
    try:
        run = ledger.run(run_id)
    except InvalidInput as error:
        raise ApiError(404, error.message, "run_id") from None
    if who.role == "reader" and run.published is None:
        raise ApiError(404, f"no published run {run_id}", "run_id")
    return run


def _notes(runs: list[AllocationRun]) -> list[str]:
    labels = sorted({r.calculated.label for r in runs if r.calculated.hypothesis})
    return [f"{HYPOTHESIS_NOTE} ({label})" for label in labels]


def _run_row(run: AllocationRun) -> dict[str, Any]:
    published = run.published
    return summary_rows([run])[0].as_dict() | {
        "phase": run.calculated.phase,
        "fiscal_year": run.calculated.grant_year,
        "published": published is not None,
        "published_on": published.published_on if published else None,
        "published_by": published.actor if published else None,
    }


@router.get("/allocations", response_model=Page)
def allocations(
    ledger: LedgerDep,
    who: Anyone,
    grant_year: Year,
    grant: GrantQuery = None,
    tier: TierQuery = None,
    phase: PhaseQuery = None,
    as_of: AsOf = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> KofuJSON:
    """Allocations in force (or at a past position or time), one row per entity."""
    at = position(ledger, as_of)
    runs = current_runs(
        ledger, grant_year, grant, tier, phase, at, published_only(ledger, who)
    )
    rows = as_dicts(allocation_rows(runs))
    return paged(in_scope(who, rows), limit, offset, _notes(runs))


@router.get("/runs", response_model=Page)
def runs(
    ledger: LedgerDep,
    who: Anyone,
    grant_year: Year,
    limit: Limit = 100,
    offset: Offset = 0,
) -> KofuJSON:
    """Every recorded run of a year (readers: the published ones)."""
    recorded = [
        ledger.run(run_id)
        for phase_runs in ledger.phase_runs(grant_year)
        for run_id in phase_runs.runs
    ]
    if who.role == "reader":
        recorded = [r for r in recorded if r.published is not None]
    rows = [_run_row(r) for r in recorded]
    return paged(rows, limit, offset, _notes(recorded))


@router.get("/runs/{run_id}")
def run_receipt(ledger: LedgerDep, who: Anyone, run_id: str) -> KofuJSON:
    """One run: totals, publication and its replay receipt (what it read)."""
    run = visible_run(ledger, who, run_id)
    inputs = run.calculated.inputs
    receipt = {
        "ledger_position": inputs.ledger_position,
        "ledger_sha256": inputs.ledger_sha256,
        "log_size": inputs.log_size,
        "log_root": inputs.log_root,
        "rule_id": inputs.rule_id,
        "rule_status": inputs.rule_status,
        "parameters_sha256": inputs.parameters_sha256,
        "insured_sha256": inputs.insured_sha256,
        "catalogue_version": inputs.catalogue_version,
        "code_version": inputs.code_version,
        "output_sha256": run.calculated.output_sha256,
    }
    return KofuJSON(_run_row(run) | {"receipt": receipt, "notes": _notes([run])})


@router.get("/diff", response_model=Page)
def run_diff(
    ledger: LedgerDep,
    who: Anyone,
    run_a: str,
    run_b: str,
    limit: Limit = 100,
    offset: Offset = 0,
) -> KofuJSON:
    """What changed per entity between two runs, attributed so it adds up."""
    a = visible_run(ledger, who, run_a)
    b = visible_run(ledger, who, run_b)
    try:
        rows = recompute.run_diff(ledger, a, b)
    except InvalidInput as error:
        raise InvalidInput(error.message, field="run_b") from None
    return paged(in_scope(who, rows), limit, offset, _notes([a, b]))


@router.get("/explain")
def explain(
    ledger: LedgerDep,
    who: Anyone,
    entity: EntityCode,
    grant_year: Year,
    grant: GrantQuery = None,
    phase: PhaseQuery = None,
) -> KofuJSON:
    """How an entity's score and amount came about, item by item.

    A reader sees published runs only, and no actor or reason behind an answer.
    """
    who.check_entity(entity)
    details = ledger.entity(entity)
    tier = "municipal" if details.kind == "municipality" else "prefectural"
    grant = grant or "promotion"
    runs = current_runs(
        ledger, grant_year, grant, tier, phase, None, published_only(ledger, who)
    )
    if not runs:
        msg = f"no FY{grant_year} {grant} {tier} run" + (
            f" of the {phase} phase" if phase else ""
        )
        raise ApiError(404, msg, "phase" if phase else "fiscal_year")
    found = explanation(ledger, runs[0], entity, trail=who.sees_trail)
    return KofuJSON(found | {"notes": _notes(runs)})
