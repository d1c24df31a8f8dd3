"""`what-if` across rules: the confirmed FY2018–FY2019 formula on FY2020's inputs.

The one officially confirmed formula (budget × s·n / Σ s·n, `score_x_insured_share@1`,
valid FY2018–FY2019) cannot be FY2020's rule. Asked explicitly (`--counterfactual`),
`what-if` applies it to a FY2020 run anyway and labels the result a counterfactual;
unasked, it refuses and says how to ask. The counterfactual's amounts are worked out
here from the run's own inputs (each entity's score and 第1号被保険者数), yen for
yen, against the banded hypothesis the run used. Nothing is written. Both backends.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from rich.console import Console

from adapters.kofu import run_demo
from adapters.queries.recompute import what_if
from domain.errors import InvalidInput
from domain.glossary import COUNTERFACTUAL_BADGE
from tests.conftest import Kofu

if TYPE_CHECKING:
    from domain.ledger import Ledger

RUN = "FY2020-promotion-municipal-reference-1"
CONFIRMED = "score_x_insured_share@1"


@pytest.fixture
def tokyo(ledger: Ledger) -> Ledger:
    run_demo(ledger, 2020, 1, Console(quiet=True), prefectures={"13"})
    return ledger


def test_the_confirmed_formula_applies_to_fy2020_only_when_asked(
    tokyo: Ledger, database_url: str
) -> None:
    run = tokyo.run(RUN)
    before = tokyo.count_events()
    with pytest.raises(InvalidInput, match="--counterfactual") as refused:
        what_if(tokyo, run, rule=CONFIRMED)
    assert refused.value.field == "--rule"
    assert "valid FY2018–FY2019, not FY2020" in str(refused.value)

    again, rows = what_if(tokyo, run, rule=CONFIRMED, counterfactual=True)
    assert tokyo.count_events() == before  # nothing written
    assert again.label.startswith(COUNTERFACTUAL_BADGE)
    assert again.rule.id == "cf_score_x_insured_share@1"

    # By hand: one national pool, w = score × 第1号被保険者数 (every municipality
    # is eligible for 推進), amount = floor(budget × w / W / 1,000) × 1,000.
    recorded = run.calculated
    budget = recorded.inputs.budget_yen
    weights = {r.entity: r.score * r.insured for r in recorded.results}
    total = sum(weights.values())
    by_hand = {e: budget * w // (total * 1000) * 1000 for e, w in weights.items()}
    assert {r.entity: r.amount_yen for r in again.results} == by_hand
    assert again.totals.allocated_yen == sum(by_hand.values()) <= budget
    # It is another allocation than the banded hypothesis the run recorded, and the
    # diff names every entity whose amount moved, with both amounts.
    recorded_amounts = {r.entity: r.amount_yen for r in recorded.results}
    moved = {e for e in by_hand if by_hand[e] != recorded_amounts[e]}
    assert moved
    assert {row["entity"] for row in rows} == moved
    for row in rows:
        assert row["amount_a_yen"] == recorded_amounts[row["entity"]]
        assert row["amount_b_yen"] == by_hand[row["entity"]]

    # The command line says the same, and says COUNTERFACTUAL.
    kofu = Kofu(database_url)
    code, output = kofu("what-if", RUN, "--rule", CONFIRMED, "--format", "json")
    assert code == 2
    assert "--counterfactual" in output
    code, output = kofu(
        "what-if", RUN, "--rule", CONFIRMED, "--counterfactual", "--format", "json"
    )
    assert code == 0, output
    shown = json.loads(output)
    assert shown["what_if"]["counterfactual"] is True
    assert "COUNTERFACTUAL" in shown["what_if"]["rule"]
    assert shown["what_if"]["allocated_yen"] == sum(by_hand.values())
    assert tokyo.count_events() == before


def test_a_rule_in_force_needs_no_counterfactual_and_is_not_labelled_one(
    tokyo: Ledger,
) -> None:
    run = tokyo.run(RUN)
    again, _ = what_if(tokyo, run, rule="banded_score_x_insured_share@1")
    assert COUNTERFACTUAL_BADGE not in again.label
    assert again.totals.allocated_yen == run.calculated.totals.allocated_yen
