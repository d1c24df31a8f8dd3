"""Read commands: entities, insurers, catalogues, submissions, history."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from adapters.cli.options import EntityOption, FormatOption, YearOption
from adapters.output import Format, render
from domain.base import GRANTS
from domain.catalogue import points_in
from domain.entities import size_band
from domain.self_evaluation import SelfEvaluation

if TYPE_CHECKING:
    from rich.console import Console

    from domain.ledger import Ledger


@contextmanager
def progress(
    console: Console, what: str, total: int
) -> Iterator[Callable[[int], None]]:
    """A progress bar (shown on a terminal for long work); yields `advance(n)`."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=total < 50 or not console.is_terminal,  # noqa: PLR2004
    )
    with bar:
        task = bar.add_task(what, total=total)
        yield lambda n: bar.advance(task, n)


def _entities(
    ledger: Ledger, kind: str | None, prefecture: str | None, year: int | None
) -> list[dict[str, Any]]:
    bands: tuple[int, ...] | None = None
    if year is not None:
        bands = ledger.programme(year).spec.size_bands
    rows = []
    for details in ledger.entities():
        if (kind and details.kind != kind) or (
            prefecture and details.prefecture_code != prefecture
        ):
            continue
        row: dict[str, Any] = {
            "entity": details.lg_code,
            "kind": details.kind,
            "prefecture_code": details.prefecture_code,
            "name": details.name,
            "special_ward": details.special_ward,
        }
        if year is not None and bands is not None:
            insured = ledger.entity_aggregate(details.lg_code).insured.get(year)
            row["category1_insured"] = insured.count if insured else None
            row["size_band"] = (
                size_band(insured.count, bands)
                if insured and details.kind == "municipality"
                else None
            )
            row["insured_source"] = insured.source if insured else None
            row["insured_as_of"] = insured.as_of if insured else None
        rows.append(row)
    return rows


def _submission_row(evaluation: SelfEvaluation, ledger: Ledger) -> dict[str, Any]:
    history = ledger.history(evaluation.id)
    kinds = {type(e).__name__ for e in history}
    status = "submitted" if evaluation.submitted else "opened"
    if "Revised" in kinds:
        status = "revised"
    if evaluation.confirmed:
        status = "confirmed"
    if "Corrected" in kinds:
        status = "corrected"
    details = ledger.entity(evaluation.lg_code)
    return {
        "entity": evaluation.lg_code,
        "name": details.name,
        "tier": evaluation.tier,
        "catalogue_version": evaluation.catalogue_version,
        "answered": len(evaluation.answers),
        "status": status,
        "corrections": sum(isinstance(e, SelfEvaluation.Corrected) for e in history),
        "events": evaluation.version,
        "last_recorded_at": evaluation.modified_on,
    }


def _history_rows(ledger: Ledger, evaluation: SelfEvaluation) -> list[dict[str, Any]]:
    rows = []
    for event in ledger.history(evaluation.id):
        data = event.model_dump(
            mode="json",
            exclude={
                "originator_id",
                "originator_version",
                "timestamp",
                "originator_topic",
            },
        )
        rows.append(
            {
                "version": event.originator_version,
                "recorded_at": event.timestamp,
                "event": type(event).__name__,
                "actor": data.pop("actor", None),
                "received_on": data.pop("received_on", None),
                "reason": data.pop("reason", None),
                "basis": data.pop("basis", None) or data.pop("source", None),
                "details": _summary(data),
            }
        )
    return rows


def _summary(data: dict[str, Any]) -> str:
    if "answers" in data:
        return f"{len(data['answers'])} answers"
    changes = data.get("changes") or ([data["change"]] if "change" in data else [])
    if changes:
        text = "; ".join(
            f"{c['item']}: {_answer(c['before'])} → {_answer(c['after'])}"
            for c in changes[:5]
        )
        extra = f" (+{len(changes) - 5} more)" if len(changes) > 5 else ""  # noqa: PLR2004
        return text + extra
    return ", ".join(f"{k}={v}" for k, v in data.items())


