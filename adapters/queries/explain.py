"""The explanation query: how an entity's score and amount in a run came about.

Everything comes from the ledger: the run names the self-evaluation version it
scored, so the answers are read back at that version and scored again with the
same catalogue; each sub-item's points carry the event that set the answer (with
actor and reason); the share, the pool (band) budget, the rounding, the cap at
所要見込額 and the final amount come from the run's own record, told in words by
the rule's formula (`domain.formulas`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adapters.queries.rows import Row
from domain.errors import InvalidInput
from domain.formulas import formula_for
from domain.scoring import score
from domain.self_evaluation import SelfEvaluation

if TYPE_CHECKING:
    from domain.allocation_run import AllocationRun
    from domain.ledger import Ledger


@dataclass(frozen=True, slots=True)
class ExplainedItem:
    """A sub-item's answer and points, and the event that set the answer."""

    item: str
    answer: str | None
    points: int
    set_by: dict[str, Any] | None = None
    """event, version, recorded_at, actor, reason (and paper, if keyed in)."""

    def as_dict(self) -> dict[str, Any]:
        """The row: the setter's fields as `set_by_*` columns, where known."""
        row: dict[str, Any] = {
            "item": self.item,
            "answer": self.answer,
            "points": self.points,
        }
        if self.set_by is not None:
            row |= {f"set_by_{k}": v for k, v in self.set_by.items()}
        return row


@dataclass(frozen=True, slots=True)
class Explanation(Row):
    """One entity's line of a run, step by step (`kofu explain`, `/api/explain`)."""

    run_id: str
    phase: str
    grant: str
    tier: str
    rule: str
    rule_label: str
    hypothesis: bool
    entity: str
    name: str
    score: int
    max_score: int
    evaluation_version: int
    items: tuple[ExplainedItem, ...]
    caps: tuple[dict[str, Any], ...]
    category1_insured: int
    insured_as_of: str | None
    size_band: int | None
    band_entities: int
    band_insured: int
    eligible: bool
    eligibility_reason: str | None
    formula: str
    draft_yen: int
    required_yen: int | None
    capped_off_yen: int
    amount_yen: int
    decided_yen: int | None
    adjustment_yen: int | None
    adjustment: str | None

    def as_dict(self) -> dict[str, Any]:
        """One JSON-able object: items and caps as lists of flat rows."""
        found = Row.as_dict(self)
        found["items"] = [item.as_dict() for item in self.items]
        found["caps"] = list(self.caps)
        return found


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


def explain(
    ledger: Ledger, run: AllocationRun, entity: str, *, trail: bool = True
) -> Explanation:
    """The explanation of one entity's line of a run.

    `trail=False` (a reader): amounts and scores only, without the event, actor
    and reason that set each answer (the audit trail's facts).

    Raises:
        InvalidInput: the entity has no line in the run.
    """
    calculated = run.calculated
    result = next((r for r in calculated.results if r.entity == entity), None)
    if result is None:
        msg = f"{entity} is not in run {calculated.run_id}"
        raise InvalidInput(msg, field="entity")
    items: list[ExplainedItem] = []
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
            ExplainedItem(
                item=code,
                answer=answers[code].display() if code in answers else None,
                points=points,
                set_by=setters.get(code),
            )
            for code, points in sheet.items.items()
        ]
        caps = [c.model_dump() for c in sheet.caps]
    band = (
        [r for r in calculated.results if r.size_band == result.size_band]
        if result.size_band
        else []
    )
    return Explanation(
        run_id=calculated.run_id,
        phase=calculated.phase,
        grant=calculated.grant,
        tier=calculated.tier,
        rule=calculated.rule.id,
        rule_label=calculated.label,
        hypothesis=calculated.hypothesis,
        entity=entity,
        name=result.name,
        score=result.score,
        max_score=result.max_score,
        evaluation_version=result.evaluation_version,
        items=tuple(items),
        caps=tuple(caps),
        category1_insured=result.insured,
        insured_as_of=result.insured_as_of.isoformat()
        if result.insured_as_of
        else None,
        size_band=result.size_band,
        band_entities=len(band),
        band_insured=sum(r.insured for r in band),
        eligible=result.eligible,
        eligibility_reason=result.eligibility_reason,
        formula=formula_for(calculated.rule).explain(
            result, calculated.rule.allocation_parameters()
        ),
        draft_yen=result.draft_yen,
        required_yen=result.required_yen,
        capped_off_yen=result.capped_off_yen,
        amount_yen=result.amount_yen,
        decided_yen=result.decided_yen,
        adjustment_yen=result.adjustment_yen,
        adjustment=result.adjustment,
    )


def explanation(
    ledger: Ledger, run: AllocationRun, entity: str, *, trail: bool = True
) -> dict[str, Any]:
    """`explain` as one JSON-able object (what the outputs print and serve)."""
    return explain(ledger, run, entity, trail=trail).as_dict()
