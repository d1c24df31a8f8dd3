"""`GrantAward`: the money chain of one recipient, grant year, grant and tier.

After the allocation (docs/MONEY-CHAIN.md): 交付申請 (per permitted use, at most the
provisional amount; 差戻し, the project's practice) → 交付決定 (possibly amended, L§6③;
取下げ, L§9) → 交付 (each payment a fact: date and amount) → 実績報告 (spending per use,
evidence by SHA-256; late flagged) → 額の確定 (`confirmation`, L§15) → 返還命令 (L§18,
with a deadline) → 返還 (each payment; 延滞金 after the deadline, L§19②); 取消 (L§17,
L§10) also after the confirmation, ordering back the paid part of what it cancels
(with 加算金 for a breach, L§19①).

The recipient is the insurer (保険者番号) for the municipal tier, summing its member
municipalities' amounts, and the prefecture for the prefectural tier (a HYPOTHESIS:
who receives the money of a union's members is not published). The aggregate guards
the order of the steps and the sums; what it reads from elsewhere (the runs, the
rules, the registry, the ledger's date) the commands in `domain/awarding.py` pass in.
Every event records the ledger's date of the step (`*_on` set by the server), and
the business dates a person states (a payment's date from a bank record) beside it.

Over 300 lines (STYLE): one aggregate, its eleven events and the guard of each step;
the steps share the figures (paid, kept, ordered) that the guards compare.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from domain.base import FiscalYear, Grant, LedgerAggregate, Text, Tier, Value, Yen
from domain.base import stable_id as _stable_id
from domain.confirmation import ConfirmedUse, Tranche
from domain.errors import Refused

Status = Literal["applied", "returned", "decided", "withdrawn"]
Cause = Literal["confirmation", "breach", "change_of_circumstances"]
"""Why a refund is ordered: the confirmation (L§18②), a cancellation for a breach
(L§17①, with 加算金) or for a change of circumstances (L§10, without)."""


class Evidence(Value):
    """A document behind a report, named and referenced by its SHA-256."""

    name: Text
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class RefundOrder(Value):
    """One 返還命令 as recorded."""

    number: int
    principal_yen: Yen
    deadline: date
    cause: Cause
    additional_charge: bool
    tranches: tuple[Tranche, ...]
    ordered_on: date


class RefundPayment(Value):
    """One payment against a refund order."""

    order: int
    paid_on: date
    amount_yen: Yen
    recorded_on: date


class GrantAward(LedgerAggregate):
    """The chain of one recipient × grant year × grant × tier."""

    TOPIC = "kofu.GrantAward"

    class Event(LedgerAggregate.Event):
        """Base of this aggregate's events."""

    class Opened(Event, LedgerAggregate.Created):
        """The chain of a recipient was opened (with its first application)."""

        TOPIC: ClassVar[str] = "kofu.GrantAward.Opened"
        recipient: str
        recipient_kind: Literal["insurer", "prefecture"]
        name: Text
        members: tuple[str, ...]
        grant_year: FiscalYear
        grant: Grant
        tier: Tier

    Created = Opened  # type: ignore[assignment]

    class Applied(Event):
        """交付申請 (L§5): an amount per permitted use."""

        TOPIC: ClassVar[str] = "kofu.GrantAward.Applied"
        uses: dict[str, Yen]
        provisional_yen: Yen
        provisional_run: str
        uses_rule: str
        window: tuple[date, date]
        applied_on: date
        actor: str

    class Returned(Event):
        """差戻し: returned for correction (the project's practice, not in L)."""

        TOPIC: ClassVar[str] = "kofu.GrantAward.Returned"
        reason: Text
        returned_on: date
        actor: str

    class Decided(Event):
        """交付決定 (L§6), possibly amended (修正, L§6③) with a reason."""

        TOPIC: ClassVar[str] = "kofu.GrantAward.Decided"
        uses: dict[str, Yen]
        decision_yen: Yen
        decision_run: str
        amended: bool
        reason: Text | None
        decided_on: date
        actor: str

    class Withdrawn(Event):
        """取下げ (L§9): the decision is deemed never made."""

        TOPIC: ClassVar[str] = "kofu.GrantAward.Withdrawn"
        reason: Text
        withdrawn_on: date
        actor: str

    class Paid(Event):
        """交付: a payment of the grant (受領 by the recipient on `paid_on`)."""

        TOPIC: ClassVar[str] = "kofu.GrantAward.Paid"
        paid_on: date
        amount_yen: Yen
        reference: Text
        recorded_on: date
        actor: str

    class Reported(Event):
        """実績報告 (L§14): spending per use, with evidence; late if after `due_on`."""

        TOPIC: ClassVar[str] = "kofu.GrantAward.Reported"
        spending: dict[str, Yen]
        evidence: tuple[Evidence, ...]
        due_on: date
        late: bool
        reported_on: date
        actor: str

    class Confirmed(Event):
        """額の確定 (L§15): the amount fixed per use, by a named formula."""

        TOPIC: ClassVar[str] = "kofu.GrantAward.Confirmed"
        lines: tuple[ConfirmedUse, ...]
        confirmed_yen: Yen
        paid_yen: Yen
        formula: str
        rules: tuple[str, ...]
        share_bp: int
        share_basis: str
        confirmed_on: date
        actor: str

    class Cancelled(Event):
        """取消 (L§17 or L§10) of part of the grant, with reason and legal basis."""

        TOPIC: ClassVar[str] = "kofu.GrantAward.Cancelled"
        amount_yen: Yen
        cause: Literal["breach", "change_of_circumstances"]
        reason: Text
        legal_basis: Text
        after_confirmation: bool
        cancelled_on: date
        actor: str

    class RefundOrdered(Event):
        """返還命令 (L§18) with its deadline (納期日)."""

        TOPIC: ClassVar[str] = "kofu.GrantAward.RefundOrdered"
        order: RefundOrder
        legal_basis: Text
        actor: str

    class RefundPaid(Event):
        """A payment against a refund order (納付), as the bank record states."""

        TOPIC: ClassVar[str] = "kofu.GrantAward.RefundPaid"
        payment: RefundPayment
        reference: Text
        actor: str

    if TYPE_CHECKING:  # state, set by `when`
        recipient: str
        recipient_kind: str
        name: str
        members: tuple[str, ...]
        grant_year: int
        grant: str
        tier: str
        status: Status | None
        applied: GrantAward.Applied | None
        decided: GrantAward.Decided | None
        payments: list[GrantAward.Paid]
        report: GrantAward.Reported | None
        confirmation: GrantAward.Confirmed | None
        cancellations: list[GrantAward.Cancelled]
        orders: list[RefundOrder]
        refunds: list[RefundPayment]

    @staticmethod
    def id_for(recipient: str, grant_year: int, grant: str, tier: str) -> UUID:
        """The aggregate id of a recipient's chain."""
        return _stable_id("award", grant_year, grant, tier, recipient)

    @classmethod
    def open(
        cls,
        recipient: str,
        recipient_kind: Literal["insurer", "prefecture"],
        name: str,
        members: tuple[str, ...],
        grant_year: int,
        grant: str,
        tier: str,
    ) -> GrantAward:
        """Open a recipient's chain (saved with its first application)."""
        return cls._create(
            cls.Opened,
            id=cls.id_for(recipient, grant_year, grant, tier),
            recipient=recipient,
            recipient_kind=recipient_kind,
            name=name,
            members=members,
            grant_year=grant_year,
            grant=grant,
            tier=tier,
        )

    # ------------------------------------------------------------ figures

    @property
    def what(self) -> str:
        """The chain named in messages."""
        return f"FY{self.grant_year} {self.grant} {self.tier} of {self.recipient}"

    @property
    def decided_yen(self) -> int:
        """The decided total (0 before a decision or after a withdrawal)."""
        if self.status != "decided" or self.decided is None:
            return 0
        return sum(self.decided.uses.values())

    @property
    def paid_yen(self) -> int:
        """Σ payments of the grant."""
        return sum(p.amount_yen for p in self.payments)

    @property
    def cancelled_yen(self) -> int:
        """Σ cancelled."""
        return sum(c.amount_yen for c in self.cancellations)

    @property
    def entitled_yen(self) -> int:
        """What the recipient may keep.

        Before the confirmation: the decided total less what was cancelled. After
        it: the confirmed amount, at most the decided total less what was cancelled
        before the confirmation, less what was cancelled after it.
        """
        before = sum(
            c.amount_yen for c in self.cancellations if not c.after_confirmation
        )
        after = self.cancelled_yen - before
        kept = self.decided_yen - before
        if self.confirmation is not None:
            kept = min(self.confirmation.confirmed_yen, kept)
        return max(kept - after, 0)

    @property
    def ordered_yen(self) -> int:
        """Σ principal of the refund orders."""
        return sum(o.principal_yen for o in self.orders)

    @property
    def refund_due_yen(self) -> int:
        """Paid above the entitlement and not yet ordered back."""
        return max(self.paid_yen - self.entitled_yen - self.ordered_yen, 0)

    def repayments(self, number: int) -> list[RefundPayment]:
        """The payments against one order."""
        return [r for r in self.refunds if r.order == number]

    # ------------------------------------------------------------ commands

    def apply(
        self,
        uses: dict[str, int],
        provisional_yen: int,
        provisional_run: str,
        uses_rule: str,
        window: tuple[date, date],
        today: date,
        actor: str,
    ) -> None:
        """Record an application (after the checks of `domain.awarding`).

        Raises:
            Refused: an application awaits its decision, or one is decided.
        """
        if self.status in {"applied", "decided"}:
            msg = (
                f"{self.what} is already {self.status}: an application is made once, "
                "again only after a return (差戻し) or a withdrawal (取下げ)"
            )
            raise Refused(msg, field="status")
        self.trigger_event(
            self.Applied,
            uses=uses,
            provisional_yen=provisional_yen,
            provisional_run=provisional_run,
            uses_rule=uses_rule,
            window=window,
            applied_on=today,
            actor=actor,
        )

    def return_for_correction(self, reason: str, today: date, actor: str) -> None:
        """差戻し: the ministry returns an application awaiting its decision.

        Raises:
            Refused: no application awaits a decision.
        """
        self._require_status("applied", "returned for correction")
        self.trigger_event(self.Returned, reason=reason, returned_on=today, actor=actor)

    def decide(
        self,
        uses: dict[str, int],
        decision_yen: int,
        decision_run: str,
        reason: str | None,
        today: date,
        actor: str,
    ) -> None:
        """交付決定: per use at most what was applied for; an amendment needs a reason.

        Raises:
            Refused: nothing awaits a decision; a use above its application or
                not applied for; the sum above the decision run's amount; an
                amendment without a reason.
        """
        applied = self._require_status("applied", "decided")
        for code, amount in uses.items():
            asked = applied.uses.get(code)
            if asked is None or amount > asked:
                msg = (
                    f"the decision gives {amount:,} yen to {code}, above the "
                    f"{asked or 0:,} applied for"
                )
                raise Refused(msg, field=f"uses.{code}")
        total = sum(uses.values())
        if total > decision_yen:
            msg = (
                f"the decision totals {total:,} yen, above {self.recipient}'s "
                f"{decision_yen:,} yen in {decision_run}"
            )
            raise Refused(msg, field="uses")
        amended = uses != applied.uses
        if amended and not reason:
            msg = "a decision that amends the application (修正, L§6③) needs a reason"
            raise Refused(msg, field="reason")
        self.trigger_event(
            self.Decided,
            uses=uses,
            decision_yen=decision_yen,
            decision_run=decision_run,
            amended=amended,
            reason=reason,
            decided_on=today,
            actor=actor,
        )

    def withdraw(self, reason: str, last_day: date, today: date, actor: str) -> None:
        """取下げ (L§9) by the recipient, by `last_day`, before any payment.

        Raises:
            Refused: not decided, too late, or money was paid.
        """
        self._require_status("decided", "withdrawn")
        if today > last_day:
            msg = (
                f"the withdrawal period ended on {last_day}; today is {today} "
                "(JST, the ledger's date)"
            )
            raise Refused(msg, field="date")
        if self.payments:
            msg = f"{self.what} has been paid: it cannot be withdrawn, only cancelled"
            raise Refused(msg, field="status")
        self.trigger_event(
            self.Withdrawn, reason=reason, withdrawn_on=today, actor=actor
        )

    def pay(
        self, paid_on: date, amount: int, reference: str, today: date, actor: str
    ) -> None:
        """Record a payment of the grant (交付) on the date the bank record states.

        Raises:
            Refused: not decided; a date before the decision; more than is due.
        """
        self._require_status("decided", "paid", decided=True)
        decided_on = self.decided.decided_on if self.decided else paid_on
        if paid_on < decided_on:
            msg = f"a payment on {paid_on} precedes the decision of {decided_on}"
            raise Refused(msg, field="paid_on")
        unpaid = self.entitled_yen - self.paid_yen
        if amount > unpaid:
            msg = (
                f"a payment of {amount:,} yen exceeds the {max(unpaid, 0):,} yen "
                f"still due on {self.what}"
            )
            raise Refused(msg, field="amount_yen")
        self.trigger_event(
            self.Paid,
            paid_on=paid_on,
            amount_yen=amount,
            reference=reference,
            recorded_on=today,
            actor=actor,
        )

    def report_spending(
        self,
        spending: dict[str, int],
        evidence: tuple[Evidence, ...],
        due_on: date,
        today: date,
        actor: str,
    ) -> None:
        """実績報告 (again before the confirmation: L§16's corrected report).

        Raises:
            Refused: not decided, or already confirmed.
        """
        self._require_status("decided", "reported on", decided=True)
        if self.confirmation is not None:
            msg = f"{self.what} is confirmed: its report can no longer change"
            raise Refused(msg, field="status")
        self.trigger_event(
            self.Reported,
            spending=spending,
            evidence=evidence,
            due_on=due_on,
            late=today > due_on,
            reported_on=today,
            actor=actor,
        )

    def confirm(
        self,
        lines: tuple[ConfirmedUse, ...],
        formula: str,
        rules: tuple[str, ...],
        share: tuple[int, str],
        today: date,
        actor: str,
    ) -> None:
        """額の確定 with the lines a formula computed.

        Raises:
            Refused: no report yet, or already confirmed.
        """
        self._require_status("decided", "confirmed", decided=True)
        if self.report is None:
            msg = f"{self.what} has no 実績報告 yet: the amount is confirmed after it"
            raise Refused(msg, field="status")
        if self.confirmation is not None:
            msg = f"{self.what} is already confirmed ({self.confirmation.confirmed_on})"
            raise Refused(msg, field="status")
        self.trigger_event(
            self.Confirmed,
            lines=lines,
            confirmed_yen=sum(line.confirmed_yen for line in lines),
            paid_yen=self.paid_yen,
            formula=formula,
            rules=rules,
            share_bp=share[0],
            share_basis=share[1],
            confirmed_on=today,
            actor=actor,
        )

    def cancel(
        self,
        amount: int,
        cause: Literal["breach", "change_of_circumstances"],
        reason: str,
        legal_basis: str,
        today: date,
        actor: str,
    ) -> None:
        """取消 of part (or all) of what the recipient may keep.

        Raises:
            Refused: not decided, or more than the entitlement.
        """
        self._require_status("decided", "cancelled", decided=True)
        if amount > self.entitled_yen:
            msg = (
                f"a cancellation of {amount:,} yen exceeds the {self.entitled_yen:,} "
                f"yen {self.what} may keep"
            )
            raise Refused(msg, field="amount_yen")
        self.trigger_event(
            self.Cancelled,
            amount_yen=amount,
            cause=cause,
            reason=reason,
            legal_basis=legal_basis,
            after_confirmation=self.confirmation is not None,
            cancelled_on=today,
            actor=actor,
        )

    def order_refund(
        self,
        cause: Cause,
        tranches: tuple[Tranche, ...],
        deadline: date,
        legal_basis: str,
        today: date,
        actor: str,
    ) -> RefundOrder:
        """返還命令 of everything paid above the entitlement and not yet ordered.

        Raises:
            Refused: nothing to order back; a deadline before today.
        """
        due = self.refund_due_yen
        if due == 0:
            msg = (
                f"{self.what} has nothing to refund: paid {self.paid_yen:,}, may keep "
                f"{self.entitled_yen:,}, ordered back {self.ordered_yen:,}"
            )
            raise Refused(msg, field="status")
        if deadline < today:
            msg = f"the deadline {deadline} lies before today ({today} JST)"
            raise Refused(msg, field="deadline")
        order = RefundOrder(
            number=len(self.orders) + 1,
            principal_yen=due,
            deadline=deadline,
            cause=cause,
            additional_charge=cause == "breach",
            tranches=tranches,
            ordered_on=today,
        )
        self.trigger_event(
            self.RefundOrdered, order=order, legal_basis=legal_basis, actor=actor
        )
        return order

    def record_refund(
        self, payment: RefundPayment, payable: int, reference: str, actor: str
    ) -> None:
        """A payment against an order, at most `payable` (principal and charges left).

        Raises:
            Refused: more than is payable, or a date before the order.
        """
        order = self.orders[payment.order - 1]
        if payment.paid_on < order.ordered_on:
            msg = (
                f"a refund paid on {payment.paid_on} precedes its order "
                f"({order.ordered_on})"
            )
            raise Refused(msg, field="paid_on")
        if payment.amount_yen > payable:
            msg = (
                f"a refund payment of {payment.amount_yen:,} yen exceeds the "
                f"{payable:,} yen payable on order {order.number} on {payment.paid_on}"
            )
            raise Refused(msg, field="amount_yen")
        self.trigger_event(
            self.RefundPaid, payment=payment, reference=reference, actor=actor
        )

    def _require_status(
        self, status: Status, what: str, *, decided: bool = False
    ) -> GrantAward.Applied | GrantAward.Decided:
        msg = (
            f"{self.what} is {self.status or 'not applied for'}: it can be "
            f"{what} only when {status}"
        )
        found = self.decided if decided else self.applied
        if self.status != status or found is None:
            raise Refused(msg, field="status")
        return found

    # ------------------------------------------------------------ events

    def when(self, event: LedgerAggregate.Event) -> None:
        """Apply an event."""
        match event:
            case GrantAward.Opened():
                self.recipient = event.recipient
                self.recipient_kind = event.recipient_kind
                self.name = event.name
                self.members = event.members
                self.grant_year = event.grant_year
                self.grant = event.grant
                self.tier = event.tier
                self.status = None
                self.applied = self.decided = None
                self.report = self.confirmation = None
                self.payments, self.cancellations = [], []
                self.orders, self.refunds = [], []
            case GrantAward.Applied():
                self.status, self.applied, self.decided = "applied", event, None
            case GrantAward.Returned():
                self.status = "returned"
            case GrantAward.Decided():
                self.status, self.decided = "decided", event
            case GrantAward.Withdrawn():
                self.status, self.decided = "withdrawn", None
            case GrantAward.Paid():
                self.payments.append(event)
            case GrantAward.Reported():
                self.report = event
            case GrantAward.Confirmed():
                self.confirmation = event
            case GrantAward.Cancelled():
                self.cancellations.append(event)
            case GrantAward.RefundOrdered():
                self.orders.append(event.order)
            case GrantAward.RefundPaid():
                self.refunds.append(event.payment)
            case _:  # pragma: no cover
                raise NotImplementedError(type(event))
