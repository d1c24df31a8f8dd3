"""Tamper evidence: a hash chain over the stored events, in notification order.

Each stored event (its notification id, originator id and version, topic and state
bytes, exactly as the recorder returns them) is linked to the hash before it:

    h(0) = SHA-256("kofu ledger chain v1")
    h(n) = SHA-256(h(previous) ‖ id ‖ originator_id ‖ version ‖ topic ‖ state)

The chain is kept in `kofu_chain` (one hash per position) and extended after every
command; checkpoints (`kofu_chain_checkpoints`) are written every
`CHECKPOINT_EVERY` events and at every allocation decision. `verify` recomputes
the chain from the events and names the first position where history was modified,
deleted, inserted or reordered. A chain kept in the same database cannot prove the
database was not rewritten wholesale, so checkpoints export to a small file whose
own SHA-256 an outside party keeps; `verify --against FILE` checks the ledger
against it.

Over 300 lines (STYLE): the chain, its checkpoints, their export and the verification
that names the first damaged position all follow the one hash defined above and change
together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
from eventsourcing.persistence import IntegrityError, PersistenceError
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import sql

from adapters.common.parsing import read_bytes
from adapters.storage.log_scan import Reader, events_query, snapshot
from domain.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path

    from eventsourcing.persistence import Notification

    from domain.ledger import Ledger

GENESIS = hashlib.sha256(b"kofu ledger chain v1").hexdigest()
CHECKPOINT_EVERY = 1000
PAGE = 1000


def link(previous: str, note: Notification) -> str:
    """The chain hash of one stored event after `previous`."""
    state = note.state
    # A row rewritten by hand may come back as text; hash what it now says.
    row = (
        note.id,
        str(note.originator_id),
        int(note.originator_version),
        note.topic,
        state if isinstance(state, bytes) else str(state).encode(),
    )
    return link_row(bytes.fromhex(previous), row).hex()


def link_row(previous: bytes, row: tuple[Any, ...]) -> bytes:
    """The chain hash (bytes) of one stored event as read.

    `row`: position, originator id, version, topic, state.
    """
    position, originator_id, version, topic, state = row
    return hashlib.sha256(
        b"".join(
            (
                previous,
                position.to_bytes(8, "big"),
                originator_id.encode(),
                version.to_bytes(8, "big"),
                topic.encode(),
                b"\x00",
                state,
            )
        )
    ).digest()


@dataclass(frozen=True)
class Finding:
    """The first place where the stored history differs from its chain."""

    position: int
    kind: str  # modified | deleted | inserted | checkpoint
    detail: str


class Chain:
    """The chain tables in the ledger's own database."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.datastore: Any = ledger.recorder.datastore  # type: ignore[attr-defined]
        self.postgres = isinstance(self.datastore, PostgresDatastore)
        if not self.postgres and not isinstance(self.datastore, SQLiteDatastore):
            msg = "tamper evidence needs SQLite or PostgreSQL"
            raise TypeError(msg)
        self.p = "%s" if self.postgres else "?"
        with self._cursor() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS kofu_chain "
                "(position BIGINT PRIMARY KEY, hash TEXT NOT NULL)"
            )
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS kofu_chain_checkpoints "
                "(position BIGINT PRIMARY KEY, hash TEXT NOT NULL, "
                "sealed_for TEXT NOT NULL, recorded_at TEXT NOT NULL)"
            )

    def _cursor(self) -> Any:
        return _Transaction(self)

    def head(self) -> tuple[int, str]:
        """The last chained position and its hash (0 and the genesis if none)."""
        with self._cursor() as cursor:
            cursor.execute(
                "SELECT position, hash FROM kofu_chain ORDER BY position DESC LIMIT 1"
            )
            row = cursor.fetchone()
        if row is None:
            return 0, GENESIS
        position, digest = _pair(row)
        return int(position), str(digest)

    def hash_at(self, position: int) -> str | None:
        """The chain hash at a position (None if it is not chained)."""
        if position == 0:
            return GENESIS
        with self._cursor() as cursor:
            cursor.execute(
                f"SELECT hash FROM kofu_chain WHERE position = {self.p}", (position,)
            )
            row = cursor.fetchone()
        return None if row is None else str(_first(row))

    def extend(self, sealed_for: str | None = None) -> int:
        """Chain every event recorded since the head, checkpoint as due; the head."""
        position, digest = self.head()
        last_checkpoint = self._last_checkpoint()
        while True:
            notes = self.ledger.recorder.select_notifications(
                start=position, limit=PAGE, inclusive_of_start=False
            )
            if not notes:
                break
            rows = []
            for note in notes:
                digest = link(digest, note)
                rows.append((note.id, digest))
            try:
                with self._cursor() as cursor:
                    cursor.executemany(
                        f"INSERT INTO kofu_chain VALUES ({self.p}, {self.p})", rows
                    )
                    for note_id, note_digest in rows:
                        if note_id - last_checkpoint >= CHECKPOINT_EVERY:
                            self._checkpoint(cursor, note_id, note_digest, "interval")
                            last_checkpoint = note_id
            except IntegrityError:
                # Another process chained these positions first (the same hashes:
                # the chain is a function of the events); continue from its head.
                position, digest = self.head()
                last_checkpoint = self._last_checkpoint()
                continue
            position = notes[-1].id
        if sealed_for and position:
            with self._cursor() as cursor:
                self._checkpoint(cursor, position, digest, sealed_for)
        return position

    def _last_checkpoint(self) -> int:
        with self._cursor() as cursor:
            cursor.execute("SELECT MAX(position) FROM kofu_chain_checkpoints")
            row = cursor.fetchone()
        value = _first(row) if row is not None else None
        return int(value) if value is not None else 0

    def _checkpoint(
        self, cursor: Any, position: int, digest: str, sealed_for: str
    ) -> None:
        now = datetime.now(tz=UTC).isoformat()
        cursor.execute(
            f"DELETE FROM kofu_chain_checkpoints WHERE position = {self.p}", (position,)
        )
        cursor.execute(
            "INSERT INTO kofu_chain_checkpoints VALUES "
            f"({self.p}, {self.p}, {self.p}, {self.p})",
            (position, digest, sealed_for, now),
        )

    def checkpoints(self) -> list[dict[str, Any]]:
        """Every checkpoint, oldest first."""
        with self._cursor() as cursor:
            cursor.execute(
                "SELECT position, hash, sealed_for, recorded_at "
                "FROM kofu_chain_checkpoints ORDER BY position"
            )
            found = cursor.fetchall()
        names = ["position", "hash", "sealed_for", "recorded_at"]
        return [dict(zip(names, _row(r, names), strict=True)) for r in found]

    def check(
        self,
        reader: Reader,
        expected: dict[int, str] | None = None,
        start: tuple[int, str] = (0, GENESIS),
    ) -> ChainCheck:
        """A check of the chain from `start` (a position and its verified hash).

        The caller feeds it the stored events after it (`log_scan.scan`).
        """
        schema = (
            sql.Identifier(self.datastore.schema).as_string(None) + "."
            if self.postgres
            else ""
        )
        position = start[0]
        stored = reader.rows(
            f"SELECT position, hash FROM {schema}kofu_chain "
            f"WHERE position >= {self.p} ORDER BY position",
            (position,),
        )
        points = reader.rows(
            f"SELECT position, hash FROM {schema}kofu_chain_checkpoints "
            f"WHERE position > {self.p} ORDER BY position",
            (position,),
        )
        return ChainCheck(stored, points, expected, start)

    def verify(
        self, expected: dict[int, str] | None = None
    ) -> tuple[Finding | None, int]:
        """Recompute the chain: the first finding (None: intact), events checked."""
        with snapshot(self.datastore) as reader:
            check = self.check(reader, expected)
            query = events_query(self.datastore, self.ledger.recorder)
            for row in reader.rows(query, (0,)):
                check.see(row)
                if check.done:
                    break
            return check.finish()


