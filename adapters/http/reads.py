"""Read endpoints: the named queries (`adapters/queries/`), paged, by role.

Ministry and auditors read everything; insurers and prefectures read the rows of
the entities in their scope; readers see published runs only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from adapters.diff import diff
from adapters.http.auth import Principal, require_roles
from adapters.http.errors import ApiError, KofuJSON
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
from adapters.http.service import Service, service
from adapters.http.service import ledger as ledger_dependency
from adapters.queries.asof import position_as_of
from adapters.queries.explain import explanation
from adapters.queries.rows import as_dicts
from adapters.queries.runs import (
    HYPOTHESIS_NOTE,
    allocation_rows,
    current_runs,
    summary_rows,
)
from adapters.queries.scores import score_rows
from adapters.queries.submissions import submission_status
from adapters.queries.trail import audit_trail
from adapters.read_store import ReadStore
from domain.errors import InvalidInput
from domain.ledger import Ledger
from domain.runs import AllocationRun

router = APIRouter(prefix="/api", tags=["read models"])
LedgerDep = Annotated[Ledger, Depends(ledger_dependency)]
ServiceDep = Annotated[Service, Depends(service)]
Anyone = Annotated[
    Principal,
    Depends(require_roles("insurer", "prefecture", "ministry", "auditor", "reader")),
]
NotReader = Annotated[
    Principal,
    Depends(require_roles("insurer", "prefecture", "ministry", "auditor")),
]
"""Callers who may see the audit trail (see `Principal.sees_trail`)."""


def position(ledger: Ledger, as_of: str | None) -> int | None:
    """The ledger position named by `as_of` (None: now)."""
    if as_of is None:
        return None
    return position_as_of(ledger, as_of, "as_of")


@contextmanager
def read_models(
    ledger: Ledger, server: Service, as_of: str | None
) -> Iterator[ReadStore]:
    """The live read models, or as they stood at `as_of` (bounded: `AsOfStores`)."""
    at = position(ledger, as_of)
    if at is None:
        yield server.store()
        return
    with server.as_of.reading(ledger, at) as store:
        yield store


def visible_run(ledger: Ledger, who: Principal, run_id: str) -> AllocationRun:
    """A run this caller may see (404 if unknown, or for a reader unpublished)."""
    try:
        run = ledger.run(run_id)
    except InvalidInput as error:
        raise ApiError(404, error.message, "run_id") from None
    if who.role == "reader" and run.published is None:
        raise ApiError(404, f"no published run {run_id}", "run_id")
    return run


def _published(ledger: Ledger, who: Principal) -> Callable[[str], bool] | None:
    if who.role != "reader":
        return None
    return lambda run_id: ledger.run(run_id).published is not None


def _in_scope(who: Principal, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if who.sees_all:
        return rows
    return [row for row in rows if who.sees(str(row["entity"]))]


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
    fiscal_year: Year,
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
        ledger, fiscal_year, grant, tier, phase, at, _published(ledger, who)
    )
    rows = as_dicts(allocation_rows(runs))
    return paged(_in_scope(who, rows), limit, offset, _notes(runs))


@router.get("/runs", response_model=Page)
def runs(
    ledger: LedgerDep,
    who: Anyone,
    fiscal_year: Year,
    limit: Limit = 100,
    offset: Offset = 0,
) -> KofuJSON:
    """Every recorded run of a year (readers: the published ones)."""
    recorded = [
        ledger.run(run_id)
        for phase_runs in ledger.phase_runs(fiscal_year)
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
        rows = diff(ledger, a.calculated, b.calculated)
    except InvalidInput as error:
        raise InvalidInput(error.message, field="run_b") from None
    return paged(_in_scope(who, rows), limit, offset, _notes([a, b]))


@router.get("/explain")
def explain(
    ledger: LedgerDep,
    who: Anyone,
    entity: EntityCode,
    fiscal_year: Year,
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
        ledger, fiscal_year, grant, tier, phase, None, _published(ledger, who)
    )
    if not runs:
        msg = f"no FY{fiscal_year} {grant} {tier} run" + (
            f" of the {phase} phase" if phase else ""
        )
        raise ApiError(404, msg, "phase" if phase else "fiscal_year")
    found = explanation(ledger, runs[0], entity, trail=who.sees_trail)
    return KofuJSON(found | {"notes": _notes(runs)})


@router.get("/audit", response_model=Page)
def audit(
    ledger: LedgerDep,
    server: ServiceDep,
    who: NotReader,
    entity: EntityCode,
    fiscal_year: Year,
    as_of: AsOf = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> KofuJSON:
    """The audit trail of one entity and year, in ledger order."""
    who.check_entity(entity)
    ledger.entity(entity)
    up_to = position(ledger, as_of)
    rows = audit_trail(server.store(), entity, fiscal_year, up_to)
    return paged(as_dicts(rows), limit, offset)


@router.get("/scores", response_model=Page)
def scores(
    ledger: LedgerDep,
    server: ServiceDep,
    who: NotReader,
    fiscal_year: Year,
    grant: GrantQuery = None,
    tier: TierQuery = None,
    items: bool = False,
    as_of: AsOf = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> KofuJSON:
    """Scores as the answers stand (or stood), ranked; `items`: per sub-item."""
    where: dict[str, object] = {
        "grant_year": fiscal_year,
        "tier": tier or "municipal",
        "grant": grant or "promotion",
    }
    with read_models(ledger, server, as_of) as store:
        rows = as_dicts(score_rows(ledger, store, where, items))
    return paged(_in_scope(who, rows), limit, offset)


@router.get("/submissions", response_model=Page)
def submissions(
    ledger: LedgerDep,
    server: ServiceDep,
    who: NotReader,
    fiscal_year: Year,
    tier: TierQuery = None,
    as_of: AsOf = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> KofuJSON:
    """The submission status board: submitted, revised, confirmed, corrected."""
    with read_models(ledger, server, as_of) as store:
        rows = as_dicts(submission_status(store, fiscal_year, tier))
    return paged(_in_scope(who, rows), limit, offset)


@router.get("/me")
def me(who: Anyone) -> dict[str, Any]:
    """The caller's token: role, name, scope and the actor its commands record."""
    return {
        "token_id": who.token_id,
        "role": who.role,
        "name": who.name,
        "scope": list(who.scope),
        "actor": who.actor,
    }
