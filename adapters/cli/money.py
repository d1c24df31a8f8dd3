"""`kofu grant …`: the money chain after the allocation (issue 17).

Writes: `apply` (交付申請), `return` (差戻し), `decide` (交付決定), `withdraw` (取下げ),
`pay` (交付), `report` (実績報告) in `money_steps.py`; `confirm` (額の確定),
`order-refund` (返還命令), `refund-paid` (返還), `cancel` (取消) in `money_refunds.py`.
Each builds a command model, which the ledger checks before it writes anything; the
ledger's clock records each step (the dates given are business dates a bank record
or an order states, never the time of recording). Reads, here: `statement` per
recipient and year, `totals` per grant and tier.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer

from adapters.cli import money_refunds, money_steps
from adapters.cli.money_options import Handled, Recipient
from adapters.cli.options import FormatOption, YearOption
from adapters.common.formats import Format
from domain.glossary import MONEY_CHAIN_NOTE

if TYPE_CHECKING:
    from rich.console import Console

    from adapters.kofu import Kofu
    from domain.ledger import Result


def register(
    app: typer.Typer,
    handled: Handled,
    session: Callable[[], Kofu],
    out: Console,
    report: Callable[[Result, str], None],
) -> None:
    """Add `kofu grant …` to the CLI."""
    group = typer.Typer(
        help="The money chain after the allocation: 交付申請 to 返還 (issue 17).",
        no_args_is_help=True,
    )
    app.add_typer(group, name="grant")

    def run(kind: str, name: str, fields: dict[str, Any]) -> None:
        from domain import commands  # noqa: PLC0415

        data = {k: v for k, v in fields.items() if v is not None}
        command = getattr(commands, kind).checked(data, f"grant {name}")
        with session() as kofu:
            result = kofu.execute(command)
        report(result, f"grant {name}")

    money_steps.register(group, handled, run)
    money_refunds.register(group, handled, run)

    @group.command("statement")
    @handled
    def statement_(
        recipient: Recipient,
        grant_year: YearOption,
        fmt: FormatOption = Format.table,
    ) -> None:
        """A recipient's year: allocation → application → … → refunds."""
        from adapters.queries.money import statement  # noqa: PLC0415
        from adapters.queries.rows import as_dicts  # noqa: PLC0415
        from adapters.reports.output import render, render_all  # noqa: PLC0415

        with session() as kofu:
            heads, steps = statement(kofu.ledger, recipient, grant_year)
        title = f"FY{grant_year} {recipient}"
        if fmt is Format.json:
            render(
                {
                    "chains": as_dicts(heads),
                    "steps": as_dicts(steps),
                    "notes": [MONEY_CHAIN_NOTE],
                },
                fmt,
            )
            return
        render_all(
            [
                (f"{title} 交付状況", as_dicts(heads)),
                (f"{title} 経過", as_dicts(steps)),
            ],
            fmt,
        )
        if fmt is Format.table:
            out.print(f"[yellow]{MONEY_CHAIN_NOTE}[/yellow]")

    @group.command("totals")
    @handled
    def totals(grant_year: YearOption, fmt: FormatOption = Format.table) -> None:
        """National totals per grant and tier of every recipient's chain."""
        from adapters.queries.money import national_totals  # noqa: PLC0415
        from adapters.queries.rows import as_dicts  # noqa: PLC0415
        from adapters.reports.output import render  # noqa: PLC0415

        with session() as kofu:
            rows = national_totals(kofu.ledger, grant_year)
        render(as_dicts(rows), fmt, f"FY{grant_year} 交付・確定・返還の全国計")
        if fmt is Format.table:
            out.print(f"[yellow]{MONEY_CHAIN_NOTE}[/yellow]")
