"""The shipped indicator catalogues (data/catalogues/*.yaml) validate and add up."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from domain.base import GRANTS
from domain.catalogue import CatalogueSpec, Indicator, SubItem, points_in

CATALOGUES = Path(__file__).resolve().parents[2] / "data" / "catalogues"
FY2020_MUNICIPAL = "fy2020-municipal-v1.yaml"
FY2020_PREFECTURAL = "fy2020-prefectural-v1.yaml"
FY2024_MUNICIPAL = "fy2024-municipal-v1.yaml"
FY2024_PREFECTURAL = "fy2024-prefectural-v1.yaml"
ALL = (FY2020_MUNICIPAL, FY2020_PREFECTURAL, FY2024_MUNICIPAL, FY2024_PREFECTURAL)
GOALS_STRUCTURED = (FY2024_MUNICIPAL, FY2024_PREFECTURAL)
SECTIONS_STRUCTURED = (FY2020_MUNICIPAL, FY2020_PREFECTURAL)


@cache
def load(name: str) -> CatalogueSpec:
    raw = yaml.safe_load((CATALOGUES / name).read_text(encoding="utf-8"))
    assert raw.pop("kind") == "catalogue"
    return CatalogueSpec.model_validate(raw)


def indicators(spec: CatalogueSpec) -> list[Indicator]:
    return [
        indicator
        for goal in spec.goals
        for group in goal.groups
        for indicator in group.indicators
    ]


def item_max(sub: SubItem, grant: str) -> int:
    """The most a sub-item can earn in one grant."""
    if sub.kind == "checkbox":
        return points_in(sub.points, grant)
    return max(points_in(t.points, grant) for t in sub.thresholds)


def per_grant(spec: CatalogueSpec, name: str) -> dict[str, int]:
    goal = next(g for g in spec.goals if g.code == name)
    return {grant: points_in(goal.max_points, grant) for grant in GRANTS}


@pytest.mark.parametrize("name", ALL)
def test_catalogue_validates_as_illustrative_spec_when_kind_is_popped(name):
    spec = load(name)

    assert spec.illustrative
    assert "Published" in spec.source
    assert "Modelled" in spec.source
    assert spec.grants == GRANTS


@pytest.mark.parametrize("name", ALL)
def test_catalogue_names_its_year_and_tier_when_read_from_its_file_name(name):
    spec = load(name)

    assert name == f"fy{spec.grant_year}-{spec.tier}-v{spec.version}.yaml"


def test_fy2020_municipal_totals_follow_fy2023_published_marks_when_loaded():
    spec = load(FY2020_MUNICIPAL)

    assert spec.structure == "sections"
    assert spec.full_marks == {"promotion": 1355, "effort_support": 830}
    assert [goal.code for goal in spec.goals] == ["I", "II", "III"]
    assert per_grant(spec, "I") == {"promotion": 135, "effort_support": 35}
    assert per_grant(spec, "II") == {"promotion": 1020, "effort_support": 755}
    assert per_grant(spec, "III") == {"promotion": 200, "effort_support": 40}


def test_some_fy2020_municipal_items_carry_no_effort_support_when_not_prevention():
    spec = load(FY2020_MUNICIPAL)

    weighted_zero = [
        i.code
        for i in indicators(spec)
        if points_in(i.max_points, "effort_support") == 0
    ]

    assert weighted_zero
    assert all(points_in(i.max_points, "promotion") > 0 for i in indicators(spec))


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        (FY2020_MUNICIPAL, 40, 70),
        (FY2020_PREFECTURAL, 15, 30),
        (FY2024_PREFECTURAL, 15, 30),
    ],
)
def test_catalogue_has_a_manageable_number_of_sub_items_when_modelled(name, low, high):
    assert low <= len(load(name).sub_items()) <= high


@pytest.mark.parametrize("name", SECTIONS_STRUCTURED)
def test_every_group_is_a_section_block_when_structured_by_sections(name):
    spec = load(name)

    assert spec.structure == "sections"
    assert {group.kind for goal in spec.goals for group in goal.groups} == {"section"}


@pytest.mark.parametrize("name", GOALS_STRUCTURED)
def test_each_grant_has_four_goals_of_100_points_when_structured_by_goals(name):
    spec = load(name)

    assert spec.structure == "goals"
    assert spec.full_marks == {"promotion": 400, "effort_support": 400}
    for grant in GRANTS:
        weighted = [
            points_in(goal.max_points, grant)
            for goal in spec.goals
            if points_in(goal.max_points, grant)
        ]
        assert weighted == [100, 100, 100, 100]


@pytest.mark.parametrize("name", GOALS_STRUCTURED)
def test_outcome_goal_counts_in_both_grants_when_structured_by_goals(name):
    spec = load(name)

    assert per_grant(spec, "O4") == {"promotion": 100, "effort_support": 100}
    for code in ("P1", "P2", "P3"):
        assert per_grant(spec, code) == {"promotion": 100, "effort_support": 0}
    for code in ("S1", "S2", "S3"):
        assert per_grant(spec, code) == {"promotion": 0, "effort_support": 100}


def test_fy2024_municipal_follows_published_point_table_when_loaded():
    spec = load(FY2024_MUNICIPAL)
    table = {
        "P1": ([16, 16, 16, 16], [12, 12, 12]),
        "P2": ([32, 36], [16, 16]),
        "P3": ([30, 34], [12, 12, 12]),
        "S1": ([6, 9, 7, 7, 7, 9, 7], [4, 12, 4, 8, 4, 4, 4, 4, 4]),
        "S2": ([25, 19, 20], [12, 12, 12]),
        "S3": ([26, 21, 21], [16, 16]),
        "O4": ([20, 20, 20, 20, 20],),
    }

    for goal in spec.goals:
        grant = "effort_support" if goal.code.startswith("S") else "promotion"
        got = tuple(
            [points_in(i.max_points, grant) for i in group.indicators]
            for group in goal.groups
        )
        assert got == table[goal.code], goal.code


def test_fy2024_municipal_keeps_published_item_examples_when_loaded():
    items = load(FY2024_MUNICIPAL).sub_items()
    plan = [
        sub for sub, ind in items.values() if ind.title == "給付費適正化方策の策定状況"
    ]
    _, check = items["P2-A1-a"]
    _, coordinator = items["S1-A3-a"]
    _, long_term = items["O4-3-a"]

    assert [points_in(sub.points, "promotion") for sub in plan] == [8, 8, 8, 8]
    assert check.title == "ケアプラン点検の実施状況"
    assert points_in(check.max_points, "promotion") == 16
    assert coordinator.title == "生活支援コーディネーターの地域ケア会議への参加割合"
    assert points_in(coordinator.max_points, "effort_support") == 4
    assert long_term.title.startswith("長期的な要介護度の変化（要介護1・2）")
    assert long_term.mode == "best"


@pytest.mark.parametrize("name", GOALS_STRUCTURED)
def test_groups_are_structure_activity_or_outcome_when_structured_by_goals(name):
    spec = load(name)

    for goal in spec.goals:
        kinds = [group.kind for group in goal.groups]
        expected = ["outcome"] if goal.code == "O4" else ["structure", "activity"]
        assert kinds == expected, goal.code


@pytest.mark.parametrize("name", GOALS_STRUCTURED)
def test_ministry_indicators_sit_in_outcome_groups_when_structured_by_goals(name):
    spec = load(name)

    for goal in spec.goals:
        for group in goal.groups:
            for indicator in group.indicators:
                is_ministry = indicator.source == "ministry"
                assert is_ministry == (group.kind == "outcome"), indicator.code


@pytest.mark.parametrize("name", ALL)
def test_goal_max_equals_sum_of_its_groups_when_checked_per_grant(name):
    for goal in load(name).goals:
        for grant in GRANTS:
            total = sum(points_in(group.max_points, grant) for group in goal.groups)
            assert points_in(goal.max_points, grant) == total, (goal.code, grant)


@pytest.mark.parametrize("name", ALL)
def test_group_max_equals_sum_of_its_indicators_when_checked_per_grant(name):
    for goal in load(name).goals:
        for group in goal.groups:
            for grant in GRANTS:
                total = sum(points_in(i.max_points, grant) for i in group.indicators)
                assert points_in(group.max_points, grant) == total, (group.code, grant)


@pytest.mark.parametrize("name", ALL)
def test_sum_indicator_max_equals_its_sub_items_when_checked_per_grant(name):
    for indicator in indicators(load(name)):
        if indicator.mode != "sum":
            continue
        for grant in GRANTS:
            total = sum(item_max(sub, grant) for sub in indicator.sub_items)
            assert points_in(indicator.max_points, grant) == total, indicator.code


@pytest.mark.parametrize("name", ALL)
def test_best_indicator_max_equals_its_best_alternative_when_checked_per_grant(name):
    best = [i for i in indicators(load(name)) if i.mode == "best"]

    assert best
    for indicator in best:
        assert len(indicator.sub_items) >= 2, indicator.code
        for grant in GRANTS:
            top = max(item_max(sub, grant) for sub in indicator.sub_items)
            assert points_in(indicator.max_points, grant) == top, indicator.code


@pytest.mark.parametrize("name", ALL)
def test_number_items_score_only_through_thresholds_when_shipped(name):
    numbers = [
        sub
        for indicator in indicators(load(name))
        for sub in indicator.sub_items
        if sub.kind == "number"
    ]

    assert numbers
    for sub in numbers:
        assert sub.points == {}, sub.code
        assert sub.unit, sub.code
        for threshold in sub.thresholds:
            assert sub.minimum is None or threshold.at_least >= sub.minimum, sub.code
            assert sub.maximum is None or threshold.at_least <= sub.maximum, sub.code


@pytest.mark.parametrize("name", ALL)
def test_indicators_evaluate_work_before_the_grant_year_when_shipped(name):
    spec = load(name)

    for indicator in indicators(spec):
        last = int(re.findall(r"\d{4}", indicator.evaluated_period)[-1])
        assert last < spec.grant_year, indicator.code
