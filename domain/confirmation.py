"""The arithmetic of the money chain: 額の確定, refunds, 加算金 and 延滞金 (pure).

Everything is integer yen and integer basis points; a charge is summed exactly
(integers over one common denominator) and rounded once, as its rule says
(`domain.money_rules.RefundChargesParameters`). No float touches an amount.

* 額の確定 (`CONFIRMATION_FORMULAS`): the formula is unconfirmed, so it is a named,
  swappable rule (the schedule rule's `confirmation_formula`). The one shipped,
  `premium_share_capped_per_use` [HYPOTHESIS]: per use, fundable = the 第1号保険料
  share of the spending (rounded down to the yen) where the use is funded at the
  premium share, the spending where funded in full, 0 where the use is not
  permitted; confirmed = min(fundable, the amount decided for that use).
* 加算金 (L§19①): on a refund after a cancellation for a breach, the rate a year on
  the refunded amount from the day each part was received to the day it is paid
  back (a part paid back stops accruing after its payment day).
* 延滞金 (L§19②): on any refund not paid by its deadline, the rate a year on the
  unpaid principal from the day after the deadline to the day of payment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Literal

from domain.base import Value, Yen
from domain.errors import Refused
from domain.money_rules import PermittedUsesParameters, RefundChargesParameters

BP = 10_000
"""Basis points in one (100%)."""


class ConfirmedUse(Value):
    """One use's line of a 額の確定: what was spent, what counts, what is fixed."""

    use: str
    permitted: bool
    funding: Literal["premium_share", "full_cost"] | None
    spent_yen: Yen
    share_bp: int | None
    fundable_yen: Yen
    decided_yen: Yen
    confirmed_yen: Yen


class Tranche(Value):
    """A part of a grant received on one day (受領), as a refund is attributed to it."""

    received_on: date
    amount_yen: Yen


class Repayment(Value):
    """A payment made against a refund order (納付)."""

    paid_on: date
    amount_yen: Yen


Formula = Callable[
    [Mapping[str, int], Mapping[str, int], PermittedUsesParameters, int],
    tuple[ConfirmedUse, ...],
]


def premium_share_capped_per_use(
    spending: Mapping[str, int],
    decided: Mapping[str, int],
    uses: PermittedUsesParameters,
    share_bp: int,
) -> tuple[ConfirmedUse, ...]:
    """The fixed amount per use [HYPOTHESIS]: share of permitted spending, capped.

    Every use spent on or decided appears once, in code order.
    """
    lines = []
    for code in sorted(set(spending) | set(decided)):
        use = uses.use(code)
        spent = spending.get(code, 0)
        if use is None:
            fundable, share = 0, None
        elif use.funding == "premium_share":
            fundable, share = spent * share_bp // BP, share_bp
        else:
            fundable, share = spent, None
        lines.append(
            ConfirmedUse(
                use=code,
                permitted=use is not None,
                funding=use.funding if use else None,
                spent_yen=spent,
                share_bp=share,
                fundable_yen=fundable,
                decided_yen=decided.get(code, 0),
                confirmed_yen=min(fundable, decided.get(code, 0)),
            )
        )
    return tuple(lines)


CONFIRMATION_FORMULAS: dict[str, Formula] = {
    "premium_share_capped_per_use": premium_share_capped_per_use,
}
"""額の確定 formulas by name (the schedule rule's `confirmation_formula`)."""


def attribute(principal: int, receipts: Sequence[Tranche]) -> tuple[Tranche, ...]:
    """The receipts a refund of `principal` is taken from, latest first (O§10 [仮説]).

    Returned in the order received.

    Raises:
        Refused: the refund is larger than what was received.
    """
    left = principal
    taken = []
    for receipt in sorted(receipts, key=lambda r: r.received_on, reverse=True):
        if left == 0:
            break
        part = min(left, receipt.amount_yen)
        taken.append(Tranche(received_on=receipt.received_on, amount_yen=part))
        left -= part
    if left:
        msg = f"a refund of {principal:,} yen exceeds the {principal - left:,} received"
        raise Refused(msg, field="amount_yen")
    return tuple(sorted(taken, key=lambda t: t.received_on))


def split_repayments(
    principal: int, repayments: Sequence[Repayment]
) -> list[tuple[date, int, int]]:
    """(day, to principal, to charges) of each repayment, principal first, by day."""
    left = principal
    split = []
    for repayment in sorted(repayments, key=lambda r: r.paid_on):
        to_principal = min(left, repayment.amount_yen)
        left -= to_principal
        split.append(
            (repayment.paid_on, to_principal, repayment.amount_yen - to_principal)
        )
    return split


def rate_days(rule: RefundChargesParameters, first: date, last: date) -> int:
    """Σ over the days first … last (both counted) of the rate on each day (bp).

    Computed per rate period (their overlap with the span times the rate), so its
    cost does not grow with the span; an empty span (last < first) is 0.
    """
    total = 0
    for period in rule.periods:
        start = max(first, period.valid_from)
        end = last if period.valid_to is None else min(last, period.valid_to)
        if end >= start:
            total += ((end - start).days + 1) * period.rate_bp
    return total


def additional_charge(
    tranches: Sequence[Tranche],
    repayments: Sequence[Repayment],
    rule: RefundChargesParameters,
    until: date,
) -> int:
    """加算金 (L§19①) in yen, accrued to the last repayment or to `until`.

    A repayment of principal reduces the earliest-received part first; the paid part
    accrues through its payment day. A part still unpaid accrues through `until`.
    """
    principal = sum(t.amount_yen for t in tranches)
    paid = split_repayments(principal, repayments)
    numerator = 0
    remaining = [t.amount_yen for t in tranches]
    # Walk the repayments, reducing the earliest parts first.
    reductions: list[tuple[int, date, int]] = []
    for day, to_principal, _ in paid:
        left = to_principal
        for index, amount in enumerate(remaining):
            if left == 0:
                break
            part = min(left, amount)
            if part:
                reductions.append((index, day, part))
                remaining[index] -= part
                left -= part
    for index, tranche in enumerate(tranches):
        start = tranche.received_on + timedelta(
            days=0 if rule.receipt_day_counts else 1
        )
        # Each reduction accrues through its day; what remains through `until`.
        pieces = [(day, part) for i, day, part in reductions if i == index]
        pieces.append((until, remaining[index]))
        for last, part in pieces:
            if part:
                numerator += part * rate_days(rule, start, last)
    return numerator // (BP * rule.days_in_year)


def late_charge(
    principal: int,
    deadline: date,
    repayments: Sequence[Repayment],
    rule: RefundChargesParameters,
    until: date,
) -> int:
    """延滞金 (L§19②) in yen: on the principal unpaid after `deadline`.

    Each part of the principal accrues from the day after the deadline through the
    day it was paid; what is still unpaid accrues through `until`.
    """
    numerator = 0
    left = principal
    start = deadline + timedelta(days=1)
    for day, to_principal, _ in split_repayments(principal, repayments):
        left -= to_principal
        if to_principal and day >= start:
            numerator += to_principal * rate_days(rule, start, day)
    if left:
        numerator += left * rate_days(rule, start, until)
    return numerator // (BP * rule.days_in_year)
