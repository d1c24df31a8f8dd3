"""The audit-trail query: every event that touched an entity, in ledger order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from adapters.inputs.keys import reader_keys
from adapters.queries.rows import Row
from adapters.storage.sealed import SealedEvents

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from adapters.storage.read_store import ReadStore
    from domain.ledger import Ledger


@dataclass(frozen=True, slots=True)
class TrailRow(Row):
    """An audit-trail row (the `audit_trail` read model) with its event's fields."""

    position: int
    entity: str
    grant_year: int | None
    recorded_at: datetime | str
    event: str
    actor: str | None
    reason: str | None
    details: dict[str, Any]
    """The event's own fields (before/after values): columns beside the common."""

    def as_dict(self) -> dict[str, Any]:
        """The common columns, then the event's own fields not among them."""
        row = Row.as_dict(self)
        details = row.pop("details")
        return row | {k: v for k, v in details.items() if k not in row}


def trail_row(row: dict[str, Any]) -> TrailRow:
    """A stored audit-trail row (its details as JSON text) as a typed row."""
    fields = dict(row)
    return TrailRow(**fields | {"details": orjson.loads(fields["details"] or "{}")})


def flat_trail_row(row: dict[str, Any]) -> dict[str, Any]:
    """An audit-trail row with its event's own fields beside the common ones."""
    return trail_row(row).as_dict()


def audit_trail(
    store: ReadStore, entity: str, grant_year: int, up_to: int | None = None
) -> list[TrailRow]:
    """The events of one entity and year (up to a ledger position), in order."""
    rows = store.rows(
        "audit_trail", {"entity": entity, "grant_year": grant_year}, ["position"], up_to
    )
    return [trail_row(row) for row in rows]


def unsigned_positions(ledger: Ledger, rows: Sequence[TrailRow]) -> set[int]:
    """The positions of `rows` no trusted signed checkpoint covers (未封印).

    The trusted keys are the reader's (`reader_keys`); read-only.
    """
    check = SealedEvents(ledger, reader_keys())
    return check.unsigned_positions([row.position for row in rows])
