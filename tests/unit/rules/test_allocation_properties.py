"""Properties every allocation must have, whatever the claims (docs/DOMAIN.md §6, §8).

Guaranteed remainder bound (the exact property, per pool): a pool is the tier (pooled
rules) or one size band (banded rules); k is the number of its claims with a positive
weight (eligible, score > 0, and insured > 0 where insured weigh). Then
    0 ≤ pool budget − Σ amounts of the pool < k × rounding unit   (k ≥ 1)
    Σ amounts of the pool = 0                                     (k = 0: all remainder)
and for banded rules the band budgets lose less than one yen per band with insured:
    0 ≤ budget − Σ band budgets < number of bands with counted insured.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.inputs.rule_files import load_rule
from domain.allocation import (
    Allocation,
    Claim,
    allocate,
    cap_to_required,
    competition_ranks,
)
from domain.entities import size_band
from domain.rule import RuleSpec

BANDS = (0, 3000, 10000, 50000, 100000)
EDGES = (0, 1, 2999, 3000, 9999, 10000, 49999, 50000, 99999, 100000, 950000)
BASE_RULES = (
    "score_x_insured_share@1",
    "banded_score_x_insured_share@1",
    "prefecture_by_score@1",
)


def _variant(rule_id: str, changes: dict[str, Any]) -> RuleSpec:
    raw = load_rule(rule_id).model_dump()
    raw["parameters"] = {**raw["parameters"], **changes}
    return RuleSpec.model_validate(raw)


rules = st.builds(
    _variant,
    st.sampled_from(BASE_RULES),
    st.fixed_dictionaries(
        {
            "rounding_unit_yen": st.sampled_from([1, 7, 1000]),
            "weight_by_insured": st.booleans(),
            "band_weight": st.sampled_from(["eligible_insured", "all_insured"]),
        }
    ),
)
budgets = st.integers(min_value=0, max_value=10**11)


@st.composite
def claim(draw: st.DrawFn, entity: str) -> Claim:
    insured = draw(st.sampled_from(EDGES) | st.integers(0, 1_000_000))
    return Claim(
        entity=entity,
        score=draw(st.sampled_from([0, 1, 400, 800]) | st.integers(0, 800)),
        max_score=800,
        insured=insured,
        band=size_band(insured, BANDS),
        eligible=draw(st.sampled_from([True, True, False])),
        required_yen=draw(st.none() | st.integers(0, 10**10)),
    )


@st.composite
def claim_sets(draw: st.DrawFn, min_size: int = 0) -> list[Claim]:
    size = draw(st.integers(min_size, 12))
    return [draw(claim(f"E{i:02d}")) for i in range(size)]


def _pools(allocation: Allocation) -> dict[int | None, list[Any]]:
    pools: dict[int | None, list[Any]] = defaultdict(list)
    for share in allocation.shares:
        pools[share.band].append(share)
    return pools


@given(rules, budgets, claim_sets())
def test_amounts_never_exceed_the_budget(rule, budget, claims) -> None:
    result = allocate(rule, budget, claims, BANDS)
    unit = rule.allocation_parameters().rounding_unit_yen

    assert sum(result.amounts.values()) <= budget
    assert result.remainder_yen == budget - sum(result.amounts.values())
    assert all(a >= 0 and a % unit == 0 for a in result.amounts.values())
    assert set(result.amounts) == {c.entity for c in claims}


@given(rules, budgets, claim_sets(min_size=1))
def test_each_pool_leaves_less_than_one_unit_per_paid_claim(rule, budget, claims):
    result = allocate(rule, budget, claims, BANDS)
    unit = rule.allocation_parameters().rounding_unit_yen

    for shares in _pools(result).values():
        pool = shares[0].pool_budget_yen
        paid = sum(1 for s in shares if s.numerator > 0)
        left = pool - sum(s.amount_yen for s in shares)
        if paid:
            assert 0 <= left < paid * unit
        else:
            assert left == pool


@given(rules, budgets, claim_sets(min_size=1))
def test_band_budgets_lose_less_than_a_yen_per_band(rule, budget, claims) -> None:
    result = allocate(rule, budget, claims, BANDS)
    if not result.bands:
        assert result.shares[0].pool_budget_yen == budget
        return
    with_insured = sum(1 for b in result.bands if b.insured > 0)
    lost = budget - sum(b.budget_yen for b in result.bands)

    if with_insured:
        assert 0 <= lost < with_insured
    else:
        assert lost == budget


@given(rules, budgets, claim_sets(), st.randoms(use_true_random=False))
def test_result_is_deterministic_and_independent_of_input_order(
    rule, budget, claims, random
) -> None:
    shuffled = list(claims)
    random.shuffle(shuffled)

    assert allocate(rule, budget, shuffled, BANDS) == allocate(
        rule, budget, claims, BANDS
    )
    first = cap_to_required(
        allocate(rule, budget, claims, BANDS), claims, redistribute=True
    )
    again = cap_to_required(
        allocate(rule, budget, shuffled, BANDS), shuffled, redistribute=True
    )
    assert first == again


@given(rules, budgets, claim_sets())
def test_more_score_and_more_insured_in_a_band_never_get_less(
    rule, budget, claims
) -> None:
    result = allocate(rule, budget, claims, BANDS)
    banded = bool(result.bands)
    eligible = [c for c in claims if c.eligible]

    for a in eligible:
        for b in eligible:
            same_pool = a.band == b.band or not banded
            if same_pool and a.score >= b.score and a.insured >= b.insured:
                assert result.amounts[a.entity] >= result.amounts[b.entity]


@given(rules, budgets, claim_sets(min_size=1), st.integers(1, 800), st.data())
def test_raising_one_score_never_lowers_its_amount(
    rule, budget, claims, extra, data
) -> None:
    index = data.draw(st.integers(0, len(claims) - 1))
    before = claims[index]
    higher = before.model_copy(
        update={"score": before.score + extra, "max_score": before.score + extra}
    )
    raised = [*claims[:index], higher, *claims[index + 1 :]]

    old = allocate(rule, budget, claims, BANDS).amounts[before.entity]
    new = allocate(rule, budget, raised, BANDS).amounts[before.entity]

    assert new >= old


@given(rules, budgets, claim_sets())
def test_zero_score_and_ineligible_claims_receive_nothing(rule, budget, claims):
    result = allocate(rule, budget, claims, BANDS)

    for c in claims:
        if c.score == 0 or not c.eligible:
            assert result.amounts[c.entity] == 0


@given(rules, budgets, claim_sets())
def test_caps_without_redistribution_never_raise_an_amount(rule, budget, claims):
    draft = allocate(rule, budget, claims, BANDS)

    capped = cap_to_required(draft, claims, redistribute=False)

    for c in claims:
        expected = draft.amounts[c.entity]
        if c.required_yen is not None:
            expected = min(expected, c.required_yen)
        assert capped.amounts[c.entity] == expected
    assert capped.capped_off_yen == draft.allocated_yen - capped.allocated_yen
    assert capped.remainder_yen == budget - capped.allocated_yen


@settings(max_examples=200)
@given(rules, budgets, claim_sets())
def test_redistribution_respects_required_amounts_and_the_budget(
    rule, budget, claims
) -> None:
    draft = allocate(rule, budget, claims, BANDS)

    capped = cap_to_required(draft, claims, redistribute=True)

    assert capped.allocated_yen + capped.remainder_yen == budget
    assert capped.remainder_yen >= 0
    for c in claims:
        amount = capped.amounts[c.entity]
        floor = draft.amounts[c.entity]
        if c.required_yen is not None:
            assert amount <= c.required_yen
            floor = min(floor, c.required_yen)
        assert amount >= floor
    assert capped.redistributed_yen <= capped.capped_off_yen


@given(st.dictionaries(st.text(min_size=1, max_size=4), st.integers(0, 20)))
def test_competition_ranks_share_the_better_rank(values) -> None:
    ranks = competition_ranks(values)

    for entity, value in values.items():
        assert ranks[entity] == 1 + sum(1 for v in values.values() if v > value)


def test_competition_ranks_skip_after_a_tie() -> None:
    assert competition_ranks({"a": 90, "b": 80, "c": 80, "d": 70}) == {
        "a": 1,
        "b": 2,
        "c": 2,
        "d": 4,
    }
