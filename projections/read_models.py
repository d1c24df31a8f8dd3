"""Read models: what each ledger event changes in the tables downstream readers query.

Pure: an event and its ledger position in, row changes out. The adapters apply the
changes of a whole batch of events, and the view's tracking position, in one
transaction (adapters/storage/read_store.py), so every event is projected exactly once.
The same function serves the incremental path and a rebuild from position 0,
which is why the two produce identical tables.

Tables (version 1; a new version gets new table names and is built beside the old):

* `allocations`: the run in force per (grant year, grant, tier, phase, entity);
* `audit_trail`: every event that touched an entity, in ledger order;
* `submission_status`: per (grant year, tier, entity): how far its answers got.

Over 300 lines (STYLE): the four read models and how each event changes them,
in one module so the live, fold and database builds share one definition (issue 14
splits it into a module per read model with typed rows).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from domain.base import LedgerAggregate
from domain.catalogue import CHECKED, UNCHECKED, Answer, Catalogue, CatalogueSpec
from domain.entities import Entity, Insurer
from domain.runs import AllocationRun
from domain.self_evaluation import SelfEvaluation
from projections.scores import score_changes, tables

VERSION = 1


@dataclass(frozen=True)
class Column:
    """A read-model column (`kind`: text, integer, boolean, timestamp or json)."""

    name: str
    kind: str
    description: str


@dataclass(frozen=True)
class Table:
    """A read-model table: its columns and primary key."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    derived: tuple[tuple[Column, str], ...] = ()
    """Columns the read view computes (column, SQL expression), e.g. ranks."""
    indexes: tuple[tuple[str, ...], ...] = ()
    """Secondary indexes (column lists) for the queries readers make."""
    key_index: tuple[str, ...] = ()
    """The key's columns in the order its unique index has them, if not the key's:
    the most distinct first, which halves the time to index a bulk load."""


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

AUDIT_TRAIL = Table(
    "audit_trail",
    "Every event that touched an entity, in ledger order "
    "(one row per event and entity).",
    (
        Column("position", "integer", "ledger position (notification id)"),
        Column("entity", "text", "LG code"),
        Column("grant_year", "integer", "交付年度 (null for registry events)"),
        Column("recorded_at", "timestamp", "when the event was recorded (UTC)"),
        Column("event", "text", "event type, e.g. SelfEvaluation.Corrected"),
        Column("actor", "text", "who issued the command"),
        Column("reason", "text", "reason given, where there is one"),
        Column(
            "details", "json", "the event's own fields as JSON (before/after values)"
        ),
    ),
    ("position", "entity"),
    indexes=(("entity", "grant_year", "position"),),
)

SUBMISSION_STATUS = Table(
    "submission_status",
    "How far each entity's answers got, per (grant year, tier, entity).",
    (
        Column("grant_year", "integer", "交付年度"),
        Column("tier", "text", "municipal or prefectural"),
        Column("entity", "text", "LG code"),
        Column("prefecture_code", "text", "2-digit prefecture code"),
        Column("status", "text", "opened, submitted, revised, confirmed, corrected"),
        Column("submitted", "boolean", "answers submitted by the entity"),
        Column("revisions", "integer", "revisions inside the window"),
        Column("confirmations", "integer", "prefecture confirmations"),
        Column("corrections", "integer", "ministry corrections"),
        Column("ministry_imports", "integer", "ministry-computed value imports"),
        Column("last_position", "integer", "ledger position of the latest event"),
        Column("last_recorded_at", "timestamp", "when the latest event was recorded"),
    ),
    ("grant_year", "tier", "entity"),
)

RUN_PUBLICATIONS = Table(
    "run_publications",
    "The allocation runs the ministry has published (公表), one row per run: join "
    "on run_id to show readers published amounts only.",
    (
        Column("run_id", "text", "the published run"),
        Column("grant_year", "integer", "交付年度"),
        Column("grant", "text", "promotion or effort_support"),
        Column("tier", "text", "municipal or prefectural"),
        Column("phase", "text", "the run's phase"),
        Column("published_on", "text", "date of publication (ISO 8601)"),
        Column("actor", "text", "who published it"),
        Column("position", "integer", "ledger position of the publication"),
    ),
    ("run_id",),
)

