"""The money chain's commands: what each reads and checks before `GrantAward` records.

Each function takes the ledger's readers, a command (domain/commands.py) and the
ledger's date (`clock.today()`, JST), and returns the `GrantAward` to save with its
new events; `Ledger` (domain/ledger.py) adds the receipt and saves both in one
transaction. Nothing here writes.

Reads: the recipient (an insurer's members, or a prefecture), its amount in the
current `provisional` and `decision` runs (Σ over the run's lines whose insurer
number is the recipient: a HYPOTHESIS, docs/MONEY-CHAIN.md), and the rule versions
in force for the grant year (`permitted_uses` for the grant and tier,
`premium_share`, `refund_charges`, `grant_chain_schedule`).

Roles: the recipient applies, withdraws and reports for itself (`insurer:<its
保険者番号 or a member's LG code>`, `prefecture:<LG code>`); ministry staff return,
decide, record payments, confirm, order refunds, record refunds and cancel. Whether
prefectures do part of this work for the State (L§26②) is unconfirmed, so they do
not here.

Over 300 lines (STYLE): one short function per step of the chain and the readers
they share (the rule in force, the recipient, its amount in a run, the roles), and
where a refund order stands (`order_figures`), which both the refund check and the
statements use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from domain.allocation_run import PhaseRuns
from domain.base import actor_id, actor_role
from domain.commands import (
    ApplyForGrant,
    AwardCommand,
    CancelGrant,
    ConfirmGrantAmount,
    DecideGrant,
    OrderRefund,
    RecordGrantPayment,
    RecordRefundPayment,
    ReportSpending,
    ReturnApplication,
    WithdrawGrant,
)
from domain.confirmation import (
    CONFIRMATION_FORMULAS,
    Repayment,
    Tranche,
    additional_charge,
    attribute,
    late_charge,
    split_repayments,
)
from domain.entities import Insurer
from domain.errors import Forbidden, InvalidInput, Refused
from domain.grant_award import GrantAward, RefundOrder, RefundPayment
from domain.money_rules import (
    ChainScheduleParameters,
    MoneyParameters,
    PermittedUsesParameters,
    PremiumShareParameters,
    RefundChargesParameters,
)
from domain.reading import Reading
from domain.rule import RuleSpec

P = TypeVar("P", bound=MoneyParameters)

REFUND_BASIS = "補助金等に係る予算の執行の適正化に関する法律第18条第2項（額の確定）"
CANCELLATION_REFUND_BASIS = "同法第18条第1項（取消に係る部分の返還）"

# ------------------------------------------------------------------ reading


def money_rule(reader: Reading, kind: type[P], cmd: AwardCommand) -> tuple[RuleSpec, P]:
    """The one rule version of a kind in force for the command's grant year.

    A `permitted_uses` rule must also be of the command's grant and tier.

    Raises:
        InvalidInput: none is in the ledger, or more than one is in force.
    """
    found = []
    for spec in reader.rules():
        parameters = spec.parameters
        if not isinstance(parameters, kind) or not spec.in_force(cmd.grant_year):
            continue
        if isinstance(parameters, PermittedUsesParameters) and (
            parameters.grant != cmd.grant or parameters.tier != cmd.tier
        ):
            continue
        found.append((spec, parameters))
    what = f"{kind.__name__} rule for FY{cmd.grant_year} {cmd.grant} {cmd.tier}"
    if not found:
        msg = f"no {what} is in the ledger (kofu load data/rules/...)"
        raise InvalidInput(msg, field="rules")
    if len(found) > 1:
        ids = ", ".join(spec.id for spec, _ in found)
        msg = f"more than one {what} is in force: {ids}"
        raise InvalidInput(msg, field="rules")
    return found[0]


def recipient_of(
    reader: Reading, cmd: AwardCommand
) -> tuple[str, str, tuple[str, ...]]:
    """(kind, name, member LG codes) of the command's recipient.

    Raises:
        InvalidInput: no such insurer, or the LG code is not a prefecture.
    """
    if cmd.tier == "municipal":
        insurer = reader.get(Insurer.id_for(cmd.recipient), Insurer)
        if insurer is None:
            msg = f"no insurer {cmd.recipient} is registered"
            raise InvalidInput(msg, field="recipient")
        members = tuple(m.lg_code for m in insurer.details.members)
        return "insurer", insurer.details.name, members
    details = reader.entity(cmd.recipient, field="recipient")
    if details.kind != "prefecture":
        msg = (
            f"{cmd.recipient} is a municipality: the prefectural tier goes to "
            "a prefecture"
        )
        raise InvalidInput(msg, field="recipient")
    return "prefecture", details.name, (cmd.recipient,)


def amount_in_run(reader: Reading, cmd: AwardCommand, phase: str) -> tuple[str, int]:
    """(run id, the recipient's amount) in the current run of a phase.

    The municipal tier sums the lines of the insurer's members (the run names each
    line's insurer number) [HYPOTHESIS: the recipient of a union's members].

    Raises:
        Refused: the phase has no run yet, or the recipient no line in it.
    """
    phase_runs = reader.get(
        PhaseRuns.id_for(cmd.grant_year, cmd.grant, cmd.tier, phase), PhaseRuns
    )
    if phase_runs is None or phase_runs.current is None:
        msg = f"FY{cmd.grant_year} {cmd.grant} {cmd.tier} has no {phase} run yet"
        raise Refused(msg, field="phase")
    run = reader.run(phase_runs.current)
    if cmd.tier == "municipal":
        lines = [r for r in run.calculated.results if r.insurer_number == cmd.recipient]
    else:
        lines = [r for r in run.calculated.results if r.entity == cmd.recipient]
    if not lines:
        msg = f"{cmd.recipient} has no line in {phase_runs.current}"
        raise Refused(msg, field="recipient")
    return phase_runs.current, sum(r.amount_yen for r in lines)


def _award(reader: Reading, cmd: AwardCommand) -> GrantAward:
    found = reader.get(
        GrantAward.id_for(cmd.recipient, cmd.grant_year, cmd.grant, cmd.tier),
        GrantAward,
    )
    if found is None:
        msg = (
            f"FY{cmd.grant_year} {cmd.grant} {cmd.tier} of {cmd.recipient} has no "
            "application"
        )
        raise Refused(msg, field="recipient")
    return found


def _own(cmd: AwardCommand, members: tuple[str, ...], what: str) -> None:
    """Only the recipient itself (or, for an insurer, one of its members) may act."""
    role, ident = actor_role(cmd.actor), actor_id(cmd.actor)
    own = (
        role == "insurer" and (ident == cmd.recipient or ident in members)
        if cmd.tier == "municipal"
        else role == "prefecture" and ident == cmd.recipient
    )
    if not own:
        msg = f"only {cmd.recipient} itself {what}, not {cmd.actor}"
        raise Forbidden(msg, field="actor")


def _ministry(cmd: AwardCommand, what: str) -> None:
    if actor_role(cmd.actor) != "ministry":
        msg = f"only ministry staff {what}, not {cmd.actor}"
        raise Forbidden(msg, field="actor")


def _stated(day: date, today: date, field: str) -> None:
    if day > today:
        msg = f"the stated date {day} lies after today ({today} JST, the ledger's date)"
        raise InvalidInput(msg, field=field)


def _permitted(
    uses: dict[str, int], rule: tuple[RuleSpec, PermittedUsesParameters]
) -> None:
    spec, parameters = rule
    for code in uses:
        if parameters.use(code) is None:
            known = ", ".join(u.code for u in parameters.uses)
            msg = (
                f"{code} is not a permitted use of {parameters.grant} "
                f"{parameters.tier} under {spec.id}; permitted: {known}"
            )
            raise Refused(msg, field=f"uses.{code}")


# ------------------------------------------------------------------ commands


def apply(reader: Reading, cmd: ApplyForGrant, today: date) -> GrantAward:
    """交付申請 within the window, to permitted uses, at most the 内示 amount."""
    kind, name, members = recipient_of(reader, cmd)
    _own(cmd, members, "applies for its grant")
    uses_rule = money_rule(reader, PermittedUsesParameters, cmd)
    _permitted(dict(cmd.uses), uses_rule)
    _, schedule = money_rule(reader, ChainScheduleParameters, cmd)
    provisional = reader.programme(cmd.grant_year).spec.schedule.phases.get(
        "provisional"
    )
    if provisional is None:
        msg = f"FY{cmd.grant_year} has no 内示 (provisional) date in its schedule"
        raise Refused(msg, field="date")
    opens, closes = schedule.application_window(provisional)
    if not opens <= today <= closes:
        msg = (
            f"an application on {today} (JST, the ledger's date) is outside the "
            f"FY{cmd.grant_year} application window {opens} to {closes}"
        )
        raise Refused(msg, field="date")
    run_id, provisional_yen = amount_in_run(reader, cmd, "provisional")
    total = sum(cmd.uses.values())
    if total > provisional_yen:
        msg = (
            f"the application totals {total:,} yen, above the provisional amount "
            f"of {provisional_yen:,} yen in {run_id}"
        )
        raise Refused(msg, field="uses")
    award = reader.get(
        GrantAward.id_for(cmd.recipient, cmd.grant_year, cmd.grant, cmd.tier),
        GrantAward,
    ) or GrantAward.open(
        cmd.recipient,
        "insurer" if kind == "insurer" else "prefecture",
        name,
        members,
        cmd.grant_year,
        cmd.grant,
        cmd.tier,
    )
    award.apply(
        dict(cmd.uses),
        provisional_yen,
        run_id,
        uses_rule[0].id,
        (opens, closes),
        today,
        cmd.actor,
    )
    return award


def return_application(
    reader: Reading, cmd: ReturnApplication, today: date
) -> GrantAward:
    """差戻し by ministry staff."""
    _ministry(cmd, "return an application")
    award = _award(reader, cmd)
    award.return_for_correction(cmd.reason, today, cmd.actor)
    return award


def decide(reader: Reading, cmd: DecideGrant, today: date) -> GrantAward:
    """交付決定 by ministry staff: Σ per use at most the `decision` run's amount."""
    _ministry(cmd, "decide grants")
    award = _award(reader, cmd)
    applied = award.applied
    uses = (
        dict(cmd.uses)
        if cmd.uses is not None
        else dict(applied.uses if applied else {})
    )
    _permitted(uses, money_rule(reader, PermittedUsesParameters, cmd))
    run_id, decision_yen = amount_in_run(reader, cmd, "decision")
    award.decide(uses, decision_yen, run_id, cmd.reason, today, cmd.actor)
    return award