class ChainCheck:
    """The chain recomputed from events fed in position order, against its rows.

    Names the first place the stored history differs from the stored chain (as
    `Chain.verify` always has): a chained position with no event (deleted), an
    event at an unchained position before the chain's head (inserted), a hash
    that differs (modified, or inserted if the next event links in its place),
    a checkpoint the chain no longer matches, an exported hash it differs from.
    """

    def __init__(
        self,
        stored: Iterator[tuple[Any, ...]],
        points: Iterator[tuple[Any, ...]],
        expected: dict[int, str] | None,
        start: tuple[int, str],
    ) -> None:
        self.stored, self.points = stored, points
        self.expected = dict(expected or {})
        self.digest = bytes.fromhex(start[1])
        self.head = start
        self.chained = next(stored, None)
        if start[0] and self.chained is not None and int(self.chained[0]) == start[0]:
            if str(self.chained[1]) != start[1]:
                self.finding: Finding | None = _modified(start[0])
            else:
                self.finding = None
            self.chained = next(stored, None)
        elif start[0]:
            self.finding = _deleted(start[0])
        else:
            self.finding = None
        self.point = next(points, None)
        self.checked = 0
        self.pending: tuple[tuple[Any, ...], str] | None = None
        self.done = self.finding is not None

    def see(self, row: tuple[Any, ...]) -> None:
        """Check the next stored event (position order)."""
        chained = self.chained
        if self.done or self.pending is not None or chained is None:
            self._aside(row)
            return
        position = row[0]
        if chained[0] != position:
            self._aside(row)
            return
        linked = link_row(self.digest, row)
        hashed = linked.hex()
        if hashed != chained[1]:
            self.pending = (row, str(chained[1]))
            return
        self.digest, self.checked = linked, self.checked + 1
        self.head = (position, hashed)
        if (
            self.expected
            and position in self.expected
            and self.expected.pop(position) != hashed
        ):
            self._found(_exported(position))
            return
        point = self.point
        while point is not None and point[0] <= position:
            if point[0] < position or point[1] != hashed:
                self._found(_checkpoint(int(point[0])))
                return
            point = self.point = next(self.points, None)
        self.chained = next(self.stored, None)

    def _aside(self, row: tuple[Any, ...]) -> None:
        """Everything but the next chained event: a finding, or the chain's end."""
        if self.done:
            return
        if self.pending is not None:
            # An extra event pushes the rest along: the next one links instead.
            before, hash_there = self.pending
            moved = (before[0], *row[1:])
            shifted = link_row(self.digest, moved).hex() == hash_there
            self._found((_inserted if shifted else _modified)(int(before[0])))
            return
        chained = self.chained
        if chained is None:
            self.done = True  # newer than the last seal
            return
        position = int(row[0])
        if chained[0] < position:
            self._found(_deleted(int(chained[0])))
        else:
            self._found(_inserted(position))

    def _found(self, finding: Finding) -> None:
        self.finding, self.done, self.pending = finding, True, None

    def finish(self) -> tuple[Finding | None, int]:
        """The first finding (None: intact) and the events checked."""
        if self.pending is not None:
            self._found(_modified(int(self.pending[0][0])))
        if self.finding is None and self.chained is not None:
            self._found(_deleted(int(self.chained[0])))
        if self.finding is None and self.point is not None:
            self._found(_checkpoint(int(self.point[0])))
        if self.finding is None and self.expected:
            self._found(_exported(min(self.expected)))
        return self.finding, self.checked


