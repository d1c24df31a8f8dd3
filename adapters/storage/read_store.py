"""Read-model tables on SQLite and PostgreSQL, tracked with the library's recorders.

Each batch of row changes is written in the same transaction as the view's
tracking position (`_insert_tracking` of the library's tracking recorder), and the
library refuses a position that is not newer: a second runner on the same view,
or a replay after a restart, fails instead of counting twice.

Blue-green: the tables of a generation are `proj_<table>_v<version>_g<n>`; readers
query the stable views `kofu_<table>_v<version>`, which are switched to a new
generation in one transaction once it has caught up (`kofu projections rebuild`).

Over 300 lines (STYLE): one read-store contract (tables, tracking, generations, views,
the reads the queries use) on two backends, kept side by side so they stay the same.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg import sql

from projections.fold import Folded
from projections.read_models import TABLES
from projections.schema import VERSION, Change, Delete, Row, Table, plain

_SQL_TYPES = {
    "sqlite": {
        "integer": "INTEGER",
        "text": "TEXT",
        "boolean": "INTEGER",
        "timestamp": "TEXT",
        "json": "TEXT",
    },
    "postgres": {
        "integer": "BIGINT",
        # Byte order, as SQLite compares: the same order on both backends, and
        # keys indexed ~10x faster than under a linguistic collation (measured).
        "text": 'TEXT COLLATE "C"',
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMPTZ",
        "json": "JSONB",
    },
}


SHAPE = hashlib.sha256(repr(TABLES).encode()).hexdigest()
"""A fingerprint of every table's definition: a changed shape means a rebuild."""


def tracking_key(generation: int) -> str:
    """The name under which a generation tracks its position."""
    return f"kofu:read_models_v{VERSION}_g{generation}"


def table_name(table: Table, generation: int) -> str:
    """The physical table of a generation."""
    return f"proj_{table.name}_v{VERSION}_g{generation}"


def view_name(table: Table) -> str:
    """The stable name readers query."""
    return f"kofu_{table.name}_v{VERSION}"


def _cell(value: object) -> object:
    if isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return value


