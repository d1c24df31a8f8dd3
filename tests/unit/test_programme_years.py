"""The shipped programme years FY2018-FY2026 (data/programmes/*.yaml) and their rules.

Every year validates and names rules in force; FY2018-FY2019 have the promotion grant
alone, allocated with the confirmed pooled formula; 支援 (effort_support) exists only
from FY2020; a promotion-only year is a valid programme; the evaluated period
precedes the grant year and is what the year's self-reported indicators evaluate.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from eventsourcing.persistence import StoredEvent
from pydantic import ValidationError

from adapters.inputs.files import load_files
from adapters.inputs.paths import data_dir
from adapters.inputs.rule_files import load_rules
from adapters.storage.mapper import CanonicalJSONTranscoder, PydanticMapper
from domain.catalogue import CatalogueSpec
from domain.programme import ProgrammeSpec, ProgrammeYear

YEARS = tuple(range(2018, 2027))
PROGRAMMES = data_dir() / "programmes"


@cache
def programme(year: int) -> ProgrammeSpec:
    return load_files([PROGRAMMES / f"fy{year}.yaml"]).programmes[0][0]


@cache
def catalogue(year: int, tier: str) -> CatalogueSpec:
    path = data_dir() / "catalogues" / f"fy{year}-{tier}-v1.yaml"
    return load_files([path]).catalogues[0][0]


def raw(year: int) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(
        (PROGRAMMES / f"fy{year}.yaml").read_text(encoding="utf-8")
    )
    document.pop("kind")
    return document


def test_every_year_from_fy2018_to_fy2026_ships_and_nothing_else():
    shipped = sorted(int(p.stem[2:]) for p in PROGRAMMES.glob("fy*.yaml"))

    assert tuple(shipped) == YEARS
    for year in YEARS:
        assert programme(year).grant_year == year


@pytest.mark.parametrize("year", YEARS)
def test_every_rule_a_year_names_is_in_force_that_year(year):
    rules = load_rules()
    spec = programme(year)

    for tiers in (*spec.rules.values(), *spec.eligibility.values()):
        for rule_id in tiers.values():
            assert rules[rule_id].in_force(year), (year, rule_id)


@pytest.mark.parametrize("year", [2018, 2019])
def test_fy2018_fy2019_pool_the_promotion_grant_with_the_confirmed_formula(year):
    spec = programme(year)
    rule = load_rules()[spec.rules["promotion"]["municipal"]]

    assert set(spec.budgets) == {"promotion"}
    assert rule.id == "score_x_insured_share@1"
    assert rule.status == "confirmed"
    assert spec.size_bands == (0,)
    assert not spec.eligibility


@pytest.mark.parametrize("year", YEARS[2:])
def test_from_fy2020_both_grants_run_the_labelled_banded_hypothesis(year):
    spec = programme(year)
    rules = load_rules()

    assert set(spec.budgets) == {"promotion", "effort_support"}
    for grant in spec.budgets:
        rule = rules[spec.rules[grant]["municipal"]]
        assert rule.status == "hypothesis"
        assert "HYPOTHESIS" in rule.label
    assert spec.size_bands == (0, 3000, 10000, 50000, 100000)
    assert spec.eligibility == {
        "effort_support": {"municipal": "effort_support_eligibility@1"}
    }


@pytest.mark.parametrize("year", YEARS)
def test_no_effort_support_before_fy2020_in_programme_or_catalogue(year):
    grants = set(programme(year).budgets)

    for tier in ("municipal", "prefectural"):
        spec = catalogue(year, tier)
        assert set(spec.grants) == grants, (year, tier)
        assert set(spec.full_marks) <= grants
    assert ("effort_support" in grants) is (year >= 2020)


def test_a_promotion_only_year_is_a_valid_programme():
    body = raw(2020)
    body["budgets"] = {"promotion": body["budgets"]["promotion"]}
    body["rules"] = {"promotion": body["rules"]["promotion"]}
    body["eligibility"] = {}

    spec = ProgrammeSpec.model_validate(body)

    assert list(spec.budgets) == ["promotion"]


def test_eligibility_for_a_grant_without_a_budget_is_refused():
    body = raw(2019)
    body["eligibility"] = {
        "effort_support": {"municipal": "effort_support_eligibility@1"}
    }

    with pytest.raises(
        ValidationError, match="eligibility names a tier of effort_support"
    ):
        ProgrammeSpec.model_validate(body)


def test_a_rule_for_a_grant_without_a_budget_is_refused():
    body = raw(2019)
    body["rules"]["effort_support"] = {"municipal": "banded_score_x_insured_share@1"}

    with pytest.raises(ValidationError, match="without a budget"):
        ProgrammeSpec.model_validate(body)


@pytest.mark.parametrize("period", [2020, 2021])
def test_an_evaluated_period_not_before_the_grant_year_is_refused(period):
    body = raw(2020) | {"evaluated_period": period}

    with pytest.raises(ValidationError, match="must precede the grant year FY2020"):
        ProgrammeSpec.model_validate(body)


@pytest.mark.parametrize(
    ("year", "period"), [(2020, 2019), (2021, 2019), (2022, 2020), (2023, 2021)]
)
def test_evaluated_periods_follow_the_seed(year, period):
    # 令和2、3年度評価指標: 令和元年度の取組実績; 令和4年度: 令和2年度; 令和5年度: 令和3年度.
    assert programme(year).evaluated_period == period


@pytest.mark.parametrize("year", YEARS)
def test_self_reported_indicators_evaluate_the_programmes_period(year):
    period = programme(year).evaluated_period

    for tier in ("municipal", "prefectural"):
        for goal in catalogue(year, tier).goals:
            for group in goal.groups:
                for indicator in group.indicators:
                    years = [
                        int(y) for y in re.findall(r"\d{4}", indicator.evaluated_period)
                    ]
                    if indicator.source == "self":
                        assert years == [period], (year, tier, indicator.code)
                    else:
                        assert years[-1] == period, (year, tier, indicator.code)


@pytest.mark.parametrize("year", YEARS)
def test_every_year_lists_its_hypotheses(year):
    spec = programme(year)
    text = " ".join(spec.hypotheses)

    # The municipal / prefectural split is in the seed for FY2020 only.
    assert ("split" in text) is (year != 2020)
    assert "schedule" in text
    if year >= 2020:
        assert "banded_score_x_insured_share" in text


def test_fy2026_says_its_outcome_frame_is_not_modelled():
    spec = programme(2026)

    assert "成果指向型配分枠" in spec.source
    assert any("not modelled" in h for h in spec.hypotheses)


def test_a_definition_recorded_before_the_evaluated_period_existed_still_reads():
    transcoder = CanonicalJSONTranscoder()
    mapper = PydanticMapper(transcoder=transcoder)
    defined = ProgrammeYear.define(programme(2020), "system:old")
    current = mapper.to_stored_event(defined.collect_events()[0])
    state = transcoder.decode(current.state)
    # As version 1 stored it: no class version, no evaluated period in the spec.
    del state["class_version"]
    del state["spec"]["evaluated_period"]
    old = StoredEvent(
        originator_id=current.originator_id,
        originator_version=current.originator_version,
        topic=current.topic,
        state=transcoder.encode(state),
    )

    event = mapper.to_domain_event(old)

    assert isinstance(event, ProgrammeYear.Defined)
    assert event.spec.evaluated_period is None
    assert event.spec.budgets == programme(2020).budgets
    again = mapper.to_stored_event(event).state
    assert b'"class_version":2' in again
    assert b'"evaluated_period":null' in again


def test_the_shipped_files_hold_no_path_into_the_shared_folder():
    for path in sorted(Path(data_dir()).rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text, path
        assert "/work/shared" not in text, path
