"""The national overview of a grant year: runs per phase, totals, amounts by band.

Runs and their receipts come from the ledger; the per-entity amounts of the runs
in force come from the `allocations` read model.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from adapters.queries.runs import in_force_allocations
from adapters.web.chart import Chart, bar_chart
from domain.base import GRANTS, TIERS
from domain.errors import InvalidInput
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


PAGE_SIZES = (50, 100, 200, 500, 2000)
"""Rows per page the entity table offers (2000: every entity, for printing)."""
MAX_QUERY = 50
"""The longest search text (characters)."""


@dataclass(frozen=True)
class EntityTable:
    """One page of the entity table, after the search and the filters."""

    rows: list[dict[str, Any]]
    total: int
    matched: int
    page: int
    pages: int
    per: int
    query: str
    prefecture: str
    band: int | None

    @property
    def first(self) -> int:
        """The 1-based number of the page's first row (0 when nothing matched)."""
        return (self.page - 1) * self.per + 1 if self.matched else 0

    @property
    def last(self) -> int:
        """The 1-based number of the page's last row."""
        return (self.page - 1) * self.per + len(self.rows)

    def page_numbers(self) -> list[int | None]:
        """The pages to link, None for each gap between them.

        The first two, the last two, and two either side of this one.
        """
        wanted = {1, 2, self.pages - 1, self.pages}
        wanted |= set(range(self.page - 2, self.page + 3))
        shown: list[int | None] = []
        for number in sorted(n for n in wanted if 1 <= n <= self.pages):
            if shown and shown[-1] is not None and number > shown[-1] + 1:
                shown.append(None)
            shown.append(number)
        return shown

    def params(self, **changed: object) -> str:
        """The query string of this table with some parameters changed."""
        values: dict[str, object] = {
            "q": self.query,
            "prefecture": self.prefecture,
            "band": self.band if self.band is not None else "",
            "per": self.per,
            "page": self.page,
        } | changed
        kept = {k: v for k, v in values.items() if v not in ("", None)}
        return urlencode(kept)


def entity_table(
    rows: list[dict[str, Any]],
    query: str = "",
    prefecture: str = "",
    band: str = "",
    page: str = "1",
    per: str = "100",
) -> EntityTable:
    """Search (code or name), filter (prefecture, band) and page the entity rows.

    Raises:
        InvalidInput: a parameter out of its choices, naming it.
    """
    query = query.strip()
    if len(query) > MAX_QUERY:
        msg = f"検索語 q は {MAX_QUERY} 文字までです。"
        raise InvalidInput(msg, field="q")
    if prefecture and not (len(prefecture) == 2 and prefecture.isdigit()):  # noqa: PLR2004
        msg = f"都道府県 prefecture は2桁のコードです（{prefecture!r}）。"
        raise InvalidInput(msg, field="prefecture")
    if band and not band.isdigit():
        msg = f"規模区分 band は番号です（{band!r}）。"
        raise InvalidInput(msg, field="band")
    if not per.isdigit() or int(per) not in PAGE_SIZES:
        sizes = ", ".join(str(size) for size in PAGE_SIZES)
        msg = f"表示件数 per は {sizes} のいずれかです（{per!r}）。"
        raise InvalidInput(msg, field="per")
    if not page.isdigit() or int(page) < 1:
        msg = f"ページ page は1以上の番号です（{page!r}）。"
        raise InvalidInput(msg, field="page")
    wanted_band = int(band) if band else None
    matched = [
        row
        for row in rows
        if (not query or query in row["entity"] or query in row["name"])
        and (not prefecture or row["entity"][:2] == prefecture)
        and (wanted_band is None or row["size_band"] == wanted_band)
    ]
    size = int(per)
    pages = max(1, -(-len(matched) // size))
    number = min(int(page), pages)
    start = (number - 1) * size
    return EntityTable(
        rows=matched[start : start + size],
        total=len(rows),
        matched=len(matched),
        page=number,
        pages=pages,
        per=size,
        query=query,
        prefecture=prefecture,
        band=wanted_band,
    )
