"""Eligibility for 支援交付金 (effort_support), with each determination's inputs.

Docs/DOMAIN.md §1 and §6: the grant goes only to insurers that increase their
prevention spending (事業費); where the elderly population fell, a demographic
adjustment (人口動態を加味した調整) applies. The rule is confirmed, its formula is not
public: base year, counted spending categories, comparison and adjustment are rule
parameters (data/rules). Tests are picked by the rule's `kind` from
`ELIGIBILITY_TESTS`. Comparisons are exact integer cross-products; the per-person
figures recorded are for display only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import Field

from domain.base import FiscalYear, Value, Yen
from domain.catalogue import Code
from domain.errors import InvalidInput
from domain.rule import RuleSpec

Population = Annotated[int, Field(ge=1, strict=True)]
_CENTS = Decimal("0.01")


class EligibilityInput(Value):
    """What one entity reports for the test: spending by category, elderly people."""

    entity: Annotated[str, Field(min_length=1, max_length=40)]
    year: FiscalYear
    base_year: FiscalYear
    spending_yen: dict[Code, Yen]
    base_spending_yen: dict[Code, Yen]
    elderly: Population
    base_elderly: Population


class Determination(Value):
    """One entity's eligibility, with everything the decision used (§6)."""

    entity: str
    rule_id: str
    eligible: bool
    reason: str
    year: int
    base_year: int
    spending_yen: int
    base_spending_yen: int
    elderly: int
    base_elderly: int
    adjusted: bool
    per_elderly_yen: Decimal
    base_per_elderly_yen: Decimal


def determine_eligibility(
    rule: RuleSpec, inputs: Sequence[EligibilityInput]
) -> tuple[Determination, ...]:
    """Decide 支援交付金 eligibility per entity (docs/DOMAIN.md §1, §6).

    Args:
        rule: an eligibility rule version; its `kind` picks the test.
        inputs: one per entity.

    Returns:
        One determination per entity, ordered by entity.

    Raises:
        InvalidInput: unknown kind, an entity twice, a base year that does not
            match the rule's offset, or a counted category missing from the inputs.
    """
    test = ELIGIBILITY_TESTS.get(rule.kind)
    if test is None:
        msg = f"no eligibility test for kind {rule.kind!r}"
        raise InvalidInput(msg, field="rule")
    entities = [i.entity for i in inputs]
    if len(set(entities)) != len(entities):
        msg = "an entity appears twice in the eligibility inputs"
        raise InvalidInput(msg, field="inputs")
    return tuple(test(rule, i) for i in sorted(inputs, key=lambda i: i.entity))


def _spending_increase(rule: RuleSpec, item: EligibilityInput) -> Determination:
    """Spending rose against the base year; per elderly person if their number fell."""
    parameters = rule.eligibility_parameters()
    if item.base_year != item.year + parameters.base_year_offset:
        msg = (
            f"{item.entity}: base year {item.base_year} is not {item.year} "
            f"{parameters.base_year_offset:+d} as rule {rule.id} requires"
        )
        raise InvalidInput(msg, field="base_year")
    categories = parameters.spending_categories
    spent = _counted(item.spending_yen, categories, item.entity, item.year)
    base = _counted(item.base_spending_yen, categories, item.entity, item.base_year)
    adjusted = (
        parameters.adjustment == "per_elderly_when_population_falls"
        and item.elderly < item.base_elderly
    )
    # Exact: spent/elderly > base/base_elderly ⇔ spent·base_elderly > base·elderly.
    now, then = (
        (spent * item.base_elderly, base * item.elderly) if adjusted else (spent, base)
    )
    eligible = now > then if parameters.comparison == "increase" else now >= then
    return Determination(
        entity=item.entity,
        rule_id=rule.id,
        eligible=eligible,
        reason=_reason(now - then, adjusted),
        year=item.year,
        base_year=item.base_year,
        spending_yen=spent,
        base_spending_yen=base,
        elderly=item.elderly,
        base_elderly=item.base_elderly,
        adjusted=adjusted,
        per_elderly_yen=_per_person(spent, item.elderly),
        base_per_elderly_yen=_per_person(base, item.base_elderly),
    )


def _counted(
    spending: Mapping[str, int], categories: Sequence[str], entity: str, year: int
) -> int:
    missing = [c for c in categories if c not in spending]
    if missing:
        msg = f"{entity}: FY{year} spending lacks {', '.join(missing)}"
        raise InvalidInput(msg, field="spending_yen")
    return sum(spending[c] for c in categories)


def _reason(change: int, adjusted: bool) -> str:
    basis = (
        "高齢者1人当たり事業費 (spending per elderly person; elderly population fell)"
        if adjusted
        else "事業費 (spending)"
    )
    if change > 0:
        return f"{basis}: 基準年度から増加 (rose against the base year)"
    if change == 0:
        return f"{basis}: 基準年度と同額 (equal to the base year)"
    return f"{basis}: 基準年度から減少 (fell against the base year)"


def _per_person(amount: int, people: int) -> Decimal:
    return (Decimal(amount) / Decimal(people)).quantize(_CENTS, ROUND_HALF_EVEN)


ELIGIBILITY_TESTS: dict[str, Callable[[RuleSpec, EligibilityInput], Determination]] = {
    "spending_increase": _spending_increase,
}
"""Eligibility tests by `RuleSpec.kind`."""
