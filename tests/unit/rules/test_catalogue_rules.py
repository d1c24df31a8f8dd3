"""The catalogue rules in domain: 配点 per item and grant, goal subtotals (目標計).

`domain.catalogue.max_points` is the most an answer to a sub-item can earn, and
`domain.scoring.goal_subtotals` caps the sub-items' points into goals exactly as
`score` does from the answers, so the national tables take both from the domain
instead of re-deriving them (docs/DOMAIN.md §5, §8 rule 2).
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.base import GRANTS, Grant
from domain.catalogue import Answer, CatalogueSpec, SubItem, max_points
from domain.scoring import goal_subtotals, item_points, score

CATALOGUES = Path(__file__).resolve().parents[3] / "data" / "catalogues"
SHIPPED = sorted(p.name for p in CATALOGUES.glob("*.yaml"))


@cache
def shipped(name: str) -> CatalogueSpec:
    raw = yaml.safe_load((CATALOGUES / name).read_text(encoding="utf-8"))
    raw.pop("kind")
    return CatalogueSpec.model_validate(raw)


def candidates(sub: SubItem) -> list[Answer]:
    """Every answer that earns something different: each threshold and below them."""
    if sub.kind == "checkbox":
        return [Answer(checked=True), Answer(checked=False)]
    bounds = [t.at_least for t in sub.thresholds]
    return [Answer(number=b) for b in bounds] + [Answer(number=bounds[0] - 1)]


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("grant", GRANTS)
def test_max_points_is_the_most_any_answer_earns(name: str, grant: Grant) -> None:
    for code, (sub, _) in shipped(name).sub_items().items():
        best = max(item_points(sub, a, grant) for a in candidates(sub))
        assert max_points(sub, grant) == best, code


def test_a_number_items_max_points_ignore_points_of_its_own() -> None:
    """Scoring never pays a number item's own points, so neither does 配点."""
    sub = SubItem.model_validate(
        {
            "code": "N-1",
            "title": "t",
            "kind": "number",
            "points": {"promotion": 50},
            "thresholds": [
                {"at_least": 1, "points": {"promotion": 3}},
                {"at_least": 2, "points": {"promotion": 7}},
            ],
        }
    )
    assert max_points(sub, "promotion") == 7
    assert item_points(sub, Answer(number=Decimal(5)), "promotion") == 7
    assert max_points(sub, "effort_support") == 0


@st.composite
def answered(draw: st.DrawFn) -> tuple[CatalogueSpec, dict[str, Answer], Grant]:
    spec = shipped(draw(st.sampled_from(SHIPPED)))
    grant = draw(st.sampled_from(spec.grants))
    answers = {}
    for code, (sub, _) in spec.sub_items().items():
        if draw(st.integers(0, 3)):  # about a quarter of the items left unanswered
            answers[code] = draw(st.sampled_from(candidates(sub)))
    return spec, answers, grant


@settings(max_examples=60, deadline=None)
@given(answered())
def test_goal_subtotals_of_the_items_points_are_the_scored_goals(
    case: tuple[CatalogueSpec, dict[str, Answer], Grant],
) -> None:
    spec, answers, grant = case
    sheet = score(spec, answers, grant)
    assert goal_subtotals(spec, sheet.items, grant) == sheet.goals
    # As the read model holds them: only the answered items, and no others.
    answered_only = {code: sheet.items[code] for code in answers}
    assert goal_subtotals(spec, answered_only, grant) == sheet.goals
    assert sum(sheet.goals.values()) == sheet.total


def test_goal_subtotals_cap_each_level_and_ignore_unknown_items() -> None:
    spec = shipped("fy2020-municipal-v1.yaml")
    everything = dict.fromkeys(spec.sub_items(), 10000)
    capped = goal_subtotals(spec, everything | {"NOT-AN-ITEM": 5}, "promotion")
    assert capped == {
        goal.code: goal.max_points.get("promotion", 0) for goal in spec.goals
    }
    assert goal_subtotals(spec, {}, "promotion") == dict.fromkeys(capped, 0)