ITEM_SCORES, SCORES = tables(Column, Table)
TABLES = (
    ALLOCATIONS,
    AUDIT_TRAIL,
    SUBMISSION_STATUS,
    ITEM_SCORES,
    SCORES,
    RUN_PUBLICATIONS,
)
COUNTERS = ("revisions", "confirmations", "corrections", "ministry_imports")
_NO_COUNTS = dict.fromkeys(COUNTERS, 0)


class Upsert(NamedTuple):
    """Insert a row, or update it by key; `add` columns are added to, not replaced.

    (Named tuples: a rebuild makes millions of these.)
    """

    table: str
    row: Mapping[str, object]
    add: tuple[str, ...] = ()


class Delete(NamedTuple):
    """Delete the rows whose columns equal `where`."""

    table: str
    where: Mapping[str, object]


Change = Upsert | Delete


def _unknown(*key: Any) -> Any:
    msg = f"no creation event seen for {key}"
    raise LookupError(msg)


@dataclass(slots=True)
class Dirty:
    """What changed in a self-evaluation since the last flush."""

    spec: CatalogueSpec
    position: int
    """The ledger position of its latest answer event."""
    items: dict[str, int]
    """The sub-items changed, with the position of their latest change."""


@dataclass
class Context:
    """What the projection remembers between events.

    Filled from creation events as they pass; a runner that starts mid-stream
    gives lookups that read the same immutable facts from the ledger.
    """

    evaluations: dict[object, tuple[str, int, str, int]] = field(default_factory=dict)
    entities: dict[object, str] = field(default_factory=dict)
    answers: dict[object, dict[str, Answer]] = field(default_factory=dict)
    catalogues: dict[tuple[int, str, int], CatalogueSpec] = field(default_factory=dict)
    find_evaluation: Callable[[object], tuple[str, int, str, int]] = _unknown
    find_entity: Callable[[object], str] = _unknown
    find_answers: Callable[[object, int], dict[str, Answer]] = _unknown
    find_catalogue: Callable[[int, str, int], CatalogueSpec] = _unknown
    runs: dict[object, tuple[str, int, str, str, str]] = field(default_factory=dict)
    find_run: Callable[[object], tuple[str, int, str, str, str]] = _unknown
    rescore: dict[object, Dirty] = field(default_factory=dict)
    """Self-evaluations whose answers changed since the last `flush`."""

    def evaluation(self, aggregate_id: object) -> tuple[str, int, str, int]:
        """(LG code, grant year, tier, catalogue version) of a self-evaluation."""
        found = self.evaluations.get(aggregate_id)
        if found is None:
            found = self.evaluations[aggregate_id] = self.find_evaluation(aggregate_id)
        return found

    def current_answers(self, aggregate_id: object, version: int) -> dict[str, Answer]:
        """The answers of a self-evaluation as they stood at `version`."""
        if aggregate_id not in self.answers:
            self.answers[aggregate_id] = dict(self.find_answers(aggregate_id, version))
        return self.answers[aggregate_id]

    def catalogue(self, grant_year: int, tier: str, version: int) -> CatalogueSpec:
        """A catalogue version (immutable)."""
        key = (grant_year, tier, version)
        if key not in self.catalogues:
            self.catalogues[key] = self.find_catalogue(grant_year, tier, version)
        return self.catalogues[key]

    def run(self, aggregate_id: object) -> tuple[str, int, str, str, str]:
        """(run id, grant year, grant, tier, phase) of an allocation run."""
        found = self.runs.get(aggregate_id)
        if found is None:
            found = self.runs[aggregate_id] = self.find_run(aggregate_id)
        return found

    def entity(self, aggregate_id: object) -> str:
        """The LG code of an entity aggregate."""
        if aggregate_id not in self.entities:
            self.entities[aggregate_id] = self.find_entity(aggregate_id)
        return self.entities[aggregate_id]