def withdraw(reader: Reading, cmd: WithdrawGrant, today: date) -> GrantAward:
    """取下げ by the recipient within the rule's period after the decision."""
    award = _award(reader, cmd)
    _own(cmd, award.members, "withdraws its application")
    _, schedule = money_rule(reader, ChainScheduleParameters, cmd)
    decided_on = award.decided.decided_on if award.decided else today
    last_day = decided_on + timedelta(days=schedule.withdrawal_days)
    award.withdraw(cmd.reason, last_day, today, cmd.actor)
    return award


def pay(reader: Reading, cmd: RecordGrantPayment, today: date) -> GrantAward:
    """交付: ministry staff record a payment on the date its bank record states."""
    _ministry(cmd, "record payments of the grant")
    _stated(cmd.paid_on, today, "paid_on")
    award = _award(reader, cmd)
    award.pay(cmd.paid_on, cmd.amount_yen, cmd.reference, today, cmd.actor)
    return award


def report(reader: Reading, cmd: ReportSpending, today: date) -> GrantAward:
    """実績報告 by the recipient: every use must be known to the uses rule."""
    award = _award(reader, cmd)
    _own(cmd, award.members, "reports its spending")
    spec, uses = money_rule(reader, PermittedUsesParameters, cmd)
    known = {u.code for u in uses.uses} | {u.code for u in uses.not_permitted}
    for code in cmd.spending:
        if code not in known:
            msg = (
                f"unknown use {code!r} for {cmd.grant} {cmd.tier} under {spec.id}; "
                f"known: {', '.join(sorted(known))}"
            )
            raise InvalidInput(msg, field=f"spending.{code}")
    _, schedule = money_rule(reader, ChainScheduleParameters, cmd)
    award.report_spending(
        dict(cmd.spending),
        cmd.evidence,
        schedule.report_due(cmd.grant_year),
        today,
        cmd.actor,
    )
    return award


