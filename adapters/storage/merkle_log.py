"""The Merkle log in the ledger's database: sealed by the writer, read by everyone.

Tables (created with the library's, by the recorders in `recorders.py`):

* `kofu_log_leaves (leaf_index, position, hash)`: one row per sealed event, the
  leaf index gap-free from 0 in position order, the hash its RFC 6962 leaf hash
  (`domain.merkle.event_leaf_hash`);
* `kofu_log_nodes (level, idx, hash)`: every complete subtree above the leaves
  (level ≥ 1), so a proof reads O(log n) rows and never re-hashes the log;
* `kofu_log_checkpoints (tree_size, note, recorded_at)`: the checkpoints the
  writer signed (C2SP signed notes; the key is never stored);
* `kofu_log_cosignatures (tree_size, witness, cosigned_at, line, recorded_at)`:
  witnesses' cosignatures of those checkpoints (C2SP cosignature/v1 signature
  lines), one per witness and tree size, appended only: storing one changes no
  leaf, node or checkpoint.

**The writer seals.** `seal` runs inside the recorder's insert transaction, after
the events are inserted and their notification ids known, under the write lock
(PostgreSQL's table lock, SQLite's write transaction): it reads the log's size and
right edge (O(log n) rows), appends the new events' leaves and the interior nodes
they complete. An event stored any other way (a plain INSERT) is not covered: the
writer never seals events it did not insert, so such an event stays "unsealed"
and `scan` names it. Nothing here that reads ever writes a leaf or a node.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import IntegrityError, PersistenceError, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import sql

from adapters.storage.log_scan import LogCheck, LogFinding, scan, snapshot
from domain import merkle
from domain.bundle import bundle_document, consistency_entry, event_entry
from domain.checkpoint import Checkpoint, SignerKey, parse_note

if TYPE_CHECKING:
    from domain.ledger import Ledger

LEAVES = "kofu_log_leaves"
NODES = "kofu_log_nodes"
CHECKPOINTS = "kofu_log_checkpoints"
COSIGNATURES = "kofu_log_cosignatures"
PAGE = 1000


class SealError(PersistenceError):
    """The log's stored right edge is missing: the writer cannot seal (nothing kept).

    Not an `IntegrityError`: retrying cannot help; the log was damaged.
    """


class LogTables:
    """The log's SQL for one backend (names quoted with the schema on PostgreSQL)."""

    def __init__(self, *, postgres: bool, schema: str | None = None) -> None:
        self.postgres = postgres
        prefix = ""
        if postgres:
            prefix = sql.Identifier(schema or "public").as_string(None) + "."
        self.leaves, self.nodes = prefix + LEAVES, prefix + NODES
        self.checkpoints = prefix + CHECKPOINTS
        self.cosignatures = prefix + COSIGNATURES
        self.p = p = "%s" if postgres else "?"
        blob = "BYTEA" if postgres else "BLOB"
        # A hash rewritten by hand may come back as text on SQLite: read bytes.
        h = self.hash = "hash" if postgres else "CAST(hash AS BLOB) AS hash"
        # SQLite: the leaf index is the rowid and the nodes' key their only
        # b-tree, so a seal writes three b-trees per leaf, not five.
        index_type, no_rowid = (
            ("BIGINT", "") if postgres else ("INTEGER", " WITHOUT ROWID")
        )
        self.create = [
            (
                f"CREATE TABLE IF NOT EXISTS {self.leaves} (leaf_index {index_type} "
                f"PRIMARY KEY, position BIGINT NOT NULL UNIQUE, hash {blob} NOT NULL)"
            ),
            (
                f"CREATE TABLE IF NOT EXISTS {self.nodes} (level INTEGER NOT NULL, "
                f"idx BIGINT NOT NULL, hash {blob} NOT NULL, "
                f"PRIMARY KEY (level, idx)){no_rowid}"
            ),
            (
                f"CREATE TABLE IF NOT EXISTS {self.checkpoints} (tree_size BIGINT "
                "PRIMARY KEY, note TEXT NOT NULL, recorded_at TEXT NOT NULL)"
            ),
            (
                f"CREATE TABLE IF NOT EXISTS {self.cosignatures} (tree_size BIGINT "
                "NOT NULL, witness TEXT NOT NULL, cosigned_at BIGINT NOT NULL, "
                "line TEXT NOT NULL, recorded_at TEXT NOT NULL, "
                "PRIMARY KEY (tree_size, witness))"
            ),
        ]
        self.last_leaf = (
            f"SELECT leaf_index, position, {h} FROM {self.leaves} "
            "ORDER BY leaf_index DESC LIMIT 1"
        )
        if postgres:
            # One statement per table (as the library inserts events), not a
            # statement per row.
            self.insert_leaf = (
                f"INSERT INTO {self.leaves} SELECT * FROM "
                "unnest(%s::bigint[], %s::bigint[], %s::bytea[])"
            )
            self.insert_node = (
                f"INSERT INTO {self.nodes} SELECT * FROM "
                "unnest(%s::integer[], %s::bigint[], %s::bytea[])"
            )
        else:
            self.insert_leaf = f"INSERT INTO {self.leaves} VALUES ({p}, {p}, {p})"
            self.insert_node = f"INSERT INTO {self.nodes} VALUES ({p}, {p}, {p})"

    def insert(self, cursor: Any, statement: str, rows: list[tuple[Any, ...]]) -> None:
        """Insert rows: one `unnest` statement (PostgreSQL) or `executemany`."""
        if not rows:
            return
        if self.postgres:
            cursor.execute(
                statement, [list(column) for column in zip(*rows, strict=True)]
            )
        else:
            cursor.executemany(statement, rows)

    def select_nodes(self, count: int) -> str:
        """The hashes of `count` nodes, each named by (level, idx) parameters."""
        where = " OR ".join([f"(level = {self.p} AND idx = {self.p})"] * count)
        return f"SELECT level, idx, {self.hash} FROM {self.nodes} WHERE {where}"

    def select_node_ranges(self, count: int) -> str:
        """The nodes of `count` ranges, each (level, first idx, last idx) parameters."""
        term = f"(level = {self.p} AND idx BETWEEN {self.p} AND {self.p})"
        where = " OR ".join([term] * count)
        return f"SELECT level, idx, {self.hash} FROM {self.nodes} WHERE {where}"

    def select_leaves(self, count: int) -> str:
        """The hashes of `count` leaves, each named by its leaf index."""
        marks = ", ".join([self.p] * count)
        return (
            f"SELECT leaf_index, {self.hash} FROM {self.leaves} "
            f"WHERE leaf_index IN ({marks})"
        )


