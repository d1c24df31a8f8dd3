"""`kofu replay RUN`: recompute a recorded run from the ledger prefix it read.

The stored events up to the run's recorded position are copied, as stored, into an
in-memory ledger (the library's POPO recorder, with the same mapper), and the phase
is calculated there with the same code path as `kofu allocate`; nothing is written
to the real ledger. The recomputed output hash is compared with the recorded one,
and any difference is reported per entity and field. The chain hash and the Merkle
log's tree (size and root) of the prefix are recomputed from the events as stored
and compared with those the run recorded, and with the log's own root at that size
(runs recorded before the log name none).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from adapters.storage.integrity import GENESIS, link
from adapters.storage.mapper import CanonicalJSONTranscoder, PydanticMapper
from adapters.storage.merkle_log import MerkleLog
from domain import merkle
from domain.allocation_run import output_hash
from domain.ledger import Ledger
from domain.phase_run import calculate_phase

if TYPE_CHECKING:
    from domain.allocation_run import AllocationRun

PAGE = 1000


@dataclass(frozen=True)
class Replay:
    """The outcome of a replay."""

    run_id: str
    position: int
    recorded_sha256: str
    replayed_sha256: str
    ledger_sha256: str | None
    recorded_ledger_sha256: str | None
    differences: list[dict[str, Any]]
    log: tuple[int, str] | None = None
    """The Merkle log's (tree size, base64 root) over the prefix, recomputed."""
    recorded_log: tuple[int, str] | None = None
    """The (tree size, root) the run's receipt names (None: recorded before it)."""
    stored_log: tuple[int, str] | None = None
    """The log's own root at the receipt's size, from its stored nodes (None: the
    run named no tree, or the log lacks that size or its nodes)."""

    @property
    def same(self) -> bool:
        """Whether the replay reproduced the recorded output and ledger prefix."""
        ledger_same = (
            self.recorded_ledger_sha256 is None
            or self.recorded_ledger_sha256 == self.ledger_sha256
        )
        log_same = self.recorded_log is None or (
            self.recorded_log == self.log == self.stored_log
        )
        return self.recorded_sha256 == self.replayed_sha256 and ledger_same and log_same


def prefix_ledger(ledger: Ledger, position: int) -> tuple[Ledger, str, tuple[int, str]]:
    """An in-memory ledger holding exactly the stored events up to `position`.

    Also the chain hash of that prefix and the Merkle log's (tree size, base64
    root) over it, recomputed from the events as they are stored now (not read
    from the chain or log tables, which could be rewritten too).
    """
    copy = Ledger(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.popo",
            "MAPPER_TOPIC": get_topic(PydanticMapper),
            "TRANSCODER_TOPIC": get_topic(CanonicalJSONTranscoder),
        }
    )
    start, digest, tree = 0, GENESIS, merkle.MemoryTree()
    while True:
        notes = ledger.recorder.select_notifications(
            start=start, limit=PAGE, stop=position, inclusive_of_start=False
        )
        if not notes:
            root = base64.b64encode(tree.root()).decode()
            return copy, digest, (tree.size, root)
        for note in notes:
            digest = link(digest, note)
        tree.extend(
            merkle.event_leaf_hash(
                n.id, str(n.originator_id), n.originator_version, n.topic, n.state
            )
            for n in notes
        )
        copy.recorder.insert_events(
            [
                StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
                for n in notes
            ]
        )
        start = notes[-1].id


def replay(ledger: Ledger, run: AllocationRun) -> Replay:
    """Recompute a recorded run and compare."""
    return replay_many(ledger, [run])[0]


def replay_many(ledger: Ledger, runs: list[AllocationRun]) -> list[Replay]:
    """Recompute recorded runs; runs of one phase read at one position share a copy."""
    groups: dict[tuple[int, str, int], list[AllocationRun]] = {}
    for run in runs:
        c = run.calculated
        groups.setdefault((c.grant_year, c.phase, c.inputs.ledger_position), []).append(
            run
        )
    outcomes = []
    for (grant_year, phase, position), members in groups.items():
        copy, prefix_sha256, prefix_log = prefix_ledger(ledger, position)
        try:
            again = {
                r.calculated.run_id: r.calculated
                for r in calculate_phase(
                    copy, grant_year, phase, members[0].calculated.actor
                )[0]
            }
        finally:
            copy.close()
        for run in members:
            recorded = run.calculated
            replayed = again[recorded.run_id]
            outcomes.append(
                Replay(
                    run_id=recorded.run_id,
                    position=position,
                    recorded_sha256=recorded.output_sha256,
                    replayed_sha256=output_hash(
                        replayed.results, replayed.totals, replayed.determinations
                    ),
                    ledger_sha256=prefix_sha256,
                    recorded_ledger_sha256=recorded.inputs.ledger_sha256,
                    differences=_differences(recorded.results, replayed.results),
                    log=prefix_log,
                    recorded_log=_recorded_log(
                        recorded.inputs.log_size, recorded.inputs.log_root
                    ),
                    stored_log=_stored_log(ledger, recorded.inputs.log_size),
                )
            )
    return outcomes


def _recorded_log(size: int | None, root: str | None) -> tuple[int, str] | None:
    return None if size is None or root is None else (size, root)


def _stored_log(ledger: Ledger, size: int | None) -> tuple[int, str] | None:
    """The log's root at `size` as its stored nodes give it (read-only)."""
    if size is None:
        return None
    try:
        root = MerkleLog(ledger).root(size)
    except LookupError:  # nodes missing: the log was cut or rewritten
        return None
    return size, base64.b64encode(root).decode()


def _differences(recorded: Any, replayed: Any) -> list[dict[str, Any]]:
    before = {r.entity: r.model_dump() for r in recorded}
    after = {r.entity: r.model_dump() for r in replayed}
    return [
        {
            "entity": entity,
            "field": field,
            "recorded": before.get(entity, {}).get(field),
            "replayed": after.get(entity, {}).get(field),
        }
        for entity in sorted(set(before) | set(after))
        for field in sorted(set(before.get(entity, {})) | set(after.get(entity, {})))
        if before.get(entity, {}).get(field) != after.get(entity, {}).get(field)
    ]
