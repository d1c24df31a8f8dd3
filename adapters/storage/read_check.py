"""The read models recomputed from the events and compared row by row (read-only).

`kofu verify --read-models` (and the dossier, for the rows it shows) runs
`check_read_models`: every read model is recomputed from the events, by the code
that builds them (`projecting.catch_up`, the live path's `changes` and `flush`),
into a temporary SQLite file (`projecting.as_of`), up to the position the stored
read models claim; then each table's rows, stored and recomputed, are read through
their views in key order and merged: every row that differs, is missing or is
extra is named by its table and key. Nothing is repaired: the fix is `kofu
projections rebuild`, a writer's command.

The stored side is read in one read-only snapshot (repeatable read on PostgreSQL,
a read transaction on SQLite), its position read in the same snapshot; events the
stored side projected while the recomputation ran are caught up in the copy first.
The caller checks the events themselves first (the hash chain, the Merkle log):
rows recomputed from events that do not verify prove nothing.

Memory is bounded whatever the ledger's size: the recomputation writes a page of
`BATCH` events at a time (holding that page's changes and the projection context,
the facts a live follower remembers); each side is scanned `SCAN_PAGE` rows at a
time; the first `limit` differences are kept, the rest counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adapters.storage.projecting import as_of, catch_up
from adapters.storage.read_store import read_store
from projections.read_models import TABLES

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from domain.ledger import Ledger
    from projections.schema import Table

LIMIT = 50
"""Differences kept (and printed); the rest are counted."""


@dataclass(frozen=True)
class Difference:
    """One read-model row that is not what the events make it."""

    table: str
    key: dict[str, object]
    kind: str
    """changed (the values differ), missing (recomputed, not stored), extra."""
    detail: str = ""

    def __str__(self) -> str:
        key = ", ".join(f"{name}={value}" for name, value in self.key.items())
        return f"{self.table} ({key}): {self.kind}" + (
            f": {self.detail}" if self.detail else ""
        )


@dataclass
class ReadModelReport:
    """What `check_read_models` compared, and every row that differs (counted)."""

    position: int = 0
    """The position the stored read models stand at (compared up to it)."""
    head: int = 0
    """The ledger's last position (events after `position`: not projected yet)."""
    rows: dict[str, int] = field(default_factory=dict)
    """Rows recomputed and compared, per table."""
    differences: list[Difference] = field(default_factory=list)
    """The first `limit` differences."""
    count: int = 0
    """How many rows differ in all."""
    stale: bool = False
    """The stored tables have another shape (built by another kofu): not compared."""

    @property
    def intact(self) -> bool:
        """Whether every stored row is what the events make it."""
        return self.count == 0 and not self.stale

    def found(self, difference: Difference, limit: int) -> None:
        """Count a difference; keep it if fewer than `limit` are kept."""
        self.count += 1
        if len(self.differences) < limit:
            self.differences.append(difference)


class ReadModelsMovedError(RuntimeError):
    """The stored read models went back while they were checked (a rebuild)."""


def check_read_models(
    ledger: Ledger,
    *,
    tables: Sequence[Table] = TABLES,
    where: dict[str, object] | None = None,
    limit: int = LIMIT,
) -> ReadModelReport:
    """Recompute the read models from the events and compare every row.

    `where` (column values) limits the rows compared in each table (the dossier's
    entity and year); the recomputation is the whole log's in any case.

    Raises:
        ReadModelsMovedError: the stored position went back during the check.
    """
    store = read_store(ledger.recorder.datastore)  # type: ignore[attr-defined]
    report = ReadModelReport()
    if store.stale:
        report.stale = True
        return report
    start = store.position()
    with as_of(ledger, start, bulk=False) as recomputed, store.snapshot() as cursor:
        report.position = store.snapshot_position(cursor)
        report.head = ledger.recorder.max_notification_id() or 0
        if report.position < start:
            msg = f"the read models went back from {start} to {report.position}"
            raise ReadModelsMovedError(msg)
        if report.position > start:  # projected meanwhile: the copy catches up
            catch_up(ledger, recomputed, stop=report.position)
        if report.position > report.head:
            tracking: dict[str, object] = {"position": report.position}
            detail = f"claimed as projected; the log ends at {report.head}"
            report.found(Difference("tracking", tracking, "extra", detail), limit)
        with recomputed.snapshot() as copy:
            for table in tables:
                chosen = {k: v for k, v in (where or {}).items() if k in _names(table)}
                report.rows[table.name] = _compare(
                    table,
                    store.scan(cursor, table, chosen),
                    recomputed.scan(copy, table, chosen),
                    report,
                    limit,
                )
    return report


def _names(table: Table) -> list[str]:
    return [c.name for c in table.columns] + [c.name for c, _ in table.derived]


def _compare(
    table: Table,
    stored: Iterator[tuple[object, ...]],
    recomputed: Iterator[tuple[object, ...]],
    report: ReadModelReport,
    limit: int,
) -> int:
    """Merge two key-ordered scans; note every difference; count recomputed rows."""
    names = _names(table)
    ordered = [names.index(k) for k in table.key_index or table.key]
    shown = [names.index(k) for k in table.key]

    def keyed(rows: Iterator[tuple[object, ...]]) -> Iterator[tuple[Any, ...]]:
        for row in rows:
            yield tuple(row[i] for i in ordered), row

    def key(row: tuple[object, ...]) -> dict[str, object]:
        return {names[i]: row[i] for i in shown}

    counted = 0
    mine, theirs = keyed(stored), keyed(recomputed)
    a, b = next(mine, None), next(theirs, None)
    while a is not None or b is not None:
        if b is None or (a is not None and _before(a[0], b[0])):
            assert a is not None  # noqa: S101 - the condition above
            report.found(Difference(table.name, key(a[1]), "extra"), limit)
            a = next(mine, None)
            continue
        counted += 1
        if a is None or a[0] != b[0]:  # b's key comes first: not stored
            report.found(Difference(table.name, key(b[1]), "missing"), limit)
            b = next(theirs, None)
            continue
        if a[1] != b[1]:
            detail = "; ".join(
                f"{name} {_shown(x)}, recomputed {_shown(y)}"
                for name, x, y in zip(names, a[1], b[1], strict=True)
                if x != y
            )
            report.found(Difference(table.name, key(b[1]), "changed", detail), limit)
        a, b = next(mine, None), next(theirs, None)
    return counted


def _before(mine: tuple[object, ...], theirs: tuple[object, ...]) -> bool:
    """Whether one key comes before another in the databases' scan order."""
    try:
        return mine < theirs
    except TypeError:  # a value of another type, written by hand (SQLite)
        return tuple(map(_rank, mine)) < tuple(map(_rank, theirs))


def _rank(value: object) -> tuple[int, object]:
    # The order the databases scan a key in: SQLite's NULL < numbers < text <
    # blobs (a value of another type can only be one written by hand); text in
    # byte order, as both backends compare it and as Python compares str.
    if value is None:
        return (0, 0)
    if isinstance(value, int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, bytes):
        return (3, value)
    return (4, str(value))


def _shown(value: object, width: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"
