"""The proofs a dossier carries (`proofs.json`, format `kofu-dossier-proofs/v1`).

A proof bundle (`kofu-proof-bundle/v1`, docs/INTEGRITY.md) against the newest
checkpoint the writer signed, holding every event the dossier shows (its audit
trail) and the stored event of each run it explains (`AllocationRun.Calculated`,
whose state holds the run's whole output), with the signed checkpoint each run's
receipt names and the consistency proof from it. Beside it, each receipt's hashes:
the run, the position of its event, the tree it read (`log_size`, `log_root`) and
its output hash. `scripts/kofu_verify_offline.py --dossier` checks all of it,
re-hashing each run's output from the proved event; it does not re-run anything.

Read-only: a dossier never signs; without a signed checkpoint it carries none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from adapters.storage.merkle_log import MerkleLog
from domain.allocation_run import AllocationRun

if TYPE_CHECKING:
    from domain.ledger import Ledger

FORMAT = "kofu-dossier-proofs/v1"
CALCULATED = AllocationRun.Calculated.TOPIC
PAGE = 100


def run_position(ledger: Ledger, run: AllocationRun) -> int | None:
    """The position of a run's stored `Calculated` event (None: not found).

    A run is saved right after the position it read, with the other runs of its
    phase: the first page of runs after that position holds it.
    """
    wanted = AllocationRun.id_for(run.calculated.run_id)
    notes = ledger.recorder.select_notifications(
        start=run.calculated.inputs.ledger_position,
        limit=PAGE,
        topics=[CALCULATED],
        inclusive_of_start=False,
    )
    return next((n.id for n in notes if n.originator_id == wanted), None)


def dossier_proofs(
    ledger: Ledger, positions: Sequence[int], runs: Sequence[AllocationRun]
) -> dict[str, Any]:
    """The proofs of a dossier's events and runs against the newest signed tree."""
    log = MerkleLog(ledger)
    stored = log.checkpoints()
    receipts: list[dict[str, Any]] = []
    for run in runs:
        inputs = run.calculated.inputs
        receipts.append(
            {
                "run_id": run.calculated.run_id,
                "position": run_position(ledger, run),
                "log_size": inputs.log_size,
                "log_root": inputs.log_root,
                "output_sha256": run.calculated.output_sha256,
            }
        )
    if not stored:
        return {"format": FORMAT, "bundle": None, "receipts": receipts}
    newest, note = stored[-1]
    proved = set(positions) | {
        r["position"] for r in receipts if r["position"] is not None
    }
    signed = dict(stored)
    older = sorted(
        {
            r["log_size"]
            for r in receipts
            if r["log_size"] is not None
            and r["log_size"] < newest
            and r["log_size"] in signed
        }
    )
    try:
        bundle = log.bundle(note, sorted(proved), [signed[size] for size in older])
    except LookupError as exc:  # an event the newest signed tree does not hold
        return {
            "format": FORMAT,
            "bundle": None,
            "error": str(exc),
            "receipts": receipts,
        }
    return {"format": FORMAT, "bundle": bundle, "receipts": receipts}
