"""`kofu explain`: how an entity's score and amount in a recorded run came about.

Everything comes from the ledger: the run names the self-evaluation version it
scored, so the answers are read back at that version and scored again with the
same catalogue; each sub-item's points carry the event that set the answer (with
actor and reason); the share, the pool (band) budget, the rounding, the cap at
所要見込額 and the final amount come from the run's own record.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from adapters.cli.allocations import current_runs
from adapters.cli.options import EntityOption, FormatOption, YearOption
from adapters.output import Format, render
from domain.errors import InvalidInput
from domain.scoring import score
from domain.self_evaluation import SelfEvaluation

if TYPE_CHECKING:
    from domain.ledger import Ledger
    from domain.runs import AllocationRun, EntityResult


def _setters(
    ledger: Ledger, evaluation_id: Any, version: int
) -> dict[str, dict[str, Any]]:
    """For each item, the event that gave it the value it had at `version`."""
    found: dict[str, dict[str, Any]] = {}
    for event in ledger.history(evaluation_id):
        if event.originator_version > version:
            break
        about = {
            "event": type(event).__name__,
            "version": event.originator_version,
            "recorded_at": event.timestamp.isoformat(),
            "actor": getattr(event, "actor", None),
            "reason": getattr(event, "reason", None),
        }
        match event:
            case SelfEvaluation.Submitted():
                items = list(event.answers)
            case SelfEvaluation.Revised() | SelfEvaluation.MinistryValuesImported():
                items = [c.item for c in event.changes]
            case SelfEvaluation.Corrected():
                items = [event.change.item]
            case SelfEvaluation.PaperEntered():
                # the answers of the event before were keyed in from paper
                for earlier in found.values():
                    if earlier["version"] == event.answers_version:
                        earlier["paper"] = {
                            "stated_on": event.stated_on.isoformat(),
                            "entered_by": event.actor,
                            "entered_at": event.timestamp.isoformat(),
                            "reason": event.reason,
                            "basis": event.basis,
                        }
                items = []
            case _:
                items = []
        for item in items:
            found[item] = about
    return found


def explanation(
    ledger: Ledger, run: AllocationRun, entity: str, *, trail: bool = True
) -> dict[str, Any]:
    """The explanation of one entity's line of a run, as one JSON-able object.

    `trail=False` (a reader): amounts and scores only, without the event, actor
    and reason that set each answer (the audit trail's facts).
    """
    calculated = run.calculated
    result = next((r for r in calculated.results if r.entity == entity), None)
    if result is None:
        msg = f"{entity} is not in run {calculated.run_id}"
        raise InvalidInput(msg, field="entity")
    items: list[dict[str, Any]] = []
    caps: list[dict[str, Any]] = []
    if result.evaluation_version:
        evaluation_id = SelfEvaluation.id_for(
            entity, calculated.grant_year, calculated.tier
        )
        found: object = ledger.repository.get(
            evaluation_id, version=result.evaluation_version
        )
        assert isinstance(found, SelfEvaluation)  # noqa: S101
        spec = ledger.catalogue(
            calculated.grant_year, calculated.tier, calculated.inputs.catalogue_version
        ).spec
        answers = {k: v for k, v in found.answers.items() if k in spec.sub_items()}
        sheet = score(spec, answers, calculated.grant)
        setters = (
            _setters(ledger, evaluation_id, result.evaluation_version) if trail else {}
        )
        items = [
            {
                "item": code,
                "answer": answers[code].display() if code in answers else None,
                "points": points,
            }
            | (
                {f"set_by_{k}": v for k, v in setters[code].items()}
                if code in setters
                else {}
            )
            for code, points in sheet.items.items()
        ]
        caps = [c.model_dump() for c in sheet.caps]
    band = (
        [r for r in calculated.results if r.size_band == result.size_band]
        if result.size_band
        else []
    )
    return {
        "run_id": calculated.run_id,
        "phase": calculated.phase,
        "grant": calculated.grant,
        "tier": calculated.tier,
        "rule": calculated.rule.id,
        "rule_label": calculated.label,
        "hypothesis": calculated.hypothesis,
        "entity": entity,
        "name": result.name,
        "score": result.score,
        "max_score": result.max_score,
        "evaluation_version": result.evaluation_version,
        "items": items,
        "caps": caps,
        "category1_insured": result.insured,
        "insured_as_of": result.insured_as_of.isoformat()
        if result.insured_as_of
        else None,
        "size_band": result.size_band,
        "band_entities": len(band),
        "band_insured": sum(r.insured for r in band),
        "eligible": result.eligible,
        "eligibility_reason": result.eligibility_reason,
        "formula": _formula(
            result, calculated.rule.allocation_parameters().rounding_unit_yen
        ),
        "draft_yen": result.draft_yen,
        "required_yen": result.required_yen,
        "capped_off_yen": result.capped_off_yen,
        "amount_yen": result.amount_yen,
        "decided_yen": result.decided_yen,
        "adjustment_yen": result.adjustment_yen,
        "adjustment": result.adjustment,
    }


def _formula(result: EntityResult, unit: int) -> str:
    if not result.share_numerator:
        return "weight 0 (zero score or ineligible): draft 0 yen"
    # Exact decimal arithmetic for the display too: no float touches an amount.
    exact = (
        Decimal(result.pool_budget_yen * result.share_numerator)
        / Decimal(result.share_denominator)
    ).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return (
        f"floor({result.pool_budget_yen:,} × {result.share_numerator:,} / "
        f"{result.share_denominator:,} / {unit:,}) × {unit:,} = "
        f"{result.draft_yen:,} yen (unrounded {exact:,})"
    )


def _print(console: Console, found: dict[str, Any]) -> None:
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
        fiscal_year: YearOption,
        out: Annotated[Path, typer.Option(help="Folder to write the dossier into.")],
        force: Annotated[
            bool,
            typer.Option("--force", help="Replace dossier files already there."),
        ] = False,
    ) -> None:
        """Export one entity's year for auditors: HTML and a JSON/CSV bundle."""
        from adapters.dossier import write_dossier  # noqa: PLC0415

        with ledger() as opened:
            manifest = write_dossier(opened, entity, fiscal_year, out, force=force)
        typer.echo(
            f"dossier written to {out} ({len(manifest['files'])} files and "
            f"manifest.json); {manifest['verification']}"
        )

    @app.command()
    @handled
    def explain(
        entity: EntityOption,
        fiscal_year: YearOption,
        grant: Annotated[str, typer.Option(help="promotion or effort_support")],
        phase: Annotated[
            str | None, typer.Option(help="Default: the latest phase run.")
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """How the score and the amount of an entity came about, step by step."""
        with ledger() as opened:
            details = opened.entity(entity)
            tier = "municipal" if details.kind == "municipality" else "prefectural"
            runs = current_runs(opened, fiscal_year, grant, tier, phase, None)
            if not runs:
                msg = f"no FY{fiscal_year} {grant} {tier} run" + (
                    f" of the {phase} phase" if phase else ""
                )
                raise InvalidInput(msg, field="--phase" if phase else "--fiscal-year")
            found = explanation(opened, runs[0], entity)
        if fmt is Format.table:
            _print(console, found)
        elif fmt is Format.html:
            from adapters.dossier import page  # noqa: PLC0415

            typer.echo(
                page(
                    details,
                    fiscal_year,
                    explanations=[found],
                    verification="history not checked here: `kofu verify` checks it",
                    verified=False,
                )
            )
        else:
            render(found if fmt is Format.json else found["items"], fmt)
