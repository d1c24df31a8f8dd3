"""Allocation runs, capping at the required amount, and ranks (DOMAIN.md §4, §6, §8).

`allocate` shares the budget with the formula of a rule's `kind`
(`domain.formulas.formula_for`) and records what it used (rule version and
parameters, size bands, budget) with the amount, explanation and remainder;
Σ amounts ≤ budget (§8 rule 5).
`cap_to_required` turns a draft into 交付見込額 = min(draft, 所要見込額).
Eligibility for 支援交付金 lives in `domain.eligibility` and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Self

from pydantic import model_validator

from domain.base import Value, Yen
from domain.eligibility import (
    ELIGIBILITY_TESTS,
    Determination,
    EligibilityInput,
    determine_eligibility,
)
from domain.errors import InvalidInput, Refused
from domain.formulas import FORMULAS, BandBudget, Claim, Share, formula_for
from domain.rule import RuleSpec

__all__ = [
    "ELIGIBILITY_TESTS",
    "FORMULAS",
    "Allocation",
    "BandBudget",
    "CapRecord",
    "CappedAllocation",
    "Claim",
    "Determination",
    "EligibilityInput",
    "Share",
    "allocate",
    "cap_to_required",
    "competition_ranks",
    "determine_eligibility",
]


class Allocation(Value):
    """The result of one rule run over one tier budget (§6: records what it used)."""

    rule: RuleSpec
    size_bands: tuple[int, ...]
    budget_yen: Yen
    amounts: dict[str, int]
    shares: tuple[Share, ...]
    bands: tuple[BandBudget, ...]
    allocated_yen: int
    remainder_yen: int

    @model_validator(mode="after")
    def _within_budget(self) -> Self:
        # Invariant §8 rule 5: Σ amounts ≤ budget, and the remainder accounts for it.
        if self.allocated_yen != sum(self.amounts.values()) or (
            self.remainder_yen != self.budget_yen - self.allocated_yen
            or self.remainder_yen < 0
        ):
            msg = "amounts and remainder must add up to the budget"
            raise ValueError(msg)
        return self


def allocate(
    rule: RuleSpec,
    budget_yen: int,
    claims: Sequence[Claim],
    size_bands: tuple[int, ...],
) -> Allocation:
    """Share a tier budget among claims by a rule version (docs/DOMAIN.md §6).

    Args:
        rule: the rule version; its `kind` picks the formula (`formula_for`).
        budget_yen: the tier budget in yen.
        claims: one per evaluated entity (order does not matter).
        size_bands: lower bounds of the size bands of the programme year.

    Returns:
        Amounts per entity, the explanation of each, band budgets where banded and
        the remainder; Σ amounts ≤ budget.

    Raises:
        InvalidInput: unknown kind, negative budget, duplicate entity, bad bands.
        Refused: the rule switches on a component no formula exists for.
    """
    parameters = rule.allocation_parameters()
    formula = formula_for(rule)
    if parameters.additional_component.enabled:
        msg = f"rule {rule.id}: the additional component has no formula yet"
        raise Refused(msg, field="parameters.additional_component")
    ordered = _checked(budget_yen, claims)
    shares, bands = formula.shares(parameters, budget_yen, ordered, size_bands)
    amounts = {s.entity: s.amount_yen for s in shares}
    allocated = sum(amounts.values())
    return Allocation(
        rule=rule,
        size_bands=size_bands,
        budget_yen=budget_yen,
        amounts=amounts,
        shares=tuple(shares),
        bands=tuple(bands),
        allocated_yen=allocated,
        remainder_yen=budget_yen - allocated,
    )


def _checked(budget_yen: int, claims: Sequence[Claim]) -> list[Claim]:
    if budget_yen < 0:
        msg = f"a budget cannot be negative, got {budget_yen}"
        raise InvalidInput(msg, field="budget_yen")
    entities = [c.entity for c in claims]
    if len(set(entities)) != len(entities):
        twice = sorted({e for e in entities if entities.count(e) > 1})
        msg = f"entities claim twice: {', '.join(twice)}"
        raise InvalidInput(msg, field="claims")
    return sorted(claims, key=lambda c: c.entity)


class CapRecord(Value):
    """Money cut off one entity at its 所要見込額 (required amount), all rounds."""

    entity: str
    draft_yen: int
    required_yen: int
    capped_off_yen: int


class CappedAllocation(Value):
    """交付見込額: min(draft, required) per entity (docs/DOMAIN.md §4).

    `capped_off_yen` adds every cut over all rounds (money redistributed and cut
    again counts twice); `redistributed_yen` is what the rounds paid out again.
    """

    draft: Allocation
    redistribute: bool
    amounts: dict[str, int]
    caps: tuple[CapRecord, ...]
    capped_off_yen: int
    redistributed_yen: int
    rounds: tuple[Allocation, ...]
    allocated_yen: int
    remainder_yen: int

    @model_validator(mode="after")
    def _within_budget(self) -> Self:
        # Invariant §8 rule 5 holds after capping and redistribution too.
        budget = self.draft.budget_yen
        if self.allocated_yen != sum(self.amounts.values()) or (
            self.remainder_yen != budget - self.allocated_yen or self.remainder_yen < 0
        ):
            msg = "amounts and remainder must add up to the budget"
            raise ValueError(msg)
        return self


def cap_to_required(
    allocation: Allocation, claims: Sequence[Claim], redistribute: bool
) -> CappedAllocation:
    """Cap each amount at its required amount (所要見込額, docs/DOMAIN.md §4).

    The expected amount is min(draft, required_yen) where a required amount is
    given. With `redistribute` (the rule's `redistribute_capped` switch), the money
    cut off is shared again among the entities still below their required amount,
    by the same rule, round after round until no amount exceeds its required
    amount; otherwise it joins the remainder.

    Args:
        allocation: the draft (交付見込額（案）) from `allocate`.
        claims: the claims of that draft, with `required_yen` where reported.
        redistribute: share capped-off money again (true) or keep it unallocated.

    Returns:
        The capped amounts, what was cut off per entity (over all rounds) and in
        total, each redistribution round, and the remainder.

    Raises:
        InvalidInput: the claims are not those of the allocation.
    """
    by_entity = {c.entity: c for c in claims}
    if set(by_entity) != set(allocation.amounts) or len(by_entity) != len(claims):
        msg = "cap_to_required needs exactly the claims of the allocation"
        raise InvalidInput(msg, field="claims")
    amounts = dict(allocation.amounts)
    capped: dict[str, int] = {}
    pool = _cut(amounts, by_entity, capped)
    rounds: list[Allocation] = []
    while redistribute and pool > 0:
        open_claims = [c for c in claims if _below_required(c, amounts[c.entity])]
        run = allocate(allocation.rule, pool, open_claims, allocation.size_bands)
        if not run.allocated_yen:
            break
        rounds.append(run)
        for entity, extra in run.amounts.items():
            amounts[entity] += extra
        pool = _cut(amounts, by_entity, capped)
    return _capped(allocation, redistribute, amounts, capped, rounds)


def _below_required(claim: Claim, amount: int) -> bool:
    return claim.required_yen is None or amount < claim.required_yen


def _cut(
    amounts: dict[str, int], claims: Mapping[str, Claim], capped: dict[str, int]
) -> int:
    """Cut every amount above its required amount; return the money cut."""
    cut = 0
    for entity, amount in sorted(amounts.items()):
        required = claims[entity].required_yen
        if required is not None and amount > required:
            capped[entity] = capped.get(entity, 0) + amount - required
            amounts[entity] = required
            cut += amount - required
    return cut


def _capped(
    draft: Allocation,
    redistribute: bool,
    amounts: dict[str, int],
    capped: dict[str, int],
    rounds: list[Allocation],
) -> CappedAllocation:
    caps = tuple(
        CapRecord(
            entity=entity,
            draft_yen=draft.amounts[entity],
            required_yen=amounts[entity],  # a capped entity ends at its required amount
            capped_off_yen=cut,
        )
        for entity, cut in sorted(capped.items())
    )
    allocated = sum(amounts.values())
    return CappedAllocation(
        draft=draft,
        redistribute=redistribute,
        amounts=amounts,
        caps=caps,
        capped_off_yen=sum(capped.values()),
        redistributed_yen=sum(r.allocated_yen for r in rounds),
        rounds=tuple(rounds),
        allocated_yen=allocated,
        remainder_yen=draft.budget_yen - allocated,
    )


def competition_ranks(values: Mapping[str, int | Decimal]) -> dict[str, int]:
    """Competition ranks, higher is better; ties share the better rank (1, 2, 2, 4).

    Per docs/DOMAIN.md §8 rule 6, prefectures and municipalities are never ranked
    together: call this once per tier (or per band).
    """
    first: dict[int | Decimal, int] = {}
    for position, value in enumerate(sorted(values.values(), reverse=True), start=1):
        first.setdefault(value, position)
    return {entity: first[value] for entity, value in sorted(values.items())}