def changes(
    event: LedgerAggregate.Event | Recorded, position: int, context: Context
) -> list[Change]:
    """The row changes one event makes (none for events no read model shows).

    Score totals are left to `flush`, called at the end of every batch.
    """
    match event:
        case Recorded():
            return _self_evaluation(event, position, context)
        case AllocationRun.Calculated():
            context.runs[event.originator_id] = (
                event.run_id,
                event.grant_year,
                event.grant,
                event.tier,
                event.phase,
            )
            return _allocation(event, position)
        case AllocationRun.Published():
            run_id, grant_year, grant, tier, phase = context.run(event.originator_id)
            row = {
                "run_id": run_id,
                "grant_year": grant_year,
                "grant": grant,
                "tier": tier,
                "phase": phase,
                "published_on": event.published_on.isoformat(),
                "actor": event.actor,
                "position": position,
            }
            return [Upsert("run_publications", row)]
        case SelfEvaluation.Event():
            return _self_evaluation(event, position, context)
        case Entity.Event() | Insurer.Event():
            return _registry(event, position, context)
        case Catalogue.Published():
            spec = event.spec
            context.catalogues[spec.grant_year, spec.tier, spec.version] = spec
            return []
        case _:
            return []


def _allocation(run: AllocationRun.Calculated, position: int) -> list[Change]:
    key = {
        "grant_year": run.grant_year,
        "grant": run.grant,
        "tier": run.tier,
        "phase": run.phase,
    }
    found: list[Change] = [Delete("allocations", key)]
    trail: list[Change] = []
    for result in run.results:
        found.append(
            Upsert(
                "allocations",
                key
                | {
                    "entity": result.entity,
                    "run_id": run.run_id,
                    "position": position,
                    "insurer_number": result.insurer_number,
                    "name": result.name,
                    "score": result.score,
                    "max_score": result.max_score,
                    "category1_insured": result.insured,
                    "size_band": result.size_band,
                    "eligible": result.eligible,
                    "amount_yen": result.amount_yen,
                    "draft_yen": result.draft_yen,
                    "rank_in_tier": result.rank_in_tier,
                    "rank_in_band": result.rank_in_band,
                    "adjustment_yen": result.adjustment_yen,
                    "hypothesis": run.hypothesis,
                },
            )
        )
        trail.append(
            _trail(
                position,
                result.entity,
                run.grant_year,
                run.timestamp,
                "AllocationRun.Calculated",
                {
                    "run_id": run.run_id,
                    "phase": run.phase,
                    "grant": run.grant,
                    "score": result.score,
                    "amount_yen": result.amount_yen,
                    "adjustment_yen": result.adjustment_yen,
                    "hypothesis": run.hypothesis,
                },
            )
        )
    return found + trail


_STATUS = {
    "Opened": "opened",
    "Submitted": "submitted",
    "Revised": "revised",
    "Confirmed": "confirmed",
    "Corrected": "corrected",
}
_COUNTED = {
    "Revised": "revisions",
    "Confirmed": "confirmations",
    "Corrected": "corrections",
    "MinistryValuesImported": "ministry_imports",
}
EVENT_META = (
    "originator_id",
    "originator_version",
    "timestamp",
    "originator_topic",
    "class_version",
)
"""Stored-event fields that are not the event's own (the audit trail's `details`)."""
OWN_COLUMNS = ("actor", "reason")
"""Event fields the audit trail shows in their own columns, not in `details`."""