def _checkpoint(position: int) -> Finding:
    return Finding(position, "checkpoint", "the chain no longer matches its checkpoint")


def _exported(position: int) -> Finding:
    return Finding(
        position, "checkpoint", "the ledger differs from the exported checkpoint"
    )


class _Transaction:
    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.context: Any = None

    def __enter__(self) -> Any:
        self.context = self.chain.datastore.transaction(commit=True)
        cursor = self.context.__enter__()
        if self.chain.postgres:
            cursor.execute(
                sql.SQL("SET LOCAL search_path TO {}").format(
                    sql.Identifier(self.chain.datastore.schema)
                )
            )
        return cursor

    def __exit__(self, *exc: object) -> None:
        self.context.__exit__(*exc)


def _deleted(position: int) -> Finding:
    return Finding(position, "deleted", f"the event at position {position} is gone")


def _inserted(position: int) -> Finding:
    return Finding(
        position, "inserted", f"an event was inserted at position {position}"
    )


def _modified(position: int) -> Finding:
    return Finding(
        position,
        "modified",
        f"the event at position {position} differs from what was chained "
        "(modified, or swapped with another)",
    )


def _first(row: Any) -> Any:
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def _row(row: Any, names: list[str]) -> list[Any]:
    return [row[n] for n in names] if isinstance(row, dict) else list(row)


def _pair(row: Any) -> tuple[Any, Any]:
    values = _row(row, ["position", "hash"])
    return values[0], values[1]


