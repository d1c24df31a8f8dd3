"""`kofu explain` and `kofu dossier`: an entity's score and amount, for people.

The explanation itself is the query `adapters.queries.explain`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from adapters.cli.options import (
    EntityOption,
    FormatOption,
    GrantRequired,
    PhaseOption,
    YearOption,
)
from adapters.common.formats import Format

if TYPE_CHECKING:
    from adapters.queries.money import ChainRow
    from domain.ledger import Ledger


def _print(console: Console, found: dict[str, Any]) -> None:
    from adapters.reports.output import render  # noqa: PLC0415

    console.print(
        f"[bold]{found['name']} ({found['entity']})[/bold] — {found['run_id']}\n"
        f"rule: {found['rule_label']}"
    )
    render(
        found["items"],
        Format.table,
        "sub-item points (and what set each answer)",
        console,
    )
    for cap in found["caps"]:
        console.print(
            f"cap at {cap['level']} {cap['code']}: {cap['raw']} → {cap['capped']}"
        )
    console.print(
        f"score {found['score']} / {found['max_score']}; 第1号被保険者数 "
        f"{found['category1_insured']:,} (as of {found['insured_as_of']}); band "
        f"{found['size_band']} ({found['band_entities']} entities, "
        f"{found['band_insured']:,} insured); eligible {found['eligible']}"
        + (f" ({found['eligibility_reason']})" if found["eligibility_reason"] else "")
    )
    console.print(f"draft: {found['formula']}")
    if found["required_yen"] is not None:
        console.print(
            f"所要見込額 {found['required_yen']:,} yen: "
            f"capped off {found['capped_off_yen']:,}"
        )
    console.print(f"[bold]amount {found['amount_yen']:,} yen[/bold]")
    if found["adjustment"]:
        console.print(
            f"adjustment against the decision: {found['adjustment_yen']:,} yen "
            f"({found['adjustment']})"
        )


def _print_chain(console: Console, chain: ChainRow | None) -> None:
    """After the allocation: the money chain of the recipient (docs/MONEY-CHAIN.md)."""
    if chain is None:
        return
    console.print(
        f"after the allocation ({chain.recipient} {chain.name}, {chain.status}): "
        f"交付申請 {chain.applied_yen:,}, 交付決定 {chain.decided_yen:,}, 交付 "
        f"{chain.paid_yen:,}, 実績 {chain.spent_yen:,}, 額の確定 "
        + (f"{chain.confirmed_yen:,}" if chain.confirmed_yen is not None else "—")
        + f", 返還命令 {chain.refunds_ordered_yen:,} yen (kofu grant statement)"
    )


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    ledger: Callable[[], AbstractContextManager[Ledger]],
    console: Console,
) -> None:
    """Add `kofu explain` to the CLI."""

    @app.command()
    @handled
    def dossier(
        entity: EntityOption,
        grant_year: YearOption,
        out: Annotated[Path, typer.Option(help="Folder to write the dossier into.")],
        force: Annotated[
            bool,
            typer.Option("--force", help="Replace dossier files already there."),
        ] = False,
    ) -> None:
        """Export one entity's year for auditors: HTML and a JSON/CSV bundle."""
        from adapters.reports.dossier import write_dossier  # noqa: PLC0415

        with ledger() as opened:
            manifest = write_dossier(opened, entity, grant_year, out, force=force)
        typer.echo(
            f"dossier written to {out} ({len(manifest['files'])} files and "
            f"manifest.json); {manifest['verification']}"
        )

    @app.command()
    @handled
    def explain(
        entity: EntityOption,
        grant_year: YearOption,
        grant: GrantRequired,
        phase: PhaseOption = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """How the score and the amount of an entity came about, step by step."""
        from adapters.queries.explain import explanation  # noqa: PLC0415
        from adapters.queries.money import chain_of_entity  # noqa: PLC0415
        from adapters.queries.runs import current_runs  # noqa: PLC0415
        from adapters.reports.output import render  # noqa: PLC0415
        from domain.errors import InvalidInput  # noqa: PLC0415

        with ledger() as opened:
            details = opened.entity(entity)
            tier = "municipal" if details.kind == "municipality" else "prefectural"
            runs = current_runs(opened, grant_year, grant, tier, phase, None)
            if not runs:
                msg = f"no FY{grant_year} {grant} {tier} run" + (
                    f" of the {phase} phase" if phase else ""
                )
                raise InvalidInput(msg, field="--phase" if phase else "--fiscal-year")
            found = explanation(opened, runs[0], entity)
            chain = chain_of_entity(opened, entity, grant_year, grant)
        if fmt is Format.table:
            _print(console, found)
            _print_chain(console, chain)
        elif fmt is Format.html:
            from adapters.reports.dossier import page  # noqa: PLC0415

            typer.echo(
                page(
                    details,
                    grant_year,
                    explanations=[found],
                    verification="history not checked here: `kofu verify` checks it",
                    verified=False,
                )
            )
        else:
            render(found if fmt is Format.json else found["items"], fmt)
