"""kofu's event recorders: the library's, plus time that never runs back and the seal.

Each store checks, inside the transaction that inserts events and after the insert
holds the write lock (PostgreSQL's `LOCK TABLE … IN EXCLUSIVE MODE`, SQLite's write
transaction), that no new event is timed before the newest event already stored. So
recorded times rise (or stay equal) in log order on both backends, whatever the
clock of the writing process says, and `Ledger.position_at` may search them.

In the same transaction, after the insert, each store seals the events it inserted
into the Merkle log (`merkle_log.seal`): a committed event is covered by the log,
or it was not stored by a recorder. The log's tables are created with the
library's (`CREATE TABLE IF NOT EXISTS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteDatastore,
)
from eventsourcing.utils import retry
from psycopg import Cursor, Rollback
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from adapters.storage.merkle_log import LogTables, seal
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
    """The library's SQLite recorder, refusing events timed before the newest.

    It seals what it inserts into the Merkle log, in the insert's transaction
    (`sealing = False` only in a subclass that measures what sealing costs).
    """

    sealing = True
    sealed_events = 0
    """How many events this recorder sealed (the writer signs what it wrote)."""

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        self.log_tables = LogTables(postgres=False)
        super().__init__(datastore, **kwargs)

    def construct_create_table_statements(self) -> list[str]:
        """The library's tables and the Merkle log's."""
        return [*super().construct_create_table_statements(), *self.log_tables.create]

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
            if self.sealing:
                seal(c, self.log_tables, ids, stored_events)
                self.sealed_events += len(ids)
        return ids


class PostgresLedgerRecorder(PostgresApplicationRecorder):
    """The library's PostgreSQL recorder, refusing events timed before the newest.

    The check runs in `_insert_events`, the library's hook inside the transaction
    and before the insert, after taking the table lock the insert takes anyway:
    an exception there rolls the transaction back.

    Sealing needs the notification ids, known only after the insert, and the
    library's `insert_events` commits whatever an exception after the insert
    leaves (it keeps the exception to raise after the pipeline closes). So
    `insert_events` is the library's default-mode body with the seal after the
    ids are fetched, and any exception rolls the whole transaction back
    (`psycopg.Rollback`) before it is raised. The library's DB-function mode
    (`POSTGRES_ENABLE_DB_FUNCTIONS`) takes no table lock and is refused.
    """

    sealing = True
    sealed_events = 0
    """How many events this recorder sealed (the writer signs what it wrote)."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.log_tables = LogTables(postgres=True, schema=datastore.schema)
        self.sql_create_statements.extend(
            SQL(statement).format() for statement in self.log_tables.create
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert and seal in one transaction (see the class)."""
        if self.datastore.enable_db_functions:
            msg = "kofu seals every insert: POSTGRES_ENABLE_DB_FUNCTIONS must be off"
            raise ProgrammingError(msg)
        failure: Exception | None = None
        ids: Sequence[int] | None = None
        with self.datastore.get_connection() as conn:
            with conn.pipeline() as pipeline, conn.transaction() as transaction:
                with conn.cursor() as curs:
                    self._insert_events(curs, stored_events, **kwargs)
                if stored_events:
                    with conn.cursor() as curs:
                        try:
                            self._insert_stored_events(curs, stored_events, **kwargs)
                            pipeline.sync()
                            ids = self._fetch_ids_after_insert_events(
                                curs, stored_events, **kwargs
                            )
                            if self.sealing:
                                seal(curs, self.log_tables, ids or [], stored_events)
                                pipeline.sync()
                        except Exception as exc:  # noqa: BLE001 - raised below
                            failure = exc
                            raise Rollback(transaction) from None
            if failure is not None:
                raise failure
        if self.sealing and ids:
            self.sealed_events += len(ids)
        return ids

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
