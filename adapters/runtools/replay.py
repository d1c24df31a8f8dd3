"""`kofu replay RUN`: recompute a recorded run from the ledger prefix it read.

The stored events up to the run's recorded position are copied, as stored, into an
in-memory ledger (the library's POPO recorder, with the same mapper), and the phase
is calculated there with the same code path as `kofu allocate`; nothing is written
to the real ledger. The recomputed output hash is compared with the recorded one,
and any difference is reported per entity and field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from adapters.storage.integrity import GENESIS, link
from adapters.storage.mapper import CanonicalJSONTranscoder, PydanticMapper
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

    @property
    def same(self) -> bool:
        """Whether the replay reproduced the recorded output and ledger prefix."""
        ledger_same = (
            self.recorded_ledger_sha256 is None
            or self.recorded_ledger_sha256 == self.ledger_sha256
        )
        return self.recorded_sha256 == self.replayed_sha256 and ledger_same


def prefix_ledger(ledger: Ledger, position: int) -> tuple[Ledger, str]:
    """An in-memory ledger holding exactly the stored events up to `position`.

    Also the chain hash of that prefix, recomputed from the events as they are
    stored now (not read from the chain table, which could be rewritten too).
    """
    copy = Ledger(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.popo",
            "MAPPER_TOPIC": get_topic(PydanticMapper),
            "TRANSCODER_TOPIC": get_topic(CanonicalJSONTranscoder),
        }
    )
    start, digest = 0, GENESIS
    while True:
        notes = ledger.recorder.select_notifications(
            start=start, limit=PAGE, stop=position, inclusive_of_start=False
        )
        if not notes:
            return copy, digest
        for note in notes:
            digest = link(digest, note)
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
        copy, prefix_sha256 = prefix_ledger(ledger, position)
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
                )
            )
    return outcomes


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
