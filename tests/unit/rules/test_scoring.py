"""Scoring a self-evaluation (domain.scoring.score), docs/DOMAIN.md §5 and §8 rule 2."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain.base import GRANTS, Grant
from domain.catalogue import Answer, CatalogueSpec, points_in
from domain.errors import InvalidInput
from domain.scoring import score

CATALOGUES = Path(__file__).resolve().parents[3] / "data" / "catalogues"
SHIPPED = sorted(p.name for p in CATALOGUES.glob("*.yaml"))

YES = Answer(checked=True)
NO = Answer(checked=False)


def number(text: str) -> Answer:
    return Answer(number=Decimal(text))


@cache
def shipped(name: str) -> CatalogueSpec:
    raw = yaml.safe_load((CATALOGUES / name).read_text(encoding="utf-8"))
    raw.pop("kind")
    return CatalogueSpec.model_validate(raw)


def full_answers(spec: CatalogueSpec) -> dict[str, Answer]:
    """Every checkbox checked, every number at its top threshold."""
    return {
        code: YES
        if sub.kind == "checkbox"
        else Answer(number=sub.thresholds[-1].at_least)
        for code, (sub, _) in spec.sub_items().items()
    }


def _p(points: int) -> dict[str, int]:
    return {"promotion": points}


def tiny(
    *indicators: dict[str, Any], group_max: int = 100, goal_max: int = 100
) -> CatalogueSpec:
    """A one-goal, one-group promotion-only catalogue around the given indicators."""
    return CatalogueSpec.model_validate(
        {
            "grant_year": 2024,
            "tier": "municipal",
            "version": 1,
            "structure": "goals",
            "title": "test catalogue",
            "illustrative": True,
            "source": "tests",
            "published_on": "2023-09-29",
            "grants": ["promotion"],
            "full_marks": _p(goal_max),
            "goals": [
                {
                    "code": "G1",
                    "title": "goal",
                    "max_points": _p(goal_max),
                    "groups": [
                        {
                            "code": "G1-S",
                            "title": "group",
                            "kind": "structure",
                            "max_points": _p(group_max),
                            "indicators": list(indicators),
                        }
                    ],
                }
            ],
        }
    )


def indicator(
    code: str, max_points: int, *subs: dict[str, Any], mode: str = "sum"
) -> dict[str, Any]:
    return {
        "code": code,
        "title": code,
        "mode": mode,
        "evaluated_period": "FY2022",
        "max_points": _p(max_points),
        "sub_items": list(subs),
    }


def checkbox(code: str, points: int) -> dict[str, Any]:
    return {"code": code, "title": code, "kind": "checkbox", "points": _p(points)}


def rate(code: str, *steps: tuple[str, int]) -> dict[str, Any]:
    return {
        "code": code,
        "title": code,
        "kind": "number",
        "thresholds": [{"at_least": at, "points": _p(p)} for at, p in steps],
    }


RATE = rate("R-a", ("0.6", 4), ("0.8", 8), ("1.0", 12))


def test_checked_checkbox_earns_its_points_and_unchecked_earns_none() -> None:
    spec = tiny(indicator("I1", 16, checkbox("I1-a", 8), checkbox("I1-b", 8)))

    sheet = score(spec, {"I1-a": YES, "I1-b": NO}, "promotion")

    assert sheet.items == {"I1-a": 8, "I1-b": 0}
    assert sheet.total == 8


@pytest.mark.parametrize(
    ("value", "points"),
    [("0.59", 0), ("0.6", 4), ("0.79", 4), ("0.8", 8), ("1.0", 12), ("7", 12)],
)
def test_number_earns_the_points_of_the_highest_threshold_met(
    value: str, points: int
) -> None:
    spec = tiny(indicator("R", 12, RATE))

    assert score(spec, {"R-a": number(value)}, "promotion").items["R-a"] == points


def test_unanswered_items_score_zero() -> None:
    spec = tiny(indicator("I1", 16, checkbox("I1-a", 8)), indicator("R", 12, RATE))

    sheet = score(spec, {}, "promotion")

    assert sheet.total == 0
    assert sheet.items == {"I1-a": 0, "R-a": 0}
    assert sheet.caps == ()


def test_indicator_sum_is_capped_at_its_max_points_and_the_cap_recorded() -> None:
    spec = tiny(indicator("I1", 10, checkbox("I1-a", 8), checkbox("I1-b", 8)))

    sheet = score(spec, {"I1-a": YES, "I1-b": YES}, "promotion")

    assert sheet.indicators["I1"] == 10
    assert [(c.level, c.code, c.raw, c.capped) for c in sheet.caps] == [
        ("indicator", "I1", 16, 10)
    ]


def test_best_mode_counts_only_the_best_alternative() -> None:
    spec = tiny(indicator("I1", 16, checkbox("a", 16), checkbox("b", 8), mode="best"))

    both = score(spec, {"a": YES, "b": YES}, "promotion")
    lesser = score(spec, {"a": NO, "b": YES}, "promotion")

    assert both.indicators["I1"] == 16
    assert both.caps == ()
    assert lesser.indicators["I1"] == 8


def test_group_sum_is_capped_at_the_group_max_points() -> None:
    spec = tiny(
        indicator("I1", 8, checkbox("I1-a", 8)),
        indicator("I2", 8, checkbox("I2-a", 8)),
        group_max=12,
        goal_max=12,
    )

    sheet = score(spec, {"I1-a": YES, "I2-a": YES}, "promotion")

    assert sheet.groups["G1-S"] == 12
    assert sheet.total == 12
    assert [(c.level, c.raw) for c in sheet.caps] == [("group", 16)]


def test_goal_sum_is_capped_at_the_goal_max_points() -> None:
    spec = tiny(
        indicator("I1", 8, checkbox("I1-a", 8)),
        indicator("I2", 8, checkbox("I2-a", 8)),
        group_max=16,
        goal_max=10,
    )

    sheet = score(spec, {"I1-a": YES, "I2-a": YES}, "promotion")

    assert sheet.groups["G1-S"] == 16
    assert sheet.goals["G1"] == 10
    assert sheet.total == 10
    assert sheet.max_total == 10
    assert [(c.level, c.code, c.raw, c.capped) for c in sheet.caps] == [
        ("goal", "G1", 16, 10)
    ]


def test_answer_to_an_unknown_item_is_refused() -> None:
    spec = tiny(indicator("I1", 8, checkbox("I1-a", 8)))

    with pytest.raises(InvalidInput, match="not in the FY2024"):
        score(spec, {"X-9": YES}, "promotion")


def test_answer_of_the_wrong_kind_is_refused() -> None:
    spec = tiny(indicator("I1", 8, checkbox("I1-a", 8)), indicator("R", 12, RATE))

    with pytest.raises(InvalidInput, match="answered with a number"):
        score(spec, {"I1-a": number("1")}, "promotion")
    with pytest.raises(InvalidInput, match="answered with a checkbox"):
        score(spec, {"R-a": YES}, "promotion")


def test_ministry_outcome_goal_counts_in_both_grants() -> None:
    spec = shipped("fy2024-municipal-v1.yaml")
    outcome = {
        code: Answer(number=sub.thresholds[-1].at_least)
        for code, (sub, ind) in spec.sub_items().items()
        if ind.source == "ministry"
    }

    sheets = {grant: score(spec, outcome, grant) for grant in GRANTS}

    assert outcome
    assert sheets["promotion"].goals["O4"] == 100
    assert sheets["effort_support"].goals["O4"] == 100
    assert sheets["promotion"].total == sheets["effort_support"].total == 100


def test_a_goal_weighted_in_one_grant_scores_nothing_in_the_other() -> None:
    spec = shipped("fy2024-municipal-v1.yaml")
    answers = {"P1-S1-a": YES, "P1-S1-b": YES}

    assert score(spec, answers, "promotion").total == 16
    assert score(spec, answers, "effort_support").total == 0


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("grant", GRANTS)
def test_full_answers_earn_full_marks_in_every_shipped_catalogue(
    name: str, grant: Grant
) -> None:
    spec = shipped(name)

    sheet = score(spec, full_answers(spec), grant)

    assert sheet.max_total == points_in(spec.full_marks, grant)
    assert sheet.total == sheet.max_total


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("grant", GRANTS)
def test_empty_answers_score_zero_in_every_shipped_catalogue(
    name: str, grant: Grant
) -> None:
    sheet = score(shipped(name), {}, grant)

    assert sheet.total == 0
    assert not any(sheet.items.values())
    assert sheet.caps == ()