class ReadStore(ABC):
    """The read-model tables of one ledger, on its own database."""

    backend: str
    placeholder: str

    @property
    def tracking_key(self) -> str:
        """The name under which this generation tracks its position."""
        return tracking_key(self.generation)

    generation: int
    stale: bool = False

    # ----------------------------------------------------------- abstract

    @abstractmethod
    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor in a transaction that commits on success."""

    def track(self, cursor: Any, position: int) -> None:
        """Record the position (refused by the library unless it is newer)."""
        self._insert_tracking(cursor, Tracking(self.tracking_key, position))

    def _insert_tracking(self, cursor: Any, tracking: Tracking) -> None:
        # Provided by the library's tracking recorder that each store subclasses.
        raise NotImplementedError

    def max_tracking_id(self, application_name: str) -> int | None:
        """Provided by the library's tracking recorder that each store subclasses."""
        raise NotImplementedError

    @abstractmethod
    def _lock_position(self, cursor: Any) -> int:
        """The tracked position, with the tracking row locked until commit."""

    def _start_tracking(self) -> None:
        # The row must exist for `_lock_position` to lock it.
        with self.cursor() as cursor:
            if self._lock_position(cursor) == 0:
                with suppress(IntegrityError):
                    self.track(cursor, 0)

    def position(self) -> int:
        """The last position this generation has projected."""
        return self.max_tracking_id(self.tracking_key) or 0

    @abstractmethod
    def clear_tracking(self, cursor: Any, generation: int) -> None:
        """Forget a generation's position."""

    def quote(self, name: str) -> str:
        """A quoted identifier."""
        return '"' + name.replace('"', '""') + '"'

    # ------------------------------------------------------------ schema

    def _create_statements(self, generation: int, *, indexed: bool = True) -> list[str]:
        # The generation table last (`current_generation` runs just that one).
        types = _SQL_TYPES[self.backend]
        statements = []
        for table in TABLES:
            columns = ", ".join(
                f"{self.quote(c.name)} {types[c.kind]}"
                + (" NOT NULL" if c.name in table.key else "")
                for c in table.columns
            )
            name = table_name(table, generation)
            statements.append(
                f"CREATE TABLE IF NOT EXISTS {self.quote(name)} ({columns})"
            )
        if indexed:
            statements += self._index_statements(generation)
        statements.append(
            "CREATE TABLE IF NOT EXISTS kofu_read_model_generation "
            "(version INTEGER PRIMARY KEY, generation INTEGER NOT NULL, shape TEXT)"
        )
        return statements

    def _index_statements(
        self, generation: int, tables: Sequence[Table] = TABLES
    ) -> list[str]:
        # The key is a unique index (what an upsert's ON CONFLICT needs), so that a
        # bulk load can fill a generation's tables first and index them after.
        statements = []
        for table in tables:
            name = table_name(table, generation)
            for suffix, columns, unique in (
                ("key", table.key_index or table.key, "UNIQUE "),
                *((f"i{n}", index, "") for n, index in enumerate(table.indexes, 1)),
            ):
                statements.append(
                    f"CREATE {unique}INDEX IF NOT EXISTS "
                    f"{self.quote(f'{name}_{suffix}')} ON {self.quote(name)} "
                    f"({', '.join(self.quote(c) for c in columns)})"
                )
        return statements

    def create_indexes(self, cursor: Any, tables: Sequence[Table] = TABLES) -> None:
        """Index the generation's tables (after a bulk load; no-op if indexed)."""
        for statement in self._index_statements(self.generation, tables):
            cursor.execute(statement)

    def _select_generation(self) -> str:
        return (
            "SELECT generation, shape FROM kofu_read_model_generation "
            f"WHERE version = {self.placeholder}"
        )

    def current_generation(self) -> tuple[int, str | None] | None:
        """The generation the stable views show and its tables' shape (None: none)."""
        with self.cursor() as cursor:
            cursor.execute(self._create_statements(1)[-1])
            cursor.execute(self._select_generation(), (VERSION,))
            row = cursor.fetchone()
        if row is None:
            return None
        generation, shape = _values(row, ["generation", "shape"])
        return int(generation), shape

    def open(self) -> None:
        """Open the live generation; a first one is created empty.

        If the tables' shape changed since the live generation was built (a new
        kofu), `stale` is set: the caller rebuilds beside it and switches.
        """
        current = self.current_generation()
        self.stale = False
        if current is None:
            self.prepare(1)
            self.switch_to(1)
            return
        self.generation, shape = current
        self.stale = shape != SHAPE
        if not self.stale:
            self._start_tracking()

    def prepare(self, generation: int, *, indexed: bool = True) -> None:
        """Create (empty) tables for a new generation, beside the live one.

        Unindexed (`indexed=False`) for a bulk load, after which the caller calls
        `create_indexes`; `switch_to` indexes them in any case.
        """
        with self.cursor() as cursor:
            for table in TABLES:
                cursor.execute(
                    f"DROP TABLE IF EXISTS {self.quote(table_name(table, generation))}"
                )
            for statement in self._create_statements(generation, indexed=indexed):
                cursor.execute(statement)
            self.clear_tracking(cursor, generation)
        self.generation = generation
        self._start_tracking()

    def switch_to(self, generation: int) -> None:
        """Point the stable views at a generation, in one transaction."""
        old = None
        with self.cursor() as cursor:
            for statement in self._create_statements(generation):
                cursor.execute(statement)
            cursor.execute(self._select_generation(), (VERSION,))
            row = cursor.fetchone()
            old = None if row is None else int(_first(row))
            for table in TABLES:
                cursor.execute(f"DROP VIEW IF EXISTS {self.quote(view_name(table))}")
                # JSON columns are shown as text: a view keeps its columns' types
                # (PostgreSQL stores them as jsonb since the rebuild computes them).
                shown = [
                    f"CAST({self.quote(c.name)} AS TEXT) AS {self.quote(c.name)}"
                    if c.kind == "json"
                    else self.quote(c.name)
                    for c in table.columns
                ] + [
                    f"{expression} AS {self.quote(column.name)}"
                    for column, expression in table.derived
                ]
                cursor.execute(
                    f"CREATE VIEW {self.quote(view_name(table))} AS "
                    f"SELECT {', '.join(shown)} "
                    f"FROM {self.quote(table_name(table, generation))}"
                )
            cursor.execute(
                "DELETE FROM kofu_read_model_generation WHERE version = "
                + self.placeholder,
                (VERSION,),
            )
            cursor.execute(
                "INSERT INTO kofu_read_model_generation VALUES "
                f"({self.placeholder}, {self.placeholder}, {self.placeholder})",
                (VERSION, generation, SHAPE),
            )
            if old is not None and old != generation:
                for table in TABLES:
                    cursor.execute(
                        f"DROP TABLE IF EXISTS {self.quote(table_name(table, old))}"
                    )
                self.clear_tracking(cursor, old)
        self.generation = generation

    # ------------------------------------------------------------- writes

    def apply(self, changes: Sequence[Change], start: int, position: int) -> None:
        """Write a batch (events after `start` up to `position`) in one transaction.

        The library's tracking refuses a position that is not newer; that alone
        lets a runner that read more commit after one that read less, applying the
        overlap twice. So the batch also checks, under a lock on the tracking row,
        that the position is still the `start` it read from (compare-and-set).

        Raises:
            IntegrityError: another runner moved the position first.
        """
        with self.cursor() as cursor:
            self.claim(cursor, start, position)
            for group in _runs(changes):
                first = group[0]
                if isinstance(first, Delete):
                    for change in group:
                        assert isinstance(change, Delete)  # noqa: S101
                        self._delete(cursor, change)
                else:
                    self._upsert(cursor, [c for c in group if isinstance(c, Row)])

    def claim(self, cursor: Any, start: int, position: int) -> None:
        """Move the position from `start` to `position`, under the row's lock.

        Raises:
            IntegrityError: the position is not `start` (another runner moved it).
        """
        current = self._lock_position(cursor)
        if current != start:
            msg = (
                f"{self.tracking_key} is at {current}, not {start}: another "
                "runner is projecting; these changes were not applied"
            )
            raise IntegrityError(msg)
        self.track(cursor, position)

    def load(self, folded: Folded, start: int, position: int) -> None:
        """Write folded tables (events after `start` up to `position`) in one go.

        For a generation being built from empty tables (rebuild, as-of): one
        transaction, the same compare-and-set on the tracking row as `apply`.

        Raises:
            IntegrityError: another runner moved the position first.
        """
        with self.cursor() as cursor:
            self.claim(cursor, start, position)
            self.write_folded(cursor, folded)

    def write_folded(self, cursor: Any, folded: Folded) -> None:
        """Insert folded rows into the generation's tables (caller's transaction)."""
        for table in TABLES:
            self._load(cursor, table, self._converted(table, folded))

    def _converted(self, table: Table, folded: Folded) -> Iterator[list[object]]:
        convert = [
            index
            for index, column in enumerate(table.columns)
            if column.kind in _CONVERTED
        ]
        for row in folded.table_rows(table.name):
            for index in convert:
                row[index] = self._value(_cell(row[index]))
            yield row

    def _load(self, cursor: Any, table: Table, rows: Iterator[list[object]]) -> None:
        name = self.quote(table_name(table, self.generation))
        columns = ", ".join(self.quote(c.name) for c in table.columns)
        marks = ", ".join([self.placeholder] * len(table.columns))
        cursor.executemany(f"INSERT INTO {name} ({columns}) VALUES ({marks})", rows)

    def _delete(self, cursor: Any, change: Delete) -> None:
        table = change.table
        where = " AND ".join(
            f"{self.quote(k)} = {self.placeholder}" for k in change.where
        )
        cursor.execute(
            f"DELETE FROM {self.quote(table_name(table, self.generation))} "
            f"WHERE {where}",
            [plain(v) for v in change.where.values()],
        )

    def _upsert(self, cursor: Any, changes: list[Row]) -> None:
        # Typed rows become the table's tuples here, at the storage edge.
        table = changes[0].table
        name = self.quote(table_name(table, self.generation))
        columns = [c.name for c in table.columns]
        adds = set(changes[0].added)
        updates = ", ".join(
            self._update(name, self.quote(c), add=c in adds)
            for c in columns
            if c not in table.key
        )
        statement = (
            f"INSERT INTO {name} ({', '.join(self.quote(c) for c in columns)}) "
            f"VALUES ({', '.join([self.placeholder] * len(columns))}) "
            f"ON CONFLICT ({', '.join(self.quote(k) for k in table.key)}) "
            f"DO UPDATE SET {updates}"
        )
        rows = [list(change.values()) for change in changes]
        # Only columns that can hold a timestamp or a structure need converting.
        for index, column in enumerate(table.columns):
            if column.kind in _CONVERTED:
                for row in rows:
                    row[index] = self._value(_cell(row[index]))
        cursor.executemany(statement, rows)

    @staticmethod
    def _update(table: str, column: str, *, add: bool) -> str:
        # Counters add up; other columns keep their value when the change has none.
        if add:
            return f"{column} = {table}.{column} + excluded.{column}"
        return f"{column} = COALESCE(excluded.{column}, {table}.{column})"

    def _value(self, value: object) -> object:
        return plain(value) if self.backend == "sqlite" else value

    # -------------------------------------------------------------- reads

    def rows(
        self,
        table: str,
        where: dict[str, object],
        order: Sequence[str],
        up_to: int | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of a read model (through its stable view), in a given order."""
        spec = _table(table)
        clauses = [f"{self.quote(k)} = {self.placeholder}" for k in where]
        values: list[object] = [plain(v) for v in where.values()]
        if up_to is not None:
            clauses.append(f"position <= {self.placeholder}")
            values.append(up_to)
        condition = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        ordering = ", ".join(self.quote(o) for o in order)
        with self.cursor() as cursor:
            cursor.execute(
                f"SELECT * FROM {self.quote(view_name(spec))}{condition} "
                f"ORDER BY {ordering}",
                values,
            )
            found = cursor.fetchall()
        names = [c.name for c in spec.columns] + [c.name for c, _ in spec.derived]
        flags = {c.name for c in spec.columns if c.kind == "boolean"}
        # jsonb prints with spaces and shorter keys first; SQLite keeps the text
        # as written, already sorted and compact.
        texts = (
            {c.name for c in spec.columns if c.kind == "json"}
            if self.backend == "postgres"
            else set()
        )
        return [
            {
                name: _read(value, flag=name in flags, text=name in texts)
                for name, value in zip(names, _values(row, names), strict=True)
            }
            for row in found
        ]

    @abstractmethod
    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A cursor in a read-only transaction that sees one state of every table."""

    @abstractmethod
    def _tracking_sql(self) -> Any:
        """SELECT a generation's tracked position (no lock: a snapshot's read)."""

    def snapshot_position(self, cursor: Any) -> int:
        """The position of the generation the views show, as the snapshot sees it."""
        cursor.execute(self._select_generation(), (VERSION,))
        row = cursor.fetchone()
        if row is None:
            return 0
        generation = int(_first(row))
        cursor.execute(self._tracking_sql(), (tracking_key(generation),))
        row = cursor.fetchone()
        return 0 if row is None else int(_first(row))

    def scan(
        self, cursor: Any, table: Table, where: dict[str, object] | None = None
    ) -> Iterator[tuple[object, ...]]:
        """A read model's rows through its view, canonical, in key order (streamed).

        Every column the view shows (derived ones too), each made comparable
        across backends (`canonical`); ordered by the key's unique index, byte
        order for text on both backends, so two stores' scans merge in step.
        Rows are fetched `SCAN_PAGE` at a time: memory does not grow with the table.
        """
        columns = [*table.columns, *(c for c, _ in table.derived)]
        clauses = [f"{self.quote(k)} = {self.placeholder}" for k in where or {}]
        condition = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        statement = (
            f"SELECT {', '.join(self.quote(c.name) for c in columns)} "
            f"FROM {self.quote(view_name(table))}{condition} "
            f"ORDER BY {', '.join(self.quote(k) for k in table.key_index or table.key)}"
        )
        names = [c.name for c in columns]
        # Only booleans, JSON and timestamps differ between the backends.
        convert = [(i, c.kind) for i, c in enumerate(columns) if c.kind in _CANONICAL]
        with self._streaming(cursor) as rows:
            rows.execute(statement, [plain(v) for v in (where or {}).values()])
            while page := rows.fetchmany(SCAN_PAGE):
                for row in page:
                    values = _values(row, names)
                    for index, kind in convert:
                        values[index] = canonical(values[index], kind)
                    yield tuple(values)

    @contextmanager
    def _streaming(self, cursor: Any) -> Iterator[Any]:
        # SQLite's own cursor steps through the result as it is fetched.
        yield getattr(cursor, "sqlite_cursor", cursor)

    def count(self, table: str) -> int:
        """How many rows a read model has."""
        with self.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM {self.quote(view_name(_table(table)))}"
            )
            return int(_first(cursor.fetchone()))


