"""Read-model rows are typed and frozen; events reach the read models by their class."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime

import pytest

from domain.allocation_run import AllocationRun
from domain.catalogue import Catalogue
from domain.entities import Entity
from domain.self_evaluation import SelfEvaluation
from projections import audit_trail, scores, submission_status
from projections.read_models import TABLES, handlers, shown
from projections.schema import Column, Row, Table, row
from projections.submission_status import StatusRow

WHEN = datetime(2020, 1, 6, 1, tzinfo=UTC)


def _status(**changed: object) -> StatusRow:
    values: dict[str, object] = {
        "grant_year": 2020,
        "tier": "municipal",
        "entity": "131041",
        "prefecture_code": "13",
        "status": "revised",
        "submitted": None,
        "revisions": 1,
        "confirmations": 0,
        "corrections": 0,
        "ministry_imports": 0,
        "last_position": 7,
        "last_recorded_at": WHEN,
    }
    return StatusRow(**(values | changed))  # type: ignore[arg-type]


def test_a_row_is_frozen_and_becomes_its_tables_tuple_in_column_order() -> None:
    status = _status()
    with pytest.raises(FrozenInstanceError):
        status.revisions = 2  # type: ignore[misc]
    columns = [c.name for c in StatusRow.table.columns]
    assert status.values() == tuple(getattr(status, c) for c in columns)
    assert status.values()[columns.index("last_position")] == 7
    assert status == _status()
    assert hash(status) == hash(_status())
    assert status != _status(revisions=2)


def test_a_row_needs_every_column_by_name() -> None:
    with pytest.raises(TypeError, match="last_recorded_at"):
        StatusRow(grant_year=2020)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        StatusRow(2020)  # type: ignore[misc]


def test_a_row_class_whose_fields_are_not_its_tables_columns_is_refused() -> None:
    pair = Table(
        "pair",
        "a test table",
        (Column("a", "text", ""), Column("b", "text", "")),
        ("a",),
    )

    with pytest.raises(TypeError, match="not pair's"):

        @row
        class Wrong(Row):
            table = pair
            b: str
            a: str

    @row
    class Right(Row):
        table = pair
        a: str
        b: str

    assert Right(a="x", b="y").values() == ("x", "y")


def test_every_table_has_one_row_class_of_its_columns() -> None:
    classes = {cls.table.name: cls for cls in Row.__subclasses__()}
    for table in TABLES:
        assert table.name in classes, table.name
        fields = classes[table.name].__dataclass_fields__  # type: ignore[attr-defined]
        assert list(fields) == [c.name for c in table.columns]


def test_events_reach_the_read_models_by_class_a_subclass_by_its_base() -> None:
    # Every self-evaluation event: its status and its trail; answers: the scores
    paper = handlers(SelfEvaluation.PaperEntered)
    assert paper == (submission_status.changed, audit_trail.answered)
    corrected = handlers(SelfEvaluation.Corrected)
    assert scores.answered in corrected
    assert submission_status.changed in corrected

    class Annotated(SelfEvaluation.Event):
        """A self-evaluation event kind no read model names."""

    assert handlers(Annotated) == paper
    assert handlers(Entity.InsuredCountRecorded) == (audit_trail.entity_event,)
    assert len(handlers(AllocationRun.Calculated)) == 2
    # Events no read model shows, and one only remembered (a catalogue)
    assert handlers(AllocationRun.Event) == ()
    assert not shown(AllocationRun.Event)
    assert handlers(Catalogue.Published) == ()
    assert shown(Catalogue.Published)
