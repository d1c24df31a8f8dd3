"""An attacker's findings against the promises of issue 11 (time, receipts, roles,
bounds, outputs), each as a table on SQLite and PostgreSQL where storage is involved;
every case failed on the code before its fix (docs/FAULTS.md, "Attack")."""

from __future__ import annotations

from datetime import UTC, timedelta
from uuid import uuid4

import orjson
import pytest
from eventsourcing.persistence import StoredEvent

from adapters.storage import check_order, event_time
from adapters.tokens import issue
from domain import clock as ledger_clock
from domain.errors import Refused
from domain.ledger import Ledger

# ------------------------------------------- the recorder's order check, by hand

NEWEST = orjson.dumps({"timestamp": "2019-10-10T01:00:00+00:00"})
UNREADABLE = {
    # what a row written by hand (or by another program) may hold as its newest
    "a time without a zone": b'{"timestamp":"2019-10-10T01:00:00"}',
    "a spaced key holding no time": b'{"timestamp": "garbage"}',
    "the key twice, the first no time": b'{"timestamp":"x","timestamp":"y"}',
    "a spaced key, a time without a zone": b'{"timestamp": "2019-10-10T01:00:00"}',
    "a number": b'{"timestamp":1570669200}',
    "not an object": b'["timestamp"]',
    "not JSON": b"\x00\xff",
}


@pytest.mark.parametrize("state", UNREADABLE.values(), ids=list(UNREADABLE))
def test_an_unreadable_recorded_time_is_no_time_never_a_crash(state: bytes) -> None:
    assert event_time(state) is None
    check_order([StoredEvent(uuid4(), 1, "t", NEWEST)], state)  # nothing to compare
    check_order([StoredEvent(uuid4(), 1, "t", state)], NEWEST)  # nothing to compare


@pytest.mark.parametrize("state", UNREADABLE.values(), ids=list(UNREADABLE))
def test_a_hand_written_newest_row_does_not_stop_every_later_write(
    ledger: Ledger, state: bytes
) -> None:
    # Before: TypeError (naive against aware) or ValueError on every later write.
    ledger.recorder.insert_events([StoredEvent(uuid4(), 1, "foreign.Event", state)])
    before = ledger.count_events()
    issue(ledger, "reader", (), "press", "system:test")
    assert ledger.count_events() == before + 1


def test_a_row_timed_in_the_future_refuses_writes_until_then_naming_the_row(
    ledger: Ledger,
) -> None:
    # Documented (docs/FAULTS.md, known limits): the order check cannot tell a late
    # clock from a row planted in the future; its refusal says both.
    future = ledger_clock.now() + timedelta(days=3650)
    state = orjson.dumps({"timestamp": future.astimezone(UTC).isoformat()})
    ledger.recorder.insert_events([StoredEvent(uuid4(), 1, "foreign.Event", state)])
    before = ledger.count_events()
    with pytest.raises(Refused) as refused:
        issue(ledger, "reader", (), "press", "system:test")
    assert refused.value.field == "clock"
    assert "timed in the future" in refused.value.message
    assert ledger.count_events() == before