def _answer(answer: dict[str, Any] | None) -> str:
    if answer is None:
        return "(none)"
    if answer.get("checked") is not None:
        return "true" if answer["checked"] else "false"
    return str(answer.get("number"))


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    ledger: Callable[[], AbstractContextManager[Ledger]],
) -> None:
    """Add the read commands to the CLI."""

    @app.command()
    @handled
    def entities(
        kind: Annotated[
            str | None, typer.Option(help="prefecture or municipality")
        ] = None,
        prefecture: Annotated[
            str | None, typer.Option(help="2-digit prefecture code")
        ] = None,
        fiscal_year: Annotated[
            int | None,
            typer.Option("--fiscal-year", "-y", help="Show 第1号被保険者数 and band"),
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """List registered prefectures and municipalities."""
        with ledger() as opened:
            render(_entities(opened, kind, prefecture, fiscal_year), fmt, "entities")

    @app.command()
    @handled
    def insurers(fmt: FormatOption = Format.table) -> None:
        """List registered insurers and their members."""
        with ledger() as opened:
            rows = [
                {
                    "insurer_number": i.details.insurer_number,
                    "kind": i.details.kind,
                    "name": i.details.name,
                    "prefecture_code": i.details.prefecture_code,
                    "members": " ".join(m.lg_code for m in i.details.members),
                    "wards": len(i.details.wards),
                    "synthetic": i.details.synthetic,
                }
                for i in opened.insurers()
            ]
            render(rows, fmt, "insurers")

    @app.command()
    @handled
    def catalogues(fmt: FormatOption = Format.table) -> None:
        """List published indicator catalogues (the version in force)."""
        with ledger() as opened:
            rows = []
            for year, tier, version in opened.catalogue_versions():
                spec = opened.catalogue(year, tier, version).spec
                row: dict[str, Any] = {
                    "grant_year": year,
                    "tier": tier,
                    "version": version,
                    "structure": spec.structure,
                }
                row |= {
                    f"full_marks_{g}": points_in(spec.full_marks, g) for g in GRANTS
                }
                row |= {
                    "items": len(spec.sub_items()),
                    "illustrative": spec.illustrative,
                    "title": spec.title,
                }
                rows.append(row)
            render(rows, fmt, "catalogues")

    @app.command()
    @handled
    def catalogue(
        fiscal_year: YearOption,
        tier: Annotated[str, typer.Option()] = "municipal",
        version: Annotated[int | None, typer.Option()] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """List the items of a catalogue."""
        with ledger() as opened:
            spec = opened.catalogue(fiscal_year, tier, version).spec
            rows = [
                {
                    "goal": goal.code,
                    "group": group.code,
                    "indicator": indicator.code,
                    "item": sub.code,
                    "kind": sub.kind,
                    "mode": indicator.mode,
                    "source": indicator.source,
                    **{
                        f"points_{g}": points_in(sub.points, g)
                        if sub.kind == "checkbox"
                        else max(
                            (points_in(t.points, g) for t in sub.thresholds), default=0
                        )
                        for g in GRANTS
                    },
                    "title": sub.title,
                }
                for goal in spec.goals
                for group in goal.groups
                for indicator in group.indicators
                for sub in indicator.sub_items
            ]
            render(rows, fmt, f"FY{fiscal_year} {tier} v{spec.version}")

    @app.command()
    @handled
    def submissions(
        fiscal_year: YearOption,
        tier: Annotated[str | None, typer.Option()] = None,
        prefecture: Annotated[
            str | None, typer.Option(help="2-digit prefecture code")
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """List the self-evaluations of a grant year and their status."""
        with ledger() as opened:
            rows = [
                _submission_row(e, opened)
                for e in opened.self_evaluations(fiscal_year, tier)
                if not prefecture or e.lg_code[:2] == prefecture
            ]
            render(rows, fmt, f"FY{fiscal_year} self-evaluations")

    @app.command()
    @handled
    def history(
        entity: EntityOption,
        fiscal_year: YearOption,
        tier: Annotated[str | None, typer.Option()] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Every event of an entity's self-evaluation, oldest first."""
        with ledger() as opened:
            details = opened.entity(entity)
            chosen = tier or (
                "municipal" if details.kind == "municipality" else "prefectural"
            )
            evaluation = opened.self_evaluation(entity, fiscal_year, chosen)
            render(
                _history_rows(opened, evaluation),
                fmt,
                f"{details.name} FY{fiscal_year}",
            )
