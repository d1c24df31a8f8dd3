"""Running the read models: batched catch-up, as-of, follow.

Catch-up reads the notification log in pages (`select_notifications`), turns each
page's events into row changes, and writes them with one tracking update per page.
The notification log may have gaps in its ids (rolled-back inserts); reading
"everything after the last tracked id" never skips an event, because PostgreSQL
makes ids visible in commit order (the library's table lock) and SQLite has one
writer at a time.

Opening the read store and the blue-green rebuild from zero are in `rebuilding.py`,
which chooses between this module's Python fold and `database_rebuild.py` (built on
this module), so neither imports the other.

Over 300 lines (STYLE): catch-up, as-of and follow share the paging and tracking
described above.
"""

from __future__ import annotations

import gc
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.utils import get_topic
from psycopg import sql

from adapters.storage.read_store import ReadStore, read_store
from domain.allocation_run import AllocationRun
from domain.base import LedgerAggregate
from domain.catalogue import Answer, CatalogueSpec
from domain.entities import Entity
from domain.self_evaluation import SelfEvaluation
from projections.context import Context, Evaluation, Recorded, RunKey
from projections.fold import Folded
from projections.read_models import changes, event_classes, flush, shown

if TYPE_CHECKING:
    from uuid import UUID

    from eventsourcing.persistence import Notification

    from domain.ledger import Ledger
    from projections.schema import Change

BATCH = 1000
Progress = Callable[[int], None]


class LedgerSource:
    """The immutable facts of creation events, read from the ledger (`Source`)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def evaluation(self, aggregate_id: object) -> Evaluation:
        """A self-evaluation's entity, year, tier and catalogue version."""
        found = self.ledger.get(_uuid(aggregate_id), SelfEvaluation)
        if found is None:
            raise LookupError(aggregate_id)
        return Evaluation(
            found.lg_code, found.grant_year, found.tier, found.catalogue_version
        )

    def answers(self, aggregate_id: object, version: int) -> dict[str, Answer]:
        """The answers as they stood at `version` (before the event projected)."""
        found: object = self.ledger.repository.get(_uuid(aggregate_id), version=version)
        if not isinstance(found, SelfEvaluation):
            raise TypeError(aggregate_id)
        return dict(found.answers)

    def catalogue(self, grant_year: int, tier: str, version: int) -> CatalogueSpec:
        """A catalogue version."""
        return self.ledger.catalogue(grant_year, tier, version).spec

    def entity(self, aggregate_id: object) -> str:
        """An entity's LG code."""
        found = self.ledger.get(_uuid(aggregate_id), Entity)
        if found is None:
            raise LookupError(aggregate_id)
        return found.lg_code

    def run(self, aggregate_id: object) -> RunKey:
        """What a run is a run of."""
        found = self.ledger.get(_uuid(aggregate_id), AllocationRun)
        if found is None:
            raise LookupError(aggregate_id)
        c = found.calculated
        return RunKey(c.run_id, c.grant_year, c.grant, c.tier, c.phase)


def context_for(ledger: Ledger) -> Context:
    """A projection context whose lookups read immutable facts from the ledger."""
    return Context(LedgerSource(ledger))


def _uuid(value: object) -> UUID:
    from uuid import UUID  # noqa: PLC0415

    return value if isinstance(value, UUID) else UUID(str(value))


def _shown_topics() -> tuple[
    dict[str, type[SelfEvaluation.Event]], frozenset[str], bool
]:
    """The topics the read models show, and how each is read.

    Self-evaluation topics read from stored JSON (with their event classes), the
    others to decode, and whether every self-evaluation event is read as stored.
    """
    classes = [cls for cls in event_classes(LedgerAggregate.Event) if shown(cls)]
    answers = [cls for cls in classes if issubclass(cls, SelfEvaluation.Event)]
    # Only events of a class never versioned are stored as they are read: the
    # stored JSON of an older class version needs the mapper's upcasting.
    evaluation = {
        get_topic(cls): cls for cls in answers if getattr(cls, "class_version", 1) == 1
    }
    others = frozenset(get_topic(cls) for cls in classes) - evaluation.keys()
    return evaluation, others, len(evaluation) == len(answers)


SELF_EVALUATION_TOPICS, DECODED_TOPICS, NOTHING_TO_UPCAST = _shown_topics()
"""NOTHING_TO_UPCAST: every self-evaluation event class is at its first version."""


