"""Which stored events a trusted signed checkpoint covers: only those are trusted.

An event is **sealed and signed** when the newest stored checkpoint that opens with
a trusted verifier key (configured outside the database, `trusted_keys`) covers
it: the event's leaf, recomputed from the stored event (never the stored leaf
hash), has an inclusion proof to that checkpoint's signed root. The proof's nodes
are read from the log's tables (O(log n) rows) and are not trusted: a wrong node
makes the proof fail, never pass. So an event INSERTed by hand (no leaf), one
sealed by someone who holds the database but not the key (no signature covers
it), and one under a checkpoint re-signed with another key all stay unsigned.

Read-only: nothing here seals, extends or signs. The opened checkpoints are kept
by their note text (an Ed25519 verification each, once), and the (position, leaf)
pairs proved are kept (a signature covered exactly those bytes), both bounded: a
first lookup reads the newest checkpoints, the leaf indexes and the proofs' nodes
in one read transaction; a later one of the same bytes reads nothing more.
The trusted keys are the caller's (a server's: `inputs.keys.reader_keys`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import project_aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from psycopg import sql

from adapters.storage.merkle_log import MerkleLog, _node_rows, _value
from domain import merkle
from domain.checkpoint import Checkpoint, NoteError, VerifierKey, open_checkpoint
from domain.tokens import AccessToken

if TYPE_CHECKING:
    from collections.abc import Sequence

    from domain.ledger import Ledger

LATEST = 8
"""How many of the newest stored checkpoints are tried (newest first)."""
PAGE = 500
"""Positions read per statement."""
KEPT = 256
"""How many opened notes are kept (a bounded cache; 64 times as many proved pairs)."""


@dataclass(frozen=True)
class Stored:
    """One stored event with its position (notification id)."""

    position: int
    event: StoredEvent


class SealedEvents:
    """Whether stored events are covered by a trusted signed checkpoint (read-only)."""

    def __init__(self, ledger: Ledger, keys: Sequence[VerifierKey]) -> None:
        self.ledger = ledger
        self.log = MerkleLog(ledger)
        self.keys = tuple(keys)
        self._opened: dict[str, Checkpoint | None] = {}
        self._proved: set[tuple[int, bytes]] = set()
        self._lock = threading.Lock()

    def signed(self, cursor: Any = None) -> Checkpoint | None:
        """The newest stored checkpoint that opens with a trusted key (None: none).

        A checkpoint that does not open (another key, a rewritten note) is passed
        over, never trusted; `kofu verify` names it.
        """
        if cursor is None:
            with self.log._read() as fresh:  # noqa: SLF001 - the same log
                return self.signed(fresh)
        tables = self.log.tables
        cursor.execute(
            f"SELECT tree_size, note FROM {tables.checkpoints} "
            f"ORDER BY tree_size DESC LIMIT {LATEST}"
        )
        for row in cursor.fetchall():
            size, note = int(_value(row, "tree_size", 0)), str(_value(row, "note", 1))
            point = self._open(note)
            if point is not None and point.size == size:
                return point
        return None

    def _open(self, note: str) -> Checkpoint | None:
        with self._lock:
            if note in self._opened:
                return self._opened[note]
        try:
            point: Checkpoint | None = open_checkpoint(note, self.keys)
        except NoteError:
            point = None
        with self._lock:
            if len(self._opened) >= KEPT:
                self._opened.clear()
            self._opened[note] = point
        return point

    def unsigned(self, events: Sequence[Stored], cursor: Any = None) -> list[int]:
        """The positions of `events` no trusted signed checkpoint covers.

        Each event's leaf is recomputed from the event as stored and must lead,
        by an inclusion proof read from the log, to the root of the newest
        trusted signed checkpoint. An event proved once (the same position, the
        same leaf: the same bytes) is kept as proved: a signature covered it.
        One read transaction: the checkpoints, the leaf indexes, the nodes.
        """
        if cursor is None:
            with self.log._read() as fresh:  # noqa: SLF001 - the same log
                return self.unsigned(events, fresh)
        leaves = {s.position: _leaf(s) for s in events}
        with self._lock:
            todo = [p for p, leaf in leaves.items() if (p, leaf) not in self._proved]
        if not todo:
            return []
        point = self.signed(cursor)
        if point is None:
            return sorted(todo)
        tables = self.log.tables
        marks = ", ".join([tables.p] * len(todo))
        cursor.execute(
            f"SELECT leaf_index, position FROM {tables.leaves} "
            f"WHERE position IN ({marks})",
            todo,
        )
        indexes = {
            int(_value(r, "position", 1)): int(_value(r, "leaf_index", 0))
            for r in cursor.fetchall()
        }
        inside = {p: i for p, i in indexes.items() if i < point.size}
        ranges = {p: merkle.inclusion_ranges(i, point.size) for p, i in inside.items()}
        keys = {
            k for spans in ranges.values() for r in spans for k in merkle.range_keys(*r)
        }
        nodes = _node_rows(cursor, tables, keys)
        proved = []
        for position, index in inside.items():
            try:
                path = [merkle.range_hash(a, b, nodes) for a, b in ranges[position]]
            except KeyError:
                continue  # a node is missing: the log was damaged
            if merkle.verify_inclusion(
                index, point.size, leaves[position], path, point.root
            ):
                proved.append(position)
        with self._lock:
            if len(self._proved) >= KEPT * 64:
                self._proved.clear()
            self._proved.update((p, leaves[p]) for p in proved)
        return sorted(set(todo) - set(proved))

    def unsigned_positions(self, positions: Sequence[int]) -> set[int]:
        """Which of these positions no trusted signed checkpoint covers (one read).

        A position with no stored event is not named (there is nothing to trust).
        """
        wanted = sorted(set(positions))
        if not wanted:
            return set()
        with self.log._read() as cursor:  # noqa: SLF001 - the same log
            stored = self.events_at(wanted, cursor)
            return set(self.unsigned(stored, cursor))

    def _select(self, postgres: str, sqlite: str) -> tuple[Any, bool]:
        """SELECT position and the stored event FROM the events WHERE ...; is PG."""
        recorder: Any = self.ledger.recorder
        datastore = recorder.datastore
        if isinstance(datastore, PostgresDatastore):
            statement = sql.SQL(
                "SELECT notification_id AS position, originator_id, "
                f"originator_version, topic, state FROM {{}} WHERE {postgres}"
            ).format(sql.Identifier(datastore.schema, recorder.events_table_name))
            return statement, True
        return (
            "SELECT rowid AS position, originator_id, originator_version, topic, "
            f"state FROM {recorder.events_table_name} WHERE {sqlite}"
        ), False

    def events_at(self, positions: Sequence[int], cursor: Any) -> list[Stored]:
        """The stored events at these positions (those that exist), in order."""
        found: list[Stored] = []
        for start in range(0, len(positions), PAGE):
            chunk = list(positions[start : start + PAGE])
            marks = ", ".join("?" * len(chunk))
            statement, postgres = self._select(
                "notification_id = ANY(%s)", f"rowid IN ({marks})"
            )
            cursor.execute(statement, (chunk,) if postgres else chunk)
            found.extend(_stored(row) for row in cursor.fetchall())
        return sorted(found, key=lambda s: s.position)

    def events_of(self, aggregate_id: UUID, cursor: Any = None) -> list[Stored]:
        """Every stored event of one aggregate, with its position, in version order."""
        if cursor is None:
            with self.log._read() as fresh:  # noqa: SLF001 - the same log
                return self.events_of(aggregate_id, fresh)
        statement, postgres = self._select(
            "originator_id = %s ORDER BY originator_version",
            "originator_id = ? ORDER BY originator_version",
        )
        key: Any = aggregate_id if postgres else aggregate_id.hex
        cursor.execute(statement, (key,))
        rows = cursor.fetchall()
        return [_stored(row) for row in rows]


def _stored(row: Any) -> Stored:
    return Stored(
        int(row["position"]),
        StoredEvent(
            originator_id=_uuid(row["originator_id"]),
            originator_version=int(row["originator_version"]),
            topic=str(row["topic"]),
            state=bytes(row["state"]),
        ),
    )


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _leaf(stored: Stored) -> bytes:
    """The leaf hash of a stored event, recomputed from it (never the stored one)."""
    event = stored.event
    return merkle.event_leaf_hash(
        stored.position,
        str(event.originator_id),
        event.originator_version,
        event.topic,
        event.state,
    )


@dataclass(frozen=True)
class TokenRecord:
    """A token folded from its stored events, and those no signature covers."""

    token: AccessToken | None
    unsigned: tuple[int, ...] = ()


def token_record(sealed: SealedEvents, token_id: str) -> TokenRecord:
    """The token `token_id` from its own stored events (one read), and its unsigned.

    The events are read once, folded by the library's projector and checked
    against the newest trusted signed checkpoint: what is folded is what was
    checked. A revoked token is not checked (a revocation counts sealed or not:
    failing closed); a history that does not fold (a second `Issued` stored by
    hand) is no token.
    """
    with sealed.log._read() as cursor:  # noqa: SLF001 - one read transaction
        stored = sealed.events_of(AccessToken.id_for(token_id), cursor)
        if not stored:
            return TokenRecord(None)
        mapper = sealed.ledger.mapper
        try:
            token: object = project_aggregate(
                None, [mapper.to_domain_event(s.event) for s in stored]
            )
        except Exception:  # noqa: BLE001 - e.g. a second `Issued` stored by hand
            return TokenRecord(None)  # a history that does not fold opens nothing
        if not isinstance(token, AccessToken):
            return TokenRecord(None)
        if token.revoked:
            return TokenRecord(token)
        return TokenRecord(token, tuple(sealed.unsigned(stored, cursor)))
