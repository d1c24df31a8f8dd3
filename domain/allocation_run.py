"""Allocation runs (交付額の算定): one recorded run per (year, grant, tier, phase, n).

A run records everything needed to recompute it without code archaeology: the
ledger position it read, the catalogue version, the rule (whole) and a hash of its
parameters, a hash of the insured counts with their as-of dates, and per entity the
score, the self-evaluation version it was computed from, band, eligibility (with the
determination's inputs), the share and the amount. A later run of the same phase
supersedes the earlier one without erasing it (`PhaseRuns`). After the decision
(交付決定), no amount changes: the settlement run records an adjustment per entity.

Over 300 lines (STYLE): the run and phase aggregates with the values their
receipts hash; the hashed content is kept in one place so that it cannot drift.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from uuid import UUID

import orjson

from domain.allocation import Determination
from domain.base import (
    FiscalYear,
    Grant,
    LedgerAggregate,
    Tier,
    Value,
    actor_role,
    stable_id,
)
from domain.errors import Refused
from domain.programme import PHASES, Phase
from domain.rule import RuleSpec

Adjustment = Literal["refund", "additional", "settle_next_year"]


class EntityResult(Value):
    """One entity's line of a run: what it scored, why, and what it gets."""

    entity: str
    name: str
    insurer_number: str | None
    score: int
    max_score: int
    evaluation_version: int
    """Version of the self-evaluation scored (0: the entity never answered)."""
    insured: int
    insured_as_of: date | None
    size_band: int | None
    eligible: bool
    eligibility_reason: str | None = None
    share_numerator: int
    share_denominator: int
    pool_budget_yen: int
    draft_yen: int
    required_yen: int | None = None
    capped_off_yen: int = 0
    amount_yen: int
    rank_in_tier: int
    rank_in_band: int | None = None
    decided_yen: int | None = None
    adjustment_yen: int | None = None
    adjustment: Adjustment | None = None


class RunInputs(Value):
    """The fingerprint of what a run read."""

    ledger_position: int
    catalogue_version: int
    rule_id: str
    rule_status: str
    parameters_sha256: str
    insured_sha256: str
    insured_as_of: tuple[date, ...]
    budget_yen: int
    size_bands: tuple[int, ...]
    eligibility_rule_id: str | None = None
    ledger_sha256: str | None = None
    """The tamper-evidence chain hash at `ledger_position`: the prefix read."""
    code_version: str = ""
    log_size: int | None = None
    """The Merkle log's tree size at `ledger_position`: its events up to it.

    The writer signs a checkpoint at exactly this size when it records the run;
    runs recorded before (class version 1) have none."""
    log_root: str | None = None
    """That tree's root hash (standard base64, as in the signed checkpoint)."""


class RunTotals(Value):
    """Totals of a run; allocated + remainder = budget, always."""

    allocated_yen: int
    remainder_yen: int
    capped_off_yen: int
    redistributed_yen: int
    adjustments_yen: int = 0


