"""`kofu grant confirm|order-refund|refund-paid|cancel`: 額の確定 to 返還 and 取消."""

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
    base,
)
from adapters.cli.options import YearOption


def register(group: typer.Typer, handled: Handled, run: Step) -> None:
    """Add the steps from the confirmation to the refunds and cancellations."""

    @group.command("confirm")
    @handled
    def confirm(
        recipient: Recipient,
        grant_year: YearOption,
        grant: GrantOption,
        actor: Actor,
        tier: TierOption = "municipal",
        idempotency_key: Key = None,
    ) -> None:
        """額の確定: ministry staff fix the amount from the report."""
        fields = base(recipient, grant_year, grant, tier, actor, idempotency_key)
        run("ConfirmGrantAmount", "confirm", fields)

    @group.command("order-refund")
    @handled
    def order_refund(
        recipient: Recipient,
        grant_year: YearOption,
        grant: GrantOption,
        actor: Actor,
        deadline: Annotated[
            str | None, typer.Option(help="納期日 YYYY-MM-DD (default: the rule's).")
        ] = None,
        tier: TierOption = "municipal",
        idempotency_key: Key = None,
    ) -> None:
        """返還命令 of what was paid above the confirmed amount."""
        fields = base(recipient, grant_year, grant, tier, actor, idempotency_key)
        run("OrderRefund", "order-refund", fields | {"deadline": deadline})

    @group.command("refund-paid")
    @handled
    def refund_paid(
        recipient: Recipient,
        grant_year: YearOption,
        grant: GrantOption,
        actor: Actor,
        order: Annotated[int, typer.Option(help="The order's number (1, 2, ...).")],
        paid_on: Annotated[str, typer.Option("--paid-on", help="YYYY-MM-DD (bank).")],
        amount: Annotated[int, typer.Option("--amount", help="Integer yen.")],
        reference: Annotated[str, typer.Option(help="The bank record.")],
        tier: TierOption = "municipal",
        idempotency_key: Key = None,
    ) -> None:
        """返還: ministry staff record a payment against a refund order."""
        fields = base(recipient, grant_year, grant, tier, actor, idempotency_key)
        run(
            "RecordRefundPayment",
            "refund-paid",
            fields
            | {
                "order": order,
                "paid_on": paid_on,
                "amount_yen": amount,
                "reference": reference,
            },
        )

    @group.command("cancel")
    @handled
    def cancel(
        recipient: Recipient,
        grant_year: YearOption,
        grant: GrantOption,
        actor: Actor,
        amount: Annotated[int, typer.Option("--amount", help="Integer yen cancelled.")],
        cause: Annotated[
            str, typer.Option(help="breach (L§17①, 加算金) or change_of_circumstances")
        ],
        reason: Annotated[str, typer.Option(help="Why (理由, L§21の2).")],
        legal_basis: Annotated[
            str, typer.Option("--legal-basis", help="e.g. 適正化法第17条第1項")
        ],
        deadline: Annotated[
            str | None, typer.Option(help="納期日 of the refund it orders.")
        ] = None,
        tier: TierOption = "municipal",
        idempotency_key: Key = None,
    ) -> None:
        """取消 (also after 額の確定); orders back the paid part it cancels."""
        fields = base(recipient, grant_year, grant, tier, actor, idempotency_key)
        run(
            "CancelGrant",
            "cancel",
            fields
            | {
                "amount_yen": amount,
                "cause": cause,
                "reason": reason,
                "legal_basis": legal_basis,
                "deadline": deadline,
            },
        )
