"""Opening the read store, and rebuilding it from zero (blue-green).

A rebuild fills a new generation beside the live one, then switches to it.

On PostgreSQL the database reads the self-evaluation events itself
(`database_rebuild.py`); elsewhere every event is folded in Python
(`projecting.catch_up`). Both builds sit below this module, so neither imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.storage import database_rebuild
from adapters.storage.projecting import BATCH, Progress, catch_up, collector_paused
from adapters.storage.read_store import PostgresReadStore, ReadStore, read_store
from projections.context import Context

if TYPE_CHECKING:
    from domain.ledger import Ledger


def open_store(ledger: Ledger) -> ReadStore:
    """The read store beside the ledger (same database).

    A store whose tables were built by another shape of the read models is
    rebuilt beside the live one first (blue-green), then switched.
    """
    store = read_store(ledger.recorder.datastore)  # type: ignore[attr-defined]
    if store.stale:
        return rebuild(ledger, store=store)
    return store


def rebuild(
    ledger: Ledger,
    *,
    batch: int = BATCH,
    progress: Progress | None = None,
    store: ReadStore | None = None,
    in_database: bool = True,
) -> ReadStore:
    """Build a new generation from position 0 beside the live one, then switch to it.

    On PostgreSQL the database reads the self-evaluation events itself
    (`database_rebuild`); elsewhere, or with `in_database=False`, every event is
    folded in Python. Both give the tables the live path writes.
    """
    store = store or open_store(ledger)
    live = store.generation
    store.prepare(live + 1, indexed=False)
    if in_database and database_rebuild.applies(ledger, store):
        assert isinstance(store, PostgresReadStore)  # noqa: S101 - `applies` checked
        with collector_paused():
            database_rebuild.build(ledger, store, batch=batch, progress=progress)
    else:
        catch_up(
            ledger, store, batch=batch, progress=progress, context=Context(), bulk=True
        )
    with store.cursor() as cursor:  # filled unindexed: its keys, its indexes
        store.create_indexes(cursor)
    # Events recorded during the build: catch up, then switch in one transaction.
    catch_up(ledger, store, batch=batch, progress=progress)
    store.switch_to(live + 1)
    return store
