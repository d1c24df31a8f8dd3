"""The `item_scores` and `scores` read models: points per sub-item, and totals.

The shape of the ministry's national results file (one row per entity, one column
per sub-item, totals and ranks) is a pivot of these rows; ranks are computed by the
read view (`RANK()`, competition ranking: ties share the better rank), so a change
of one entity's score never rewrites the others' rows.

Points and totals depend only on the answers as they stand: the events that change
answers (`ANSWER_FIELDS`) mark their self-evaluation (`answered`), and `flush`, at
the end of every batch, scores each marked one once. A rebuild on PostgreSQL finds
every sub-item's latest answer in the database and hands it to the same `flush`
(`restore_answers`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.catalogue import CHECKED, UNCHECKED, Answer
from domain.scoring import score
from domain.self_evaluation import SelfEvaluation
from projections.context import Dirty
from projections.schema import Change, Column, Row, Table, row

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from domain.catalogue import CatalogueSpec
    from projections.context import Context, Evaluation, Recorded

RANK_BY_TOTAL = (
    'RANK() OVER (PARTITION BY "grant_year", "tier", "grant" ORDER BY "total" DESC)'
)
_KEY = (
    Column("grant_year", "integer", "交付年度"),
    Column("tier", "text", "municipal or prefectural"),
    Column("grant", "text", "promotion or effort_support"),
    Column("entity", "text", "LG code"),
)
ITEM_SCORES = Table(
    "item_scores",
    "Points per entity, grant and sub-item (枝番), before the indicator, group and "
    "goal caps: the columns of the ministry's national results file.",
    (
        *_KEY,
        Column("item", "text", "sub-item code of the catalogue"),
        Column("points", "integer", "points earned by the answer as it stands"),
        Column("position", "integer", "ledger position of the answer's event"),
    ),
    ("grant_year", "tier", "grant", "entity", "item"),
    key_index=("entity", "item", "grant", "tier", "grant_year"),
)
SCORES = Table(
    "scores",
    "Total score per entity and grant as the answers stand (caps applied), "
    "with its competition rank within the tier and grant.",
    (
        *_KEY,
        Column("catalogue_version", "integer", "catalogue version scored"),
        Column("total", "integer", "得点 (capped at every level)"),
        Column("max_total", "integer", "配点 (full marks)"),
        Column("position", "integer", "ledger position of the latest answer event"),
    ),
    ("grant_year", "tier", "grant", "entity"),
    key_index=("entity", "grant", "tier", "grant_year"),
    derived=(
        (
            Column(
                "rank",
                "integer",
                "competition rank within tier and grant (1 = best)",
            ),
            RANK_BY_TOTAL,
        ),
    ),
)


@row
class ItemScoreRow(Row):
    """The points one answer earns, before the caps."""

    table = ITEM_SCORES
    grant_year: int
    tier: str
    grant: str
    entity: str
    item: str
    points: int
    position: int


@row
class ScoreRow(Row):
    """An entity's capped total for one grant."""

    table = SCORES
    grant_year: int
    tier: str
    grant: str
    entity: str
    catalogue_version: int
    total: int
    max_total: int
    position: int


ANSWER_FIELDS: dict[type[SelfEvaluation.Event], str] = {
    SelfEvaluation.Submitted: "answers",
    SelfEvaluation.Revised: "changes",
    SelfEvaluation.MinistryValuesImported: "changes",
    SelfEvaluation.Corrected: "change",
}
"""The events that change answers, and the field that holds them: `answers` (item:
value), `changes` (a list of changes: item, before, after) or `change` (one)."""


def answered(facts: Recorded, position: int, context: Context) -> list[Change]:
    """Mark the self-evaluation's changed answers for the next `flush` (no rows yet)."""
    changed = _changed_answers(ANSWER_FIELDS[facts.kind], facts.details)
    if not changed:
        return []
    aggregate_id = facts.originator_id
    answers = context.current_answers(aggregate_id, facts.originator_version - 1)
    answers.update(changed)
    dirty = context.rescore.get(aggregate_id)
    if dirty is None:
        evaluation = context.evaluation(aggregate_id)
        spec = context.catalogue(
            evaluation.grant_year, evaluation.tier, evaluation.catalogue_version
        )
        dirty = context.rescore[aggregate_id] = Dirty(spec, position, {})
    dirty.position = position
    dirty.items.update(dict.fromkeys(changed, position))
    return []


def restore_answers(
    context: Context,
    aggregate_id: object,
    answers: Mapping[str, Sequence[Any]],
) -> None:
    """Give `flush` a self-evaluation's answers as they stand, to score.

    `answers`: per sub-item, its latest value as stored (JSON) and the position of
    the event that set it (a pair); what `answered` leaves after all its events.
    """
    evaluation = context.evaluation(aggregate_id)
    context.answers[aggregate_id] = {
        item: _answer(value) for item, (value, _) in answers.items()
    }
    items = {item: at for item, (_, at) in answers.items()}
    if items:
        spec = context.catalogue(
            evaluation.grant_year, evaluation.tier, evaluation.catalogue_version
        )
        context.rescore[aggregate_id] = Dirty(spec, max(items.values()), items)


def flush(context: Context) -> list[Change]:
    """The item points and totals of the self-evaluations changed since the last flush.

    Points and totals depend only on the answers as they stand, so they are
    computed once per batch for each self-evaluation that changed, each row with
    the position of the latest event that changed it: the same rows whichever way
    the events were batched.
    """
    found: list[Change] = []
    for aggregate_id, dirty in context.rescore.items():
        found += score_changes(
            dirty.spec,
            context.evaluation(aggregate_id),
            context.answers[aggregate_id],
            dirty.items,
            dirty.position,
        )
    context.rescore.clear()
    return found


def score_changes(
    spec: CatalogueSpec,
    evaluation: Evaluation,
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
    items = spec.sub_items()
    known = {code: answer for code, answer in answers.items() if code in items}
    updated = [(code, at) for code, at in changed.items() if code in items]
    lg_code, grant_year, tier = (
        evaluation.lg_code,
        evaluation.grant_year,
        evaluation.tier,
    )
    found: list[Change] = []
    for grant in spec.grants:
        sheet = score(spec, known, grant)
        points = sheet.items
        found += [
            ItemScoreRow(
                grant_year=grant_year,
                tier=tier,
                grant=grant,
                entity=lg_code,
                item=code,
                points=points[code],
                position=at,
            )
            for code, at in updated
        ]
        found.append(
            ScoreRow(
                grant_year=grant_year,
                tier=tier,
                grant=grant,
                entity=lg_code,
                catalogue_version=spec.version,
                total=sheet.total,
                max_total=sheet.max_total,
                position=position,
            )
        )
    return found


def _answer(value: dict[str, Any]) -> Answer:
    checked = value.get("checked")
    if value.get("number") is None and checked is not None:
        return CHECKED if checked else UNCHECKED
    return Answer.model_validate(value)


def _changed_answers(field: str, details: dict[str, Any]) -> dict[str, Answer]:
    found = details[field]
    if field == "answers":
        return {item: _answer(value) for item, value in found.items()}
    changes = found if field == "changes" else [found]
    return {change["item"]: _answer(change["after"]) for change in changes}
