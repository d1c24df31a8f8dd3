"""Row changes folded in memory: what a rebuild writes in one go.

A rebuild (or an as-of projection) starts from empty tables, so instead of
sending every event's upserts to the database it folds them here, with exactly
the semantics of the database's upsert (`adapters/storage/read_store.py`): a new row
takes the change's values; an existing row adds the `add` columns and keeps its
value where the change has none; a delete removes the rows that match. The
tables are then written once, with the tracking position, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from operator import itemgetter

from projections.read_models import TABLES, Change, Delete, Table, Upsert


class Folded:
    """The rows of every read-model table after a sequence of changes."""

    def __init__(self, tables: Iterable[Table] = TABLES) -> None:
        self.tables = {table.name: table for table in tables}
        self.rows: dict[str, dict[object, dict[str, object]]] = {
            name: {} for name in self.tables
        }
        self._columns = {
            name: [c.name for c in table.columns] for name, table in self.tables.items()
        }
        self._keys = {
            name: itemgetter(*table.key) for name, table in self.tables.items()
        }

    def apply(self, changes: Iterable[Change]) -> None:
        """Fold changes in, in order."""
        for change in changes:
            if isinstance(change, Upsert):
                self._upsert(change)
            else:
                self._delete(change)

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

    def _upsert(self, change: Upsert) -> None:
        row = change.row
        key = self._keys[change.table](row)
        rows = self.rows[change.table]
        old = rows.get(key)
        if old is None:
            rows[key] = dict(row)  # `table_rows` reads absent columns as None
            return
        add = change.add
        for column, value in row.items():
            if value is None:
                if column in add:
                    old[column] = None
            elif column in add:
                old[column] = _add(old.get(column), value)
            else:
                old[column] = value

    def _delete(self, change: Delete) -> None:
        rows = self.rows[change.table]
        where = change.where.items()
        for key in [k for k, r in rows.items() if all(r.get(c) == v for c, v in where)]:
            del rows[key]

    def table_rows(self, name: str) -> Iterator[list[object]]:
        """A table's rows as value lists in column order (in first-insert order)."""
        columns = self._columns[name]
        for row in self.rows[name].values():
            yield [row.get(c) for c in columns]

    def count(self) -> int:
        """How many rows all tables hold."""
        return sum(len(rows) for rows in self.rows.values())


def _add(old: object, value: object) -> object:
    # As SQL's `old + new`: NULL if either is NULL.
    if isinstance(old, int) and isinstance(value, int):
        return old + value
    return None
