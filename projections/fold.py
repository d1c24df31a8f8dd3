"""Row changes folded in memory: what a rebuild writes in one go.

A rebuild (or an as-of projection) starts from empty tables, so instead of
sending every event's upserts to the database it folds them here, with exactly
the semantics of the database's upsert (`adapters/storage/read_store.py`): a new row
takes the row's values; an existing row adds the `added` columns and keeps its
value where the row has none; a delete removes the rows that match. The
tables are then written once, with the tracking position, in one transaction.
Rows are kept as their tables' value lists: the fold is the storage edge of a rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from operator import itemgetter
from typing import TYPE_CHECKING

from projections.read_models import TABLES
from projections.schema import Delete, Row, Table

if TYPE_CHECKING:
    from projections.schema import Change


class Folded:
    """The rows of every read-model table after a sequence of changes."""

    def __init__(self, tables: Iterable[Table] = TABLES) -> None:
        self.tables = {table.name: table for table in tables}
        self.rows: dict[str, dict[object, list[object]]] = {
            name: {} for name in self.tables
        }
        self._columns = {
            name: {c.name: index for index, c in enumerate(table.columns)}
            for name, table in self.tables.items()
        }
        self._keys = {
            name: itemgetter(*(self._columns[name][k] for k in table.key))
            for name, table in self.tables.items()
        }
        self._added: dict[type[Row], frozenset[int]] = {}

    def apply(self, changes: Iterable[Change]) -> None:
        """Fold changes in, in order."""
        for change in changes:
            if isinstance(change, Delete):
                self._delete(change)
            else:
                self._upsert(change)

    def merge(self, other: Folded) -> None:
        """Take over the tables another fold built (each table built by one only).

        Raises:
            ValueError: both folds have rows in the same table.
        """
        for name, rows in other.rows.items():
            if rows and self.rows[name]:
                msg = f"both folds have rows in {name}"
                raise ValueError(msg)
            if rows:
                self.rows[name] = rows

    def _upsert(self, change: Row) -> None:
        name = change.table.name
        values = change.values()
        key = self._keys[name](values)
        rows = self.rows[name]
        old = rows.get(key)
        if old is None:
            rows[key] = list(values)
            return
        added = self._added.get(type(change))
        if added is None:
            added = self._added[type(change)] = frozenset(
                self._columns[name][c] for c in change.added
            )
        for index, value in enumerate(values):
            if value is None:
                if index in added:
                    old[index] = None
            elif index in added:
                old[index] = _add(old[index], value)
            else:
                old[index] = value

    def _delete(self, change: Delete) -> None:
        name = change.table.name
        rows = self.rows[name]
        columns = self._columns[name]
        # Compared in C, as one tuple: a run deletes its phase's rows from thousands.
        matched = itemgetter(*(columns[c] for c in change.where))
        values = tuple(change.where.values())
        target = values if len(values) > 1 else values[0]
        for key in [k for k, r in rows.items() if matched(r) == target]:
            del rows[key]

    def table_rows(self, name: str) -> Iterator[list[object]]:
        """A table's rows as value lists in column order (in first-insert order).

        The lists themselves: a writer may convert their cells in place.
        """
        yield from self.rows[name].values()

    def count(self) -> int:
        """How many rows all tables hold."""
        return sum(len(rows) for rows in self.rows.values())


def _add(old: object, value: object) -> object:
    # As SQL's `old + new`: NULL if either is NULL.
    if isinstance(old, int) and isinstance(value, int):
        return old + value
    return None
