"""The `submission_status` read model: how far each entity's answers got.

One row per (grant year, tier, entity), changed by every event of its
self-evaluation: the status the latest event that sets one gave it, whether the
entity submitted, how many revisions, confirmations, corrections and ministry
imports it had, and its latest event. The live path counts event by event
(`changed`); a rebuild on PostgreSQL counts in the database and gives the same row
from the summary (`summary`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.self_evaluation import SelfEvaluation
from projections.schema import Change, Column, Row, Table, row

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from projections.context import Context, Evaluation, Recorded

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

STATUS: dict[type[SelfEvaluation.Event], str] = {
    SelfEvaluation.Opened: "opened",
    SelfEvaluation.Submitted: "submitted",
    SelfEvaluation.Revised: "revised",
    SelfEvaluation.Confirmed: "confirmed",
    SelfEvaluation.Corrected: "corrected",
}
"""The events that set the status, and the status each sets."""
COUNTED: dict[type[SelfEvaluation.Event], str] = {
    SelfEvaluation.Revised: "revisions",
    SelfEvaluation.Confirmed: "confirmations",
    SelfEvaluation.Corrected: "corrections",
    SelfEvaluation.MinistryValuesImported: "ministry_imports",
}
"""The events that are counted, and the column that counts each."""
COUNTERS = ("revisions", "confirmations", "corrections", "ministry_imports")


@row
class StatusRow(Row):
    """A self-evaluation's progress (`None`: keep the value the row has)."""

    table = SUBMISSION_STATUS
    added = COUNTERS
    grant_year: int
    tier: str
    entity: str
    prefecture_code: str
    status: str | None
    submitted: bool | None
    revisions: int
    confirmations: int
    corrections: int
    ministry_imports: int
    last_position: int
    last_recorded_at: datetime


def _status_row(
    evaluation: Evaluation,
    status: str | None,
    submitted: bool | None,
    counts: Mapping[str, int],
    last: tuple[int, datetime],
) -> StatusRow:
    lg_code = evaluation.lg_code
    return StatusRow(
        grant_year=evaluation.grant_year,
        tier=evaluation.tier,
        entity=lg_code,
        prefecture_code=lg_code[:2],
        status=status,
        submitted=submitted,
        revisions=counts.get("revisions", 0),
        confirmations=counts.get("confirmations", 0),
        corrections=counts.get("corrections", 0),
        ministry_imports=counts.get("ministry_imports", 0),
        last_position=last[0],
        last_recorded_at=last[1],
    )


_ONE = {counter: {counter: 1} for counter in COUNTERS}
_NONE: dict[str, int] = {}


def changed(facts: Recorded, position: int, context: Context) -> list[Change]:
    """What one self-evaluation event changes in its row (counters add up)."""
    kind = facts.kind
    counter = COUNTED.get(kind)
    submitted = (
        True
        if kind is SelfEvaluation.Submitted
        else False
        if kind is SelfEvaluation.Opened
        else None
    )
    return [
        _status_row(
            context.evaluation(facts.originator_id),
            STATUS.get(kind),
            submitted,
            _ONE[counter] if counter else _NONE,
            (position, facts.timestamp),
        )
    ]


def summary(
    evaluation: Evaluation,
    events: Mapping[type[SelfEvaluation.Event], tuple[int, int]],
    recorded_at: datetime,
) -> StatusRow:
    """The row that a self-evaluation's events leave, from their summary.

    `events` gives, per event class, how many there were and the position of the
    last; `recorded_at` is when the last of all was recorded. The same row as
    folding the events' own changes (`changed`) one by one: the status of the
    latest event that sets one, submitted if a submission came after the opening,
    and the counts.
    """
    statuses = [(events[k][1], s) for k, s in STATUS.items() if k in events]
    opened = events.get(SelfEvaluation.Opened)
    submission = events.get(SelfEvaluation.Submitted)
    submitted = None
    if opened or submission:
        submitted = submission is not None and (
            opened is None or submission[1] > opened[1]
        )
    return _status_row(
        evaluation,
        max(statuses)[1] if statuses else None,
        submitted,
        {counter: events[k][0] for k, counter in COUNTED.items() if k in events},
        (max(last for _, last in events.values()), recorded_at),
    )