def confirm(reader: Reading, cmd: ConfirmGrantAmount, today: date) -> GrantAward:
    """額の確定 by ministry staff with the schedule rule's formula."""
    _ministry(cmd, "confirm grant amounts")
    award = _award(reader, cmd)
    uses_spec, uses = money_rule(reader, PermittedUsesParameters, cmd)
    share_spec, share = money_rule(reader, PremiumShareParameters, cmd)
    schedule_spec, schedule = money_rule(reader, ChainScheduleParameters, cmd)
    period = share.period_for(cmd.grant_year)
    if period is None:
        msg = f"{share_spec.id} gives no 第1号保険料 share for FY{cmd.grant_year}"
        raise Refused(msg, field="rules")
    formula = CONFIRMATION_FORMULAS[schedule.confirmation_formula]
    spending = award.report.spending if award.report else {}
    decided = award.decided.uses if award.decided else {}
    lines = formula(spending, decided, uses, period.share_bp)
    award.confirm(
        lines,
        schedule.confirmation_formula,
        (uses_spec.id, share_spec.id, schedule_spec.id),
        (period.share_bp, period.basis),
        today,
        cmd.actor,
    )
    return award


def _receipts(award: GrantAward) -> list[Tranche]:
    """The receipts of the grant less the parts earlier refund orders took."""
    days = [p.paid_on for p in award.payments]
    left = [p.amount_yen for p in award.payments]
    for tranche in (t for order in award.orders for t in order.tranches):
        taken = tranche.amount_yen
        for index in reversed(range(len(days))):  # that day's latest receipt first
            if days[index] == tranche.received_on and taken:
                part = min(taken, left[index])
                left[index] -= part
                taken -= part
    return [
        Tranche(received_on=day, amount_yen=amount)
        for day, amount in zip(days, left, strict=True)
        if amount
    ]


