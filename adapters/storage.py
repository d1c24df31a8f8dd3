"""kofu's event recorders: the library's, plus the rule that time never runs back.

Each store checks, inside the transaction that inserts events and after the insert
holds the write lock (PostgreSQL's `LOCK TABLE … IN EXCLUSIVE MODE`, SQLite's write
transaction), that no new event is timed before the newest event already stored. So
recorded times rise (or stay equal) in log order on both backends, whatever the
clock of the writing process says, and `Ledger.position_at` may search them.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any

import orjson
import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domain.errors import RecordedBeforeNewest


def event_time(state: bytes) -> datetime | None:
    """The `timestamp` of a stored event's JSON state (None if it has none)."""
    try:
        found = orjson.loads(state).get("timestamp")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return datetime.fromisoformat(found) if isinstance(found, str) else None


def check_order(stored: Sequence[StoredEvent], newest_state: bytes | None) -> None:
    """Refuse `stored` if one of them is timed before the newest stored event.

    Raises:
        RecordedBeforeNewest: it is.
    """
    if newest_state is None:
        return
    newest = event_time(newest_state)
    if newest is None:
        return
    times = [t for t in (event_time(s.state) for s in stored) if t is not None]
    if times and min(times) < newest:
        raise RecordedBeforeNewest(min(times), newest)


class SQLiteLedgerRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, refusing events timed before the newest."""

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        if ids:
            c.execute(
                f"SELECT state FROM {self.events_table_name} "  # noqa: S608 - our name
                "WHERE rowid < ? ORDER BY rowid DESC LIMIT 1",
                (min(ids),),
            )
            row = c.fetchone()
            check_order(stored_events, bytes(row["state"]) if row else None)
        return ids


class PostgresLedgerRecorder(PostgresApplicationRecorder):
    """The library's PostgreSQL recorder, refusing events timed before the newest."""

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if ids:
            curs.execute(
                SQL(
                    "SELECT state FROM {}.{} WHERE notification_id < %s "
                    "ORDER BY notification_id DESC LIMIT 1"
                ).format(
                    Identifier(self.datastore.schema),
                    Identifier(self.events_table_name),
                ),
                (min(ids),),
            )
            row = curs.fetchone()
            try:
                check_order(stored_events, bytes(row["state"]) if row else None)
            except RecordedBeforeNewest:
                _abort(curs)
                raise
        return ids


ABORT = SQL(
    "DO $$BEGIN RAISE EXCEPTION 'kofu: an event timed before the newest stored one' "
    "USING ERRCODE = 'integrity_constraint_violation'; END$$"
)


def _abort(curs: Cursor[DictRow]) -> None:
    """Fail the inserting transaction in the server, so that it cannot commit.

    The library's `insert_events` catches an exception raised here and re-raises it
    after its transaction block has ended, which commits a transaction that is still
    healthy: the refused events would be stored. A statement that fails in the server
    leaves the transaction aborted, so it ends in a rollback, as after a uniqueness
    violation.
    """
    with suppress(psycopg.Error):
        curs.execute(ABORT)
        curs.fetchall()
