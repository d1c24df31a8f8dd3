"""`kofu grant apply|return|decide|withdraw|pay|report`: from 交付申請 to 実績報告."""

from __future__ import annotations

from typing import Annotated

import typer

from adapters.cli.money_options import (
    Actor,
    GrantOption,
    Handled,
    Key,
    Recipient,
    Step,
    TierOption,
    Uses,
    amounts,
    base,
    evidence_pairs,
)
from adapters.cli.options import YearOption


def register(group: typer.Typer, handled: Handled, run: Step) -> None:
    """Add the steps from the application to the report."""

    @group.command("apply")
    @handled
    def apply_(
        recipient: Recipient,
        grant_year: YearOption,
        grant: GrantOption,
        actor: Actor,
        use: Uses = None,
        tier: TierOption = "municipal",
        idempotency_key: Key = None,
    ) -> None:
        """交付申請: the recipient applies for an amount per permitted use."""
        fields = base(recipient, grant_year, grant, tier, actor, idempotency_key)
        run("ApplyForGrant", "apply", fields | {"uses": amounts(use, "--use") or {}})

    @group.command("return")
    @handled
    def return_(
        recipient: Recipient,
        grant_year: YearOption,
        grant: GrantOption,
        actor: Actor,
        reason: Annotated[str, typer.Option(help="What to correct.")],
        tier: TierOption = "municipal",
        idempotency_key: Key = None,
    ) -> None:
        """差戻し: ministry staff return an application for correction."""
        fields = base(recipient, grant_year, grant, tier, actor, idempotency_key)
        run("ReturnApplication", "return", fields | {"reason": reason})

    @group.command("decide")
    @handled
    def decide(
        recipient: Recipient,
        grant_year: YearOption,
        grant: GrantOption,
        actor: Actor,
        use: Uses = None,
        reason: Annotated[
            str | None, typer.Option(help="Why the decision amends (修正).")
        ] = None,
        tier: TierOption = "municipal",
        idempotency_key: Key = None,
    ) -> None:
        """交付決定: as applied for, or amended per use with a reason."""
        fields = base(recipient, grant_year, grant, tier, actor, idempotency_key)
        uses = amounts(use, "--use")
        run("DecideGrant", "decide", fields | {"uses": uses, "reason": reason})

    @group.command("withdraw")
    @handled
    def withdraw(
        recipient: Recipient,
        grant_year: YearOption,
        grant: GrantOption,
        actor: Actor,
        reason: Annotated[str, typer.Option(help="Why (L§9).")],
        tier: TierOption = "municipal",
        idempotency_key: Key = None,
    ) -> None:
        """取下げ: the recipient withdraws within the period after the decision."""
        fields = base(recipient, grant_year, grant, tier, actor, idempotency_key)
        run("WithdrawGrant", "withdraw", fields | {"reason": reason})

    @group.command("pay")
    @handled
    def pay(
        recipient: Recipient,
        grant_year: YearOption,
        grant: GrantOption,
        actor: Actor,
        paid_on: Annotated[str, typer.Option("--paid-on", help="YYYY-MM-DD (bank).")],
        amount: Annotated[int, typer.Option("--amount", help="Integer yen.")],
        reference: Annotated[str, typer.Option(help="The bank record or voucher.")],
        tier: TierOption = "municipal",
        idempotency_key: Key = None,
    ) -> None:
        """交付: ministry staff record a payment of the grant."""
        fields = base(recipient, grant_year, grant, tier, actor, idempotency_key)
        run(
            "RecordGrantPayment",
            "pay",
            fields | {"paid_on": paid_on, "amount_yen": amount, "reference": reference},
        )

    @group.command("report")
    @handled
    def report_(
        recipient: Recipient,
        grant_year: YearOption,
        grant: GrantOption,
        actor: Actor,
        spent: Annotated[
            list[str], typer.Option("--spent", help="USE=YEN, once per use.")
        ],
        evidence: Annotated[
            list[str],
            typer.Option("--evidence", help="PATH=SHA256 of each document."),
        ],
        tier: TierOption = "municipal",
        idempotency_key: Key = None,
    ) -> None:
        """実績報告: actual spending per use, with evidence documents."""
        fields = base(recipient, grant_year, grant, tier, actor, idempotency_key)
        spending = amounts(spent, "--spent") or {}
        from adapters.kofu import Kofu  # noqa: PLC0415

        documents = Kofu.evidence(evidence_pairs(evidence))
        run(
            "ReportSpending",
            "report",
            fields | {"spending": spending, "evidence": documents},
        )
