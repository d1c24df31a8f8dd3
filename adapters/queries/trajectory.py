"""An entity's years side by side, and the nation's: score, rank, band, amount.

`trajectory(ledger, entity)` takes, for every grant year with runs, the run in force
of each grant (the latest phase's current run, as `current_runs` picks it) and the
entity's line in it, then explains each year's change of amount against the year
before with the same split `kofu diff` uses within a year (`Formula.attribute`): the
pool budget (the tier's, or the band's budget), the entity's own 第1号被保険者数, its
own score, the others' scores, and rounding, caps and eligibility. A change of size
band or of rule between the two years is named beside it: across a rule change the
split is that of the later year's formula, applied to both years' lines.

`national_trend(ledger)` is the nation's per year and grant: budget, allocated, the
mean score per size band and the score distribution (quartiles) of the tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from adapters.queries.rows import Row
from adapters.queries.runs import current_runs, grant_years
from domain.base import GRANTS
from domain.errors import InvalidInput
from domain.formulas import ATTRIBUTION, formula_for

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.allocation_run import AllocationRun, EntityResult
    from domain.ledger import Ledger


@dataclass(frozen=True, slots=True)
class TrajectoryRow(Row):
    """An entity's line in one grant year's run in force, and its change."""

    grant_year: int
    grant: str
    tier: str
    phase: str
    run_id: str
    score: int
    max_score: int
    rank_in_tier: int
    rank_in_band: int | None
    size_band: int | None
    insured: int
    amount_yen: int
    change_yen: int | None
    """Against the previous year with a run of this grant (None: the first)."""
    budget_yen: int | None
    insured_yen: int | None
    own_score_yen: int | None
    others_yen: int | None
    rounding_caps_eligibility_yen: int | None
    band_changed: bool
    rule_changed: bool
    rule: str
    hypothesis: bool


def _line(run: AllocationRun, entity: str) -> EntityResult | None:
    return next((r for r in run.calculated.results if r.entity == entity), None)


def trajectory(
    ledger: Ledger,
    entity: str,
    grant: str | None = None,
    visible: Callable[[str], bool] | None = None,
) -> list[TrajectoryRow]:
    """The entity's years, oldest first, each grant's change explained.

    `visible` filters the runs (readers: published ones only).

    Raises:
        InvalidInput: the entity is not registered.
    """
    if grant is not None and grant not in GRANTS:
        msg = f"unknown grant {grant!r}: {' or '.join(GRANTS)}"
        raise InvalidInput(msg, field="--grant")
    details = ledger.entity(entity)
    tier = "prefectural" if details.kind == "prefecture" else "municipal"
    rows: list[TrajectoryRow] = []
    before: dict[str, tuple[AllocationRun, EntityResult]] = {}
    for year in grant_years(ledger):
        for run in current_runs(ledger, year, grant, tier, None, None, visible):
            line = _line(run, entity)
            if line is None:
                continue
            calculated = run.calculated
            parts: dict[str, int | None] = dict.fromkeys(ATTRIBUTION)
            change = None
            band_changed = rule_changed = False
            previous = before.get(calculated.grant)
            if previous is not None:
                old_run, old = previous
                change = line.amount_yen - old.amount_yen
                formula = formula_for(calculated.rule)
                parameters = calculated.rule.allocation_parameters()
                parts |= formula.attribute(old, line, parameters)
                band_changed = old.size_band != line.size_band
                rule_changed = old_run.calculated.rule.id != calculated.rule.id
            before[calculated.grant] = (run, line)
            rows.append(
                TrajectoryRow(
                    grant_year=year,
                    grant=calculated.grant,
                    tier=tier,
                    phase=calculated.phase,
                    run_id=calculated.run_id,
                    score=line.score,
                    max_score=line.max_score,
                    rank_in_tier=line.rank_in_tier,
                    rank_in_band=line.rank_in_band,
                    size_band=line.size_band,
                    insured=line.insured,
                    amount_yen=line.amount_yen,
                    change_yen=change,
                    budget_yen=parts["budget_yen"],
                    insured_yen=parts["insured_yen"],
                    own_score_yen=parts["own_score_yen"],
                    others_yen=parts["others_yen"],
                    rounding_caps_eligibility_yen=parts[
                        "rounding_caps_eligibility_yen"
                    ],
                    band_changed=band_changed,
                    rule_changed=rule_changed,
                    rule=calculated.label,
                    hypothesis=calculated.hypothesis,
                )
            )
    return rows


@dataclass(frozen=True, slots=True)
class TrendRow(Row):
    """The nation in one grant year, grant and tier (its run in force)."""

    grant_year: int
    grant: str
    tier: str
    phase: str
    run_id: str
    budget_yen: int
    allocated_yen: int
    entities: int
    paid: int
    max_score: int
    mean_score: str
    """Exact to two decimals, as text (no float near the figures)."""
    score_q1: int
    score_median: int
    score_q3: int
    mean_by_band: str
    """`band:mean` pairs, e.g. `1:402.50 2:441.00` (municipal tier; empty otherwise)."""
    hypothesis: bool


def _quartile(ordered: list[int], quarter: int) -> int:
    """The quarter-th quartile (inclusive method), exact, rounded half up."""
    place = Fraction((len(ordered) - 1) * quarter, 4)
    low = int(place)
    high = min(low + 1, len(ordered) - 1)
    value = ordered[low] + (ordered[high] - ordered[low]) * (place - low)
    return int(value + Fraction(1, 2))


def _mean(values: list[int]) -> str:
    if not values:
        return ""
    hundredths = (sum(values) * 100 * 2 + len(values)) // (2 * len(values))
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def national_trend(
    ledger: Ledger, visible: Callable[[str], bool] | None = None
) -> list[TrendRow]:
    """Every grant year's runs in force: budgets, totals, score spread by band."""
    rows = []
    for year in grant_years(ledger):
        for run in current_runs(ledger, year, None, None, None, None, visible):
            calculated = run.calculated
            results = calculated.results
            scores = sorted(r.score for r in results)
            q1, median, q3 = (
                (_quartile(scores, 1), _quartile(scores, 2), _quartile(scores, 3))
                if scores
                else (0, 0, 0)
            )
            bands: dict[int, list[int]] = {}
            for r in results:
                if r.size_band is not None:
                    bands.setdefault(r.size_band, []).append(r.score)
            rows.append(
                TrendRow(
                    grant_year=year,
                    grant=calculated.grant,
                    tier=calculated.tier,
                    phase=calculated.phase,
                    run_id=calculated.run_id,
                    budget_yen=calculated.inputs.budget_yen,
                    allocated_yen=calculated.totals.allocated_yen,
                    entities=len(results),
                    paid=sum(1 for r in results if r.amount_yen),
                    max_score=max((r.max_score for r in results), default=0),
                    mean_score=_mean(scores),
                    score_q1=q1,
                    score_median=median,
                    score_q3=q3,
                    mean_by_band=" ".join(
                        f"{band}:{_mean(values)}"
                        for band, values in sorted(bands.items())
                    ),
                    hypothesis=calculated.hypothesis,
                )
            )
    return rows
