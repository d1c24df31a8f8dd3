"""What the read models remember between events; the facts of self-evaluation events.

The read models turn one event at a time into rows; some rows need a fact an
earlier event recorded (a self-evaluation's entity and year, an entity's LG code,
a run's phase, a catalogue, the answers as they stand). The `Context` remembers
those facts as their creation events pass. A runner that starts mid-stream (a
restart, a follower) has not seen them: its context asks a `Source` (the ledger,
adapters/storage/projecting.py) for the same immutable facts.

Self-evaluation events, nine in ten of a ledger, reach the read models as their
stored JSON (`Recorded`), not as validated pydantic models: the speed of a rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from domain.allocation_run import AllocationRun
from domain.catalogue import Catalogue, CatalogueSpec
from domain.entities import Entity
from domain.self_evaluation import SelfEvaluation

if TYPE_CHECKING:
    from collections.abc import Callable

    from domain.base import LedgerAggregate
    from domain.catalogue import Answer


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Who a self-evaluation is of, for which year and tier, on which catalogue."""

    lg_code: str
    grant_year: int
    tier: str
    catalogue_version: int


@dataclass(frozen=True, slots=True)
class RunKey:
    """What an allocation run is a run of."""

    run_id: str
    grant_year: int
    grant: str
    tier: str
    phase: str


EVENT_META = (
    "originator_id",
    "originator_version",
    "timestamp",
    "originator_topic",
    "class_version",
)
"""Stored-event fields that are not the event's own."""


_NOT_OWN = set(EVENT_META)


def own_fields(event: LedgerAggregate.Event) -> dict[str, Any]:
    """An event's own fields as JSON values (no id, version, time or topic)."""
    return event.model_dump(mode="json", exclude=_NOT_OWN)


class Recorded(NamedTuple):
    """A self-evaluation event as the read models need it: its stored JSON fields.

    Reading a self-evaluation event from its stored JSON (which is the event's
    `model_dump(mode="json")`, docs/ARCHITECTURE.md) instead of re-validating it
    into a pydantic model is what makes a rebuild fast. A decoded event gives the
    same facts (`recorded`), so both paths write the same rows. (A named tuple: a
    rebuild makes one per event.)
    """

    kind: type[SelfEvaluation.Event]
    """The event's class: what the read models match on."""
    originator_id: object
    originator_version: int
    timestamp: datetime
    details: dict[str, Any]
    """The event's own fields as JSON values (no ids, version, time or topic)."""

    @classmethod
    def from_state(
        cls,
        kind: type[SelfEvaluation.Event],
        originator_id: object,
        version: int,
        state: dict[str, Any],
    ) -> Recorded:
        """From a stored event's decoded JSON (current class version; taken over)."""
        stamp = state.pop("timestamp")
        for key in EVENT_META:
            state.pop(key, None)
        return cls(
            kind,
            originator_id,
            version,
            datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp,
            state,
        )


def recorded(event: SelfEvaluation.Event) -> Recorded:
    """The facts of a decoded self-evaluation event."""
    return Recorded(
        type(event),
        event.originator_id,
        event.originator_version,
        event.timestamp,
        own_fields(event),
    )


@dataclass(slots=True)
class Dirty:
    """What changed in a self-evaluation's answers since the scores' last flush."""

    spec: CatalogueSpec
    position: int
    """The ledger position of its latest answer event."""
    items: dict[str, int]
    """The sub-items changed, with the position of their latest change."""


class Source(Protocol):
    """Where a context looks up the facts of creation events it has not seen."""

    def evaluation(self, aggregate_id: object) -> Evaluation:
        """A self-evaluation's `Evaluation`."""
        ...

    def entity(self, aggregate_id: object) -> str:
        """An entity aggregate's LG code."""
        ...

    def answers(self, aggregate_id: object, version: int) -> dict[str, Answer]:
        """A self-evaluation's answers as they stood at `version`."""
        ...

    def catalogue(self, grant_year: int, tier: str, version: int) -> CatalogueSpec:
        """A catalogue version (immutable)."""
        ...

    def run(self, aggregate_id: object) -> RunKey:
        """An allocation run's `RunKey`."""
        ...


