"""The `allocations` read model: the run in force per grant year, grant, tier and phase.

A run replaces the rows of the run before it for the same (grant year, grant, tier,
phase): one row per entity of the latest `AllocationRun.Calculated`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from projections.schema import Change, Column, Delete, Row, Table, row

if TYPE_CHECKING:
    from domain.allocation_run import AllocationRun
    from projections.context import Context

ALLOCATIONS = Table(
    "allocations",
    "The allocation run in force per (grant year, grant, tier, phase), "
    "one row per entity.",
    (
        Column("grant_year", "integer", "交付年度"),
        Column("grant", "text", "promotion (推進) or effort_support (支援)"),
        Column("tier", "text", "municipal (市町村分) or prefectural (都道府県分)"),
        Column(
            "phase", "text", "reference, expected, provisional, decision, settlement"
        ),
        Column("entity", "text", "LG code (全国地方公共団体コード)"),
        Column(
            "run_id",
            "text",
            "the run in force, e.g. FY2020-promotion-municipal-expected-2",
        ),
        Column("position", "integer", "ledger position of the run"),
        Column(
            "insurer_number", "text", "保険者番号 of the insurer the entity belongs to"
        ),
        Column("name", "text", "entity name"),
        Column("score", "integer", "得点"),
        Column("max_score", "integer", "配点 (full marks)"),
        Column("category1_insured", "integer", "第1号被保険者数 used"),
        Column("size_band", "integer", "規模区分 (municipal tier only)"),
        Column("eligible", "boolean", "交付対象 (支援: eligibility)"),
        Column("amount_yen", "integer", "amount in yen"),
        Column("draft_yen", "integer", "amount before the cap at 所要見込額"),
        Column("rank_in_tier", "integer", "competition rank within the tier"),
        Column("rank_in_band", "integer", "competition rank within the band"),
        Column(
            "adjustment_yen", "integer", "settlement: amount minus the decided amount"
        ),
        Column("hypothesis", "boolean", "the run used a rule labelled HYPOTHESIS"),
    ),
    ("grant_year", "grant", "tier", "phase", "entity"),
    key_index=("entity", "phase", "grant", "tier", "grant_year"),
)


@row
class AllocationRow(Row):
    """One entity's amount in the run in force."""

    table = ALLOCATIONS
    grant_year: int
    grant: str
    tier: str
    phase: str
    entity: str
    run_id: str
    position: int
    insurer_number: str | None
    name: str
    score: int
    max_score: int
    category1_insured: int
    size_band: int | None
    eligible: bool
    amount_yen: int
    draft_yen: int
    rank_in_tier: int
    rank_in_band: int | None
    adjustment_yen: int | None
    hypothesis: bool


def calculated(
    run: AllocationRun.Calculated, position: int, _context: Context
) -> list[Change]:
    """The run's rows, in place of the rows of the run it follows."""
    found: list[Change] = [
        Delete(
            ALLOCATIONS,
            {
                "grant_year": run.grant_year,
                "grant": run.grant,
                "tier": run.tier,
                "phase": run.phase,
            },
        )
    ]
    found += (
        AllocationRow(
            grant_year=run.grant_year,
            grant=run.grant,
            tier=run.tier,
            phase=run.phase,
            entity=result.entity,
            run_id=run.run_id,
            position=position,
            insurer_number=result.insurer_number,
            name=result.name,
            score=result.score,
            max_score=result.max_score,
            category1_insured=result.insured,
            size_band=result.size_band,
            eligible=result.eligible,
            amount_yen=result.amount_yen,
            draft_yen=result.draft_yen,
            rank_in_tier=result.rank_in_tier,
            rank_in_band=result.rank_in_band,
            adjustment_yen=result.adjustment_yen,
            hypothesis=run.hypothesis,
        )
        for result in run.results
    )
    return found
