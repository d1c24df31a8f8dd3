"""`kofu sensitivity RUN`: yen per point, and the corrections that moved a lot.

For an entity with weight w = score × insured (or the score) in a pool of budget P
and total weight W, one more point changes its draft from P·w/W to P·w'/W' with
w' = w + n and W' = W + n (n = its insured, or 1): the yen per point, computed
exactly with fractions by the rule's formula (`domain.formulas`,
`Formula.yen_per_point`) and shown in whole yen. A sub-item's sensitivity is its
points times that. A correction is flagged when |Δscore| × yen per point exceeds
`threshold` of the tier's budget.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from domain.catalogue import max_points
from domain.errors import InvalidInput
from domain.formulas import formula_for
from domain.self_evaluation import SelfEvaluation

if TYPE_CHECKING:
    from domain.allocation_run import AllocationRun, EntityResult
    from domain.ledger import Ledger


def yen_per_point(run: AllocationRun.Calculated, line: EntityResult) -> Fraction:
    """The exact change in a line's draft for one more point of score."""
    return formula_for(run.rule).yen_per_point(line, run.rule.allocation_parameters())


def sensitivity(
    ledger: Ledger, run: AllocationRun, threshold: Fraction
) -> dict[str, Any]:
    """Yen per point for every entity, and the corrections that moved the most."""
    calculated = run.calculated
    per_point = {r.entity: yen_per_point(calculated, r) for r in calculated.results}
    entities = [
        {
            "entity": r.entity,
            "name": r.name,
            "score": r.score,
            "yen_per_point": round(per_point[r.entity]),
        }
        for r in calculated.results
    ]
    limit = threshold * calculated.inputs.budget_yen
    flagged = []
    for result in calculated.results:
        if not result.evaluation_version:
            continue
        evaluation_id = SelfEvaluation.id_for(
            result.entity, calculated.grant_year, calculated.tier
        )
        history = ledger.history(evaluation_id)[: result.evaluation_version]
        spec = ledger.catalogue(
            calculated.grant_year, calculated.tier, calculated.inputs.catalogue_version
        ).spec
        items = spec.sub_items()
        for event in history:
            if (
                not isinstance(event, SelfEvaluation.Corrected)
                or event.change.item not in items
            ):
                continue
            moved = (
                _points(items[event.change.item][0], event, calculated.grant)
                * per_point[result.entity]
            )
            if abs(moved) > limit:
                flagged.append(
                    {
                        "entity": result.entity,
                        "item": event.change.item,
                        "version": event.originator_version,
                        "actor": event.actor,
                        "reason": event.reason,
                        "yen_moved_approx": round(moved),
                        "share_of_budget_percent": _percent(
                            abs(moved), calculated.inputs.budget_yen
                        ),
                    }
                )
    return {
        "run_id": calculated.run_id,
        "threshold": str(threshold),
        "entities": entities,
        "flagged": flagged,
    }


def item_sensitivity(
    ledger: Ledger, run: AllocationRun, entity: str
) -> list[dict[str, Any]]:
    """For one entity: each sub-item's points at stake in the run's grant, in yen."""
    calculated = run.calculated
    result = next((r for r in calculated.results if r.entity == entity), None)
    if result is None:
        msg = f"{entity} is not in run {calculated.run_id}"
        raise InvalidInput(msg, field="--entity")
    per_point = yen_per_point(calculated, result)
    spec = ledger.catalogue(
        calculated.grant_year, calculated.tier, calculated.inputs.catalogue_version
    ).spec
    rows = []
    for code, (item, _) in spec.sub_items().items():
        stake = max_points(item, calculated.grant)
        if stake:
            rows.append(
                {
                    "item": code,
                    "points": stake,
                    "yen_approx": round(stake * per_point),
                    "title": item.title,
                }
            )
    return rows


def _percent(part: Fraction, whole: int) -> str:
    # Exact to the last shown digit: no float.
    value = Decimal(part.numerator) * 100 / (Decimal(part.denominator) * whole)
    return str(value.quantize(Decimal("0.000001")))


def _points(item: Any, event: SelfEvaluation.Corrected, grant: str) -> int:
    from domain.scoring import item_points  # noqa: PLC0415

    after = item_points(item, event.change.after, grant)  # type: ignore[arg-type]
    before = item_points(item, event.change.before, grant)  # type: ignore[arg-type]
    return after - before
