"""Running a phase: read the inputs, score, determine eligibility, allocate, record.

`run_phase` computes every (grant, tier) of a grant year's programme for one phase
and records each as an `AllocationRun`, with the `PhaseRuns` it supersedes in, in
one transaction: no partial run is ever visible. The computation itself is the pure
functions of `domain.scoring`, `domain.allocation` and `domain.eligibility`; this
module only gathers their inputs from the ledger and writes down what they used.

Over 300 lines (STYLE): one use case, read-calculate-record, whose consistent
read (at one position) and recorded inputs must stay together to be replayable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

import orjson

from domain import __version__
from domain.allocation import (
    Allocation,
    CappedAllocation,
    Claim,
    Determination,
    EligibilityInput,
    allocate,
    cap_to_required,
    competition_ranks,
    determine_eligibility,
)
from domain.allocation_run import (
    Adjustment,
    AllocationRun,
    EntityResult,
    PhaseRuns,
    RunInputs,
    RunTotals,
    output_hash,
    previous_phase,
)
from domain.base import LedgerAggregate, actor_role
from domain.catalogue import CatalogueSeries
from domain.commands import AllocatePhase
from domain.entities import Entity, size_band
from domain.errors import InvalidInput, Refused
from domain.receipts import CommandReceipt
from domain.retry import StaleReadError
from domain.rule import Rule
from domain.scoring import score

if TYPE_CHECKING:
    from domain.catalogue import Catalogue
    from domain.ledger import Ledger
    from domain.programme import ProgrammeSpec
    from domain.rule import RuleSpec
    from domain.self_evaluation import SelfEvaluation

A = TypeVar("A", bound=LedgerAggregate)
TIERS = ("municipal", "prefectural")


@dataclass(frozen=True)
class Inputs:
    """What every (grant, tier) of one phase run reads from the ledger."""

    grant_year: int
    phase: str
    position: int
    programme: ProgrammeSpec
    entities: dict[str, Entity]
    insurer_of: dict[str, str]
    evaluations: dict[str, dict[str, SelfEvaluation]]
    ledger_sha256: str | None = None
    log_size: int | None = None
    log_root: str | None = None


@dataclass(frozen=True)
class TierRun:
    """One (grant, tier) of a phase: its rule, catalogue, budget and runs so far."""

    grant: str
    tier: str
    budget_yen: int
    rule: RuleSpec
    eligibility: RuleSpec | None
    catalogue: Catalogue
    phase_runs: PhaseRuns
    decided: dict[str, int] | None  # a settlement's decided amounts


def run_phase(
    ledger: Ledger,
    cmd: AllocatePhase,
    prefix_hash: Callable[[int], str | None] | None = None,
    reading: Callable[[int], None] | None = None,
    prefix_log: Callable[[int], tuple[int, str]] | None = None,
) -> list[AllocationRun]:
    """Score and allocate every budgeted (grant, tier) of a phase and record the runs.

    With an idempotency key, a repeat of the same allocation records nothing and
    returns the runs in force of the phase; the key's receipt is saved with the runs.
    `reading`, if given, is called with the position a read starts from, before
    the aggregates are read (tests use it to commit a change during the read).
    `prefix_hash` and `prefix_log` (the adapter's, which reads the database)
    give the chain hash, and the Merkle log's tree size and root (base64), of the
    ledger prefix up to the position read; the runs record them.

    Raises:
        InvalidInput: the year, phase, rule or catalogue is unknown.
        Refused: the phase precedes its predecessor, is final, or lacks inputs,
            or the key was used for another command.
    """
    grant_year, phase, actor = cmd.grant_year, cmd.phase, cmd.actor
    if actor_role(actor) != "ministry":
        msg = f"only ministry staff allocate, not {actor}"
        raise Refused(msg, field="actor")

    def attempt() -> list[AllocationRun]:
        receipt = ledger.receipt_for(cmd)
        if receipt is not None and not isinstance(receipt, CommandReceipt):
            return [
                ledger.run(str(p.current))
                for p in ledger.phase_runs(grant_year)
                if p.phase == phase and p.current
            ]
        recorded, phases = calculate_phase(
            ledger, grant_year, phase, actor, prefix_hash, reading, prefix_log
        )
        ledger.save(*recorded, *phases, *([receipt] if receipt else []))
        return recorded

    return ledger.retrying(attempt)


def calculate_phase(
    ledger: Ledger,
    grant_year: int,
    phase: str,
    actor: str,
    prefix_hash: Callable[[int], str | None] | None = None,
    reading: Callable[[int], None] | None = None,
    prefix_log: Callable[[int], tuple[int, str]] | None = None,
) -> tuple[list[AllocationRun], list[PhaseRuns]]:
    """The runs of a phase, calculated from the ledger at one position, not saved.

    Raises:
        StaleReadError: the programme, a rule, a catalogue or a phase's runs changed
            while they were read (`run_phase` reads again).
    """
    inputs, tier_runs = read_phase(ledger, grant_year, phase, reading)
    if prefix_hash is not None:
        inputs = replace(inputs, ledger_sha256=prefix_hash(inputs.position))
    if prefix_log is not None:
        log_size, log_root = prefix_log(inputs.position)
        inputs = replace(inputs, log_size=log_size, log_root=log_root)
    recorded: list[AllocationRun] = []
    phases: list[PhaseRuns] = []
    for tier_run in tier_runs:
        run = _calculate(inputs, tier_run, actor)
        tier_run.phase_runs.add(run.calculated.run_id, inputs.position, actor)
        recorded.append(run)
        phases.append(tier_run.phase_runs)
    return recorded, phases


def read_phase(
    ledger: Ledger,
    grant_year: int,
    phase: str,
    reading: Callable[[int], None] | None = None,
) -> tuple[Inputs, list[TierRun]]:
    """Everything a phase run reads, as the ledger stood at one position.

    The position is noted first (`reading`, if given, is then called with it), and
    the aggregates are read as they stand; the notifications after the position
    then name those that changed meanwhile. Entities, insurers and self-evaluations
    are rolled back to the position (dropped if created after it); the programme,
    rules, catalogues and phase runs are not rolled back: if one of them changed,
    the read is refused as stale. The run records the position, which is then
    exactly the ledger prefix it read: `kofu replay` reads the same state.

    Raises:
        StaleReadError: the programme, a rule, a catalogue or a phase's runs changed
            while they were read.
    """
    position = ledger.count_events()
    if reading is not None:
        reading(position)
    programme = ledger.programme(grant_year)
    spec = programme.spec
    if phase not in spec.schedule.phases:
        msg = f"FY{grant_year} has no {phase} phase in its schedule"
        raise InvalidInput(msg, field="phase")
    entities = [ledger.entity_aggregate(d.lg_code) for d in ledger.entities()]
    insurers = ledger.insurers()
    evaluations = [
        e for tier in TIERS for e in ledger.self_evaluations(grant_year, tier)
    ]
    unrolled = {programme.id}
    tier_runs = _tier_runs(ledger, grant_year, phase, spec, unrolled)
    changed = ledger.changed_since(position)
    stale = unrolled & changed.keys()
    if stale:
        msg = (
            f"{len(stale)} inputs of FY{grant_year} {phase} (programme, rules, "
            f"catalogues or phase runs) changed after position {position}"
        )
        raise StaleReadError(msg)
    day = spec.schedule.phases[phase]
    entity_of = {e.lg_code: e for e in _as_of(ledger, entities, changed)}
    insurer_of = {
        member: insurer.details.insurer_number
        for insurer in _as_of(ledger, insurers, changed)
        for member in insurer.members_on(day)
    }
    by_tier: dict[str, dict[str, SelfEvaluation]] = {tier: {} for tier in TIERS}
    for evaluation in _as_of(ledger, evaluations, changed):
        by_tier[evaluation.tier][evaluation.lg_code] = evaluation
    inputs = Inputs(grant_year, phase, position, spec, entity_of, insurer_of, by_tier)
    return inputs, tier_runs


def _as_of(
    ledger: Ledger, aggregates: Iterable[A], changed: Mapping[UUID, int]
) -> list[A]:
    """The aggregates as they stood before `changed` (those created since left out)."""
    return [
        found
        for found in (ledger.as_of(aggregate, changed) for aggregate in aggregates)
        if found is not None
    ]


def _tier_runs(
    ledger: Ledger,
    grant_year: int,
    phase: str,
    programme: ProgrammeSpec,
    read: set[UUID],
) -> list[TierRun]:
    """Every budgeted (grant, tier); adds the ids of the aggregates read to `read`."""
    found = []
    for grant, tiers in programme.budgets.items():
        for tier, budget in tiers.items():
            rule_id = programme.rules[grant][tier]
            eligibility_id = programme.eligibility.get(grant, {}).get(tier)
            rule = _rule(ledger, rule_id, grant_year)
            eligibility = (
                _rule(ledger, eligibility_id, grant_year) if eligibility_id else None
            )
            catalogue = ledger.catalogue(grant_year, tier)
            read |= {Rule.id_for(r) for r in (rule_id, eligibility_id) if r}
            read |= {CatalogueSeries.id_for(grant_year, tier), catalogue.id}
            phase_runs = _phase_runs(ledger, grant_year, phase, grant, tier, read)
            decided = _decided(ledger, grant_year, phase, grant, tier, read)
            found.append(
                TierRun(
                    grant,
                    tier,
                    budget,
                    rule,
                    eligibility,
                    catalogue,
                    phase_runs,
                    decided,
                )
            )
    return found


def _rule(ledger: Ledger, rule_id: str, grant_year: int) -> RuleSpec:
    rule = ledger.rule(rule_id)
    if grant_year < rule.valid_from or (rule.valid_to and grant_year > rule.valid_to):
        until = f" to FY{rule.valid_to}" if rule.valid_to else ""
        msg = (
            f"rule {rule_id} is valid from FY{rule.valid_from}{until}, "
            f"not FY{grant_year}"
        )
        raise Refused(msg, field="rules")
    return rule


def _phase_runs(
    ledger: Ledger, grant_year: int, phase: str, grant: str, tier: str, read: set[UUID]
) -> PhaseRuns:
    before = previous_phase(phase)
    if before is not None:
        earlier_id = PhaseRuns.id_for(grant_year, grant, tier, before)
        read.add(earlier_id)
        if ledger.get(earlier_id, PhaseRuns) is None:
            msg = (
                f"FY{grant_year} {grant} {tier}: the {before} phase has "
                f"no run yet; phases run in order"
            )
            raise Refused(msg, field="phase")
    phase_id = PhaseRuns.id_for(grant_year, grant, tier, phase)
    read.add(phase_id)
    found = ledger.get(phase_id, PhaseRuns)
    return found or PhaseRuns.open(grant_year, grant, tier, phase)


def _decided(
    ledger: Ledger, grant_year: int, phase: str, grant: str, tier: str, read: set[UUID]
) -> dict[str, int] | None:
    if phase != "settlement":
        return None
    decision_id = PhaseRuns.id_for(grant_year, grant, tier, "decision")
    read.add(decision_id)
    decision = ledger.get(decision_id, PhaseRuns)
    # Phases run in order, so a settlement always has a decision before it.
    assert decision is not None  # noqa: S101
    assert decision.current  # noqa: S101
    # A run's calculation never changes once recorded (only its publication).
    found = ledger.get(AllocationRun.id_for(decision.current), AllocationRun)
    assert found is not None  # noqa: S101
    return {r.entity: r.amount_yen for r in found.calculated.results}


def _members(inputs: Inputs, tier: str) -> list[Entity]:
    kind = "municipality" if tier == "municipal" else "prefecture"
    return [e for code, e in sorted(inputs.entities.items()) if e.kind == kind]


def _insured(inputs: Inputs, entity: Entity, year: int) -> tuple[int, date | None]:
    count = entity.insured.get(year)
    if count is not None:
        return count.count, count.as_of
    if entity.kind == "prefecture":
        # A prefecture's 第1号被保険者数 is its municipalities' total.
        parts = [
            m.insured[year]
            for m in inputs.entities.values()
            if m.kind == "municipality"
            and m.prefecture_code == entity.prefecture_code
            and year in m.insured
        ]
        if parts:
            return sum(p.count for p in parts), max(p.as_of for p in parts)
    msg = f"{entity.lg_code} ({entity.name}) has no 第1号被保険者数 for FY{year}"
    raise Refused(msg, field="category1_insured")


def _determinations(
    inputs: Inputs, run: TierRun, members: list[Entity]
) -> dict[str, Determination]:
    if run.eligibility is None:
        return {}
    offset = run.eligibility.eligibility_parameters().base_year_offset
    year, base = inputs.grant_year, inputs.grant_year + offset
    items = []
    for entity in members:
        spent, spent_before = entity.expenditure.get(year), entity.expenditure.get(base)
        if spent is None or spent_before is None:
            msg = (
                f"{entity.lg_code} ({entity.name}) lacks 事業費 for FY{base} or "
                f"FY{year}, which {run.eligibility.id} compares"
            )
            raise Refused(msg, field="expenditure")
        items.append(
            EligibilityInput(
                entity=entity.lg_code,
                year=year,
                base_year=base,
                spending_yen=spent.spending_yen,
                base_spending_yen=spent_before.spending_yen,
                elderly=_insured(inputs, entity, year)[0],
                base_elderly=_insured(inputs, entity, base)[0],
            )
        )
    return {d.entity: d for d in determine_eligibility(run.eligibility, items)}


def _claims(
    inputs: Inputs,
    run: TierRun,
    members: list[Entity],
    determinations: dict[str, Determination],
) -> tuple[list[Claim], dict[str, tuple[int, int, int, date | None]]]:
    spec = run.catalogue.spec
    evaluations = inputs.evaluations[run.tier]
    bands = inputs.programme.size_bands
    claims, facts = [], {}
    for entity in members:
        evaluation = evaluations.get(entity.lg_code)
        answers = {
            k: v
            for k, v in (evaluation.answers if evaluation else {}).items()
            if k in run.catalogue.items
        }
        sheet = score(spec, answers, run.grant)  # type: ignore[arg-type]
        insured, as_of = _insured(inputs, entity, inputs.grant_year)
        determination = determinations.get(entity.lg_code)
        required = entity.required.get((inputs.grant_year, run.grant))
        claims.append(
            Claim(
                entity=entity.lg_code,
                score=sheet.total,
                max_score=sheet.max_total,
                insured=insured,
                band=size_band(insured, bands),
                eligible=determination.eligible if determination else True,
                required_yen=required.required_yen
                if required and inputs.phase != "reference"
                else None,
            )
        )
        facts[entity.lg_code] = (
            sheet.total,
            sheet.max_total,
            evaluation.version if evaluation else 0,
            as_of,
        )
    return claims, facts


def _calculate(inputs: Inputs, run: TierRun, actor: str) -> AllocationRun:
    members = _members(inputs, run.tier)
    determinations = _determinations(inputs, run, members)
    claims, facts = _claims(inputs, run, members, determinations)
    bands = inputs.programme.size_bands
    draft = allocate(run.rule, run.budget_yen, claims, bands)
    capped = None
    if inputs.phase != "reference":
        capped = cap_to_required(
            draft, claims, run.rule.allocation_parameters().redistribute_capped
        )
    results = _results(
        inputs, run, members, claims, facts, draft, capped, determinations, run.decided
    )
    allocated = sum(r.amount_yen for r in results)
    phase_runs = run.phase_runs
    run_id = phase_runs.next_run_id()
    labels = [run.rule.label] + ([run.eligibility.label] if run.eligibility else [])
    return AllocationRun.record(
        run_id=run_id,
        grant_year=inputs.grant_year,
        grant=run.grant,
        tier=run.tier,
        phase=inputs.phase,
        sequence=len(phase_runs.runs) + 1,
        supersedes=phase_runs.current,
        hypothesis=run.rule.status == "hypothesis"
        or bool(run.eligibility and run.eligibility.status == "hypothesis"),
        label=" / ".join(labels),
        rule=run.rule,
        inputs=RunInputs(
            ledger_position=inputs.position,
            catalogue_version=run.catalogue.spec.version,
            rule_id=run.rule.id,
            rule_status=run.rule.status,
            parameters_sha256=_sha256(run.rule.parameters.model_dump(mode="json")),
            insured_sha256=_sha256(sorted((c.entity, c.insured) for c in claims)),
            insured_as_of=tuple(
                sorted({f[3] for f in facts.values() if f[3] is not None})
            ),
            budget_yen=run.budget_yen,
            size_bands=bands,
            eligibility_rule_id=run.eligibility.id if run.eligibility else None,
            ledger_sha256=inputs.ledger_sha256,
            log_size=inputs.log_size,
            log_root=inputs.log_root,
            code_version=f"kofu {__version__}",
        ),
        totals=(
            totals := RunTotals(
                allocated_yen=allocated,
                remainder_yen=run.budget_yen - allocated,
                capped_off_yen=capped.capped_off_yen if capped else 0,
                redistributed_yen=capped.redistributed_yen if capped else 0,
                adjustments_yen=sum(r.adjustment_yen or 0 for r in results),
            )
        ),
        results=tuple(results),
        determinations=tuple(determinations.values()),
        output_sha256=output_hash(
            tuple(results), totals, tuple(determinations.values())
        ),
        actor=actor,
    )


def _results(
    inputs: Inputs,
    run: TierRun,
    members: list[Entity],
    claims: list[Claim],
    facts: dict[str, tuple[int, int, int, date | None]],
    draft: Allocation,
    capped: CappedAllocation | None,
    determinations: dict[str, Determination],
    decided: dict[str, int] | None,
) -> list[EntityResult]:
    amounts = capped.amounts if capped else draft.amounts
    cut = {c.entity: c.capped_off_yen for c in capped.caps} if capped else {}
    shares = {s.entity: s for s in draft.shares}
    by_claim = {c.entity: c for c in claims}
    tier_ranks = competition_ranks({c.entity: c.score for c in claims})
    band_ranks: dict[str, int] = {}
    if run.tier == "municipal":
        for band in {c.band for c in claims}:
            band_ranks |= competition_ranks(
                {c.entity: c.score for c in claims if c.band == band}
            )
    results = []
    for entity in members:
        code = entity.lg_code
        total, max_total, version, as_of = facts[code]
        claim, share, determination = (
            by_claim[code],
            shares[code],
            determinations.get(code),
        )
        adjustment_yen, adjustment = _adjustment(inputs, decided, code, amounts[code])
        results.append(
            EntityResult(
                entity=code,
                name=entity.name,
                insurer_number=inputs.insurer_of.get(code),
                score=total,
                max_score=max_total,
                evaluation_version=version,
                insured=claim.insured,
                insured_as_of=as_of,
                size_band=claim.band if run.tier == "municipal" else None,
                eligible=claim.eligible,
                eligibility_reason=determination.reason if determination else None,
                share_numerator=share.numerator,
                share_denominator=share.denominator,
                pool_budget_yen=share.pool_budget_yen,
                draft_yen=draft.amounts[code],
                required_yen=claim.required_yen,
                capped_off_yen=cut.get(code, 0),
                amount_yen=amounts[code],
                rank_in_tier=tier_ranks[code],
                rank_in_band=band_ranks.get(code),
                decided_yen=decided.get(code) if decided is not None else None,
                adjustment_yen=adjustment_yen,
                adjustment=adjustment,
            )
        )
    return results


def _adjustment(
    inputs: Inputs, decided: dict[str, int] | None, code: str, amount: int
) -> tuple[int | None, Adjustment | None]:
    if decided is None:
        return None, None
    difference = amount - decided.get(code, 0)
    if difference == 0:
        return 0, None
    if inputs.programme.adjustment_policy == "settle_next_year":
        return difference, "settle_next_year"
    return difference, "additional" if difference > 0 else "refund"


def _sha256(content: object) -> str:
    data = orjson.dumps(content, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(data).hexdigest()
