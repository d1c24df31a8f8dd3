"""Scoring a self-evaluation against its catalogue, for one grant (docs/DOMAIN.md §5).

Points flow upwards and are capped at every level (§5, §8 rule 2):
sub-item → indicator (`sum` of sub-items, or the `best` alternative; capped at the
indicator's 配点) → group (sum, capped) → goal (sum, capped) → total. Each cap that
bites is recorded so an auditor sees the raw and the capped value.

Ministry-computed items (`source: ministry`, goal Ⅳ 成果) are scored like any other:
the ledger puts their values into the same answers map, and a level weighted in both
grants counts in both sheets. Unanswered items score 0. Points are integers.

The caps depend only on the sub-items' points: `goal_subtotals` applies them to
points already scored (the `item_scores` read model's), as `score` does to answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from domain.base import Grant, Value
from domain.catalogue import (
    Answer,
    CatalogueSpec,
    Goal,
    Group,
    Indicator,
    Points,
    SubItem,
    points_in,
)
from domain.errors import InvalidInput

Level = Literal["indicator", "group", "goal"]


class CapApplied(Value):
    """A level whose raw points exceeded its 配点 and were cut to it."""

    level: Level
    code: str
    raw: int
    capped: int


class ScoreSheet(Value):
    """得点 of one entity in one grant, level by level (docs/DOMAIN.md §5).

    Every level of the catalogue appears, with 0 where nothing was earned or the
    level carries no points in this grant.
    """

    grant: Grant
    total: int
    max_total: int
    items: dict[str, int]
    indicators: dict[str, int]
    groups: dict[str, int]
    goals: dict[str, int]
    caps: tuple[CapApplied, ...]


class _Tally:
    """Mutable working state of one roll-up (never leaves this module)."""

    def __init__(self, grant: Grant, items: dict[str, int]) -> None:
        self.grant = grant
        self.items = items
        self.indicators: dict[str, int] = {}
        self.groups: dict[str, int] = {}
        self.goals: dict[str, int] = {}
        self.caps: list[CapApplied] = []

    def cap(self, level: Level, code: str, raw: int, max_points: Points) -> int:
        limit = points_in(max_points, self.grant)
        if raw <= limit:
            return raw
        self.caps.append(CapApplied(level=level, code=code, raw=raw, capped=limit))
        return limit


def score(
    spec: CatalogueSpec, answers: Mapping[str, Answer], grant: Grant
) -> ScoreSheet:
    """Score answers to one catalogue for one grant (docs/DOMAIN.md §5, §8 rule 2).

    Args:
        spec: the catalogue version in force for the grant year and tier.
        answers: answers by sub-item code, self-reported and ministry-computed alike;
            a missing item scores 0.
        grant: the grant whose weights apply.

    Returns:
        The points of every item, indicator, group and goal, the capped total, the
        full marks of the grant, and the caps applied.

    Raises:
        InvalidInput: an answer names an item not in the catalogue, or its kind
            (checkbox or number) does not fit the item.
    """
    unknown = sorted(set(answers) - set(spec.sub_items()))
    if unknown:
        msg = (
            f"answers name items not in the FY{spec.grant_year} {spec.tier} "
            f"catalogue version {spec.version}: {', '.join(unknown)}"
        )
        raise InvalidInput(msg, field=unknown[0])
    items = {
        code: item_points(item, answers.get(code), grant)
        for code, (item, _) in spec.sub_items().items()
    }
    return _rolled_up(spec, items, grant)


def goal_subtotals(
    spec: CatalogueSpec, points: Mapping[str, int], grant: Grant
) -> dict[str, int]:
    """Each goal's points (目標計), capped at every level, from the sub-items' points.

    Args:
        spec: the catalogue version.
        points: each sub-item's points in the grant before any cap (as `score`
            gives them, or the `item_scores` read model holds them); a missing item
            counts 0, an item not in the catalogue is ignored.
        grant: the grant whose caps apply.

    Returns:
        The capped points of every goal of the catalogue, by goal code.
    """
    items = {code: points.get(code, 0) for code in spec.sub_items()}
    return _rolled_up(spec, items, grant).goals


def _rolled_up(spec: CatalogueSpec, items: dict[str, int], grant: Grant) -> ScoreSheet:
    """The sheet of the sub-items' points: each level summed (or best) and capped."""
    tally = _Tally(grant, items)
    total = sum(_goal_points(goal, tally) for goal in spec.goals)
    # Built from values computed here, of the declared types: no need to re-validate.
    return ScoreSheet.model_construct(
        grant=grant,
        total=total,
        max_total=points_in(spec.full_marks, grant),
        items=items,
        indicators=tally.indicators,
        groups=tally.groups,
        goals=tally.goals,
        caps=tuple(tally.caps),
    )


def item_points(item: SubItem, answer: Answer | None, grant: Grant) -> int:
    """Points of one sub-item (枝番) in one grant (docs/DOMAIN.md §5).

    A checked checkbox earns its points; a number earns the points of the highest
    threshold whose `at_least` it meets (number items carry no points of their own).

    Raises:
        InvalidInput: the answer's kind does not fit the item.
    """
    if answer is None:
        return 0
    if item.kind == "checkbox":
        if answer.checked is None:
            msg = f"checkbox item {item.code} was answered with a number"
            raise InvalidInput(msg, field=item.code)
        return points_in(item.points, grant) if answer.checked else 0
    if answer.number is None:
        msg = f"number item {item.code} was answered with a checkbox"
        raise InvalidInput(msg, field=item.code)
    value = answer.number
    met = [t for t in item.thresholds if value >= t.at_least]
    return points_in(met[-1].points, grant) if met else 0


def _indicator_points(indicator: Indicator, tally: _Tally) -> int:
    earned = [tally.items[item.code] for item in indicator.sub_items]
    raw = max(earned) if indicator.mode == "best" else sum(earned)
    points = tally.cap("indicator", indicator.code, raw, indicator.max_points)
    tally.indicators[indicator.code] = points
    return points


def _group_points(group: Group, tally: _Tally) -> int:
    raw = sum(_indicator_points(i, tally) for i in group.indicators)
    points = tally.cap("group", group.code, raw, group.max_points)
    tally.groups[group.code] = points
    return points


def _goal_points(goal: Goal, tally: _Tally) -> int:
    raw = sum(_group_points(g, tally) for g in goal.groups)
    points = tally.cap("goal", goal.code, raw, goal.max_points)
    tally.goals[goal.code] = points
    return points
