"""Scans of the notification log: positions, counts and what changed since.

Functions of the recorder (and the mapper, where an event must be decoded); they
read records filtered by topic or bounded by position, never whole aggregates.
The `Ledger` keeps thin methods of the same names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.utils import get_topic

from domain.allocation_run import AllocationRun, PhaseRuns
from domain.base import LedgerAggregate


def count_events(recorder: ApplicationRecorder) -> int:
    """The position of the newest event (the event count, gaps aside)."""
    return recorder.max_notification_id() or 0


def changed_since(
    recorder: ApplicationRecorder, position: int, section_size: int
) -> dict[UUID, int]:
    """The first version recorded after `position` of each aggregate changed since.

    Reads the notifications after `position` up to the head as it is now. Both
    recorders make events visible in position order (PostgreSQL: the library
    locks the table to insert), so an aggregate not named here stood at
    `position` as it stands now, and one named stood at the version before.
    """
    head = count_events(recorder)
    found: dict[UUID, int] = {}
    start = position
    while start < head:
        notes = recorder.select_notifications(
            start=start,
            limit=section_size,
            stop=head,
            inclusive_of_start=False,
        )
        if not notes:
            break
        for note in notes:
            found.setdefault(UUID(str(note.originator_id)), note.originator_version)
        start = notes[-1].id
    return found


def run_positions(
    recorder: ApplicationRecorder,
    phase_runs: Sequence[PhaseRuns],
    section_size: int,
) -> dict[UUID, list[tuple[str, int]]]:
    """(run id, ledger position of its calculation) of each phase's runs.

    The position is the run's `AllocationRun.Calculated` event, as in the audit
    trail; one pass over those records (filtered by topic, not decoded).
    """
    runs = {
        AllocationRun.id_for(run_id): (phase.id, run_id)
        for phase in phase_runs
        for run_id in phase.runs
    }
    found: dict[UUID, list[tuple[str, int]]] = {p.id: [] for p in phase_runs}
    start = 0
    topic = get_topic(AllocationRun.Calculated)
    while True:
        notes = recorder.select_notifications(
            start=start,
            limit=section_size,
            topics=(topic,),
            inclusive_of_start=False,
        )
        if not notes:
            return found
        for note in notes:
            run = runs.get(UUID(str(note.originator_id)))
            if run is not None:
                found[run[0]].append((run[1], note.id))
        start = notes[-1].id


def position_at(
    recorder: ApplicationRecorder, mapper: Mapper[UUID], moment: datetime
) -> int:
    """The last ledger position recorded at or before a moment (0 if none)."""
    low, high = 0, count_events(recorder)
    # Invariant: the event at `low` (if any) was recorded at or before `moment`;
    # every position above `high` after it. Positions may have gaps.
    while low < high:
        middle = (low + high + 1) // 2
        notes = recorder.select_notifications(start=middle, limit=1)
        if not notes:
            high = middle - 1
            continue
        event = mapper.to_domain_event(notes[0])
        assert isinstance(event, LedgerAggregate.Event)  # noqa: S101
        if event.timestamp <= moment:
            low = notes[0].id
        else:
            high = middle - 1
    return low


__all__ = ["changed_since", "count_events", "position_at", "run_positions"]
