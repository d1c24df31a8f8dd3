"""One read of the ledger for `kofu verify`: events, chain, leaves, nodes, checkpoints.

Everything is read in **one read-only snapshot** (PostgreSQL: a REPEATABLE READ,
READ ONLY transaction with server-side cursors; SQLite: one read transaction) and
in **one pass**, every table streamed in key order beside the others, so memory
stays bounded whatever the ledger's size and a write racing the verify is either
wholly seen or not at all:

* each stored event is hashed once into its leaf (`domain.merkle.event_leaf_hash`)
  and, when a chain check rides along (`integrity.ChainCheck`), linked into the
  old chain;
* each leaf row is compared with its event, and the tree is rebuilt from the leaf
  rows, one leaf at a time on its right edge, each interior node it completes
  compared with the stored node (one cursor per level, in index order);
* at the tree size of each signed checkpoint (a cursor over them, in size order)
  the root is taken from the right edge, O(log n), and handed to the caller: the
  checkpoints cost O(#checkpoints · log n), never #checkpoints × the log.

A scan may start at a verified size (`Start`: the right edge there, trusted because
its root matched a verified root): only the leaves and events after it are read.
Nothing here writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from eventsourcing.postgres import PostgresDatastore
from psycopg import sql
from psycopg.rows import tuple_row

from domain import merkle

ITERSIZE = 5000
MAX_FINDINGS = 100
Event = tuple[int, str, int, str, bytes]
"""A stored event as read: position, originator id, version, topic, state."""


@dataclass(frozen=True)
class LogFinding:
    """One place where the stored events and the log disagree."""

    position: int
    kind: str  # unsealed | deleted | modified | log
    detail: str


@dataclass
class LogCheck:
    """What `scan` found: the findings (at most MAX_FINDINGS), and what it read."""

    findings: list[LogFinding] = field(default_factory=list)
    events: int = 0
    leaves: int = 0
    root: bytes = merkle.EMPTY_ROOT
    truncated: bool = False
    position: int = 0
    """The position of the last leaf."""

    def add(self, finding: LogFinding) -> None:
        """Keep a finding (up to the bound)."""
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(finding)
        else:
            self.truncated = True


class Events(Protocol):
    """What is fed each stored event as the scan reads it (the chain's check)."""

    def see(self, row: Event) -> None:
        """Check the next stored event (position order)."""
        ...


class Reader:
    """Streams rows (tuples) of one read-only snapshot."""

    def __init__(self, connection: Any, *, postgres: bool) -> None:
        self.connection, self.postgres, self.opened = connection, postgres, 0
        self.stop = threading.Event()
        """Set when the snapshot ends: a thread fetching ahead gives up."""

    def rows(
        self, query: str, params: tuple[Any, ...] = (), *, ahead: bool = False
    ) -> Iterator[tuple[Any, ...]]:
        """The rows of a query, fetched `ITERSIZE` at a time (never all at once).

        `ahead` (PostgreSQL): a thread fetches the next batches (at most two
        waiting) while the caller works through this one; the connection's own
        lock keeps it to one statement at a time.
        """
        if self.postgres and ahead:
            yield from self._ahead(query, params)
            return
        if self.postgres:
            self.opened += 1
            cursor = self.connection.cursor(
                name=f"kofu_scan_{self.opened}", binary=True, row_factory=tuple_row
            )
            cursor.execute(query, params)
            while batch := cursor.fetchmany(ITERSIZE):
                yield from batch
            return
        cursor = self.connection.cursor()
        cursor.row_factory = None
        cursor.arraysize = ITERSIZE
        cursor.execute(query, params)
        while batch := cursor.fetchmany():
            yield from batch

    def _ahead(self, query: str, params: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        batches: queue.Queue[list[tuple[Any, ...]] | BaseException | None] = (
            queue.Queue(maxsize=2)
        )
        stop = threading.Event()
        source = self.rows(query, params)

        def put(item: list[tuple[Any, ...]] | BaseException | None) -> bool:
            while not (stop.is_set() or self.stop.is_set()):
                with contextlib.suppress(queue.Full):
                    batches.put(item, timeout=0.1)
                    return True
            return False

        def fetch() -> None:
            try:
                batch: list[tuple[Any, ...]] = []
                for row in source:
                    batch.append(row)
                    if len(batch) == ITERSIZE:
                        if not put(batch):
                            return
                        batch = []
                if put(batch):
                    put(None)
            except BaseException as exc:  # noqa: BLE001 - raised in the reader
                put(exc)

        worker = threading.Thread(target=fetch, name="kofu-scan-fetch", daemon=True)
        worker.start()
        try:
            while (item := batches.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield from item
        finally:
            stop.set()
            worker.join()

    def one(self, query: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        """The first row of a query (None: no row); one round trip."""
        if self.postgres:
            cursor = self.connection.cursor(binary=True, row_factory=tuple_row)
            cursor.execute(query, params)
            found: tuple[Any, ...] | None = cursor.fetchone()
            return found
        return next(self.rows(query, params), None)


@contextmanager
def snapshot(datastore: Any) -> Iterator[Reader]:
    """A read-only snapshot of the ledger's database (rolled back afterwards)."""
    if isinstance(datastore, PostgresDatastore):
        with (
            datastore.get_connection() as conn,
            conn.transaction(force_rollback=True),
        ):
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            reader = Reader(conn, postgres=True)
            try:
                yield reader
            finally:
                reader.stop.set()
        return
    with datastore.get_connection(commit=False) as conn:
        raw = conn.cursor().sqlite_cursor.connection
        raw.execute("BEGIN")
        try:
            yield Reader(raw, postgres=False)
        finally:
            raw.rollback()


def events_query(datastore: Any, recorder: Any) -> str:
    """Every stored event after a position, in position order (exactly as stored)."""
    if isinstance(datastore, PostgresDatastore):
        table = sql.SQL("{}.{}").format(
            sql.Identifier(datastore.schema),
            sql.Identifier(recorder.events_table_name),
        )
        return (
            sql.SQL(
                "SELECT notification_id, originator_id::text, originator_version, "
                "topic, state FROM {} WHERE notification_id > %s "
                "ORDER BY notification_id"
            )
            .format(table)
            .as_string(None)
        )
    table = recorder.events_table_name
    identity = "CAST(originator_id AS TEXT)"
    if datastore.originator_id_type == "uuid":
        # Stored as the UUID's 32 hex digits; the leaf has its canonical text.
        o = "lower(originator_id)"
        identity = (
            f"CASE WHEN length(originator_id) = 32 THEN substr({o}, 1, 8) || '-' || "
            f"substr({o}, 9, 4) || '-' || substr({o}, 13, 4) || '-' || "
            f"substr({o}, 17, 4) || '-' || substr({o}, 21) ELSE {identity} END"
        )
    return (
        f"SELECT rowid, {identity}, originator_version, topic, "  # noqa: S608 - ours
        f"CAST(state AS BLOB) FROM {table} WHERE rowid > ? ORDER BY rowid"
    )


@dataclass
class Start:
    """Where a scan begins: a verified tree size, its right edge and last position."""

    size: int = 0
    frontier: dict[merkle.Key, bytes] = field(default_factory=dict)
    position: int = 0


Point = Callable[[int, bytes], None]
"""Called with each tree size the caller asked for and the root recomputed there."""


class _Level:
    """The stored nodes of one level from an index on, compared as they are made."""

    def __init__(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.current = next(rows, None)

    def matches(self, index: int, digest: bytes) -> bool:
        if self.current is None or self.current[0] != index:
            return False  # missing: the rows after it are compared in turn
        same = bytes(self.current[1]) == digest
        self.current = next(self.rows, None)
        return same


def scan(
    log: Any,
    reader: Reader,
    check: LogCheck,
    *,
    start: Start | None = None,
    sizes: Iterator[int] | None = None,
    at_size: Point | None = None,
    chain: Events | None = None,
) -> dict[merkle.Key, bytes]:
    """Compare the events after `start` with the leaves, the leaves with the nodes.

    Findings go to `check` (its `events`, `leaves` and `root` are set); each size
    from `sizes` (ascending) is handed to `at_size` with the root there, once the
    scan reaches it (a size beyond the log is not handed); every event goes to
    `chain`. Returns the right edge at the end (for a later incremental scan).
    """
    begin = start or Start()
    tables, p = log.tables, log.tables.p
    sha256, node_prefix = hashlib.sha256, b"\x01"
    leaf_hash = merkle.event_leaf_hash
    right = [b""] * 64
    for (level, _), digest in begin.frontier.items():
        right[level] = digest
    levels: list[_Level | None] = [None] * 64
    events = reader.rows(
        events_query(log.datastore, log.ledger.recorder), (begin.position,), ahead=True
    )
    leaves = reader.rows(
        f"SELECT leaf_index, position, {tables.hash} FROM {tables.leaves} "  # noqa: S608
        f"WHERE leaf_index >= {p} ORDER BY leaf_index",
        (begin.size,),
    )
    sizes = sizes if sizes is not None else iter(())
    wanted = next(sizes, None)
    while wanted is not None and wanted < begin.size:
        wanted = next(sizes, None)
    while wanted is not None and wanted == begin.size:
        if at_size is not None:
            at_size(wanted, _root(begin.size, right))
        wanted = next(sizes, None)
    preloaded = _new_nodes(reader, log, begin.size) if begin.size else None
    see = chain.see if chain is not None else None
    event, leaf = next(events, None), next(leaves, None)
    count, last_position, add = begin.size, begin.position, check.add
    while event is not None or leaf is not None:
        if leaf is not None and (event is None or leaf[1] < event[0]):
            add(_deleted(int(leaf[1])))
        elif event is not None and (leaf is None or event[0] < leaf[1]):
            check.events += 1
            if see is not None:
                see(event)
            add(_unsealed(int(event[0])))
            event = next(events, None)
            continue
        else:
            assert event is not None  # noqa: S101
            assert leaf is not None  # noqa: S101
            check.events += 1
            if see is not None:
                see(event)
            if leaf_hash(event[0], event[1], event[2], event[3], event[4]) != bytes(
                leaf[2]
            ):
                add(_modified(int(event[0])))
            event = next(events, None)
        index, position, digest = int(leaf[0]), int(leaf[1]), bytes(leaf[2])
        if index != count or position <= last_position:
            add(
                LogFinding(
                    position,
                    "log",
                    f"the log's leaf {index} (position {position}) is out of order",
                )
            )
        last_position, level, at = position, 0, count
        while at & 1:
            digest = sha256(node_prefix + right[level] + digest).digest()
            level, at = level + 1, at >> 1
            stored = levels[level]
            if stored is None:
                stored = levels[level] = _Level(
                    iter(preloaded.get(level, ()))
                    if preloaded is not None
                    else reader.rows(
                        f"SELECT idx, {tables.hash} FROM {tables.nodes} "  # noqa: S608
                        f"WHERE level = {p} AND idx >= {p} ORDER BY idx",
                        (level, at),
                    )
                )
            if not stored.matches(at, digest):
                first = log.position_of(at << level)
                add(
                    LogFinding(
                        first if first is not None else at << level,
                        "log",
                        f"the log's node ({level}, {at}) does not match its leaves",
                    )
                )
        right[level] = digest
        count += 1
        leaf = next(leaves, None)
        while wanted == count:
            if at_size is not None:
                at_size(count, _root(count, right))
            wanted = next(sizes, None)
    check.leaves, check.position = count, last_position
    check.root = _root(count, right)
    _extra_nodes(reader, log, check, count)
    return {key: right[key[0]] for key in merkle.frontier_keys(count)}


def _root(size: int, right: list[bytes]) -> bytes:
    return merkle.root_from_frontier(
        size, {key: right[key[0]] for key in merkle.frontier_keys(size)}
    )


PRELOAD = 100_000
"""At most this many new leaves after a verified size: their nodes in one query."""


def _new_nodes(
    reader: Reader, log: Any, size: int
) -> dict[int, list[tuple[Any, ...]]] | None:
    """The stored nodes above `size`, by level, if few (None: stream them)."""
    tables = log.tables
    last = reader.one(tables.last_leaf)
    end = int(last[0]) + 1 if last else 0
    if end - size > PRELOAD or end <= size:
        return None
    where = " OR ".join(
        f"(level = {level} AND idx >= {size >> level})"
        for level in range(1, end.bit_length())
    )
    found: dict[int, list[tuple[Any, ...]]] = {}
    for level, index, digest in reader.rows(
        f"SELECT level, idx, {tables.hash} FROM {tables.nodes} "  # noqa: S608 - ints
        f"WHERE {where} ORDER BY level, idx"
    ):
        found.setdefault(int(level), []).append((int(index), digest))
    return found


def _extra_nodes(reader: Reader, log: Any, check: LogCheck, size: int) -> None:
    """Name stored nodes the leaves do not make (index seeks, never a table scan).

    Those beyond each level's last, and any at a level no tree of `size` has:
    one statement, a count per level.
    """
    nodes = log.tables.nodes
    top = max(size.bit_length() - 1, 0)
    counts = [
        f"(SELECT COUNT(*) FROM {nodes} WHERE level < 1 OR level > {top})",  # noqa: S608
        *(
            f"(SELECT COUNT(*) FROM {nodes} WHERE level = {level} "  # noqa: S608
            f"AND idx >= {size >> level})"
            for level in range(1, top + 1)
        ),
    ]
    row = reader.one("SELECT " + " + ".join(counts))
    extra = int(row[0]) if row else 0
    if extra:
        check.add(
            LogFinding(
                size,
                "log",
                f"the log has {extra} interior nodes its {size} leaves do not make",
            )
        )


def _unsealed(position: int) -> LogFinding:
    return LogFinding(position, "unsealed", f"unsealed event at position {position}")


def _deleted(position: int) -> LogFinding:
    return LogFinding(
        position, "deleted", f"the sealed event at position {position} is gone"
    )


def _modified(position: int) -> LogFinding:
    return LogFinding(
        position,
        "modified",
        f"the event at position {position} differs from what was sealed",
    )
