"""Read commands: entities, insurers, catalogues (the evaluations: evaluations.py)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from adapters.cli.options import (
    FormatOption,
    PrefectureOption,
    TierOption,
    YearOption,
)
from adapters.common.formats import Format

if TYPE_CHECKING:
    from domain.ledger import Ledger


def _entities(
    ledger: Ledger, kind: str | None, prefecture: str | None, year: int | None
) -> list[dict[str, Any]]:
    from domain.entities import size_band  # noqa: PLC0415

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
        prefecture: PrefectureOption = None,
        grant_year: Annotated[
            int | None,
            typer.Option("--fiscal-year", "-y", help="Show 第1号被保険者数 and band"),
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """List registered prefectures and municipalities."""
        from adapters.reports.output import render  # noqa: PLC0415

        with ledger() as opened:
            render(_entities(opened, kind, prefecture, grant_year), fmt, "entities")

    @app.command()
    @handled
    def insurers(fmt: FormatOption = Format.table) -> None:
        """List registered insurers and their members."""
        from adapters.reports.output import render  # noqa: PLC0415

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
        from adapters.reports.output import render  # noqa: PLC0415
        from domain.base import GRANTS  # noqa: PLC0415
        from domain.catalogue import points_in  # noqa: PLC0415

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
        grant_year: YearOption,
        tier: TierOption = "municipal",
        version: Annotated[int | None, typer.Option()] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """List the items of a catalogue."""
        from adapters.reports.output import render  # noqa: PLC0415
        from domain.base import GRANTS  # noqa: PLC0415
        from domain.catalogue import max_points  # noqa: PLC0415

        with ledger() as opened:
            spec = opened.catalogue(grant_year, tier, version).spec
            rows = [
                {
                    "goal": goal.code,
                    "group": group.code,
                    "indicator": indicator.code,
                    "item": sub.code,
                    "kind": sub.kind,
                    "mode": indicator.mode,
                    "source": indicator.source,
                    **{f"points_{g}": max_points(sub, g) for g in GRANTS},
                    "title": sub.title,
                }
                for goal in spec.goals
                for group in goal.groups
                for indicator in group.indicators
                for sub in indicator.sub_items
            ]
            render(rows, fmt, f"FY{grant_year} {tier} v{spec.version}")
