"""Allocation formulas (交付額の算定): the one home of the share arithmetic (§6).

Money is integer yen; shares are exact integer ratios (no float, no rounding until
the end). Each amount is floored to the rule's rounding unit, so Σ amounts ≤ pool
always (§8 rule 5).

Each formula kind is a `Formula` registered in `FORMULAS` under its `RuleSpec.kind`.
It knows a claim's weight, its exact share of a pool and the rounding of the draft,
and everything that computes or retells an amount asks it, through `formula_for`
(which refuses an unknown kind, naming the rule): `allocate` shares a budget with it
(`shares`), `kofu explain` tells how a line's draft was reached (`explain`), `kofu
sensitivity` asks what one more point is worth (`yen_per_point`), `kofu diff` splits
a change between two runs into its causes (`attribute`), and `kofu what-if`
recalculates with `allocate` and diffs. A new kind is a registered class: `Formula`
is abstract, so a kind that leaves one of these out cannot be registered.

Kinds:
* `pooled_share`: amount_i = budget × w_i / Σ w over the tier, with
  w = score × 第1号被保険者数 (or score alone when `weight_by_insured` is false).
  Confirmed for FY2018-FY2019 with w = score × 第1号被保険者数.
* `banded_share` [hypothesis]: the tier budget is split across size bands (規模区分)
  in proportion to each band's Σ 第1号被保険者数 (each band budget floored to the
  yen), then shared within each band as in `pooled_share`.
An ineligible claim gets 0 and is left out of every denominator; a pool (tier or band)
with no positive weight leaves its budget to the remainder.

Over 300 lines (STYLE): the formula kinds with the values they share; the arithmetic
that allocates and the arithmetic that retells an amount are kept in one place so
that they cannot drift.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from typing import Annotated, ClassVar, Literal, Protocol, Self

from pydantic import Field, model_validator

from domain.base import Value, Yen
from domain.entities import size_band
from domain.errors import InvalidInput
from domain.rule import AllocationParameters, RuleSpec

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


class Line(Protocol):
    """One entity's line of a recorded run, as a formula reads it back.

    `domain.allocation_run.EntityResult` is one: the share it recorded (numerator,
    denominator and pool), the draft and the final amount.
    """

    @property
    def eligible(self) -> bool:
        """Whether the claim was eligible (else its weight is 0)."""

    @property
    def score(self) -> int:
        """The score the run used."""

    @property
    def insured(self) -> int:
        """The 第1号被保険者数 the run used."""

    @property
    def share_numerator(self) -> int:
        """The claim's weight w."""

    @property
    def share_denominator(self) -> int:
        """The pool's Σ w."""

    @property
    def pool_budget_yen(self) -> int:
        """The pool's budget: the tier's, or the band's."""

    @property
    def draft_yen(self) -> int:
        """The rounded share (before any cap)."""

    @property
    def amount_yen(self) -> int:
        """The amount after caps."""


Shares = tuple[list[Share], list[BandBudget]]

ATTRIBUTION = (
    "budget_yen",
    "insured_yen",
    "own_score_yen",
    "others_yen",
    "rounding_caps_eligibility_yen",
)
"""The parts a change between two runs is split into, in the order they move."""


class Formula(ABC):
    """One allocation formula kind: how it shares a budget, and how that is retold."""

    kind: ClassVar[str]

    @abstractmethod
    def weight(
        self, score: int, insured: int, eligible: bool, parameters: AllocationParameters
    ) -> int:
        """A claim's weight in its pool (0 when it is not eligible)."""

    @abstractmethod
    def draft(
        self, pool_yen: int, weight: int, total: int, parameters: AllocationParameters
    ) -> int:
        """The rounded amount of a weight's share of a pool (交付見込額（案）)."""

    @abstractmethod
    def shares(
        self,
        parameters: AllocationParameters,
        budget_yen: int,
        claims: Sequence[Claim],
        size_bands: tuple[int, ...],
    ) -> Shares:
        """Share a budget among claims: each claim's share, and band budgets if any."""

    @abstractmethod
    def explain(self, line: Line, parameters: AllocationParameters) -> str:
        """How a line's draft was reached, in words (`kofu explain`)."""

    @abstractmethod
    def yen_per_point(self, line: Line, parameters: AllocationParameters) -> Fraction:
        """The exact change in a line's draft for one more point of score."""

    @abstractmethod
    def attribute(
        self, a: Line, b: Line, parameters: AllocationParameters
    ) -> dict[str, int]:
        """A line's change from run `a` to run `b` in yen, by cause (`ATTRIBUTION`).

        The parts are whole yen and add up to the change exactly.
        """