SCAN_PAGE = 1000
"""Rows a scan fetches at a time (`ReadStore.scan`)."""


_CANONICAL = frozenset({"boolean", "json", "timestamp"})


def canonical(value: object, kind: str) -> object:
    """A stored value as every backend gives it back, to compare two stores.

    Booleans as bool (SQLite stores 0/1), JSON as sorted compact text (PostgreSQL
    gives jsonb back parsed), timestamps as aware datetimes (SQLite stores ISO
    text, PostgreSQL gives them in the session's zone). A value that is not what
    its column holds (a row written by hand) is kept as it is: it then differs.
    """
    if value is None:
        return None
    if kind == "boolean" and isinstance(value, int):
        return bool(value)
    if kind == "json":
        if isinstance(value, str | bytes):
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                return value
        return _cell(value) if isinstance(value, dict | list) else value
    if kind == "timestamp" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


_CONVERTED = frozenset({"timestamp", "json"})
"""Column kinds whose values are converted on the way in (`_cell`, `_value`)."""


def _read(value: object, *, flag: bool, text: bool) -> object:
    # Booleans are 0/1 on SQLite; `text`: JSON to turn into sorted, compact text.
    if value is None:
        return None
    if flag:
        return bool(value)
    if text:
        return _cell(orjson.loads(value) if isinstance(value, str | bytes) else value)
    return value


