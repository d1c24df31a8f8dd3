"""The item-level score table: points per entity, grant and sub-item, and totals.

The shape of the ministry's national results file (one row per entity, one column
per sub-item, totals and ranks) is a pivot of these rows; ranks are computed by the
read view (`RANK()`, competition ranking: ties share the better rank), so a change
of one entity's score never rewrites the others' rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from domain.catalogue import Answer, CatalogueSpec
from domain.scoring import score

if TYPE_CHECKING:
    from projections.read_models import Change, Column, Table


RANK_BY_TOTAL = (
    'RANK() OVER (PARTITION BY "grant_year", "tier", "grant" ORDER BY "total" DESC)'
)


def tables(column: type[Column], table: type[Table]) -> tuple[Table, Table]:
    """The two score tables (built here to keep their shape next to their logic)."""
    key = (
        column("grant_year", "integer", "交付年度"),
        column("tier", "text", "municipal or prefectural"),
        column("grant", "text", "promotion or effort_support"),
        column("entity", "text", "LG code"),
    )
    items = table(
        "item_scores",
        "Points per entity, grant and sub-item (枝番), before the indicator, group and "
        "goal caps: the columns of the ministry's national results file.",
        (
            *key,
            column("item", "text", "sub-item code of the catalogue"),
            column("points", "integer", "points earned by the answer as it stands"),
            column("position", "integer", "ledger position of the answer's event"),
        ),
        ("grant_year", "tier", "grant", "entity", "item"),
        key_index=("entity", "item", "grant", "tier", "grant_year"),
    )
    totals = table(
        "scores",
        "Total score per entity and grant as the answers stand (caps applied), "
        "with its competition rank within the tier and grant.",
        (
            *key,
            column("catalogue_version", "integer", "catalogue version scored"),
            column("total", "integer", "得点 (capped at every level)"),
            column("max_total", "integer", "配点 (full marks)"),
            column("position", "integer", "ledger position of the latest answer event"),
        ),
        ("grant_year", "tier", "grant", "entity"),
        key_index=("entity", "grant", "tier", "grant_year"),
        derived=(
            (
                column(
                    "rank",
                    "integer",
                    "competition rank within tier and grant (1 = best)",
                ),
                RANK_BY_TOTAL,
            ),
        ),
    )
    return items, totals


def _base(key: tuple[str, int, str], grant: str) -> dict[str, object]:
    lg_code, grant_year, tier = key
    return {"grant_year": grant_year, "tier": tier, "grant": grant, "entity": lg_code}


def score_changes(
    spec: CatalogueSpec,
    key: tuple[str, int, str],
    answers: Mapping[str, Answer],
    changed: Mapping[str, int],
    position: int,
) -> list[Change]:
    """The rows of one entity whose answers changed, in every grant.

    Item rows for the changed sub-items (each with the position of its latest
    change), and the totals as the answers stand (with `position`, the latest
    answer event). One `score` per grant gives both: the sheet holds every item's
    points as well as the capped total.
    """
    from projections.read_models import Upsert  # noqa: PLC0415 - avoids a cycle

    items = spec.sub_items()
    known = {code: answer for code, answer in answers.items() if code in items}
    updated = [(code, at) for code, at in changed.items() if code in items]
    found: list[Change] = []
    for grant in spec.grants:
        sheet = score(spec, known, grant)
        base = _base(key, grant)
        points = sheet.items
        found += [
            Upsert(
                "item_scores",
                {**base, "item": code, "points": points[code], "position": at},
            )
            for code, at in updated
        ]
        found.append(
            Upsert(
                "scores",
                base
                | {
                    "catalogue_version": spec.version,
                    "total": sheet.total,
                    "max_total": sheet.max_total,
                    "position": position,
                },
            )
        )
    return found
