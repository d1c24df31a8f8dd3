"""The `audit_trail` read model: every event that touched an entity, in ledger order.

One row per event and entity: a self-evaluation's events (its entity), an entity's
own (registry, insured counts, expenditure, required amounts), an insurer's (each
member concerned) and each calculated run (every entity it allocated to). The
event's own fields are the row's `details`, except `actor` and `reason`, which have
columns of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.entities import Entity, Insurer
from projections.context import own_fields
from projections.schema import Change, Column, Row, Table, row

if TYPE_CHECKING:
    from datetime import datetime

    from domain.allocation_run import AllocationRun
    from projections.context import Context, Recorded

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
OWN_COLUMNS = ("actor", "reason")
"""Event fields the audit trail shows in their own columns, not in `details`."""


@row
class TrailRow(Row):
    """One event as it touched one entity."""

    table = AUDIT_TRAIL
    position: int
    entity: str
    grant_year: int | None
    recorded_at: datetime
    event: str
    actor: str | None
    reason: str | None
    details: dict[str, Any]


def event_name(kind: type) -> str:
    """The `event` column of an event class, e.g. SelfEvaluation.Corrected."""
    return kind.__qualname__


def _trail(
    position: int,
    entity: str,
    grant_year: int | None,
    recorded_at: datetime,
    kind: type,
    fields: dict[str, Any],
) -> TrailRow:
    details = dict(fields)
    return TrailRow(
        position=position,
        entity=entity,
        grant_year=grant_year,
        recorded_at=recorded_at,
        event=event_name(kind),
        actor=details.pop("actor", None),
        reason=details.pop("reason", None),
        details=details,
    )


def answered(facts: Recorded, position: int, context: Context) -> list[Change]:
    """A self-evaluation's event, on its entity's trail for its grant year."""
    evaluation = context.evaluation(facts.originator_id)
    return [
        _trail(
            position,
            evaluation.lg_code,
            evaluation.grant_year,
            facts.timestamp,
            facts.kind,
            facts.details,
        )
    ]


def entity_event(event: Entity.Event, position: int, context: Context) -> list[Change]:
    """An entity's own event, on its trail (the year it concerns, if any)."""
    return [
        _trail(
            position,
            context.entity(event.originator_id),
            _year_of(event),
            event.timestamp,
            type(event),
            own_fields(event),
        )
    ]


def insurer_event(
    event: Insurer.Event, position: int, _context: Context
) -> list[Change]:
    """An insurer's event, on the trail of each member municipality it concerns."""
    match event:
        case Insurer.Registered():
            members = [m.lg_code for m in event.details.members]
        case Insurer.MembershipEnded():
            members = [event.lg_code]
        case _:
            members = []
    fields = own_fields(event)
    return [
        _trail(position, code, None, event.timestamp, type(event), fields)
        for code in members
    ]


def calculated(
    run: AllocationRun.Calculated, position: int, _context: Context
) -> list[Change]:
    """A calculated run, on the trail of every entity it allocated to."""
    return [
        _trail(
            position,
            result.entity,
            run.grant_year,
            run.timestamp,
            type(run),
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
        for result in run.results
    ]


def _year_of(event: Entity.Event) -> int | None:
    match event:
        case Entity.InsuredCountRecorded():
            return int(event.insured.fiscal_year)
        case Entity.ExpenditureRecorded():
            return int(event.expenditure.fiscal_year)
        case Entity.RequiredAmountDeclared():
            return int(event.required.grant_year)
        case _:
            return None