def export_checkpoints(
    chain: Chain,
    path: Path,
    *,
    force: bool = False,
    log_checkpoint: str | None = None,
    cosigned: dict[int, str] | None = None,
) -> str:
    """Write the checkpoints to a file; return the file's SHA-256 to keep elsewhere.

    The file carries the chain's checkpoints and `log_checkpoint`, the latest
    checkpoint of the Merkle log the writer signed (a C2SP signed note), and
    `cosigned`: each checkpoint witnesses cosigned, its note with their
    cosignature lines after the log's signature (tree size → note).

    Raises:
        InvalidInput: the file cannot be written (`writing.write_file`).
    """
    from adapters.common.writing import write_file  # noqa: PLC0415

    content = orjson.dumps(
        {
            "chain": "kofu ledger chain v1",
            "genesis": GENESIS,
            "checkpoints": chain.checkpoints(),
            "log_checkpoint": log_checkpoint,
            "cosigned_checkpoints": {
                str(size): note for size, note in sorted((cosigned or {}).items())
            },
        },
        option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2,
    )
    write_file(path, content, force=force)
    return hashlib.sha256(content).hexdigest()


def read_checkpoints(path: Path) -> dict[int, str]:
    """Positions and hashes from an exported checkpoint file.

    Raises:
        InvalidInput: not such a file.
    """
    data = read_bytes(path)
    try:
        document = orjson.loads(data)
        return {int(p["position"]): str(p["hash"]) for p in document["checkpoints"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = f"not a kofu checkpoint file: {exc}"
        raise InvalidInput(msg, field=str(path)) from None


def read_log_checkpoint(path: Path) -> str | None:
    """The signed log checkpoint an exported file carries (None: an older export).

    Raises:
        InvalidInput: not such a file.
    """
    try:
        note = orjson.loads(read_bytes(path)).get("log_checkpoint")
    except (ValueError, AttributeError) as exc:
        msg = f"not a kofu checkpoint file: {exc}"
        raise InvalidInput(msg, field=str(path)) from None
    if note is not None and not isinstance(note, str):
        msg = "not a kofu checkpoint file: log_checkpoint is not a signed note"
        raise InvalidInput(msg, field=str(path))
    return note


PROTECTED = (
    "kofu_events",
    "kofu_log_leaves",
    "kofu_log_nodes",
    "kofu_log_checkpoints",
    "kofu_log_cosignatures",
)
"""The tables whose rows never change: the events and the Merkle log's (its
witnesses' cosignatures included: appended, never changed)."""
_FUNCTION = (
    "CREATE OR REPLACE FUNCTION {schema}.kofu_forbid_change() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
    "'kofu: stored events are immutable (% on %)', TG_OP, TG_TABLE_NAME; END $$"
)
_TABLE_SQL = (
    "DROP TRIGGER IF EXISTS {name}_immutable ON {table}",
    (
        "CREATE TRIGGER {name}_immutable BEFORE UPDATE OR DELETE "
        "ON {table} FOR EACH ROW EXECUTE FUNCTION {schema}.kofu_forbid_change()"
    ),
    "DROP TRIGGER IF EXISTS {name}_no_truncate ON {table}",
    (
        "CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE "
        "ON {table} FOR EACH STATEMENT "
        "EXECUTE FUNCTION {schema}.kofu_forbid_change()"
    ),
    "REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC",
)
PROTECT_SQL = (
    _FUNCTION,
    *[
        statement.replace("{name}", name).replace("{table}", "{schema}." + name)
        for name in PROTECTED
        for statement in _TABLE_SQL
    ],
)
"""Triggers owned by the table's owner refuse UPDATE, DELETE and TRUNCATE of the
events and of the log's leaves, nodes and checkpoints (`kofu init`)."""


def protect(ledger: Ledger) -> bool:
    """On PostgreSQL, forbid UPDATE, DELETE and TRUNCATE of event and log rows.

    Idempotent; run by the tables' owner (`kofu init`). The triggers keep the
    events' old names (`kofu_events_immutable`, `kofu_events_no_truncate`).
    """
    datastore: Any = ledger.recorder.datastore  # type: ignore[attr-defined]
    if not isinstance(datastore, PostgresDatastore):
        return False
    schema = sql.Identifier(datastore.schema).as_string(None)
    try:
        with datastore.transaction(commit=True) as cursor:
            for statement in PROTECT_SQL:
                cursor.execute(statement.replace("{schema}", schema))
    except (PersistenceError, psycopg.Error) as exc:
        if "must be owner" not in str(exc) and "permission denied" not in str(exc):
            raise
        msg = (
            f"kofu init runs as the owner of the ledger's tables ({exc}); "
            "the application's role cannot (docs/INTEGRITY.md §13)"
        )
        raise InvalidInput(msg, field="kofu init") from None
    return True
