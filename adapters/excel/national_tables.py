"""The ministry's national tables: results (得点) and allocations (交付額, in 千円).

One row per entity, Japanese headers, then summary rows. The results table has one
column per sub-item weighted in the grant (points before the caps, from the read
model), one per goal (目標計: those points capped by the domain's catalogue rules,
`domain.scoring.goal_subtotals`), the total and the rank, and per column
the rows 配点, 平均点, 平均得点率（%）, 中央値 and 標準偏差 (population standard
deviation; statistics are floats rounded to 2 places, points and money never are).
The allocation table shows amounts in 千円 by integer arithmetic: an amount that
is not a whole number of 千円 is shown exactly (e.g. 1234.567) and its yen below
1,000 are shown in their own column, never dropped.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from adapters.inputs.glossary import in_japanese
from adapters.queries.runs import current_runs
from domain.catalogue import max_points, points_in
from domain.entities import size_band
from domain.errors import InvalidInput
from domain.glossary import (
    ADJUSTMENT_JA,
    GRANT_SHORT,
    HYPOTHESIS_JA,
    HYPOTHESIS_METHOD_JA,
    PHASE_JA,
    TIER_JA,
)
from domain.scoring import goal_subtotals

if TYPE_CHECKING:
    from adapters.storage.read_store import ReadStore
    from domain.allocation_run import AllocationRun
    from domain.base import Grant
    from domain.catalogue import CatalogueSpec
    from domain.ledger import Ledger

STATISTICS = ("配点", "平均点", "平均得点率（%）", "中央値", "標準偏差")
ENTITY_COLUMNS = ("団体コード", "都道府県", "団体名", "規模区分")


@dataclass(frozen=True)
class NationalTable:
    """A table as published: header, entity rows, summary rows and notes."""

    title: str
    header: list[str]
    rows: list[list[object]]
    footer: list[list[object]]
    notes: list[tuple[str, object]] = field(default_factory=list)

    def lines(self) -> list[list[object]]:
        """Entity rows, then summary rows."""
        return [*self.rows, *self.footer]


def thousands(amount_yen: int) -> int | Decimal:
    """Yen as 千円: a whole number if exact, else the exact decimal (no rounding)."""
    whole, rest = divmod(amount_yen, 1000)
    return whole if rest == 0 else Decimal(amount_yen).scaleb(-3)


def column_statistics(values: list[int], full: int) -> list[float | int | None]:
    """配点, 平均点, 平均得点率（%）, 中央値, 標準偏差 of one column."""
    mean = statistics.fmean(values)
    rate = round(mean * 100 / full, 2) if full else None
    return [
        full,
        round(mean, 2),
        rate,
        round(float(statistics.median(values)), 2),
        round(statistics.pstdev(values), 2),
    ]


def _prefectures(ledger: Ledger) -> dict[str, str]:
    return {
        e.prefecture_code: e.name for e in ledger.entities() if e.kind == "prefecture"
    }


def _band(
    ledger: Ledger, lg_code: str, year: int, bands: tuple[int, ...]
) -> int | None:
    counted = ledger.entity_aggregate(lg_code).insured.get(year)
    return size_band(counted.count, bands) if counted else None


def results_table(
    ledger: Ledger, store: ReadStore, year: int, tier: str, grant: Grant
) -> NationalTable:
    """The national results table of a grant year, tier and grant.

    Raises:
        InvalidInput: nothing was scored for that year, tier and grant.
    """
    where: dict[str, object] = {"grant_year": year, "tier": tier, "grant": grant}
    totals = store.rows("scores", where, ["rank", "entity"])
    if not totals:
        msg = f"no FY{year} {tier} {grant} scores: no answers are recorded"
        raise InvalidInput(msg, field="--fiscal-year")
    spec = ledger.catalogue(year, tier).spec
    items, goals = _point_columns(spec, grant)
    points: dict[str, dict[str, int]] = {}
    for r in store.rows("item_scores", where, ["entity", "item"]):
        points.setdefault(r["entity"], {})[r["item"]] = r["points"]
    details = {e.lg_code: e for e in ledger.entities()}
    prefectures = _prefectures(ledger)
    bands = ledger.programme(year).spec.size_bands if tier == "municipal" else ()
    rows: list[list[object]] = []
    for total in totals:
        lg_code = total["entity"]
        entity = details[lg_code]
        rows.append(
            [
                lg_code,
                prefectures.get(entity.prefecture_code, entity.prefecture_code),
                entity.name,
                _band(ledger, lg_code, year, bands) if bands else None,
                *(points.get(lg_code, {}).get(code, 0) for code in items),
                *_subtotals(spec, points.get(lg_code, {}), grant, goals),
                total["total"],
                total["rank"],
            ]
        )
    fulls = [*items.values(), *goals.values(), totals[0]["max_total"]]
    header = [*ENTITY_COLUMNS, *items, *(f"{code}計" for code in goals), "合計", "順位"]
    notes = _results_notes(ledger, spec, grant, len(rows))
    return NationalTable(
        str(notes[0][1]), header, rows, _statistics(rows, fulls), notes
    )


def _point_columns(
    spec: CatalogueSpec, grant: Grant
) -> tuple[dict[str, int], dict[str, int]]:
    """配点 of the sub-items and of the goals weighted in the grant, by code."""
    items = {
        code: max_points(sub, grant)
        for code, (sub, _) in spec.sub_items().items()
        if max_points(sub, grant)
    }
    goals = {
        goal.code: points_in(goal.max_points, grant)
        for goal in spec.goals
        if points_in(goal.max_points, grant)
    }
    return items, goals


def _subtotals(
    spec: CatalogueSpec, points: dict[str, int], grant: Grant, goals: dict[str, int]
) -> list[int]:
    """An entity's capped points of the goals shown, from its sub-items' points."""
    capped = goal_subtotals(spec, points, grant)
    return [capped[code] for code in goals]


def _statistics(rows: list[list[object]], fulls: list[int]) -> list[list[object]]:
    first = len(ENTITY_COLUMNS)
    columns = [[int(str(row[first + i])) for row in rows] for i in range(len(fulls))]
    stats = [column_statistics(c, f) for c, f in zip(columns, fulls, strict=True)]
    return [
        [None, None, label, None, *(s[index] for s in stats), None]
        for index, label in enumerate(STATISTICS)
    ]


def _results_notes(
    ledger: Ledger, spec: CatalogueSpec, grant: Grant, entities: int
) -> list[tuple[str, object]]:
    notes: list[tuple[str, object]] = [
        ("表", f"{spec.title} 評価結果（{GRANT_SHORT[grant]}）"),
        ("評価指標", f"FY{spec.grant_year}-{spec.tier}-v{spec.version}"),
        ("区分", TIER_JA[spec.tier]),
        ("団体数", entities),
        ("枝番の得点", "上限（配点）を適用する前の得点。目標計と合計は上限適用後"),
        ("標準偏差", "母標準偏差（全団体を母集団とする）"),
    ]
    if spec.illustrative:
        notes.append(("例示", "評価指標は例示（illustrative）であり、公表資料ではない"))
    return notes + _hypotheses(ledger, spec.grant_year)


def allocation_table(
    ledger: Ledger, year: int, grant: Grant, tier: str, phase: str | None
) -> NationalTable:
    """The allocation table of the run in force, amounts in 千円.

    Raises:
        InvalidInput: no run of that year, grant and tier (and phase) is recorded.
    """
    runs = current_runs(ledger, year, grant, tier, phase, None)
    if not runs:
        msg = f"no FY{year} {grant} {tier} allocation run is recorded" + (
            f" for phase {phase}" if phase else ""
        )
        raise InvalidInput(msg, field="--fiscal-year")
    run = runs[0]
    c = run.calculated
    details = {e.lg_code: e for e in ledger.entities()}
    prefectures = _prefectures(ledger)
    method = HYPOTHESIS_METHOD_JA if c.hypothesis else "公表の算定式"
    settled = (
        any(r.adjustment is not None for r in c.results) or c.phase == "settlement"
    )
    rows: list[list[object]] = []
    for r in c.results:
        code = details[r.entity].prefecture_code if r.entity in details else ""
        rows.append(
            [
                r.entity,
                r.insurer_number,
                prefectures.get(code, code),
                r.name,
                r.size_band,
                r.insured,
                r.score,
                r.max_score,
                "対象" if r.eligible else "対象外",
                thousands(r.amount_yen),
                r.amount_yen,
                r.amount_yen % 1000,
                method,
                *(
                    [
                        r.decided_yen,
                        r.adjustment_yen,
                        ADJUSTMENT_JA.get(r.adjustment or "", ""),
                    ]
                    if settled
                    else []
                ),
            ]
        )
    allocated = sum(r.amount_yen for r in c.results)
    total: list[object] = [None, None, None, "合計", *([None] * 5)]
    total += [thousands(allocated), allocated, allocated % 1000, None]
    if settled:
        decided = sum(r.decided_yen or 0 for r in c.results)
        total += [decided, sum(r.adjustment_yen or 0 for r in c.results), None]
    footer = [total]
    return NationalTable(
        _allocation_title(run),
        ALLOCATION_HEADER + (SETTLEMENT_HEADER if settled else []),
        rows,
        footer,
        _allocation_notes(ledger, run),
    )


ALLOCATION_HEADER = [
    "団体コード",
    "保険者番号",
    "都道府県",
    "団体名",
    "規模区分",
    "第1号被保険者数",
    "得点",
    "配点",
    "交付対象",
    "交付額（千円）",
    "交付額（円）",
    "千円未満（円）",
    "算定方式",
]


SETTLEMENT_HEADER = ["交付決定額（円）", "精算調整（円）", "精算の扱い"]
"""The settlement's columns: the decided amount, the adjustment and what it becomes."""


