"""What every read model is made of: tables, typed rows, and the changes they make.

A read model (one module each: `allocations`, `audit_trail`, `submission_status`,
`scores`, `run_publications`) defines its tables (`Table`, `Column`) and its rows:
a frozen dataclass per table (`@row`) whose fields are the table's columns in
order. The read models hand rows and deletes (`Change`) to the adapters; a row
becomes the table's tuple (`Row.values`) only there, at the storage edge
(adapters/storage/read_store.py, projections/fold.py).

An upserted row replaces the columns it has a value for and keeps the others (a
`None` field keeps the stored value, or is NULL in a new row); the columns a row
class names in `added` are added to the stored value instead (counters).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from operator import attrgetter
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    NamedTuple,
    TypeVar,
    cast,
    dataclass_transform,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

VERSION = 1
"""The read schema's version: the tables' and views' `_v1` (a new shape, a new one)."""


@dataclass(frozen=True)
class Column:
    """A read-model column (`kind`: text, integer, boolean, timestamp or json)."""

    name: str
    kind: str
    description: str


@dataclass(frozen=True)
class Table:
    """A read-model table: its columns and primary key."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    derived: tuple[tuple[Column, str], ...] = ()
    """Columns the read view computes (column, SQL expression), e.g. ranks."""
    indexes: tuple[tuple[str, ...], ...] = ()
    """Secondary indexes (column lists) for the queries readers make."""
    key_index: tuple[str, ...] = ()
    """The key's columns in the order its unique index has them, if not the key's:
    the most distinct first, which halves the time to index a bulk load."""


class Row:
    """A typed row of one read-model table (declare it with `@row`)."""

    __slots__ = ()
    table: ClassVar[Table]
    added: ClassVar[tuple[str, ...]] = ()
    """Columns whose values are added to the stored row's, not put in its place."""
    tuple_of: ClassVar[Callable[[Row], tuple[object, ...]]]
    """A row's values in column order (set by `@row`)."""

    def values(self) -> tuple[object, ...]:
        """The row as its table's tuple, in column order (for the storage edge)."""
        return type(self).tuple_of(self)


R = TypeVar("R", bound=Row)


@dataclass_transform(frozen_default=True, kw_only_default=True)
def row(cls: type[R]) -> type[R]:
    """Make a `Row` subclass a frozen dataclass whose fields are its table's columns.

    Keyword-only, slotted, frozen (assigning a field raises), compared and hashed
    by value, as `dataclass` makes it; only its `__init__` is another (`_init`).

    Raises:
        TypeError: the fields are not the table's columns, in the table's order.
    """
    made = dataclass(frozen=True, slots=True, kw_only=True)(cls)
    names = tuple(f.name for f in fields(cast("Any", made)))
    columns = tuple(c.name for c in made.table.columns)
    if names != columns or not set(made.added) <= set(columns):
        msg = f"{made.__name__}: fields {names} are not {made.table.name}'s {columns}"
        raise TypeError(msg)
    made.tuple_of = attrgetter(*names)
    made.__init__ = _init(made, names)  # type: ignore[method-assign]
    return made


def _init(cls: type, names: tuple[str, ...]) -> Callable[..., None]:
    """The same `__init__` as the frozen dataclass's, at about half its cost.

    A frozen dataclass's `__init__` sets each field through `object.__setattr__`
    (its own `__setattr__` refuses); this one through the field's slot (its
    descriptor's `__set__`): 1.8 µs instead of 3.3 µs for a row of 12 columns,
    measured, and a rebuild makes a row per event and per answer. Generated as
    `dataclass` generates its own.
    """
    setters = {f"_set_{name}": getattr(cls, name).__set__ for name in names}
    body = "".join(f"\n    _set_{name}(self, {name})" for name in names)
    source = f"def __init__(self, *, {', '.join(names)}):{body}\n"
    exec(source, setters)  # noqa: S102 - our own field names, as dataclasses does
    init: Callable[..., None] = setters["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


class Delete(NamedTuple):
    """Delete the rows of `table` whose columns equal `where`."""

    table: Table
    where: Mapping[str, object]


Change = Row | Delete


def plain(value: object) -> object:
    """A value as stored: timestamps ISO 8601 text, everything else unchanged."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
