"""Read-model endpoints: audit trail, scores, submission status, the caller.

The named queries (`adapters/queries/`), paged, by role; runs are in `runs.py`.
Ministry and auditors read everything; insurers and prefectures read the rows of
the entities in their scope; readers see published runs only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends

from adapters.http.auth import Principal, require_roles
from adapters.http.errors import KofuJSON
from adapters.http.schemas import (
    AsOf,
    EntityCode,
    GrantQuery,
    Limit,
    Offset,
    Page,
    TierQuery,
    Year,
    paged,
)
from adapters.http.service import Service, service
from adapters.http.service import ledger as ledger_dependency
from adapters.queries.asof import position_as_of
from adapters.queries.rows import as_dicts
from adapters.queries.scores import score_rows
from adapters.queries.submissions import submission_status
from adapters.queries.trail import audit_trail
from adapters.queries.trajectory import national_trend, trajectory
from domain.ledger import Ledger

if TYPE_CHECKING:
    from adapters.kofu import ReadModels

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


def in_scope(who: Principal, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of the entities this caller may see."""
    if who.sees_all:
        return rows
    return [row for row in rows if who.sees(str(row["entity"]))]


@contextmanager
def read_models(
    ledger: Ledger, server: Service, as_of: str | None
) -> Iterator[ReadModels]:
    """The live read models, or as they stood at `as_of` (bounded: `AsOfStores`)."""
    at = position(ledger, as_of)
    if at is None:
        yield server.store()
        return
    with server.as_of.reading(server.kofu, at) as store:
        yield store


@router.get("/audit", response_model=Page)
def audit(
    ledger: LedgerDep,
    server: ServiceDep,
    who: NotReader,
    entity: EntityCode,
    grant_year: Year,
    as_of: AsOf = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> KofuJSON:
    """The audit trail of one entity and year, in ledger order.

    Each row says whether a trusted signed checkpoint covers its event
    (`sealed`; false: 未封印, stored around the writer or not signed yet).
    """
    who.check_entity(entity)
    ledger.entity(entity)
    up_to = position(ledger, as_of)
    rows = audit_trail(server.store(), entity, grant_year, up_to)
    unsigned = server.kofu.unsigned([row.position for row in rows])
    flagged = [
        row | {"sealed": row["position"] not in unsigned} for row in as_dicts(rows)
    ]
    return paged(flagged, limit, offset)


@router.get("/scores", response_model=Page)
def scores(
    ledger: LedgerDep,
    server: ServiceDep,
    who: NotReader,
    grant_year: Year,
    grant: GrantQuery = None,
    tier: TierQuery = None,
    items: bool = False,
    as_of: AsOf = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> KofuJSON:
    """Scores as the answers stand (or stood), ranked; `items`: per sub-item."""
    where: dict[str, object] = {
        "grant_year": grant_year,
        "tier": tier or "municipal",
        "grant": grant or "promotion",
    }
    with read_models(ledger, server, as_of) as store:
        rows = as_dicts(score_rows(ledger, store, where, items))
    return paged(in_scope(who, rows), limit, offset)


@router.get("/submissions", response_model=Page)
def submissions(
    ledger: LedgerDep,
    server: ServiceDep,
    who: NotReader,
    grant_year: Year,
    tier: TierQuery = None,
    as_of: AsOf = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> KofuJSON:
    """The submission status board: submitted, revised, confirmed, corrected."""
    with read_models(ledger, server, as_of) as store:
        rows = as_dicts(submission_status(store, grant_year, tier))
    return paged(in_scope(who, rows), limit, offset)


def published_only(ledger: Ledger, who: Principal) -> Callable[[str], bool] | None:
    """The runs a caller may see: a reader's are the published ones (None: all)."""
    if who.role != "reader":
        return None
    return lambda run_id: ledger.run(run_id).published is not None


@router.get("/trajectory", response_model=Page)
def trajectory_rows(
    ledger: LedgerDep,
    who: Anyone,
    entity: EntityCode,
    grant: GrantQuery = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> KofuJSON:
    """An entity's years side by side (score, rank, band, amount), each change split."""
    who.check_entity(entity)
    rows = trajectory(ledger, entity, grant, published_only(ledger, who))
    return paged(as_dicts(rows), limit, offset)


@router.get("/trend", response_model=Page)
def trend_rows(
    ledger: LedgerDep, who: Anyone, limit: Limit = 100, offset: Offset = 0
) -> KofuJSON:
    """The nation year by year: budgets, totals, mean score by band, quartiles."""
    rows = national_trend(ledger, published_only(ledger, who))
    return paged(as_dicts(rows), limit, offset)


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
