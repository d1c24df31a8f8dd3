"""The base of the queries' typed rows: a frozen dataclass that gives its dict row."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol


class AsDict(Protocol):
    """A typed row: `as_dict()` is the flat row printed and served."""

    def as_dict(self) -> dict[str, Any]:
        """The row as printed and served (keys in column order)."""
        ...


@dataclass(frozen=True, slots=True)
class Row:
    """A row whose dataclass fields, in order, are its columns."""

    _names: ClassVar[dict[type, tuple[str, ...]]] = {}

    def as_dict(self) -> dict[str, Any]:
        """The fields in declaration order, as the output's columns."""
        kind = type(self)
        names = Row._names.get(kind)
        if names is None:
            names = Row._names[kind] = tuple(f.name for f in fields(self))
        return {name: getattr(self, name) for name in names}


def as_dicts(rows: Iterable[AsDict]) -> list[dict[str, Any]]:
    """The dict rows of typed rows, in order."""
    return [row.as_dict() for row in rows]
