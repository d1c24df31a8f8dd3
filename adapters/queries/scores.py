"""The scores query: totals with ranks, as the answers stand (the results table)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from adapters.queries.rows import Row

if TYPE_CHECKING:
    from adapters.storage.read_store import ReadStore
    from domain.ledger import Ledger


@dataclass(frozen=True, slots=True)
class ScoreRow(Row):
    """An entity's total and rank; `items`: its points per sub-item, if asked."""

    rank: int
    entity: str
    name: str
    total: int
    max_total: int
    catalogue_version: int
    items: dict[str, int] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The totals, then one column per sub-item (catalogue order), if any."""
        row = Row.as_dict(self)
        items = row.pop("items")
        return row | items if items is not None else row


def score_rows(
    ledger: Ledger, store: ReadStore, where: dict[str, object], items: bool
) -> list[ScoreRow]:
    """Totals with ranks, and with `items` one column per sub-item (results file)."""
    names = {d.lg_code: d.name for d in ledger.entities()}
    rows = [
        ScoreRow(
            rank=r["rank"],
            entity=r["entity"],
            name=names.get(r["entity"], ""),
            total=r["total"],
            max_total=r["max_total"],
            catalogue_version=r["catalogue_version"],
        )
        for r in store.rows("scores", where, ["rank", "entity"])
    ]
    if not items or not rows:
        return rows
    spec = ledger.catalogue(
        int(str(where["grant_year"])), str(where["tier"]), rows[0].catalogue_version
    ).spec
    points: dict[str, dict[str, int]] = {}
    for r in store.rows("item_scores", where, ["entity", "item"]):
        points.setdefault(r["entity"], {})[r["item"]] = r["points"]
    codes = list(spec.sub_items())
    return [
        replace(row, items={c: points.get(row.entity, {}).get(c, 0) for c in codes})
        for row in rows
    ]
