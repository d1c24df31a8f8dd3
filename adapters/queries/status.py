"""How far the read models have projected the ledger (`kofu projections status`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from adapters.queries.rows import Row
from adapters.storage.read_store import view_name
from projections.read_models import TABLES

if TYPE_CHECKING:
    from adapters.storage.read_store import ReadStore
    from domain.ledger import Ledger


@dataclass(frozen=True, slots=True)
class ProjectionStatus(Row):
    """One read model: its view, generation, position, lag and row count."""

    view: str
    generation: int
    position: int
    ledger_position: int
    behind: int
    rows: int


def projection_status(ledger: Ledger, store: ReadStore) -> list[ProjectionStatus]:
    """Every read model as it stands, without catching up (so the lag shows)."""
    head = ledger.count_events()
    position = store.position()
    return [
        ProjectionStatus(
            view=view_name(table),
            generation=store.generation,
            position=position,
            ledger_position=head,
            behind=head - position,
            rows=store.count(table.name),
        )
        for table in TABLES
    ]
