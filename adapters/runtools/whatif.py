"""`kofu what-if RUN`: a recorded run recomputed under another assumption.

Nothing is written.

The ledger prefix is copied into an in-memory ledger (as for `kofu replay`), the
assumption is applied there, and the phase is calculated with the allocate code:

* `without`: a correction (by its ledger position) is undone by a compensating
  correction that restores the value it replaced;
* `rule`: the programme year names another rule version for the run's grant and tier
  (a rule outside its valid years only with `counterfactual`: its twin
  `RuleSpec.counterfactual_for` is applied, labelled 【反実仮想 COUNTERFACTUAL】);
* `at`: the prefix ends at another position (later facts, or earlier ones).

The result has the form of a real run, with the diff against the recorded one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.runtools.diff import diff
from adapters.runtools.replay import prefix_ledger
from domain.commands import PublishRules
from domain.errors import InvalidInput
from domain.phase_run import calculate_phase
from domain.self_evaluation import SelfEvaluation

if TYPE_CHECKING:
    from domain.allocation_run import AllocationRun
    from domain.ledger import Ledger

WHAT_IF = "system:what-if"


def what_if(
    ledger: Ledger,
    run: AllocationRun,
    *,
    without: int | None = None,
    rule: str | None = None,
    at: int | None = None,
    counterfactual: bool = False,
) -> tuple[AllocationRun.Calculated, list[dict[str, Any]]]:
    """The run recomputed under the assumptions, and its diff against the record.

    Raises:
        InvalidInput: the position is not a correction, the rule is unknown, or it
            is not valid in the run's year and `counterfactual` was not asked.
    """
    recorded = run.calculated
    copy, _, _ = prefix_ledger(ledger, at or recorded.inputs.ledger_position)
    try:
        if without is not None:
            _undo(ledger, copy, without)
        if rule is not None:
            _use_rule(ledger, copy, recorded, rule, counterfactual=counterfactual)
        runs, _ = calculate_phase(copy, recorded.grant_year, recorded.phase, WHAT_IF)
        again = next(
            r.calculated
            for r in runs
            if (r.calculated.grant, r.calculated.tier)
            == (recorded.grant, recorded.tier)
        )
        # Named from the copy: the what-if's own compensating correction included.
        return again, diff(copy, recorded, again)
    finally:
        copy.close()


def _undo(ledger: Ledger, copy: Ledger, position: int) -> None:
    notes = ledger.recorder.select_notifications(start=position, limit=1)
    event = ledger.mapper.to_domain_event(notes[0]) if notes else None
    if (
        not notes
        or notes[0].id != position
        or not isinstance(event, SelfEvaluation.Corrected)
    ):
        msg = f"position {position} is not a correction"
        raise InvalidInput(msg, field="--without-correction")
    before = event.change.before
    if before is None:
        msg = f"the correction at {position} answered an item that had no answer"
        raise InvalidInput(msg, field="--without-correction")
    evaluation = copy.get(event.originator_id, SelfEvaluation)
    if evaluation is None:
        msg = f"the correction at {position} is after the run's ledger position"
        raise InvalidInput(msg, field="--without-correction")
    if evaluation.answers.get(event.change.item) != before:
        evaluation.correct(
            event.change.item,
            before,
            f"what-if: without the correction at position {position}",
            "what-if",
            WHAT_IF,
            event.received_on,
        )
        copy.save(evaluation)


def _use_rule(
    ledger: Ledger,
    copy: Ledger,
    recorded: AllocationRun.Calculated,
    rule: str,
    *,
    counterfactual: bool,
) -> None:
    spec = ledger.rule(rule)
    year = recorded.grant_year
    if not spec.in_force(year):
        if not counterfactual:
            until = f"FY{spec.valid_to}" if spec.valid_to else ""
            msg = (
                f"rule {rule} is valid FY{spec.valid_from}–{until}, not FY{year}; "
                f"add --counterfactual to apply it to FY{year} anyway (the result "
                "is labelled a counterfactual)"
            )
            raise InvalidInput(msg, field="--rule")
        spec = spec.counterfactual_for(year)
    copy.publish_rules(PublishRules(rules=(spec,), actor=WHAT_IF))
    programme = copy.programme(year)
    rules = {g: dict(t) for g, t in programme.spec.rules.items()}
    rules[recorded.grant][recorded.tier] = spec.id
    changed = programme.spec.model_copy(update={"rules": rules})
    programme.amend(changed, f"what-if: {spec.id}", WHAT_IF)
    copy.save(programme)
