"""Running the read models: batched catch-up, blue-green rebuild, follow.

Catch-up reads the notification log in pages (`select_notifications`), turns each
page's events into row changes, and writes them with one tracking update per page.
The notification log may have gaps in its ids (rolled-back inserts); reading
"everything after the last tracked id" never skips an event, because PostgreSQL
makes ids visible in commit order (the library's table lock) and SQLite has one
writer at a time.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from eventsourcing.persistence import IntegrityError
from eventsourcing.sqlite import SQLiteDatastore

from adapters.read_store import ReadStore, read_store
from domain.base import LedgerAggregate
from domain.catalogue import Answer, CatalogueSpec
from domain.entities import Entity
from domain.self_evaluation import SelfEvaluation
from projections.read_models import Change, Context, changes

if TYPE_CHECKING:
    from uuid import UUID

    from domain.ledger import Ledger

BATCH = 1000
Progress = Callable[[int], None]


def context_for(ledger: Ledger) -> Context:
    """A projection context whose lookups read immutable facts from the ledger."""

    def evaluation(aggregate_id: object) -> tuple[str, int, str, int]:
        found = ledger.get(_uuid(aggregate_id), SelfEvaluation)
        if found is None:
            raise LookupError(aggregate_id)
        return found.lg_code, found.grant_year, found.tier, found.catalogue_version

    def answers(aggregate_id: object, version: int) -> dict[str, Answer]:
        # The answers as they stood before the event being projected.
        found: object = ledger.repository.get(_uuid(aggregate_id), version=version)
        if not isinstance(found, SelfEvaluation):
            raise TypeError(aggregate_id)
        return dict(found.answers)

    def catalogue(grant_year: int, tier: str, version: int) -> CatalogueSpec:
        return ledger.catalogue(grant_year, tier, version).spec

    def entity(aggregate_id: object) -> str:
        found = ledger.get(_uuid(aggregate_id), Entity)
        if found is None:
            raise LookupError(aggregate_id)
        return found.lg_code

    return Context(
        find_evaluation=evaluation,
        find_entity=entity,
        find_answers=answers,
        find_catalogue=catalogue,
    )


def _uuid(value: object) -> UUID:
    from uuid import UUID  # noqa: PLC0415

    return value if isinstance(value, UUID) else UUID(str(value))


def open_store(ledger: Ledger) -> ReadStore:
    """The read store beside the ledger (same database).

    A store whose tables were built by another shape of the read models is
    rebuilt beside the live one first (blue-green), then switched.
    """
    store = read_store(ledger.recorder.datastore)  # type: ignore[attr-defined]
    if store.stale:
        return rebuild(ledger, store=store)
    return store


def catch_up(
    ledger: Ledger,
    store: ReadStore,
    *,
    batch: int = BATCH,
    stop: int | None = None,
    progress: Progress | None = None,
    context: Context | None = None,
) -> int:
    """Project every event after the store's position (up to `stop`); return it."""
    context = context or context_for(ledger)
    position = store.position()
    while stop is None or position < stop:
        notes = ledger.recorder.select_notifications(
            start=position, limit=batch, stop=stop, inclusive_of_start=False
        )
        if not notes:
            break
        found: list[Change] = []
        for note in notes:
            event = ledger.mapper.to_domain_event(note)
            assert isinstance(event, LedgerAggregate.Event)  # noqa: S101
            found += changes(event, note.id, context)
        store.apply(found, position, notes[-1].id)
        position = notes[-1].id
        if progress:
            progress(len(notes))
    return position


@contextmanager
def as_of(ledger: Ledger, position: int) -> Iterator[ReadStore]:
    """Every read model as it stood at a past position, built aside.

    The events up to `position` are projected into a temporary SQLite file (the
    read models do not depend on the ledger's backend), so the live views are
    never touched; the file is deleted afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="kofu-as-of-") as folder:
        datastore = SQLiteDatastore(str(Path(folder) / "as_of.db"))
        store = read_store(datastore)
        try:
            catch_up(ledger, store, stop=position, context=context_for(ledger))
            yield store
        finally:
            datastore.close()


def rebuild(
    ledger: Ledger,
    *,
    batch: int = BATCH,
    progress: Progress | None = None,
    store: ReadStore | None = None,
) -> ReadStore:
    """Build a new generation from position 0 beside the live one, then switch to it."""
    store = store or open_store(ledger)
    live = store.generation
    store.prepare(live + 1)
    catch_up(ledger, store, batch=batch, progress=progress, context=Context())
    # Events recorded during the build: catch up, then switch in one transaction.
    catch_up(ledger, store, batch=batch, progress=progress)
    store.switch_to(live + 1)
    return store


def follow(
    ledger: Ledger,
    store: ReadStore,
    *,
    interval: float = 0.5,
    until: Callable[[], bool] | None = None,
    on_batch: Progress | None = None,
) -> None:
    """Keep projecting new events as they are recorded (poll every `interval` s)."""
    context = context_for(ledger)
    while until is None or not until():
        before = store.position()
        try:
            after = catch_up(ledger, store, context=context, progress=on_batch)
        except IntegrityError:
            # A read command caught up first (compare-and-set refused this batch):
            # carry on from the position it reached.
            continue
        if after == before:
            time.sleep(interval)
