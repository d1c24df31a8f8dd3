"""Submission queries: the status board, the self-evaluations, their history.

The status board is the `submission_status` read model; the self-evaluations of a
year with their status and one self-evaluation's events are read from the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adapters.inputs.keys import reader_keys
from adapters.queries.rows import Row
from adapters.storage.sealed import SealedEvents
from domain.self_evaluation import SelfEvaluation

if TYPE_CHECKING:
    from datetime import datetime

    from adapters.storage.read_store import ReadStore
    from domain.ledger import Ledger


@dataclass(frozen=True, slots=True)
class SubmissionStatus(Row):
    """A row of the `submission_status` read model (its view's columns)."""

    grant_year: int
    tier: str
    entity: str
    prefecture_code: str
    status: str
    submitted: bool
    revisions: int
    confirmations: int
    corrections: int
    ministry_imports: int
    last_position: int
    last_recorded_at: datetime | str


def submission_status(
    store: ReadStore,
    grant_year: int,
    tier: str | None = None,
    prefecture: str | None = None,
) -> list[SubmissionStatus]:
    """The status board of a year (a tier, a prefecture), by tier and entity."""
    where: dict[str, object] = {"grant_year": grant_year}
    if tier:
        where["tier"] = tier
    if prefecture:
        where["prefecture_code"] = prefecture
    rows = store.rows("submission_status", where, ["tier", "entity"])
    return [SubmissionStatus(**row) for row in rows]


@dataclass(frozen=True, slots=True)
class SubmissionRow(Row):
    """A self-evaluation and how far it got, from the ledger (`kofu submissions`)."""

    entity: str
    name: str
    tier: str
    catalogue_version: int
    answered: int
    status: str
    corrections: int
    events: int
    last_recorded_at: datetime


def submission_row(evaluation: SelfEvaluation, ledger: Ledger) -> SubmissionRow:
    """A self-evaluation's line: answers, status, corrections, events."""
    history = ledger.history(evaluation.id)
    kinds = {type(e).__name__ for e in history}
    status = "submitted" if evaluation.submitted else "opened"
    if "Revised" in kinds:
        status = "revised"
    if evaluation.confirmed:
        status = "confirmed"
    if "Corrected" in kinds:
        status = "corrected"
    details = ledger.entity(evaluation.lg_code)
    return SubmissionRow(
        entity=evaluation.lg_code,
        name=details.name,
        tier=evaluation.tier,
        catalogue_version=evaluation.catalogue_version,
        answered=len(evaluation.answers),
        status=status,
        corrections=sum(isinstance(e, SelfEvaluation.Corrected) for e in history),
        events=evaluation.version,
        last_recorded_at=evaluation.modified_on,
    )


def submission_rows(
    ledger: Ledger, grant_year: int, tier: str | None, prefecture: str | None
) -> list[SubmissionRow]:
    """The self-evaluations of a year (a tier, a prefecture) and their status."""
    return [
        submission_row(e, ledger)
        for e in ledger.self_evaluations(grant_year, tier)
        if not prefecture or e.lg_code[:2] == prefecture
    ]


_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}
"""The event's envelope: not among its own fields."""


@dataclass(frozen=True, slots=True)
class HistoryRow(Row):
    """One event of a self-evaluation (`kofu history`)."""

    version: int
    recorded_at: datetime
    event: str
    actor: str | None
    received_on: str | None
    reason: str | None
    basis: str | None
    details: str
    sealed: bool
    """Whether a trusted signed checkpoint covers the event (False: 未封印)."""


def history_rows(ledger: Ledger, evaluation: SelfEvaluation) -> list[HistoryRow]:
    """Every event of a self-evaluation, oldest first, each flagged if unsealed.

    An event no trusted signed checkpoint covers (`adapters.storage.sealed`:
    stored around the writer, or not signed yet) is shown with `sealed` false,
    never silently trusted.
    """
    check = SealedEvents(ledger, reader_keys())
    stored = check.events_of(evaluation.id)
    unsigned = set(check.unsigned(stored))
    positions = {s.event.originator_version: s.position for s in stored}
    rows = []
    for event in ledger.history(evaluation.id):
        data = event.model_dump(mode="json", exclude=_ENVELOPE)
        rows.append(
            HistoryRow(
                version=event.originator_version,
                recorded_at=event.timestamp,
                event=type(event).__name__,
                actor=data.pop("actor", None),
                received_on=data.pop("received_on", None),
                reason=data.pop("reason", None),
                basis=data.pop("basis", None) or data.pop("source", None),
                details=_summary(data),
                sealed=positions.get(event.originator_version, 0) not in unsigned
                and event.originator_version in positions,
            )
        )
    return rows


def _summary(data: dict[str, Any]) -> str:
    if "answers" in data:
        return f"{len(data['answers'])} answers"
    changes = data.get("changes") or ([data["change"]] if "change" in data else [])
    if changes:
        text = "; ".join(
            f"{c['item']}: {_answer(c['before'])} → {_answer(c['after'])}"
            for c in changes[:5]
        )
        extra = f" (+{len(changes) - 5} more)" if len(changes) > 5 else ""  # noqa: PLR2004
        return text + extra
    return ", ".join(f"{k}={v}" for k, v in data.items())


def _answer(answer: dict[str, Any] | None) -> str:
    if answer is None:
        return "(none)"
    if answer.get("checked") is not None:
        return "true" if answer["checked"] else "false"
    return str(answer.get("number"))
