"""The rules of the money chain after the allocation, as versioned data (issue 17).

Four kinds of rule version (data/rules/<id>.yaml, recorded by the `Rule` aggregate
like every other rule) feed the chain 交付申請 → 交付決定 → 交付 → 実績報告 → 額の確定 →
返還 / 取消 (docs/MONEY-CHAIN.md):

* `permitted_uses` (充当先), one per grant and tier, valid for a span of grant years:
  the uses the money may fund, each funded at the 第1号保険料相当部分 or in full, and
  the spending categories that are known but do not count;
* `premium_share`: the 第1号保険料 share (basis points, 2300 = 23%) per span of grant
  years;
* `refund_charges`: the 加算金 and 延滞金 rate (basis points a year, per span of dates),
  the day count, which days count, the order payments are applied in, the yen
  rounding;
* `grant_chain_schedule`: the application window, the withdrawal period, the report's
  due date, the default refund deadline and the confirmation formula.

Every item says where it comes from: `seed` (the ministry's reference material),
`published` (an official or municipal publication named in `source`) or
`hypothesis` (the project's modelling choice, swappable). Percentages are integers
(basis points); nothing here is a float, and every yen rounding is named.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from domain.base import FiscalYear, Grant, Text, Tier, Value

Basis = Literal["seed", "published", "hypothesis"]
"""Where a rule item comes from (see the module's docstring)."""

BASIS_JA = {"seed": "資料", "published": "公表", "hypothesis": "仮説"}
"""The basis of an item as tables show it."""

UseCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
"""A use (充当先) or spending category code, e.g. `comprehensive_program`."""

BasisPoints = Annotated[int, Field(ge=0, le=10_000, strict=True)]
"""A percentage as an integer number of basis points: 2300 = 23%, 1095 = 10.95%."""

MONEY_KINDS = (
    "permitted_uses",
    "premium_share",
    "refund_charges",
    "grant_chain_schedule",
)
"""The rule kinds of the money chain (no allocation formula or eligibility test)."""


class PermittedUse(Value):
    """One use the grant may fund (充当先)."""

    code: UseCode
    name: Text
    funding: Literal["premium_share", "full_cost"]
    """`premium_share`: only the 第1号保険料相当部分 of the spending counts;
    `full_cost`: the spending counts in full."""
    basis: Basis
    source: Text


class NotPermittedUse(Value):
    """A spending category that is known but funded by neither grant's rule here."""

    code: UseCode
    name: Text
    reason: Text
    basis: Basis


class PermittedUsesParameters(Value):
    """The 充当先 of one grant and tier (for the rule's span of grant years)."""

    grant: Grant
    tier: Tier
    uses: tuple[PermittedUse, ...] = Field(min_length=1)
    not_permitted: tuple[NotPermittedUse, ...] = ()

    @model_validator(mode="after")
    def _codes_once(self) -> Self:
        codes = [u.code for u in self.uses] + [u.code for u in self.not_permitted]
        if len(set(codes)) != len(codes):
            msg = "a use code is listed twice (permitted and not permitted included)"
            raise ValueError(msg)
        return self

    def use(self, code: str) -> PermittedUse | None:
        """The permitted use with this code, or None."""
        return next((u for u in self.uses if u.code == code), None)


class SharePeriod(Value):
    """The 第1号保険料 share of a span of grant years."""

    valid_from: FiscalYear
    valid_to: FiscalYear | None = None
    share_bp: BasisPoints
    basis: Basis
    source: Text


class PremiumShareParameters(Value):
    """The 第1号保険料相当部分 as dated data; yen rounding of share × spending."""

    periods: tuple[SharePeriod, ...] = Field(min_length=1)
    rounding: Literal["floor"] = "floor"
    """Share × spending is rounded down to the yen (hypothesis: unconfirmed)."""

    @model_validator(mode="after")
    def _periods_apart(self) -> Self:
        ordered = sorted(self.periods, key=lambda p: p.valid_from)
        for earlier, later in pairwise(ordered):
            if earlier.valid_to is None or earlier.valid_to >= later.valid_from:
                msg = "share periods overlap"
                raise ValueError(msg)
        return self

    def period_for(self, grant_year: int) -> SharePeriod | None:
        """The period a grant year falls in, or None."""
        for period in self.periods:
            if period.valid_from <= grant_year and (
                period.valid_to is None or grant_year <= period.valid_to
            ):
                return period
        return None


class RatePeriod(Value):
    """The 加算金 / 延滞金 rate (L§19) over a span of dates."""

    valid_from: date
    valid_to: date | None = None
    rate_bp: BasisPoints
    basis: Basis
    source: Text


class RefundChargesParameters(Value):
    """加算金 (L§19①) and 延滞金 (L§19②): rates, day counts, rounding."""

    periods: tuple[RatePeriod, ...] = Field(min_length=1)
    days_in_year: Literal[365] = 365
    """Every year counts 365 days, leap years too (hypothesis: O§10, O§11)."""
    receipt_day_counts: bool = True
    """加算金 runs from the 受領の日 itself to the 納付の日 (both days count)."""
    payment_order: Literal["principal_first"] = "principal_first"
    """A payment goes first to the refund's principal, then to the charges."""
    receipts_attributed: Literal["latest_first"] = "latest_first"
    """A refund of a grant paid in several receipts is taken from the latest first."""
    repayments_reduce: Literal["earliest_receipt_first"] = "earliest_receipt_first"
    """A repayment of principal reduces the part received earliest first."""
    rounding: Literal["floor"] = "floor"
    """Each charge is rounded down to the yen."""

    def rate_on(self, day: date) -> int:
        """The rate in basis points a year on a day (0 outside every period)."""
        for period in self.periods:
            if period.valid_from <= day and (
                period.valid_to is None or day <= period.valid_to
            ):
                return period.rate_bp
        return 0


class ChainScheduleParameters(Value):
    """The dates of the chain, relative to the programme year's schedule."""

    application_window_days: Annotated[int, Field(ge=1, le=366, strict=True)]
    """交付申請 is accepted from the 内示 (the programme's `provisional` date) for
    this many days (both ends included)."""
    withdrawal_days: Annotated[int, Field(ge=0, le=366, strict=True)]
    """取下げ (L§9) within this many days after the 交付決定 was recorded."""
    report_due_month: Annotated[int, Field(ge=1, le=12, strict=True)]
    report_due_day: Annotated[int, Field(ge=1, le=31, strict=True)]
    """実績報告 due on this day of the fiscal year after the grant year."""
    refund_deadline_days: Annotated[int, Field(ge=1, le=366, strict=True)]
    """A 返還命令's default 納期日: this many days after it was ordered."""
    confirmation_formula: Literal["premium_share_capped_per_use"]
    """How 額の確定 fixes the amount (see `domain.confirmation`)."""

    def application_window(self, provisional: date) -> tuple[date, date]:
        """The first and the last day an application is accepted."""
        return provisional, provisional + timedelta(
            days=self.application_window_days - 1
        )

    def report_due(self, grant_year: int) -> date:
        """The day the 実績報告 of a grant year is due."""
        year = grant_year + 1 if self.report_due_month >= 4 else grant_year + 2  # noqa: PLR2004
        return date(year, self.report_due_month, self.report_due_day)


MoneyParameters = (
    PermittedUsesParameters
    | PremiumShareParameters
    | RefundChargesParameters
    | ChainScheduleParameters
)

MONEY_PARAMETERS: dict[str, type[MoneyParameters]] = {
    "permitted_uses": PermittedUsesParameters,
    "premium_share": PremiumShareParameters,
    "refund_charges": RefundChargesParameters,
    "grant_chain_schedule": ChainScheduleParameters,
}