def output_hash(
    results: tuple[EntityResult, ...],
    totals: RunTotals,
    determinations: tuple[Determination, ...],
) -> str:
    """The hash of a run's canonical output (what a replay must reproduce)."""
    content = {
        "results": [r.model_dump(mode="json") for r in results],
        "totals": totals.model_dump(mode="json"),
        "determinations": [d.model_dump(mode="json") for d in determinations],
    }
    return hashlib.sha256(
        orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


def run_id_for(
    grant_year: int, grant: str, tier: str, phase: str, sequence: int
) -> str:
    """A run's readable id, e.g. `FY2020-promotion-municipal-expected-1`."""
    return f"FY{grant_year}-{grant}-{tier}-{phase}-{sequence}"


class AllocationRun(LedgerAggregate):
    """One recorded calculation of a phase."""

    TOPIC = "kofu.AllocationRun"

    class Event(LedgerAggregate.Event):
        """Base of this aggregate's events."""

    class Calculated(Event, LedgerAggregate.Created):
        """Scores and amounts of a phase were calculated and recorded."""

        TOPIC: ClassVar[str] = "kofu.AllocationRun.Calculated"
        class_version: ClassVar[int] = 2
        run_id: str
        grant_year: FiscalYear
        grant: Grant
        tier: Tier
        phase: Phase
        sequence: int
        supersedes: str | None
        hypothesis: bool
        label: str
        rule: RuleSpec
        inputs: RunInputs
        totals: RunTotals
        results: tuple[EntityResult, ...]
        determinations: tuple[Determination, ...] = ()
        output_sha256: str = ""
        """SHA-256 of the canonical results, totals and determinations."""
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 2 names the Merkle log's tree read; older runs named none."""
            state["inputs"] = {
                **state["inputs"],
                "log_size": None,
                "log_root": None,
            }

    # The alias stops the library from deriving another creation event class.
    Created = Calculated  # type: ignore[assignment]

    class Published(Event):
        """The ministry published this run: readers may now see it (公表)."""

        TOPIC: ClassVar[str] = "kofu.AllocationRun.Published"
        actor: str
        published_on: date

    if (
        TYPE_CHECKING
    ):  # state, set by `when` (annotations here would make it an init arg)
        calculated: AllocationRun.Calculated
        published: AllocationRun.Published | None

    @staticmethod
    def id_for(run_id: str) -> UUID:
        """The aggregate id of a run."""
        return stable_id("run", run_id)

    @classmethod
    def record(cls, **fields: object) -> AllocationRun:
        """Record a calculated run."""
        return cls._create(
            cls.Calculated, id=cls.id_for(str(fields["run_id"])), **fields
        )

    def publish(self, actor: str, on: date) -> bool:
        """Publish the run (only ministry staff); False if it already was.

        Raises:
            Refused: the actor is not ministry staff.
        """
        if actor_role(actor) != "ministry":
            msg = f"only ministry staff publish allocation runs, not {actor}"
            raise Refused(msg, field="actor")
        if self.published is not None:
            return False
        self.trigger_event(self.Published, actor=actor, published_on=on)
        return True

    def when(self, event: LedgerAggregate.Event) -> None:
        """Apply an event."""
        match event:
            case AllocationRun.Calculated():
                self.calculated = event
                self.published = None
            case AllocationRun.Published():
                self.published = event
            case _:  # pragma: no cover
                raise NotImplementedError(type(event))


class PhaseRuns(LedgerAggregate):
    """The runs of one (grant year, grant, tier, phase); the newest is current."""

    TOPIC = "kofu.PhaseRuns"

    class Event(LedgerAggregate.Event):
        """Base of this aggregate's events."""

    class Opened(Event, LedgerAggregate.Created):
        """The first run of this phase was recorded."""

        TOPIC: ClassVar[str] = "kofu.PhaseRuns.Opened"
        grant_year: FiscalYear
        grant: Grant
        tier: Tier
        phase: Phase

    # The alias stops the library from deriving another creation event class.
    Created = Opened  # type: ignore[assignment]

    class RunAdded(Event):
        """A run of this phase was recorded; it supersedes the earlier ones."""

        TOPIC: ClassVar[str] = "kofu.PhaseRuns.RunAdded"
        run_id: str
        ledger_position: int
        actor: str

    if (
        TYPE_CHECKING
    ):  # state, set by `when` (annotations here would make it an init arg)
        grant_year: int
        grant: str
        tier: str
        phase: str
        runs: list[str]

    @staticmethod
    def id_for(grant_year: int, grant: str, tier: str, phase: str) -> UUID:
        """The aggregate id of a phase."""
        return stable_id("phase", grant_year, grant, tier, phase)

    @classmethod
    def open(cls, grant_year: int, grant: str, tier: str, phase: str) -> PhaseRuns:
        """Open a phase (saved with its first run)."""
        return cls._create(
            cls.Opened,
            id=cls.id_for(grant_year, grant, tier, phase),
            grant_year=grant_year,
            grant=grant,
            tier=tier,
            phase=phase,
        )

    @property
    def current(self) -> str | None:
        """The run in force (the newest)."""
        return self.runs[-1] if self.runs else None

    @property
    def final(self) -> bool:
        """Whether a run of this phase binds (交付決定 and 精算 are made once)."""
        return self.phase in {"decision", "settlement"} and bool(self.runs)

    def next_run_id(self) -> str:
        """The id the next run of this phase gets.

        Raises:
            Refused: the phase is final; corrections now lead to adjustments.
        """
        if self.final:
            msg = (
                f"FY{self.grant_year} {self.grant} {self.tier} {self.phase} is already "
                f"recorded ({self.current}) and is final; corrections after the "
                "decision lead to adjustments in the settlement, never to a new amount"
            )
            raise Refused(msg, field="phase")
        return run_id_for(
            self.grant_year, self.grant, self.tier, self.phase, len(self.runs) + 1
        )

    def add(self, run_id: str, ledger_position: int, actor: str) -> None:
        """Record that a run of this phase was made."""
        self.trigger_event(
            self.RunAdded, run_id=run_id, ledger_position=ledger_position, actor=actor
        )

    def when(self, event: LedgerAggregate.Event) -> None:
        """Apply an event."""
        match event:
            case PhaseRuns.Opened():
                self.grant_year = event.grant_year
                self.grant = event.grant
                self.tier = event.tier
                self.phase = event.phase
                self.runs = []
            case PhaseRuns.RunAdded():
                self.runs.append(event.run_id)
            case _:  # pragma: no cover
                raise NotImplementedError(type(event))


def previous_phase(phase: str) -> str | None:
    """The phase before this one in the cycle (None for the first)."""
    index = PHASES.index(phase)
    return PHASES[index - 1] if index else None