def _first(row: Any) -> Any:
    if isinstance(row, dict):
        return next(iter(row.values()))
    return row[0]


def _values(row: Any, names: list[str]) -> list[Any]:
    if isinstance(row, dict):
        return [row[n] for n in names]
    return list(row)


def _table(name: str) -> Table:
    return next(t for t in TABLES if t.name == name)


def _runs(changes: Sequence[Change]) -> Iterator[list[Change]]:
    """The changes per table, each table's in their order, cut where the kind changes.

    Tables are independent of each other, so only the order within a table matters;
    grouping by table turns a batch into a few `executemany` calls.
    """
    by_table: dict[str, list[Change]] = {}
    for change in changes:
        by_table.setdefault(change.table.name, []).append(change)
    for table_changes in by_table.values():
        group: list[Change] = []
        for change in table_changes:
            if group and type(change) is not type(group[0]):
                yield group
                group = []
            group.append(change)
        if group:
            yield group


class SQLiteReadStore(SQLiteTrackingRecorder, ReadStore):
    """Read models in the ledger's SQLite file (the library's `tracking` table)."""

    backend = "sqlite"
    placeholder = "?"

    def __init__(self, datastore: SQLiteDatastore) -> None:
        super().__init__(datastore)
        self.create_table()
        self.generation = 1

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor in a committing transaction."""
        with self.datastore.transaction(commit=True) as cursor:
            yield cursor

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A read transaction: SQLite (WAL) keeps its first read's state to the end."""
        with self.datastore.transaction(commit=False) as cursor:
            yield cursor

    def _tracking_sql(self) -> Any:
        return "SELECT notification_id FROM tracking WHERE application_name = ?"

    def _lock_position(self, cursor: Any) -> int:
        # A no-op write takes SQLite's write lock, so the read below stays true.
        cursor.execute(
            "UPDATE tracking SET notification_id = notification_id "
            "WHERE application_name = ?",
            (self.tracking_key,),
        )
        cursor.execute(
            "SELECT notification_id FROM tracking WHERE application_name = ?",
            (self.tracking_key,),
        )
        row = cursor.fetchone()
        return 0 if row is None else int(_first(row))

    def clear_tracking(self, cursor: Any, generation: int) -> None:
        """Forget a generation's position."""
        cursor.execute(
            "DELETE FROM tracking WHERE application_name = ?",
            (tracking_key(generation),),
        )