class Unseen:
    """The source of a context that starts at position 0: everything was seen."""

    def _unseen(self, *key: object) -> Any:
        msg = f"no creation event seen for {key}"
        raise LookupError(msg)

    evaluation = entity = answers = catalogue = run = _unseen


@dataclass
class Context:
    """What the read models remember between events (filled as creation events pass)."""

    source: Source = field(default_factory=Unseen)
    evaluations: dict[object, Evaluation] = field(default_factory=dict)
    entities: dict[object, str] = field(default_factory=dict)
    answers: dict[object, dict[str, Answer]] = field(default_factory=dict)
    catalogues: dict[tuple[int, str, int], CatalogueSpec] = field(default_factory=dict)
    runs: dict[object, RunKey] = field(default_factory=dict)
    rescore: dict[object, Dirty] = field(default_factory=dict)
    """Self-evaluations whose answers changed since the scores' last `flush`."""
    _last_id: object = field(default_factory=object, repr=False)
    _last: Evaluation = field(init=False, repr=False)

    def evaluation(self, aggregate_id: object) -> Evaluation:
        """Who, which year and tier, which catalogue: of a self-evaluation."""
        if aggregate_id is self._last_id:  # an event's read models ask in turn
            return self._last
        found = self.evaluations.get(aggregate_id)
        if found is None:
            found = self.evaluations[aggregate_id] = self.source.evaluation(
                aggregate_id
            )
        self._last_id, self._last = aggregate_id, found
        return found

    def current_answers(self, aggregate_id: object, version: int) -> dict[str, Answer]:
        """The answers of a self-evaluation as they stood at `version`."""
        if aggregate_id not in self.answers:
            self.answers[aggregate_id] = dict(
                self.source.answers(aggregate_id, version)
            )
        return self.answers[aggregate_id]

    def catalogue(self, grant_year: int, tier: str, version: int) -> CatalogueSpec:
        """A catalogue version (immutable)."""
        key = (grant_year, tier, version)
        if key not in self.catalogues:
            self.catalogues[key] = self.source.catalogue(grant_year, tier, version)
        return self.catalogues[key]

    def run(self, aggregate_id: object) -> RunKey:
        """What an allocation run is a run of."""
        found = self.runs.get(aggregate_id)
        if found is None:
            found = self.runs[aggregate_id] = self.source.run(aggregate_id)
        return found

    def entity(self, aggregate_id: object) -> str:
        """The LG code of an entity aggregate."""
        if aggregate_id not in self.entities:
            self.entities[aggregate_id] = self.source.entity(aggregate_id)
        return self.entities[aggregate_id]

    def remember(self, kind: type, subject: LedgerAggregate.Event | Recorded) -> None:
        """Note the facts a creation event of class `kind` records (others: none)."""
        note = _REMEMBERED.get(kind)
        if note is not None:
            note(self, subject)


def _opened(context: Context, facts: Recorded) -> None:
    details = facts.details
    context.evaluations[facts.originator_id] = Evaluation(
        details["lg_code"],
        details["grant_year"],
        details["tier"],
        details["catalogue_version"],
    )
    context.answers[facts.originator_id] = {}


def _registered(context: Context, event: Entity.Registered) -> None:
    context.entities[event.originator_id] = event.lg_code


def _calculated(context: Context, run: AllocationRun.Calculated) -> None:
    context.runs[run.originator_id] = RunKey(
        run.run_id, run.grant_year, run.grant, run.tier, run.phase
    )


def _published(context: Context, event: Catalogue.Published) -> None:
    spec = event.spec
    context.catalogues[spec.grant_year, spec.tier, spec.version] = spec


_REMEMBERED: dict[type, Callable[[Context, Any], None]] = {
    SelfEvaluation.Opened: _opened,
    Entity.Registered: _registered,
    AllocationRun.Calculated: _calculated,
    Catalogue.Published: _published,
}
"""The creation events whose facts a context keeps, by class."""
REMEMBERED = tuple(_REMEMBERED)
