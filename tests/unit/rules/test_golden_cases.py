"""Golden rule cases (tests/rules/cases/*.yaml), worked out by hand, OpenFisca style."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.inputs.rule_files import load_rule
from domain.allocation import (
    Claim,
    EligibilityInput,
    allocate,
    cap_to_required,
    determine_eligibility,
)
from domain.errors import InvalidInput
from domain.rule import RuleSpec

CASES = Path(__file__).resolve().parent / "cases"


def _cases() -> list[Any]:
    return [
        pytest.param(case, id=f"{path.stem}: {case['name']}")
        for path in sorted(CASES.glob("*.yaml"))
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))
    ]


def _rule(case: dict[str, Any]) -> RuleSpec:
    rule = load_rule(case["rule"])
    overrides = case.get("parameters")
    if not overrides:
        return rule
    dumped = rule.model_dump()
    dumped["parameters"] = {**dumped["parameters"], **overrides}
    return RuleSpec.model_validate(dumped)


def _claims(case: dict[str, Any]) -> list[Claim]:
    # `band` is left out of cases whose rule does not use bands.
    return [Claim.model_validate({"band": 0, **raw}) for raw in case["claims"]]


def _check_allocation(case: dict[str, Any]) -> None:
    rule = _rule(case)
    claims = _claims(case)
    bands = tuple(case.get("size_bands", ()))
    draft = allocate(rule, case["budget_yen"], claims, bands)
    if "cap_to_required" in case:
        result = cap_to_required(draft, claims, case["cap_to_required"]["redistribute"])
        assert result.capped_off_yen == case["capped_off_yen"]
        amounts, remainder = result.amounts, result.remainder_yen
    else:
        amounts, remainder = draft.amounts, draft.remainder_yen
    assert amounts == case["expected"]
    assert remainder == case["remainder_yen"]
    assert sum(amounts.values()) + remainder == case["budget_yen"]
    if "band_budgets" in case:
        assert {b.band: b.budget_yen for b in draft.bands} == case["band_budgets"]


def _check_eligibility(case: dict[str, Any]) -> None:
    inputs = [EligibilityInput.model_validate(raw) for raw in case["inputs"]]
    determinations = determine_eligibility(_rule(case), inputs)
    for determination in determinations:
        expected = case["expected"][determination.entity]
        assert determination.eligible is expected["eligible"]
        assert determination.adjusted is expected["adjusted"]
        for field in ("per_elderly_yen", "base_per_elderly_yen"):
            if field in expected:
                assert getattr(determination, field) == Decimal(expected[field])
    assert {d.entity for d in determinations} == set(case["expected"])


@pytest.mark.parametrize("case", _cases())
def test_golden_case_holds(case: dict[str, Any]) -> None:
    check = _check_eligibility if "inputs" in case else _check_allocation
    if "error" in case:
        with pytest.raises(InvalidInput, match=case["error"]):
            check(case)
        return
    check(case)


def test_golden_cases_cover_every_shipped_rule() -> None:
    named = {param.values[0]["rule"] for param in _cases()}

    assert named >= {
        "score_x_insured_share@1",
        "banded_score_x_insured_share@1",
        "prefecture_by_score@1",
        "effort_support_eligibility@1",
    }