class PostgresReadStore(PostgresTrackingRecorder, ReadStore):
    """Read models in the ledger's PostgreSQL schema."""

    backend = "postgres"
    placeholder = "%s"

    def __init__(
        self, datastore: PostgresDatastore, *, tracking_table_name: str | None = None
    ) -> None:
        # The library's factory names the tracking table after the application
        # (`kofu_tracking`), as for its own tracking recorders; `read_store` uses
        # the read models' own.
        super().__init__(
            datastore,
            tracking_table_name=tracking_table_name
            or f"kofu_read_models_v{VERSION}_tracking",
        )
        self.create_table()
        self.generation = 1

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor in a committing transaction, on the ledger's schema."""
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                sql.SQL("SET LOCAL search_path TO {}").format(
                    sql.Identifier(self.datastore.schema)
                )
            )
            yield cursor

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A read-only, repeatable-read transaction on the ledger's schema."""
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute(
                sql.SQL("SET LOCAL search_path TO {}").format(
                    sql.Identifier(self.datastore.schema)
                )
            )
            yield cursor

    def _tracking_sql(self) -> Any:
        return sql.SQL(
            "SELECT notification_id FROM {} WHERE application_name = %s"
        ).format(sql.Identifier(self.datastore.schema, self.tracking_table_name))

    @contextmanager
    def _streaming(self, cursor: Any) -> Iterator[Any]:
        # A server-side cursor: PostgreSQL hands the result over page by page.
        with cursor.connection.cursor(name="kofu_read_model_scan") as rows:
            yield rows

    def _load(self, cursor: Any, table: Table, rows: Iterator[list[object]]) -> None:
        # COPY: the fastest way into PostgreSQL, row values adapted by psycopg.
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table_name(table, self.generation)),
            sql.SQL(", ").join(sql.Identifier(c.name) for c in table.columns),
        )
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def _lock_position(self, cursor: Any) -> int:
        cursor.execute(
            sql.SQL(
                "SELECT notification_id FROM {} WHERE application_name = %s FOR UPDATE"
            ).format(sql.Identifier(self.datastore.schema, self.tracking_table_name)),
            (self.tracking_key,),
        )
        row = cursor.fetchone()
        return 0 if row is None else int(_first(row))

    def clear_tracking(self, cursor: Any, generation: int) -> None:
        """Forget a generation's position."""
        cursor.execute(
            sql.SQL("DELETE FROM {} WHERE application_name = %s").format(
                sql.Identifier(self.datastore.schema, self.tracking_table_name)
            ),
            (tracking_key(generation),),
        )


def read_store(datastore: object) -> ReadStore:
    """The read store on the same database as a ledger's recorder."""
    store: ReadStore
    if isinstance(datastore, SQLiteDatastore):
        store = SQLiteReadStore(datastore)
    elif isinstance(datastore, PostgresDatastore):
        store = PostgresReadStore(datastore)
    else:  # pragma: no cover
        msg = f"no read store for {type(datastore).__name__}"
        raise TypeError(msg)
    store.open()
    return store