class ShareOfPool(Formula, ABC):
    """A budget shared by weight within pools: w = score × 第1号被保険者数, or score.

    draft = floor(pool × w / W / unit) × unit, W the pool's Σ w. A kind says what
    its pools are (`shares`).
    """

    def weight(
        self, score: int, insured: int, eligible: bool, parameters: AllocationParameters
    ) -> int:
        """The score × 第1号被保険者数 (or the score alone); 0 when not eligible."""
        if not eligible:
            return 0
        return score * (insured if parameters.weight_by_insured else 1)

    @staticmethod
    def share(pool_yen: int, weight: int, total: int) -> Fraction:
        """The exact share pool × w / W (0 for an empty pool)."""
        return Fraction(pool_yen * weight, total) if total else Fraction(0)

    def draft(
        self, pool_yen: int, weight: int, total: int, parameters: AllocationParameters
    ) -> int:
        """floor(pool × w / W / unit) × unit; 0 without weight."""
        unit = parameters.rounding_unit_yen
        return pool_yen * weight // (total * unit) * unit if weight else 0

    def pool(
        self,
        budget_yen: int,
        claims: Sequence[Claim],
        parameters: AllocationParameters,
        band: int | None,
    ) -> list[Share]:
        """Share one pool by weight, each amount floored to the rounding unit."""
        weights = [
            self.weight(c.score, c.insured, c.eligible, parameters) for c in claims
        ]
        denominator = sum(weights)
        shares = []
        for claim, weight in zip(claims, weights, strict=True):
            status: Literal["paid", "ineligible", "zero_weight"] = (
                "ineligible"
                if not claim.eligible
                else "paid"
                if weight
                else "zero_weight"
            )
            shares.append(
                Share(
                    entity=claim.entity,
                    band=band,
                    status=status,
                    numerator=weight,
                    denominator=denominator,
                    pool_budget_yen=budget_yen,
                    amount_yen=self.draft(budget_yen, weight, denominator, parameters),
                )
            )
        return shares

    def explain(self, line: Line, parameters: AllocationParameters) -> str:
        """floor(pool × w / W / unit) × unit = draft, with the unrounded share."""
        if not line.share_numerator:
            return "weight 0 (zero score or ineligible): draft 0 yen"
        unit = parameters.rounding_unit_yen
        # Exact decimal arithmetic for the display too: no float touches an amount.
        exact = (
            Decimal(line.pool_budget_yen * line.share_numerator)
            / Decimal(line.share_denominator)
        ).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        return (
            f"floor({line.pool_budget_yen:,} × {line.share_numerator:,} / "
            f"{line.share_denominator:,} / {unit:,}) × {unit:,} = "
            f"{line.draft_yen:,} yen (unrounded {exact:,})"
        )

    def yen_per_point(self, line: Line, parameters: AllocationParameters) -> Fraction:
        """P·(w+n)/(W+n) − P·w/W, n the weight of one point (insured, or 1)."""
        if not line.eligible or not line.share_denominator:
            return Fraction(0)
        step = self.weight(
            line.score + 1, line.insured, line.eligible, parameters
        ) - self.weight(line.score, line.insured, line.eligible, parameters)
        pool, weight, total = (
            line.pool_budget_yen,
            line.share_numerator,
            line.share_denominator,
        )
        return self.share(pool, weight + step, total + step) - self.share(
            pool, weight, total
        )

    def attribute(
        self, a: Line, b: Line, parameters: AllocationParameters
    ) -> dict[str, int]:
        """Move the pool budget, own insured, own score, then the others' weights.

        Each step is the exact share after the move minus before, rounded to the yen;
        rounding, caps and eligibility take what is left.
        """
        w_a = self.weight(a.score, a.insured, a.eligible, parameters)
        others_a = a.share_denominator - w_a
        w_insured = self.weight(a.score, b.insured, a.eligible, parameters)
        w_score = self.weight(b.score, b.insured, a.eligible, parameters)
        steps = [
            self.share(a.pool_budget_yen, w_a, a.share_denominator),
            self.share(b.pool_budget_yen, w_a, a.share_denominator),
            self.share(b.pool_budget_yen, w_insured, others_a + w_insured),
            self.share(b.pool_budget_yen, w_score, others_a + w_score),
            self.share(b.pool_budget_yen, b.share_numerator, b.share_denominator),
        ]
        parts = {
            name: round(after - before)
            for name, before, after in zip(
                ATTRIBUTION[:-1], steps[:-1], steps[1:], strict=True
            )
        }
        change = b.amount_yen - a.amount_yen
        parts[ATTRIBUTION[-1]] = change - sum(parts.values())
        return parts


class PooledShare(ShareOfPool):
    """One pool over the tier (FY2018-FY2019 confirmed shape, §6)."""

    kind = "pooled_share"

    def shares(
        self,
        parameters: AllocationParameters,
        budget_yen: int,
        claims: Sequence[Claim],
        size_bands: tuple[int, ...],  # noqa: ARG002 - one pool, whatever the bands
    ) -> Shares:
        """The whole tier budget shared in one pool."""
        return self.pool(budget_yen, claims, parameters, None), []


class BandedShare(ShareOfPool):
    """Band budgets by Σ 第1号被保険者数, then pools per band ([hypothesis] §6)."""

    kind = "banded_share"

    def shares(
        self,
        parameters: AllocationParameters,
        budget_yen: int,
        claims: Sequence[Claim],
        size_bands: tuple[int, ...],
    ) -> Shares:
        """Each band's budget, floored to the yen, shared in the band's own pool."""
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
            band_shares = self.pool(band_budget, members, parameters, band)
            shares.extend(band_shares)
            bands.append(
                _band_record(band, lower, band_insured, band_budget, band_shares)
            )
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
    formula.kind: formula for formula in (PooledShare(), BandedShare())
}
"""Allocation formulas by `RuleSpec.kind`: a new formula is an entry, not a branch."""


def formula_for(rule: RuleSpec) -> Formula:
    """The formula of an allocation rule's kind.

    Raises:
        InvalidInput: no formula is registered for the rule's kind.
    """
    formula = FORMULAS.get(rule.kind)
    if formula is None:
        msg = f"no allocation formula for kind {rule.kind!r}"
        raise InvalidInput(msg, field="rule")
    return formula
