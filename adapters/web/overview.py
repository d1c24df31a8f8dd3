"""The national overview of a grant year: runs per phase, totals, amounts by band.

Runs and their receipts come from the ledger; the per-entity amounts of the runs
in force come from the `allocations` read model.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adapters.queries.runs import in_force_allocations
from adapters.web.chart import Chart, bar_chart
from domain.base import GRANTS, TIERS
from domain.programme import PHASES

if TYPE_CHECKING:
    from adapters.kofu import ReadModels
    from domain.allocation_run import AllocationRun
    from domain.ledger import Ledger


@dataclass
class Section:
    """One grant and tier: the latest run of each phase, and the one in force."""

    grant: str
    tier: str
    runs: list[tuple[AllocationRun.Calculated, int]] = field(default_factory=list)
    """(latest run of a phase, how many runs that phase recorded), cycle order."""

    @property
    def in_force(self) -> AllocationRun.Calculated | None:
        """The run of the latest phase run (what the entities get now)."""
        return self.runs[-1][0] if self.runs else None


def sections(ledger: Ledger, year: int) -> list[Section]:
    """Every grant and tier of the year, with their runs (empty if none yet)."""
    found: dict[tuple[str, str], Section] = {
        (g, t): Section(g, t) for g in GRANTS for t in TIERS
    }
    for phase_runs in ledger.phase_runs(year):
        if phase_runs.current is None:
            continue
        run = ledger.run(phase_runs.current).calculated
        found[phase_runs.grant, phase_runs.tier].runs.append(
            (run, len(phase_runs.runs))
        )
    for section in found.values():
        section.runs.sort(key=lambda pair: PHASES.index(pair[0].phase))
    return list(found.values())


def band_labels(bounds: tuple[int, ...]) -> dict[int, str]:
    """規模区分 number -> '区分2: 3,000〜9,999人' from the year's lower bounds."""
    labels = {}
    for number, low in enumerate(bounds, start=1):
        if number < len(bounds):
            labels[number] = f"区分{number}: {low:,}〜{bounds[number] - 1:,}人"
        else:
            labels[number] = f"区分{number}: {low:,}人以上"
    return labels


def by_band(rows: list[dict[str, Any]], labels: dict[int, str]) -> list[dict[str, Any]]:
    """Entities, insured and amounts per size band (municipal rows of one run)."""
    totals: dict[int, dict[str, int]] = defaultdict(
        lambda: {"entities": 0, "paid": 0, "insured": 0, "amount_yen": 0}
    )
    for row in rows:
        band = totals[int(row["size_band"] or 0)]
        band["entities"] += 1
        band["paid"] += int(row["amount_yen"] > 0)
        band["insured"] += int(row["category1_insured"])
        band["amount_yen"] += int(row["amount_yen"])
    return [
        {"band": number, "label": labels.get(number, f"区分{number}")} | totals[number]
        for number in sorted(totals)
    ]


def band_charts(
    store: ReadModels, found: list[Section], labels: dict[int, str]
) -> list[tuple[AllocationRun.Calculated, Chart, list[dict[str, Any]]]]:
    """Per grant, the municipal amounts in force by band: a chart and its table."""
    charts = []
    for section in found:
        run = section.in_force
        if section.tier != "municipal" or run is None:
            continue
        rows = in_force_allocations(store, run)
        table = by_band(rows, labels)
        chart = bar_chart(
            run.run_id, [(band["label"], band["amount_yen"]) for band in table]
        )
        charts.append((run, chart, table))
    return charts


def entity_rows(store: ReadModels, found: list[Section]) -> list[dict[str, Any]]:
    """One row per entity: its amounts in force for each grant."""
    merged: dict[str, dict[str, Any]] = {}
    for section in found:
        run = section.in_force
        if run is None:
            continue
        for row in in_force_allocations(store, run):
            line = merged.setdefault(
                row["entity"],
                {
                    "entity": row["entity"],
                    "name": row["name"],
                    "tier": run.tier,
                    "size_band": row["size_band"],
                    "category1_insured": row["category1_insured"],
                },
            )
            line[f"score_{run.grant}"] = row["score"]
            line[f"amount_{run.grant}"] = row["amount_yen"]
    return sorted(
        merged.values(), key=lambda r: (r["tier"] != "prefectural", r["entity"])
    )