def order_refund(reader: Reading, cmd: OrderRefund, today: date) -> GrantAward:
    """返還命令 of what was paid above the confirmed amount (L§18②, no 加算金)."""
    _ministry(cmd, "order refunds")
    award = _award(reader, cmd)
    if award.confirmation is None:
        msg = (
            f"{award.what} is not confirmed: a refund is ordered after the "
            "confirmation (a cancellation orders its own)"
        )
        raise Refused(msg, field="status")
    _, schedule = money_rule(reader, ChainScheduleParameters, cmd)
    deadline = cmd.deadline or today + timedelta(days=schedule.refund_deadline_days)
    tranches = attribute(award.refund_due_yen, _receipts(award))
    award.order_refund(
        "confirmation", tranches, deadline, REFUND_BASIS, today, cmd.actor
    )
    return award


def cancel(reader: Reading, cmd: CancelGrant, today: date) -> GrantAward:
    """取消, and the order of the paid part it cancels (with 加算金 for a breach)."""
    _ministry(cmd, "cancel grants")
    award = _award(reader, cmd)
    award.cancel(
        cmd.amount_yen, cmd.cause, cmd.reason, cmd.legal_basis, today, cmd.actor
    )
    if award.refund_due_yen:
        _, schedule = money_rule(reader, ChainScheduleParameters, cmd)
        deadline = cmd.deadline or today + timedelta(days=schedule.refund_deadline_days)
        tranches = attribute(award.refund_due_yen, _receipts(award))
        basis = f"{cmd.legal_basis}; {CANCELLATION_REFUND_BASIS}"
        award.order_refund(cmd.cause, tranches, deadline, basis, today, cmd.actor)
    return award


def record_refund(reader: Reading, cmd: RecordRefundPayment, today: date) -> GrantAward:
    """A refund payment, at most the principal and charges payable on its date."""
    _ministry(cmd, "record refund payments")
    _stated(cmd.paid_on, today, "paid_on")
    award = _award(reader, cmd)
    if cmd.order > len(award.orders):
        msg = f"{award.what} has {len(award.orders)} refund orders, not {cmd.order}"
        raise InvalidInput(msg, field="order")
    order = award.orders[cmd.order - 1]
    _, charges = money_rule(reader, RefundChargesParameters, cmd)
    figures = order_figures(order, award.repayments(order.number), charges, cmd.paid_on)
    payment = RefundPayment(
        order=order.number,
        paid_on=cmd.paid_on,
        amount_yen=cmd.amount_yen,
        recorded_on=today,
    )
    award.record_refund(payment, figures.payable_yen, cmd.reference, cmd.actor)
    return award


# ------------------------------------------------------------------ figures


@dataclass(frozen=True)
class OrderFigures:
    """Where one refund order stands on a day (charges accrued to that day)."""

    principal_yen: int
    repaid_yen: int
    """Principal paid back."""
    outstanding_yen: int
    """Principal still unpaid."""
    additional_charge_yen: int
    """加算金 (L§19①) accrued: to the last repayment, or to the day if unpaid."""
    late_charge_yen: int
    """延滞金 (L§19②) accrued likewise."""
    charges_paid_yen: int

    @property
    def payable_yen(self) -> int:
        """Principal and charges still to pay."""
        charges = self.additional_charge_yen + self.late_charge_yen
        return self.outstanding_yen + max(charges - self.charges_paid_yen, 0)


def order_figures(
    order: RefundOrder,
    payments: list[RefundPayment],
    rule: RefundChargesParameters,
    until: date,
) -> OrderFigures:
    """An order's principal, repayments and charges as they stand on `until`."""
    repayments = [
        Repayment(paid_on=p.paid_on, amount_yen=p.amount_yen) for p in payments
    ]
    split = split_repayments(order.principal_yen, repayments)
    repaid = sum(to_principal for _, to_principal, _ in split)
    outstanding = order.principal_yen - repaid
    end = until if outstanding else max((day for day, *_ in split), default=until)
    additional = (
        additional_charge(order.tranches, repayments, rule, end)
        if order.additional_charge
        else 0
    )
    late = late_charge(order.principal_yen, order.deadline, repayments, rule, end)
    return OrderFigures(
        principal_yen=order.principal_yen,
        repaid_yen=repaid,
        outstanding_yen=outstanding,
        additional_charge_yen=additional,
        late_charge_yen=late,
        charges_paid_yen=sum(to_charges for *_, to_charges in split),
    )