def recorded_events(
    ledger: Ledger, notes: Sequence[Notification]
) -> Iterator[tuple[int, LedgerAggregate.Event | Recorded]]:
    """The events of a page that a read model shows, with their positions.

    Self-evaluation events (the bulk of a ledger) are read from their stored JSON;
    the rest are decoded (and upcast) by the ledger's mapper; events no read model
    shows (receipts, rules, programmes) are skipped unread.
    """
    mapper = ledger.mapper
    plain_json = mapper.cipher is None and mapper.compressor is None
    for note in notes:
        kind = SELF_EVALUATION_TOPICS.get(note.topic)
        if kind is not None and plain_json:
            state = orjson.loads(note.state)
            yield (
                note.id,
                Recorded.from_state(
                    kind, note.originator_id, note.originator_version, state
                ),
            )
        elif kind is not None or note.topic in DECODED_TOPICS:
            event = mapper.to_domain_event(note)
            assert isinstance(event, LedgerAggregate.Event)  # noqa: S101
            yield note.id, event


def catch_up(
    ledger: Ledger,
    store: ReadStore,
    *,
    batch: int = BATCH,
    stop: int | None = None,
    progress: Progress | None = None,
    context: Context | None = None,
    bulk: bool = False,
) -> int:
    """Project every event after the store's position (up to `stop`); return it.

    Each page of `batch` events is written with its tracking position in one
    transaction. With `bulk` (a generation being built from empty tables), the
    pages are folded in memory and written once at the end (`Folded`, COPY).
    """
    context = context or context_for(ledger)
    begun = position = store.position()
    folded = Folded() if bulk else None
    with collector_paused() if bulk else nullcontext():
        while stop is None or position < stop:
            notes = ledger.recorder.select_notifications(
                start=position, limit=batch, stop=stop, inclusive_of_start=False
            )
            if not notes:
                break
            found: list[Change] = []
            for at, event in recorded_events(ledger, notes):
                found += changes(event, at, context)
            if folded is None:
                store.apply(found + flush(context), position, notes[-1].id)
            else:
                folded.apply(found)  # totals once, at the end: the same final rows
            position = notes[-1].id
            if progress:
                progress(len(notes))
        if folded is not None and position != begun:
            folded.apply(flush(context))
            store.load(folded, begun, position)
    return position


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a bulk fold builds its rows.

    A fold holds a million small objects and makes no cycles; with the collector
    on, every few thousand new objects trigger a scan of the others (a third of a
    300k-event rebuild's time, measured). Reference counting still frees garbage.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def as_of(ledger: Ledger, position: int, *, bulk: bool = True) -> Iterator[ReadStore]:
    """Every read model as it stood at a past position, built aside.

    The events up to `position` are projected into a temporary SQLite file (the
    read models do not depend on the ledger's backend), so the live views are
    never touched; the file is deleted afterwards. `bulk`: folded in memory and
    written once (fast); otherwise written a page at a time (memory bounded by a
    page's changes and the context, whatever the ledger's size).
    """
    with tempfile.TemporaryDirectory(prefix="kofu-as-of-") as folder:
        datastore = SQLiteDatastore(str(Path(folder) / "as_of.db"))
        store = read_store(datastore)
        try:
            catch_up(
                ledger, store, stop=position, context=context_for(ledger), bulk=bulk
            )
            yield store
        finally:
            datastore.close()


def follow(
    ledger: Ledger,
    store: ReadStore,
    *,
    interval: float = 0.5,
    until: Callable[[], bool] | None = None,
    on_batch: Progress | None = None,
) -> None:
    """Keep projecting new events as they are recorded.

    On PostgreSQL the follower LISTENs to the NOTIFY the library's recorder sends
    with every commit, so it wakes as soon as events are recorded (and at least
    every `interval` s); SQLite cannot notify, so there it polls every `interval` s.
    """
    context = context_for(ledger)
    with _wake_ups(ledger, interval) as wait:
        while until is None or not until():
            before = store.position()
            try:
                after = catch_up(ledger, store, context=context, progress=on_batch)
            except IntegrityError:
                # A read command caught up first (compare-and-set refused this
                # batch): carry on from the position it reached, with a context
                # that has not seen the refused batch.
                context = context_for(ledger)
                continue
            if after == before:
                wait()


@contextmanager
def _wake_ups(ledger: Ledger, interval: float) -> Iterator[Callable[[], None]]:
    """A function that returns when new events may have been recorded."""
    recorder = ledger.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        yield lambda: time.sleep(interval)
        return
    # Listening before the first catch-up: a commit in between is not missed.
    with recorder.datastore.get_connection() as conn:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(recorder.channel_name)))

        def wait() -> None:
            for _ in conn.notifies(timeout=interval, stop_after=1):
                pass

        yield wait
