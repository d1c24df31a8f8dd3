"""A store refuses an event timed before its newest one, and stores none of it."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from uuid import uuid4

import orjson
import pytest
from eventsourcing.persistence import StoredEvent

from adapters.storage.bootstrap import open_ledger
from adapters.storage.recorders import check_order, event_time
from domain import clock as ledger_clock
from domain.clock import JST, SimulatedClock
from domain.commands import CorrectAnswer
from domain.errors import RecordedBeforeNewest, Refused
from domain.self_evaluation import SelfEvaluation
from tests.conftest import SHINJUKU, Kofu, submission


def test_a_command_from_a_clock_behind_the_newest_event_is_refused_whole(
    world: Kofu, clock: SimulatedClock, tmp_path: Path
) -> None:
    # Given a submission, then a correction recorded after the deadline
    path = tmp_path / "a.json"
    path.write_text(json.dumps(submission(answers={"II-12-b": "50"})), "utf-8")
    assert world("submit", path)[0] == 0
    clock.set_day(date(2019, 11, 20))
    ledger = open_ledger(world.url)
    try:
        correct = CorrectAnswer(
            entity=SHINJUKU, grant_year=2020, tier="municipal", item="II-12-b",
            value="60", reason="r", basis="b", actor="ministry:a",
        )  # fmt: skip
        assert not ledger.correct(correct).noop
        events = ledger.count_events()
        # When a process whose clock is a day behind corrects the same answer
        behind = SimulatedClock(datetime(2019, 11, 19, 10, tzinfo=JST))
        with ledger_clock.installed(behind), pytest.raises(Refused) as refused:
            ledger.correct(correct.model_copy(update={"value": "70"}))
    finally:
        ledger.close()
    # Then it is refused as a clock behind the ledger, and nothing of it is stored
    assert refused.value.field == "clock"
    ledger = open_ledger(world.url)
    try:
        assert ledger.count_events() == events
        history = ledger.history(SelfEvaluation.id_for(SHINJUKU, 2020, "municipal"))
    finally:
        ledger.close()
    assert [e.change.after.number for e in history if hasattr(e, "change")] == [60]


STAMP = "2019-10-10T01:00:00+00:00"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("{" + f'"a":1,"timestamp":"{STAMP}"' + "}", STAMP),
        # a nested key of the same name comes first in sorted order: parsed whole
        (
            '{"a":{"timestamp":"2000-01-01T00:00:00+00:00"},'
            f'"timestamp":"{STAMP}"' + "}",
            STAMP,
        ),
        # the text inside a string value is escaped, so it is no key
        (
            '{"reason":"\\"timestamp\\":\\"2000\\"",' + f'"timestamp":"{STAMP}"' + "}",
            STAMP,
        ),
        ('{"a":"x"}', None),
        ('{"timestamp":"not a time"}', None),
    ],
)
def test_the_recorded_time_is_read_from_the_stored_state(
    state: str, expected: str | None
) -> None:
    found = event_time(state.encode())
    assert found == (datetime.fromisoformat(expected) if expected else None)


def _stored(stamp: str) -> StoredEvent:
    state = orjson.dumps({"timestamp": stamp})
    return StoredEvent(uuid4(), 1, "t", state)


def test_a_batch_is_refused_if_any_of_its_events_is_timed_before_the_newest() -> None:
    newest = orjson.dumps({"timestamp": "2019-10-10T01:00:00+00:00"})
    check_order([_stored("2019-10-10T01:00:00+00:00")], newest)  # equal: in order
    check_order([_stored("2019-10-11T00:00:00+09:00")], newest)
    with pytest.raises(RecordedBeforeNewest) as behind:
        check_order(
            [
                _stored("2019-10-12T00:00:00+00:00"),
                _stored("2019-10-10T00:59:59+00:00"),
            ],
            newest,
        )
    assert behind.value.newest == datetime.fromisoformat("2019-10-10T01:00:00+00:00")
    check_order([_stored("2000-01-01T00:00:00+00:00")], None)  # an empty ledger
