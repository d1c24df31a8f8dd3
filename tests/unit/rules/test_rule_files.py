"""The shipped rule versions (data/rules/*.yaml) validate and say what they are."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from adapters.inputs.rule_files import load_rule, load_rules, rules_dir
from domain.allocation import ELIGIBILITY_TESTS, FORMULAS
from domain.errors import InvalidInput
from domain.glossary import HYPOTHESIS_MARKS
from domain.money_rules import MONEY_KINDS
from domain.rule import PARAMETERS_BY_KIND, RuleSpec

SHIPPED = (
    "score_x_insured_share@1",
    "banded_score_x_insured_share@1",
    "prefecture_by_score@1",
    "effort_support_eligibility@1",
)


def test_every_shipped_rule_file_validates_under_its_own_id() -> None:
    rules = load_rules()

    assert set(rules) == {p.stem for p in rules_dir().glob("*.yaml")}
    assert set(SHIPPED) <= set(rules)


@pytest.mark.parametrize("rule_id", SHIPPED)
def test_hypothesis_rule_says_so_in_its_label(rule_id: str) -> None:
    rule = load_rule(rule_id)

    if rule.status == "hypothesis":
        assert any(mark in rule.label for mark in HYPOTHESIS_MARKS)
        assert "HYPOTHESIS" in rule.description


def test_only_the_fy2018_fy2019_formula_is_confirmed() -> None:
    # The permitted uses (充当先) are the seed's lists: confirmed, each use labelled.
    confirmed = {
        i
        for i, r in load_rules().items()
        if r.status == "confirmed" and r.kind != "permitted_uses"
    }

    assert confirmed == {"score_x_insured_share@1"}
    rule = load_rule("score_x_insured_share@1")
    assert (rule.valid_from, rule.valid_to) == (2018, 2019)


def test_every_kind_has_exactly_one_formula_or_test() -> None:
    # The money chain's kinds (domain.money_rules) are neither: they feed the chain.
    assert set(FORMULAS) | set(ELIGIBILITY_TESTS) | set(MONEY_KINDS) == set(
        PARAMETERS_BY_KIND
    )
    assert not (set(FORMULAS) | set(ELIGIBILITY_TESTS)) & set(MONEY_KINDS)
    assert not set(FORMULAS) & set(ELIGIBILITY_TESTS)


def test_rules_named_by_the_programme_years_exist() -> None:
    from adapters.inputs.files import read_document
    from adapters.inputs.paths import data_dir

    rules = load_rules()
    for path in sorted((data_dir() / "programmes").glob("*.yaml")):
        programme = read_document(path)
        for tiers in programme["rules"].values():
            for rule_id in tiers.values():
                assert rules[rule_id].in_force(programme["grant_year"])


def test_prefecture_rule_weights_by_score_alone_by_default() -> None:
    parameters = load_rule("prefecture_by_score@1").allocation_parameters()

    assert parameters.weight_by_insured is False
    assert parameters.rounding_unit_yen == 1000


def test_hypothesis_rule_without_the_mark_is_refused() -> None:
    raw = load_rule("banded_score_x_insured_share@1").model_dump()
    raw["label"] = "score x insured within size bands"

    with pytest.raises(ValidationError, match="仮説 or HYPOTHESIS"):
        RuleSpec.model_validate(raw)


def test_rule_of_unknown_kind_is_refused() -> None:
    raw = load_rule("score_x_insured_share@1").model_dump()
    raw["kind"] = "if_year_after_2025"

    with pytest.raises(ValidationError, match="unknown kind"):
        RuleSpec.model_validate(raw)


def test_parameters_of_another_kind_are_refused() -> None:
    raw = load_rule("score_x_insured_share@1").model_dump()
    raw["parameters"] = {"spending_categories": ["x"]}

    with pytest.raises(ValidationError, match="spending_categories"):
        RuleSpec.model_validate(raw)


def test_rule_survives_a_round_trip_through_json() -> None:
    for rule in load_rules().values():
        assert RuleSpec.model_validate_json(rule.model_dump_json()) == rule


def test_unknown_rule_id_names_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match="known: banded_score_x_insured_share@1"):
        load_rule("no_such_rule@1")


def test_eligibility_rule_is_not_an_allocation_rule() -> None:
    with pytest.raises(InvalidInput, match="not an allocation rule"):
        load_rule("effort_support_eligibility@1").allocation_parameters()