def _value(row: Any, name: str, index: int) -> Any:
    return row[name] if isinstance(row, dict) else row[index]


def _node_rows(
    cursor: Any, tables: LogTables, keys: Collection[merkle.Key]
) -> dict[merkle.Key, bytes]:
    found: dict[merkle.Key, bytes] = {}
    leaves = [index for level, index in keys if level == 0]
    nodes = [key for key in keys if key[0] > 0]
    for start in range(0, len(leaves), PAGE):
        chunk = leaves[start : start + PAGE]
        cursor.execute(tables.select_leaves(len(chunk)), chunk)
        for row in cursor.fetchall():
            found[0, int(_value(row, "leaf_index", 0))] = bytes(_value(row, "hash", 1))
    for start in range(0, len(nodes), PAGE // 2):
        pairs = nodes[start : start + PAGE // 2]
        cursor.execute(
            tables.select_nodes(len(pairs)), [v for pair in pairs for v in pair]
        )
        for row in cursor.fetchall():
            key = (int(_value(row, "level", 0)), int(_value(row, "idx", 1)))
            found[key] = bytes(_value(row, "hash", 2))
    return found


def seal(
    cursor: Any,
    tables: LogTables,
    ids: Sequence[int],
    events: Sequence[StoredEvent],
) -> None:
    """Append the leaves of events just inserted (their notification ids `ids`).

    Runs in the insert's transaction, under its write lock.

    Raises:
        SealError: the log's right edge is not stored (the log was damaged).
    """
    if not events:
        return
    cursor.execute(tables.last_leaf)
    last = cursor.fetchone()
    size = int(_value(last, "leaf_index", 0)) + 1 if last else 0
    keys = merkle.frontier_keys(size)
    frontier = _node_rows(cursor, tables, [k for k in keys if k[0] > 0])
    if last is not None and size & 1:
        frontier[0, size - 1] = bytes(_value(last, "hash", 2))
    if len(frontier) != len(keys):
        msg = f"the Merkle log's right edge at size {size} is missing: not sealing"
        raise SealError(msg)
    pairs = sorted(zip(ids, events, strict=True), key=lambda pair: pair[0])
    leaves = [
        merkle.event_leaf_hash(
            position,
            str(event.originator_id),
            event.originator_version,
            event.topic,
            event.state,
        )
        for position, event in pairs
    ]
    made = merkle.append(size, frontier, leaves)
    tables.insert(
        cursor,
        tables.insert_leaf,
        [
            (size + i, position, leaf)
            for i, ((position, _), leaf) in enumerate(zip(pairs, leaves, strict=True))
        ],
    )
    tables.insert(cursor, tables.insert_node, made)


@dataclass(frozen=True)
class InclusionProof:
    """An event's leaf in the tree of `size` leaves and the path to its root."""

    position: int
    leaf_index: int
    size: int
    leaf_hash: bytes
    path: tuple[bytes, ...]


class _Nodes:
    """The stored nodes read through one open cursor (a `merkle.NodeSource`)."""

    def __init__(self, cursor: Any, tables: LogTables) -> None:
        self.cursor, self.tables = cursor, tables

    def hashes(self, keys: Collection[merkle.Key]) -> dict[merkle.Key, bytes]:
        """The stored hashes named (raise LookupError if one is missing)."""
        found = _node_rows(self.cursor, self.tables, list(keys))
        missing = set(keys) - set(found)
        if missing:
            msg = f"the Merkle log has no node {min(missing)}"
            raise LookupError(msg)
        return found


class MerkleLog:
    """The log of one ledger: read it, prove with it, check it (never extend it)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.datastore: Any = ledger.recorder.datastore  # type: ignore[attr-defined]
        postgres = isinstance(self.datastore, PostgresDatastore)
        if not postgres and not isinstance(self.datastore, SQLiteDatastore):
            msg = "the Merkle log needs SQLite or PostgreSQL"
            raise TypeError(msg)
        schema = self.datastore.schema if postgres else None
        self.tables = LogTables(postgres=postgres, schema=schema)

    def _read(self) -> Any:
        return self.datastore.transaction(commit=False)

    def _row(self, statement: str, value: int) -> Any:
        """The first row of a read with one parameter, marked `?` (None: none)."""
        with self._read() as cursor:
            cursor.execute(statement.replace("?", self.tables.p), (value,))
            return cursor.fetchone()

    def size(self) -> int:
        """The number of sealed events."""
        with self._read() as cursor:
            cursor.execute(self.tables.last_leaf)
            row = cursor.fetchone()
        return int(_value(row, "leaf_index", 0)) + 1 if row else 0

    def hashes(self, keys: Collection[merkle.Key]) -> dict[merkle.Key, bytes]:
        """The stored hashes of complete subtrees (a `domain.merkle.NodeSource`).

        Raises:
            LookupError: one of them is not stored.
        """
        with self._read() as cursor:
            return _Nodes(cursor, self.tables).hashes(keys)

    def root(self, size: int | None = None) -> bytes:
        """The root hash of the first `size` leaves (all of them by default)."""
        return merkle.root(self.size() if size is None else size, self)

    def checkpoint(self, origin: str, size: int | None = None) -> Checkpoint:
        """The (unsigned) checkpoint of the log at `size` (its size by default)."""
        at = self.size() if size is None else size
        return Checkpoint(origin, at, self.root(at))

    def leaf(self, position: int) -> tuple[int, bytes] | None:
        """The leaf index and hash of the event at `position` (None: not sealed)."""
        with self._read() as cursor:
            return self._leaf(cursor, position)

    def _leaf(self, cursor: Any, position: int) -> tuple[int, bytes] | None:
        cursor.execute(
            f"SELECT leaf_index, {self.tables.hash} FROM {self.tables.leaves} "
            f"WHERE position = {self.tables.p}",
            (position,),
        )
        row = cursor.fetchone()
        if row is None:
            return None
        return int(_value(row, "leaf_index", 0)), bytes(_value(row, "hash", 1))

    def position_of(self, leaf_index: int) -> int | None:
        """The position of the event at a leaf index (None: no such leaf)."""
        row = self._row(
            f"SELECT position FROM {self.tables.leaves} WHERE leaf_index = ?",
            leaf_index,
        )
        return None if row is None else int(_value(row, "position", 0))

    def prove_inclusion(self, position: int, size: int | None = None) -> InclusionProof:
        """The inclusion proof of the event at `position` in the tree of `size`.

        One read transaction: the leaf, the log's size and the O(log n) nodes.

        Raises:
            LookupError: the event is not sealed, or not within `size` leaves.
        """
        with self._read() as cursor:
            found = self._leaf(cursor, position)
            if found is None:
                msg = f"no sealed event at position {position}"
                raise LookupError(msg)
            index, leaf_hash = found
            if size is None:
                cursor.execute(self.tables.last_leaf)
                last = cursor.fetchone()
                at = int(_value(last, "leaf_index", 0)) + 1 if last else 0
            else:
                at = size
            if index >= at:
                msg = f"the event at position {position} is not in the tree of {at}"
                raise LookupError(msg)
            path = merkle.inclusion_proof(index, at, _Nodes(cursor, self.tables))
        return InclusionProof(position, index, at, leaf_hash, tuple(path))

    def prove_consistency(self, old: int, new: int) -> list[bytes]:
        """The consistency proof from the tree of `old` leaves to that of `new`.

        Raises:
            LookupError: `new` exceeds the log's size.
        """
        if new > self.size():
            msg = f"the log has fewer than {new} leaves"
            raise LookupError(msg)
        return merkle.consistency_proof(old, new, self)

    def bundle(
        self, note: str, positions: Sequence[int], older: Sequence[str] = ()
    ) -> dict[str, Any]:
        """A proof bundle (`domain.bundle`) of events in a signed checkpoint's tree.

        `note` is a checkpoint the writer signed; each position's stored event
        comes with its inclusion proof in that tree, each older signed checkpoint
        with the consistency proof to it. Nothing is verified here: that is the
        reader's (`domain.bundle.verify_bundle`, the standalone verifier).

        Raises:
            LookupError: a position is not a sealed event of that tree.
            NoteError: `note` or an older one is not a signed checkpoint.
        """
        size = Checkpoint.parse(parse_note(note)[0]).size
        entries = []
        for position in positions:
            proof = self.prove_inclusion(position, size)
            stored = self.ledger.recorder.select_notifications(
                start=position, limit=1, inclusive_of_start=True
            )
            if not stored or stored[0].id != position:
                msg = f"no stored event at position {position}"
                raise LookupError(msg)
            event = stored[0]
            entries.append(
                event_entry(
                    position,
                    str(event.originator_id),
                    int(event.originator_version),
                    event.topic,
                    bytes(event.state),
                    proof.leaf_index,
                    proof.path,
                )
            )
        consistency = [
            consistency_entry(
                old,
                self.prove_consistency(Checkpoint.parse(parse_note(old)[0]).size, size),
            )
            for old in older
        ]
        return bundle_document(note, entries, consistency)

    # --- signed checkpoints (the writer's; a reader never signs) --------------

    def sign_checkpoint(
        self, signer: SignerKey, origin: str | None = None, size: int | None = None
    ) -> str:
        """Sign the checkpoint at `size` (the log's size) and store the note; the note.

        A run's receipt names the tree of the leaves it read: the writer signs at
        that size even if the log has grown since. Two writers signing the same
        size keep the first note stored.
        """
        note = self.checkpoint(origin or signer.name, size).sign(signer)
        size = Checkpoint.parse(note[: note.index("\n\n") + 1]).size
        p = self.tables.p
        with self.datastore.transaction(commit=True) as cursor:
            # Never DELETE or UPDATE (the rows are protected, `kofu init`): the
            # first checkpoint stored at a size stays; `kofu verify` checks it.
            cursor.execute(
                f"INSERT INTO {self.tables.checkpoints} VALUES ({p}, {p}, {p}) "
                "ON CONFLICT (tree_size) DO NOTHING",
                (size, note, datetime.now(tz=UTC).isoformat()),
            )
        return note

    def add_cosignature(
        self, size: int, witness: str, cosigned_at: int, line: str
    ) -> None:
        """Append a witness's cosignature line of the checkpoint at `size`.

        Append-only (an INSERT): one per witness and tree size, the first kept
        (a witness cosigning the same tree again adds no row, so the rows are
        bounded by witnesses × checkpoints). Nothing here checks it: readers
        verify it against the witness keys they configure.
        """
        p = self.tables.p
        try:
            with self.datastore.transaction(commit=True) as cursor:
                cursor.execute(
                    f"INSERT INTO {self.tables.cosignatures} "
                    f"VALUES ({p}, {p}, {p}, {p}, {p})",
                    (
                        size,
                        witness,
                        cosigned_at,
                        line,
                        datetime.now(tz=UTC).isoformat(),
                    ),
                )
        except IntegrityError:
            return  # this witness's cosignature of this tree, stored already

    def cosignatures(self) -> list[tuple[int, str, str]]:
        """The cosignatures stored, (tree size, witness, line), oldest size first."""
        with self._read() as cursor:
            cursor.execute(
                f"SELECT tree_size, witness, line FROM {self.tables.cosignatures} "
                "ORDER BY tree_size, witness, cosigned_at"
            )
            rows = cursor.fetchall()
        return [
            (
                int(_value(r, "tree_size", 0)),
                str(_value(r, "witness", 1)),
                str(_value(r, "line", 2)),
            )
            for r in rows
        ]

    def size_at(self, position: int) -> int:
        """The size of the tree of the sealed events at positions up to `position`."""
        row = self._row(
            f"SELECT leaf_index FROM {self.tables.leaves} "
            "WHERE position <= ? ORDER BY position DESC LIMIT 1",
            position,
        )
        return 0 if row is None else int(_value(row, "leaf_index", 0)) + 1

    def signed_at(self, size: int) -> str | None:
        """The signed checkpoint stored at exactly `size` leaves (None: none)."""
        row = self._row(
            f"SELECT note FROM {self.tables.checkpoints} WHERE tree_size = ?", size
        )
        return None if row is None else str(_value(row, "note", 0))

    def latest_checkpoints(self, count: int) -> list[tuple[int, str]]:
        """The `count` largest stored checkpoints, (tree size, note), newest first."""
        with self._read() as cursor:
            cursor.execute(
                f"SELECT tree_size, note FROM {self.tables.checkpoints} "
                f"ORDER BY tree_size DESC LIMIT {int(count)}"
            )
            rows = cursor.fetchall()
        return [
            (int(_value(r, "tree_size", 0)), str(_value(r, "note", 1))) for r in rows
        ]

    def checkpoints(self) -> list[tuple[int, str]]:
        """The signed checkpoints stored, (tree size, note), oldest first."""
        with self._read() as cursor:
            cursor.execute(
                f"SELECT tree_size, note FROM {self.tables.checkpoints} "
                "ORDER BY tree_size"
            )
            rows = cursor.fetchall()
        return [
            (int(_value(r, "tree_size", 0)), str(_value(r, "note", 1))) for r in rows
        ]

    def build(self) -> int:
        """Seal every stored event into an empty log (the upgrade); the leaves made.

        The writer's step in `kofu init`, for a ledger recorded before the log
        existed, after its old chain verified; run with no other writer running.
        A log that has leaves is left as it is (0).
        """
        if self.size():
            return 0
        made, start = 0, 0
        while notes := self.ledger.recorder.select_notifications(
            start=start, limit=PAGE, inclusive_of_start=False
        ):
            events = [
                StoredEvent(
                    n.originator_id,
                    n.originator_version,
                    n.topic,
                    n.state if isinstance(n.state, bytes) else str(n.state).encode(),
                )
                for n in notes
            ]
            with self.datastore.transaction(commit=True) as cursor:
                if self.tables.postgres:
                    cursor.execute(
                        sql.SQL("SET LOCAL search_path TO {}").format(
                            sql.Identifier(self.datastore.schema)
                        )
                    )
                seal(cursor, self.tables, [n.id for n in notes], events)
            made += len(notes)
            start = notes[-1].id
        return made

    # --- checking ---------------------------------------------------------------

    def scan(self) -> LogCheck:
        """Compare every stored event with its leaf and every node with its leaves.

        Read-only, one pass in one snapshot (`log_scan.scan`): names each event
        no leaf covers ("unsealed"), each leaf whose event is gone ("deleted") or
        differs ("modified"), and any leaf or node row that does not follow from
        the leaves before it ("log").
        """
        check = LogCheck()
        with snapshot(self.datastore) as reader:
            scan(self, reader, check)
        return check


def find_unsealed(ledger: Ledger) -> list[LogFinding]:
    """Every stored event no leaf covers (read-only; at most MAX_FINDINGS)."""
    return [f for f in MerkleLog(ledger).scan().findings if f.kind == "unsealed"]
