"""Replay and verify: auditors (and the ministry) check without writing anything."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from adapters.http.auth import Principal, require_roles
from adapters.http.errors import KofuJSON
from adapters.http.runs import visible_run
from adapters.http.service import kofu as kofu_dependency
from adapters.http.service import ledger as ledger_dependency
from adapters.kofu import Kofu
from adapters.queries.recompute import replays
from domain.ledger import Ledger

router = APIRouter(prefix="/api", tags=["checks"])
LedgerDep = Annotated[Ledger, Depends(ledger_dependency)]
KofuDep = Annotated[Kofu, Depends(kofu_dependency)]
Overseer = Annotated[Principal, Depends(require_roles("ministry", "auditor"))]


@router.get("/runs/{run_id}/replay")
def replay(ledger: LedgerDep, who: Overseer, run_id: str) -> KofuJSON:
    """Recompute a recorded run from the ledger prefix it read, and compare."""
    outcome = replays(ledger, [visible_run(ledger, who, run_id)])[0]
    found: dict[str, Any] = {
        "run_id": outcome.run_id,
        "ledger_position": outcome.position,
        "ledger_sha256": outcome.ledger_sha256,
        "recorded_ledger_sha256": outcome.recorded_ledger_sha256,
        "log_size": outcome.log[0] if outcome.log else None,
        "log_root": outcome.log[1] if outcome.log else None,
        "recorded_log_size": outcome.recorded_log[0] if outcome.recorded_log else None,
        "recorded_log_root": outcome.recorded_log[1] if outcome.recorded_log else None,
        "stored_log_root": outcome.stored_log[1] if outcome.stored_log else None,
        "recorded_output_sha256": outcome.recorded_sha256,
        "replayed_output_sha256": outcome.replayed_sha256,
        "same": outcome.same,
        "differences": outcome.differences[:1000],
    }
    return KofuJSON(found)


@router.get("/verify")
def verify(kofu: KofuDep, _: Overseer, read_models: bool = False) -> KofuJSON:
    """Check the history, the Merkle log and its signed checkpoints (read-only).

    `read_models=true`: also every read model recomputed from the events and
    compared; the rows that differ are named (the first 50), nothing repaired.
    """
    found = kofu.verify(read_models=read_models)
    finding = found.finding
    body: dict[str, Any] = {
        "intact": found.intact,
        "checked": found.checked,
        "position": finding.position if finding else None,
        "kind": finding.kind if finding else None,
        "detail": finding.detail if finding else None,
    }
    rows = found.read_models
    if rows is not None:
        body["read_models"] = {
            "intact": rows.intact,
            "position": rows.position,
            "stale": rows.stale,
            "rows": rows.rows,
            "differing": rows.count,
            "differences": [str(d) for d in rows.differences],
        }
    return KofuJSON(body)