class Recorded(NamedTuple):
    """A self-evaluation event as the read models need it: its stored JSON fields.

    The bulk of a ledger is self-evaluation events; reading them from the stored
    JSON (which is the event's `model_dump(mode="json")`, docs/ARCHITECTURE.md)
    instead of re-validating each into a pydantic model is what makes a rebuild
    fast. A decoded event gives the same facts (`recorded`), so both paths write
    the same rows.
    """

    name: str
    originator_id: object
    originator_version: int
    timestamp: datetime
    details: dict[str, Any]
    """The event's own fields as JSON values (no ids, version, time or topic)."""

    @classmethod
    def from_state(
        cls, name: str, originator_id: object, version: int, state: dict[str, Any]
    ) -> Recorded:
        """From a stored event's decoded JSON (current class version; taken over)."""
        stamp = state.pop("timestamp")
        for key in EVENT_META:
            state.pop(key, None)
        return cls(
            name,
            originator_id,
            version,
            datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp,
            state,
        )


def recorded(event: SelfEvaluation.Event) -> Recorded:
    """The facts of a decoded self-evaluation event."""
    return Recorded(
        type(event).__name__,
        event.originator_id,
        event.originator_version,
        event.timestamp,
        _fields(event),
    )


def _self_evaluation(
    event: SelfEvaluation.Event | Recorded, position: int, context: Context
) -> list[Change]:
    facts = event if isinstance(event, Recorded) else recorded(event)
    details, name = facts.details, facts.name
    if name == "Opened":
        context.evaluations[facts.originator_id] = (
            details["lg_code"],
            details["grant_year"],
            details["tier"],
            details["catalogue_version"],
        )
        context.answers[facts.originator_id] = {}
    lg_code, grant_year, tier, version = context.evaluation(facts.originator_id)
    row: dict[str, object] = {
        "grant_year": grant_year,
        "tier": tier,
        "entity": lg_code,
        "prefecture_code": lg_code[:2],
        "last_position": position,
        "last_recorded_at": facts.timestamp,
        **_NO_COUNTS,
    }
    if name in _STATUS:
        row["status"] = _STATUS[name]
    if name == "Opened":
        row["submitted"] = False
    if name == "Submitted":
        row["submitted"] = True
    if name in _COUNTED:
        row[_COUNTED[name]] = 1
    changed = _changed_answers(name, details)
    found: list[Change] = [
        Upsert("submission_status", row, add=COUNTERS),
        _trail(
            position,
            lg_code,
            grant_year,
            facts.timestamp,
            f"SelfEvaluation.{name}",
            details,
        ),
    ]
    if changed:
        answers = context.current_answers(
            facts.originator_id, facts.originator_version - 1
        )
        answers.update(changed)
        dirty = context.rescore.get(facts.originator_id)
        if dirty is None:
            spec = context.catalogue(grant_year, tier, version)
            dirty = context.rescore[facts.originator_id] = Dirty(spec, position, {})
        dirty.position = position
        dirty.items.update(dict.fromkeys(changed, position))
    return found


def status_change(
    key: tuple[str, int, str],
    events: Mapping[str, tuple[int, int]],
    recorded_at: datetime,
) -> Upsert:
    """The status row that a self-evaluation's events leave, from their summary.

    `events` gives, per event name, how many there were and the position of the
    last; `recorded_at` is when the last of all was recorded. The same row as
    folding the events' own changes (`changes`) one by one: the status of the
    latest event that sets one, submitted if a submission came after the opening,
    and the counts. (A rebuild on PostgreSQL summarises in the database.)
    """
    lg_code, grant_year, tier = key
    row: dict[str, object] = {
        "grant_year": grant_year,
        "tier": tier,
        "entity": lg_code,
        "prefecture_code": lg_code[:2],
        "last_position": max(last for _, last in events.values()),
        "last_recorded_at": recorded_at,
        **_NO_COUNTS,
    }
    statuses = [(events[n][1], s) for n, s in _STATUS.items() if n in events]
    if statuses:
        row["status"] = max(statuses)[1]
    opened, submitted = events.get("Opened"), events.get("Submitted")
    if opened or submitted:
        row["submitted"] = submitted is not None and (
            opened is None or submitted[1] > opened[1]
        )
    for name, counter in _COUNTED.items():
        if name in events:
            row[counter] = events[name][0]
    return Upsert("submission_status", row, add=COUNTERS)


