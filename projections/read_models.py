"""The read models, and which events each one takes.

Pure: an event and its ledger position in, row changes out. The adapters apply the
changes of a whole batch of events, and the views' tracking position, in one
transaction (adapters/storage/read_store.py), so every event is projected exactly
once. The same `changes` serve the live path (a batch at a time), a rebuild from
position 0 folded in memory (projections/fold.py) and, for the few events it does
not read itself, the database's rebuild (adapters/storage/database_rebuild.py);
tests/integration/test_read_model_builds.py checks, per read model, that the three
agree.

One module per read model, each with its tables, its typed rows and what each event
changes: `allocations`, `audit_trail`, `submission_status`, `scores` (item points
and totals) and `run_publications`. `TAKES` below is the one place that says which
event class goes to which; events are matched by class (a subclass takes its base
class's handlers), never by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from domain.allocation_run import AllocationRun
from domain.entities import Entity, Insurer
from domain.self_evaluation import SelfEvaluation
from projections import (
    allocations,
    audit_trail,
    run_publications,
    scores,
    submission_status,
)
from projections.context import REMEMBERED, Recorded, recorded

if TYPE_CHECKING:
    from domain.base import LedgerAggregate
    from projections.context import Context
    from projections.schema import Change

TABLES = (
    allocations.ALLOCATIONS,
    audit_trail.AUDIT_TRAIL,
    submission_status.SUBMISSION_STATUS,
    scores.ITEM_SCORES,
    scores.SCORES,
    run_publications.RUN_PUBLICATIONS,
)
"""Every read-model table (this order: the stores', the document's, the shape's)."""

Handler: TypeAlias = "Callable[[Any, int, Context], list[Change]]"
"""What an event changes in one read model: (event or its facts, position, context)."""
E = TypeVar("E")


def _on(
    kind: type[E], handler: Callable[[E, int, Context], list[Change]]
) -> tuple[type, Handler]:
    return kind, handler


def _on_answers(
    kind: type[SelfEvaluation.Event],
    handler: Callable[[Recorded, int, Context], list[Change]],
) -> tuple[type, Handler]:
    # A self-evaluation's handlers take its facts as stored (`Recorded`).
    return kind, handler


TAKES = (
    _on_answers(SelfEvaluation.Event, submission_status.changed),
    _on_answers(SelfEvaluation.Event, audit_trail.answered),
    *(_on_answers(kind, scores.answered) for kind in scores.ANSWER_FIELDS),
    _on(Entity.Event, audit_trail.entity_event),
    _on(Insurer.Event, audit_trail.insurer_event),
    _on(AllocationRun.Calculated, allocations.calculated),
    _on(AllocationRun.Calculated, audit_trail.calculated),
    _on(AllocationRun.Published, run_publications.published),
)
"""(event class, what it changes in a read model), for the class and its subclasses."""

_HANDLERS: dict[type, tuple[Handler, ...]] = {}


def handlers(kind: type) -> tuple[Handler, ...]:
    """What an event of this class changes, read model by read model (resolved once)."""
    found = _HANDLERS.get(kind)
    if found is None:
        found = _HANDLERS[kind] = tuple(
            handler for taken, handler in TAKES if issubclass(kind, taken)
        )
    return found


def shown(kind: type) -> bool:
    """Whether the read models read events of this class (rows or remembered facts)."""
    return bool(handlers(kind)) or kind in REMEMBERED


def changes(
    event: LedgerAggregate.Event | Recorded, position: int, context: Context
) -> list[Change]:
    """The row changes one event makes (none for events no read model shows).

    Scores are left to `flush`, called at the end of every batch.
    """
    if isinstance(event, SelfEvaluation.Event):
        event = recorded(event)
    kind = event.kind if isinstance(event, Recorded) else type(event)
    context.remember(kind, event)
    found: list[Change] = []
    for handler in handlers(kind):
        found += handler(event, position, context)
    return found


def flush(context: Context) -> list[Change]:
    """The changes left to the end of a batch: the scores of the answers it changed."""
    return scores.flush(context)


def event_classes(base: type[LedgerAggregate.Event]) -> list[type]:
    """Every event class under `base` that is stored (has a topic of its own)."""
    found: set[type] = set()
    pending: list[type] = [base]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if "TOPIC" in vars(cls):
            found.add(cls)
    return sorted(found, key=lambda cls: str(vars(cls)["TOPIC"]))