def _allocation_title(run: AllocationRun) -> str:
    c = run.calculated
    return (
        f"FY{c.grant_year} {GRANT_SHORT[c.grant]}交付金 {TIER_JA[c.tier]} "
        f"{PHASE_JA.get(c.phase, c.phase)}"
    )


def _allocation_notes(ledger: Ledger, run: AllocationRun) -> list[tuple[str, object]]:
    c = run.calculated
    notes: list[tuple[str, object]] = [
        ("表", _allocation_title(run)),
        ("算定", c.run_id),
        ("算定ルール", c.label),
        ("予算額（円）", c.inputs.budget_yen),
        ("配分額（円）", c.totals.allocated_yen),
        ("残額（円）", c.totals.remainder_yen),
        ("単位", "交付額は千円単位。千円未満の端数がある額は小数で正確に表示"),
        ("千円未満の端数", _remainders(run)),
    ]
    if c.hypothesis:
        notes.insert(0, (HYPOTHESIS_JA, HYPOTHESIS_METHOD_JA))
    return notes + _hypotheses(ledger, c.grant_year)


def _hypotheses(ledger: Ledger, year: int) -> list[tuple[str, object]]:
    """The programme year's hypotheses (e.g. the size bands), each labelled.

    In Japanese, with the English it translates (data/glossary/hypotheses-ja.yaml).
    """
    return [
        ("前提（仮説）", in_japanese(h)) for h in ledger.programme(year).spec.hypotheses
    ]


def _remainders(run: AllocationRun) -> str:
    """Whether every amount is a whole number of 千円, as the rule floors them."""
    odd = [r.entity for r in run.calculated.results if r.amount_yen % 1000]
    if not odd:
        return "なし（すべての額が千円単位）"
    return f"{len(odd)}団体の額に千円未満の端数あり（例: {', '.join(odd[:5])}）"
