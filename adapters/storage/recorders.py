"""kofu's event recorders: the library's, plus the rule that time never runs back.

Each store checks, inside the transaction that inserts events and after the insert
holds the write lock (PostgreSQL's `LOCK TABLE … IN EXCLUSIVE MODE`, SQLite's write
transaction), that no new event is timed before the newest event already stored. So
recorded times rise (or stay equal) in log order on both backends, whatever the
clock of the writing process says, and `Ledger.position_at` may search them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domain.errors import RecordedBeforeNewest

_TIMESTAMP = b'"timestamp":"'


def event_time(state: bytes) -> datetime | None:
    """The `timestamp` of a stored event's JSON state (None if it has none).

    A bulk submission checks every event it inserts, so the key is found in the
    bytes when it occurs once (a quote inside a JSON string is escaped, so only a
    key can match); otherwise, e.g. a nested object with such a key, the state is
    parsed. A value that is no time with a zone (a row written by hand or by
    another program) is no time: None, never an exception that would stop every
    later write.
    """
    if state.count(_TIMESTAMP) != 1:
        try:
            found = orjson.loads(state).get("timestamp")
        except (orjson.JSONDecodeError, AttributeError):
            return None
        return _aware(found) if isinstance(found, str) else None
    start = state.find(_TIMESTAMP) + len(_TIMESTAMP)
    end = state.find(b'"', start)
    try:
        return _aware(state[start:end].decode())
    except UnicodeDecodeError:
        return None


def _aware(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


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
    """The library's PostgreSQL recorder, refusing events timed before the newest.

    The check runs in `_insert_events`, the library's hook inside the transaction
    and before the insert, after taking the table lock the insert takes anyway:
    an exception there rolls the transaction back (one raised after the insert
    would be swallowed by the library's pipeline handling and the events kept).
    """

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        if not stored_events:
            return
        self._lock_table(curs)
        curs.execute(
            SQL("SELECT state FROM {}.{} ORDER BY notification_id DESC LIMIT 1").format(
                Identifier(self.datastore.schema),
                Identifier(self.events_table_name),
            )
        )
        row = curs.fetchone()
        check_order(stored_events, bytes(row["state"]) if row else None)
