"""`kofu diff RUN_A RUN_B`: what changed per entity between two runs, and why.

An amount is a share of a pool: draft = floor(pool × w / W) to the rounding unit,
then capped at 所要見込額, where w is the entity's weight (score × insured, or the
score alone) and W the pool's sum of weights. The change from run A to run B is
split by the rule's formula (`domain.formulas`, `Formula.attribute`) by moving one
input at a time from A's value to B's, in a fixed order, with exact fractions:

1. budget: the pool budget (the tier's, or the band's budget);
2. insured: the entity's own 第1号被保険者数;
3. own score: the entity's score (its corrections, revisions and ministry values
   between the two runs are named);
4. others: everybody else's weights through the shares (W);
5. rounding, caps and eligibility: what is left.

Each step is rounded to whole yen and the last one takes the rounding, so the
attributions always add up to the change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.errors import InvalidInput
from domain.formulas import formula_for
from domain.self_evaluation import SelfEvaluation

if TYPE_CHECKING:
    from domain.allocation_run import AllocationRun, EntityResult
    from domain.ledger import Ledger


def _own_events(
    ledger: Ledger,
    calculated: AllocationRun.Calculated,
    a: EntityResult,
    b: EntityResult,
) -> list[str]:
    if a.evaluation_version == b.evaluation_version:
        return []
    evaluation_id = SelfEvaluation.id_for(
        a.entity, calculated.grant_year, calculated.tier
    )
    low, high = sorted((a.evaluation_version, b.evaluation_version))
    named = []
    for event in ledger.history(evaluation_id):
        if low < event.originator_version <= high:
            reason = getattr(event, "reason", None)
            actor = getattr(event, "actor", None)
            named.append(
                f"{type(event).__name__} v{event.originator_version} by {actor}"
                + (f" ({reason})" if reason else "")
            )
    return named


def diff(
    ledger: Ledger, a_run: AllocationRun.Calculated, b_run: AllocationRun.Calculated
) -> list[dict[str, Any]]:
    """Per entity: score and yen change between two runs of one grant and tier.

    Raises:
        InvalidInput: the runs are of different grant years, grants or tiers.
    """
    if (a_run.grant_year, a_run.grant, a_run.tier) != (
        b_run.grant_year,
        b_run.grant,
        b_run.tier,
    ):
        msg = "diff compares two runs of the same grant year, grant and tier"
        raise InvalidInput(msg, field="RUN_B")
    formula = formula_for(b_run.rule)
    parameters = b_run.rule.allocation_parameters()
    before = {r.entity: r for r in a_run.results}
    rows = []
    for b in b_run.results:
        a = before.get(b.entity)
        if a is None:
            continue
        change = b.amount_yen - a.amount_yen
        if change == 0 and a.score == b.score:
            continue
        parts = formula.attribute(a, b, parameters)
        rows.append(
            {
                "entity": b.entity,
                "name": b.name,
                "score_a": a.score,
                "score_b": b.score,
                "amount_a_yen": a.amount_yen,
                "amount_b_yen": b.amount_yen,
                "change_yen": change,
                **parts,
                "own_events": "; ".join(_own_events(ledger, b_run, a, b)),
                "rule_changed": a_run.rule.id != b_run.rule.id
                or a_run.inputs.parameters_sha256 != b_run.inputs.parameters_sha256,
            }
        )
    return sorted(rows, key=lambda r: (-abs(r["change_yen"]), r["entity"]))