def restore_answers(
    context: Context,
    aggregate_id: object,
    answers: Mapping[str, Sequence[Any]],
) -> None:
    """Give `flush` a self-evaluation's answers as they stand, to score.

    `answers`: per sub-item, its latest value as stored (JSON) and the position of
    the event that set it (a pair); what `changes` leaves after all its events.
    """
    _, grant_year, tier, version = context.evaluation(aggregate_id)
    context.answers[aggregate_id] = {
        item: _answer(value) for item, (value, _) in answers.items()
    }
    items = {item: at for item, (_, at) in answers.items()}
    if items:
        spec = context.catalogue(grant_year, tier, version)
        context.rescore[aggregate_id] = Dirty(spec, max(items.values()), items)


def flush(context: Context) -> list[Change]:
    """The item points and totals of the self-evaluations changed since the last flush.

    Points and totals depend only on the answers as they stand, so they are
    computed once per batch for each self-evaluation that changed, each row with
    the position of the latest event that changed it: the same rows whichever way
    the events were batched.
    """
    found: list[Change] = []
    for aggregate_id, dirty in context.rescore.items():
        lg_code, grant_year, tier, _ = context.evaluation(aggregate_id)
        answers = context.answers[aggregate_id]
        key = (lg_code, grant_year, tier)
        found += score_changes(dirty.spec, key, answers, dirty.items, dirty.position)
    context.rescore.clear()
    return found


def _answer(value: dict[str, Any]) -> Answer:
    checked = value.get("checked")
    if value.get("number") is None and checked is not None:
        return CHECKED if checked else UNCHECKED
    return Answer.model_validate(value)


def _changed_answers(name: str, details: dict[str, Any]) -> dict[str, Answer]:
    match name:
        case "Submitted":
            return {k: _answer(v) for k, v in details["answers"].items()}
        case "Revised" | "MinistryValuesImported":
            return {c["item"]: _answer(c["after"]) for c in details["changes"]}
        case "Corrected":
            change = details["change"]
            return {change["item"]: _answer(change["after"])}
        case _:
            return {}


def _registry(
    event: LedgerAggregate.Event, position: int, context: Context
) -> list[Change]:
    details = _fields(event)
    name = f"{type(event).__qualname__}"
    if isinstance(event, Entity.Registered):
        context.entities[event.originator_id] = event.lg_code
    if isinstance(event, Entity.Event):
        lg_code = context.entity(event.originator_id)
        return [
            _trail(position, lg_code, _year_of(event), event.timestamp, name, details)
        ]
    members = [m["lg_code"] for m in details.get("details", {}).get("members", [])]
    if isinstance(event, Insurer.MembershipEnded):
        members = [event.lg_code]
    return [
        _trail(position, code, None, event.timestamp, name, details) for code in members
    ]


def _year_of(event: LedgerAggregate.Event) -> int | None:
    for name in ("insured", "expenditure"):
        value = getattr(event, name, None)
        if value is not None:
            return int(value.fiscal_year)
    required = getattr(event, "required", None)
    return int(required.grant_year) if required is not None else None


def _fields(event: LedgerAggregate.Event) -> dict[str, Any]:
    return event.model_dump(
        mode="json",
        exclude={
            "originator_id",
            "originator_version",
            "timestamp",
            "originator_topic",
        },
    )


def _trail(
    position: int,
    entity: str,
    grant_year: int | None,
    recorded_at: datetime,
    name: str,
    details: dict[str, Any],
) -> Upsert:
    return Upsert(
        "audit_trail",
        {
            "position": position,
            "entity": entity,
            "grant_year": grant_year,
            "recorded_at": recorded_at,
            "event": name,
            "actor": details.pop("actor", None),
            "reason": details.pop("reason", None),
            "details": details,
        },
    )


def plain(value: object) -> object:
    """A value as stored: timestamps ISO 8601 text, everything else unchanged."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
