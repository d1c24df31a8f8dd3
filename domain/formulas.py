"""Allocation formulas (交付額の算定), pure and keyed by rule kind (DOMAIN.md §6).

Money is integer yen; shares are exact integer ratios (no float, no rounding until
the end). Each amount is floored to the rule's rounding unit, so Σ amounts ≤ pool
always (§8 rule 5).

Formulas, keyed by `RuleSpec.kind` in `FORMULAS`:
* `pooled_share`: amount_i = budget × w_i / Σ w over the tier, with
  w = score × 第1号被保険者数 (or score alone when `weight_by_insured` is false).
  Confirmed for FY2018-FY2019 with w = score × 第1号被保険者数.
* `banded_share` [hypothesis]: the tier budget is split across size bands (規模区分)
  in proportion to each band's Σ 第1号被保険者数 (each band budget floored to the
  yen), then shared within each band as in `pooled_share`.
An ineligible claim gets 0 and is left out of every denominator; a pool (tier or band)
with no positive weight leaves its budget to the remainder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from domain.base import Value, Yen
from domain.entities import size_band
from domain.errors import InvalidInput
from domain.rules import AllocationParameters

Count = Annotated[int, Field(ge=0, strict=True)]


class Claim(Value):
    """One evaluated entity's claim on a tier budget."""

    entity: Annotated[str, Field(min_length=1, max_length=40)]
    score: Count
    max_score: Count
    insured: Count
    band: Count
    eligible: bool = True
    required_yen: Yen | None = None

    @model_validator(mode="after")
    def _score_within_max(self) -> Self:
        if self.score > self.max_score:
            msg = f"{self.entity}: score {self.score} exceeds {self.max_score}"
            raise ValueError(msg)
        return self


class Share(Value):
    """How one amount was reached: floor(pool × numerator / denominator / unit) × unit.

    `pool_budget_yen` is the tier budget, or the band budget where banded.
    """

    entity: str
    band: int | None
    status: Literal["paid", "ineligible", "zero_weight"]
    numerator: int
    denominator: int
    pool_budget_yen: int
    amount_yen: int


class BandBudget(Value):
    """One size band's part of a banded allocation."""

    band: int
    lower_bound: int
    insured: int
    budget_yen: int
    allocated_yen: int
    remainder_yen: int


_Result = tuple[list[Share], list[BandBudget]]
Formula = Callable[
    [AllocationParameters, int, Sequence[Claim], tuple[int, ...]], _Result
]


def _weight(claim: Claim, parameters: AllocationParameters) -> int:
    if not claim.eligible:
        return 0
    return claim.score * (claim.insured if parameters.weight_by_insured else 1)


def _pool(
    budget_yen: int,
    claims: Sequence[Claim],
    parameters: AllocationParameters,
    band: int | None,
) -> list[Share]:
    """Share one pool by weight, each amount floored to the rounding unit."""
    unit = parameters.rounding_unit_yen
    weights = [_weight(c, parameters) for c in claims]
    denominator = sum(weights)
    shares = []
    for claim, weight in zip(claims, weights, strict=True):
        amount = budget_yen * weight // (denominator * unit) * unit if weight else 0
        status: Literal["paid", "ineligible", "zero_weight"] = (
            "ineligible" if not claim.eligible else "paid" if weight else "zero_weight"
        )
        shares.append(
            Share(
                entity=claim.entity,
                band=band,
                status=status,
                numerator=weight,
                denominator=denominator,
                pool_budget_yen=budget_yen,
                amount_yen=amount,
            )
        )
    return shares


def _pooled_share(
    parameters: AllocationParameters,
    budget_yen: int,
    claims: Sequence[Claim],
    _size_bands: tuple[int, ...],
) -> _Result:
    """One pool over the tier (FY2018-FY2019 confirmed shape, §6)."""
    return _pool(budget_yen, claims, parameters, None), []


def _banded_share(
    parameters: AllocationParameters,
    budget_yen: int,
    claims: Sequence[Claim],
    size_bands: tuple[int, ...],
) -> _Result:
    """Band budgets by Σ 第1号被保険者数, then pools per band ([hypothesis] §6)."""
    _check_bands(claims, size_bands)
    counted = [
        c for c in claims if c.eligible or parameters.band_weight == "all_insured"
    ]
    insured = [
        sum(c.insured for c in counted if c.band == band)
        for band in range(1, len(size_bands) + 1)
    ]
    total = sum(insured)
    shares: list[Share] = []
    bands: list[BandBudget] = []
    for band, (lower, band_insured) in enumerate(
        zip(size_bands, insured, strict=True), start=1
    ):
        band_budget = budget_yen * band_insured // total if total else 0
        members = [c for c in claims if c.band == band]
        band_shares = _pool(band_budget, members, parameters, band)
        shares.extend(band_shares)
        bands.append(_band_record(band, lower, band_insured, band_budget, band_shares))
    return shares, bands


def _band_record(
    band: int, lower: int, insured: int, budget_yen: int, shares: list[Share]
) -> BandBudget:
    allocated = sum(s.amount_yen for s in shares)
    return BandBudget(
        band=band,
        lower_bound=lower,
        insured=insured,
        budget_yen=budget_yen,
        allocated_yen=allocated,
        remainder_yen=budget_yen - allocated,
    )


def _check_bands(claims: Sequence[Claim], size_bands: tuple[int, ...]) -> None:
    if (
        not size_bands
        or size_bands[0] != 0
        or list(size_bands) != sorted(set(size_bands))
    ):
        msg = f"size_bands must rise strictly from 0, got {size_bands}"
        raise InvalidInput(msg, field="size_bands")
    for claim in claims:
        expected = size_band(claim.insured, size_bands)
        if claim.band != expected:
            msg = (
                f"{claim.entity}: {claim.insured:,} insured lie in band {expected}, "
                f"not {claim.band}"
            )
            raise InvalidInput(msg, field="band")


FORMULAS: dict[str, Formula] = {
    "pooled_share": _pooled_share,
    "banded_share": _banded_share,
}
"""Allocation formulas by `RuleSpec.kind`: a new formula is an entry, not a branch."""
