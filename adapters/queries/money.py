"""The money chain's statements (issue 17): per recipient and year, national totals.

Read from the `GrantAward` aggregates (no read model holds the chain yet). Amounts
are integer yen; the charges (加算金, 延滞金) are as they stand on the ledger's date
(`clock.today()`, JST), or at the last repayment of a refund paid in full. Each row
names the recipient (保険者番号 for the municipal tier: a HYPOTHESIS, the recipient
of a union's members is not published) and the Japanese labels of grant and tier.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from adapters.queries.rows import Row
from domain import clock
from domain.awarding import order_figures
from domain.base import GRANTS, TIERS
from domain.glossary import (
    AWARD_STATUS_JA,
    AWARD_STEP_JA,
    GRANT_SHORT,
    REFUND_CAUSE_JA,
    TIER_JA,
)
from domain.grant_award import GrantAward
from domain.money_rules import RefundChargesParameters

if TYPE_CHECKING:
    from domain.ledger import Ledger


@dataclass(frozen=True, slots=True)
class ChainRow(Row):
    """One recipient's chain of one grant and tier, summed (the statement's head)."""

    fiscal_year: int
    grant: str
    grant_ja: str
    tier: str
    tier_ja: str
    recipient: str
    name: str
    members: str
    status: str
    provisional_yen: int
    applied_yen: int
    decision_run_yen: int
    decided_yen: int
    paid_yen: int
    spent_yen: int
    report_late: bool | None
    confirmed_yen: int | None
    cancelled_yen: int
    kept_yen: int
    """What the recipient may keep: confirmed (or decided) less cancellations."""
    refunds_ordered_yen: int
    refunds_received_yen: int
    refunds_outstanding_yen: int
    additional_charge_yen: int
    late_charge_yen: int
    charges_paid_yen: int


@dataclass(frozen=True, slots=True)
class StepRow(Row):
    """One step of a chain, in the order recorded (the statement's lines)."""

    grant: str
    tier: str
    step_code: str
    step: str
    recorded_on: date
    stated_on: date | None
    use: str | None
    amount_yen: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class TotalRow(Row):
    """National totals of one grant and tier."""

    fiscal_year: int
    grant: str
    grant_ja: str
    tier: str
    tier_ja: str
    recipients: int
    provisional_yen: int
    applied_yen: int
    decided_yen: int
    paid_yen: int
    spent_yen: int
    confirmed_yen: int
    cancelled_yen: int
    kept_yen: int
    refunds_ordered_yen: int
    refunds_received_yen: int
    refunds_outstanding_yen: int
    additional_charge_yen: int
    late_charge_yen: int


def _charges_rule(ledger: Ledger, grant_year: int) -> RefundChargesParameters | None:
    found = [
        s.parameters
        for s in ledger.rules()
        if isinstance(s.parameters, RefundChargesParameters) and s.in_force(grant_year)
    ]
    return found[0] if len(found) == 1 else None


def chain_row(award: GrantAward, charges: RefundChargesParameters | None) -> ChainRow:
    """The summed row of one chain, charges as they stand today."""
    today = clock.today()
    figures = [
        order_figures(order, award.repayments(order.number), charges, today)
        for order in award.orders
        if charges is not None
    ]
    applied = award.applied
    decided = award.decided
    return ChainRow(
        fiscal_year=award.grant_year,
        grant=award.grant,
        grant_ja=GRANT_SHORT[award.grant],
        tier=award.tier,
        tier_ja=TIER_JA[award.tier],
        recipient=award.recipient,
        name=award.name,
        members=" ".join(award.members),
        status=AWARD_STATUS_JA[award.status] if award.status else "",
        provisional_yen=applied.provisional_yen if applied else 0,
        applied_yen=sum(applied.uses.values()) if applied else 0,
        decision_run_yen=decided.decision_yen if decided else 0,
        decided_yen=award.decided_yen,
        paid_yen=award.paid_yen,
        spent_yen=sum(award.report.spending.values()) if award.report else 0,
        report_late=award.report.late if award.report else None,
        confirmed_yen=award.confirmation.confirmed_yen if award.confirmation else None,
        cancelled_yen=award.cancelled_yen,
        kept_yen=award.entitled_yen,
        refunds_ordered_yen=award.ordered_yen,
        refunds_received_yen=sum(f.repaid_yen for f in figures),
        refunds_outstanding_yen=sum(f.outstanding_yen for f in figures),
        additional_charge_yen=sum(f.additional_charge_yen for f in figures),
        late_charge_yen=sum(f.late_charge_yen for f in figures),
        charges_paid_yen=sum(f.charges_paid_yen for f in figures),
    )


def statement(
    ledger: Ledger, recipient: str, grant_year: int
) -> tuple[list[ChainRow], list[StepRow]]:
    """A recipient's chains of a grant year: the summed rows and every step."""
    ids = (
        GrantAward.id_for(recipient, grant_year, grant, tier)
        for grant in GRANTS
        for tier in TIERS
    )
    awards = [a for i in ids if (a := ledger.get(i, GrantAward)) is not None]
    charges = _charges_rule(ledger, grant_year)
    heads = [chain_row(a, charges) for a in awards]
    steps = [row for a in awards for row in _steps(ledger, a)]
    return heads, steps


def _steps(ledger: Ledger, award: GrantAward) -> Iterable[StepRow]:
    def row(
        step: str,
        recorded: date,
        detail: str,
        amount: int | None = None,
        use: str | None = None,
        stated: date | None = None,
    ) -> StepRow:
        return StepRow(
            grant=award.grant,
            tier=award.tier,
            step_code=step,
            step=AWARD_STEP_JA[step],
            recorded_on=recorded,
            stated_on=stated,
            use=use,
            amount_yen=amount,
            detail=detail,
        )

    for event in ledger.history(award.id):
        match event:
            case GrantAward.Applied():
                yield row(
                    "provisional",
                    event.applied_on,
                    event.provisional_run,
                    event.provisional_yen,
                )
                for use, amount in event.uses.items():
                    yield row(
                        "application", event.applied_on, event.uses_rule, amount, use
                    )
            case GrantAward.Returned():
                yield row("return", event.returned_on, event.reason)
            case GrantAward.Decided():
                note = f"{event.decision_run} ({event.decision_yen:,} yen)"
                if event.amended:
                    note += f"; 修正: {event.reason}"
                for use, amount in event.uses.items():
                    yield row("decision", event.decided_on, note, amount, use)
            case GrantAward.Withdrawn():
                yield row("withdrawal", event.withdrawn_on, event.reason)
            case GrantAward.Paid():
                yield row(
                    "payment",
                    event.recorded_on,
                    event.reference,
                    event.amount_yen,
                    stated=event.paid_on,
                )
            case GrantAward.Reported():
                late = "; 期限後（遅延）" if event.late else ""
                documents = ", ".join(e.sha256[:12] for e in event.evidence)
                for use, amount in event.spending.items():
                    note = f"期限 {event.due_on}{late}; 証拠 {documents}"
                    yield row("report", event.reported_on, note, amount, use)
            case GrantAward.Confirmed():
                for line in event.lines:
                    note = (
                        f"{event.formula} (仮説); 支出 {line.spent_yen:,}, 対象 "
                        f"{line.fundable_yen:,}, 決定 {line.decided_yen:,}"
                        + ("" if line.permitted else "; 充当先外")
                    )
                    yield row(
                        "confirmation",
                        event.confirmed_on,
                        note,
                        line.confirmed_yen,
                        line.use,
                    )
            case GrantAward.Cancelled():
                note = f"{event.legal_basis}: {event.reason}"
                yield row("cancellation", event.cancelled_on, note, event.amount_yen)
            case GrantAward.RefundOrdered():
                order = event.order
                cause = REFUND_CAUSE_JA[order.cause]
                note = f"命令{order.number} 納期日 {order.deadline}; {cause}"
                yield row("refund_order", order.ordered_on, note, order.principal_yen)
            case GrantAward.RefundPaid():
                payment = event.payment
                yield row(
                    "refund",
                    payment.recorded_on,
                    f"命令{payment.order}; {event.reference}",
                    payment.amount_yen,
                    stated=payment.paid_on,
                )
            case _:
                continue


def national_totals(ledger: Ledger, grant_year: int) -> list[TotalRow]:
    """Totals per grant and tier of every recipient's chain of a grant year."""
    charges = _charges_rule(ledger, grant_year)
    rows = [chain_row(a, charges) for a in ledger.grant_awards(grant_year)]
    totals = []
    for grant, tier in sorted({(r.grant, r.tier) for r in rows}):
        group = [r for r in rows if (r.grant, r.tier) == (grant, tier)]
        totals.append(
            TotalRow(
                fiscal_year=grant_year,
                grant=grant,
                grant_ja=GRANT_SHORT[grant],
                tier=tier,
                tier_ja=TIER_JA[tier],
                recipients=len(group),
                provisional_yen=sum(r.provisional_yen for r in group),
                applied_yen=sum(r.applied_yen for r in group),
                decided_yen=sum(r.decided_yen for r in group),
                paid_yen=sum(r.paid_yen for r in group),
                spent_yen=sum(r.spent_yen for r in group),
                confirmed_yen=sum(r.confirmed_yen or 0 for r in group),
                cancelled_yen=sum(r.cancelled_yen for r in group),
                kept_yen=sum(r.kept_yen for r in group),
                refunds_ordered_yen=sum(r.refunds_ordered_yen for r in group),
                refunds_received_yen=sum(r.refunds_received_yen for r in group),
                refunds_outstanding_yen=sum(r.refunds_outstanding_yen for r in group),
                additional_charge_yen=sum(r.additional_charge_yen for r in group),
                late_charge_yen=sum(r.late_charge_yen for r in group),
            )
        )
    return totals


def chain_of_entity(
    ledger: Ledger, entity: str, grant_year: int, grant: str
) -> ChainRow | None:
    """The chain of the recipient an entity's amount goes to (None before one)."""
    charges = _charges_rule(ledger, grant_year)
    for award in ledger.grant_awards(grant_year):
        if award.grant == grant and entity in award.members:
            return chain_row(award, charges)
    return None
