"""An attacker's findings against the promises of issue 11 (time, receipts, roles,
bounds, outputs), each as a table on SQLite and PostgreSQL where storage is involved;
every case failed on the code before its fix (docs/FAULTS.md, "Attack")."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, date, timedelta
from pathlib import Path
from uuid import uuid4

import orjson
import pytest
from eventsourcing.persistence import StoredEvent
from pydantic import ValidationError

from adapters.common.writing import check_target, write_file
from adapters.inputs.tokens import issue
from adapters.storage.recorders import check_order, event_time
from domain import clock as ledger_clock
from domain.clock import JST, SimulatedClock
from domain.commands import CorrectAnswer
from domain.errors import InvalidInput, Refused
from domain.ledger import Ledger
from tests.conftest import UNPUBLISHED_RUN, Api, Kofu, submission

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


# ------------------------------------------------ a publication dated before its run


def _calculated_on(api: Api, run_id: str) -> date:
    ledger = api.client.app.state.service.ledger  # type: ignore[attr-defined]
    return ledger_clock.jst_date(ledger.run(run_id).calculated.timestamp)


BEFORE_THE_RUN = {
    "year 1": lambda _: date(1, 1, 1),
    "the day before the run was calculated": lambda day: day - timedelta(days=1),
}


@pytest.mark.parametrize("announced", BEFORE_THE_RUN.values(), ids=list(BEFORE_THE_RUN))
def test_a_run_is_not_announced_before_it_was_calculated(
    api: Api, announced: Callable[[date], date]
) -> None:
    on = announced(_calculated_on(api, UNPUBLISHED_RUN))
    before = api.events()
    reply = api.call(
        "ministry",
        "POST",
        f"/api/runs/{UNPUBLISHED_RUN}/publish",
        {"announced_on": on.isoformat()},
    )
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == "announced_on"
    assert "before the run was calculated" in reply.json()["error"]
    assert api.events() == before
    assert api.call("reader", "GET", f"/api/runs/{UNPUBLISHED_RUN}").status_code == 404


AFTER_TODAY = {
    "tomorrow (JST)": timedelta(days=1),
    "next year": timedelta(days=366),
}


@pytest.mark.parametrize("ahead", AFTER_TODAY.values(), ids=list(AFTER_TODAY))
def test_a_run_is_not_announced_after_the_ledgers_today(
    api: Api, clock: SimulatedClock, ahead: timedelta
) -> None:
    on = clock.now().astimezone(JST).date() + ahead
    before = api.events()
    reply = api.call(
        "ministry",
        "POST",
        f"/api/runs/{UNPUBLISHED_RUN}/publish",
        {"announced_on": on.isoformat()},
    )
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == "announced_on"
    assert "after today" in reply.json()["error"]
    assert api.events() == before
    assert api.call("reader", "GET", f"/api/runs/{UNPUBLISHED_RUN}").status_code == 404


# ------------------------------------ hidden characters in an idempotency key


HIDDEN_IN_KEYS = ["\x7f", "\x85", "\u200e", "\u202e", "\u2028", "\u2066"]


@pytest.mark.parametrize(
    "ch", HIDDEN_IN_KEYS, ids=[f"U+{ord(c):04X}" for c in HIDDEN_IN_KEYS]
)
def test_an_idempotency_key_holds_no_hidden_character(ch: str) -> None:
    # Keys are stored in receipts and shown back; the one rule for text applies.
    with pytest.raises(ValidationError) as refused:
        CorrectAnswer.model_validate(
            {
                "entity": "131041",
                "grant_year": 2020,
                "tier": "municipal",
                "item": "I-1-a",
                "value": True,
                "reason": "r",
                "basis": "b",
                "actor": "ministry:yamada",
                "idempotency_key": f"key{ch}1",
            }
        )
    assert refused.value.errors()[0]["loc"] == ("idempotency_key",)


@pytest.mark.parametrize("ch", ["\x7f", "\x85"], ids=["U+007F", "U+0085"])
def test_an_http_idempotency_key_with_a_hidden_character_is_422(
    api: Api, ch: str
) -> None:
    before = api.events()
    reply = api.client.post(
        "/api/corrections",
        json={
            "entity": "131041",
            "grant_year": 2020,
            "item": "II-12-b",
            "value": "12.5",
            "reason": "根拠資料なし",
            "basis": "老認発第1号",
        },
        headers=[
            (b"authorization", f"Bearer {api.secrets['ministry']}".encode()),
            (b"idempotency-key", f"key{ch}1".encode("latin-1")),
        ],
    )
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == "idempotency_key"
    assert api.events() == before


# ------------------------------------------------------------- file outputs


def _link_to(target: str) -> Callable[[Path], Path]:
    def plant(tmp: Path) -> Path:
        link = tmp / "out.json"
        link.symlink_to(target)
        return link

    return plant


def _link_to_fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "fifo")
    return _link_to(str(tmp / "fifo"))(tmp)


def _link_to_folder(tmp: Path) -> Path:
    (tmp / "folder").mkdir()
    return _link_to(str(tmp / "folder"))(tmp)


# (what, the place, force, the reason named). `--force` replaces a planted link to a
# file, but a link like /dev/stdout (to the process's output) must not be replaced:
# as root that deleted the system's /dev/stdout and left a regular file there.
OUTPUT_PLACES: list[tuple[str, Callable[[Path], Path], bool, str]] = [
    ("a path with a NUL", lambda t: t / "a\x00b.json", False, "NUL"),
    ("a path with a NUL, --force", lambda t: t / "a\x00b.json", True, "NUL"),
    ("--force over a link to a device", _link_to(os.devnull), True, "device"),
    (
        "--force over a link to /proc/self/fd/1",
        _link_to("/proc/self/fd/1"),
        True,
        "device",
    ),
    ("--force over a link to a pipe", _link_to_fifo, True, "device"),
    ("--force over a link to a folder", _link_to_folder, True, "device"),
]


@pytest.mark.parametrize(
    ("place", "force", "reason"),
    [o[1:] for o in OUTPUT_PLACES],
    ids=[o[0] for o in OUTPUT_PLACES],
)
def test_an_output_never_replaces_a_link_to_a_device_and_names_a_nul(
    tmp_path: Path, place: Callable[[Path], Path], force: bool, reason: str
) -> None:
    path = place(tmp_path)
    was_link = path.is_symlink() if "\x00" not in str(path) else False
    with pytest.raises(InvalidInput) as refused:
        write_file(path, b"data", force=force)
    assert reason in refused.value.message
    if was_link:
        assert path.is_symlink()  # left alone


def test_force_still_replaces_a_link_to_a_file_or_a_dangling_one(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    for name, target in (("a", victim), ("b", tmp_path / "missing")):
        (tmp_path / name).symlink_to(target)
        write_file(tmp_path / name, b"new", force=True)
        assert not (tmp_path / name).is_symlink()
        assert (tmp_path / name).read_bytes() == b"new"
    assert victim.read_bytes() == b"keep me"


def test_the_systems_dev_stdout_link_is_not_a_place_to_replace() -> None:
    # Only the check: it writes nothing, so it is safe on the machine's /dev.
    if not Path("/dev/stdout").is_symlink():
        pytest.skip("/dev/stdout is not a link here")
    with pytest.raises(InvalidInput) as refused:
        check_target(Path("/dev/stdout"), force=True)
    assert "/dev or /proc" in refused.value.message


# ----------------------------------- a paper older than the answers it would replace

PAPER = ("--reason", "郵送", "--basis", "老認発第9号", "--actor", "ministry:yamada")
# (what, the entity's answers online: (day, I-1-a), the paper's stated date, refused?)
PAPERS = [
    (
        "stated before the entity's revision",
        [(10, True), (20, False)],
        "2019-10-05",
        True,
    ),
    ("stated before its first submission", [(20, False)], "2019-10-05", True),
    (
        "stated on the day of its revision",
        [(10, True), (20, False)],
        "2019-10-20",
        False,
    ),
    ("stated after its revision", [(10, True), (20, False)], "2019-10-31", False),
    ("no answers online", [], "2019-10-05", False),
]


@pytest.mark.parametrize(
    ("online", "stated_on", "refused"),
    [p[1:] for p in PAPERS],
    ids=[p[0] for p in PAPERS],
)
def test_a_paper_does_not_replace_answers_received_after_its_stated_date(
    world: Kofu,
    tmp_path: Path,
    clock: SimulatedClock,
    online: list[tuple[int, bool]],
    stated_on: str,
    refused: bool,
) -> None:
    # Before: the entity's revision of 10-20 was undone by a paper stated 10-05,
    # recorded as the entity's own revision "received 2019-10-05" after it.
    answers = tmp_path / "a.json"
    for day, value in online:
        clock.set_day(date(2019, 10, day))
        answers.write_text(json.dumps(submission(answers={"I-1-a": value})))
        assert world("submit", answers)[0] == 0
    clock.set_day(date(2019, 11, 10))
    paper = tmp_path / "p.json"
    paper.write_text(json.dumps(submission(answers={"I-1-a": True})))
    before = world.events()
    code, output = world("enter-paper", paper, "--stated-on", stated_on, *PAPER)
    if refused:
        assert code == 1, output
        assert "stated_on" in output
        assert "does not replace newer answers" in output
        assert world.events() == before
    else:
        assert code == 0, output
        assert world.events() > before


def test_rows_of_different_kinds_share_one_header_each_value_in_its_column() -> None:
    from adapters.reports.cells import aligned
    from adapters.reports.output import to_csv

    rows = [
        {"position": 1, "event": "Opened", "tier": "municipal"},
        {"position": 2, "event": "PaperEntered", "stated_on": "2019-10-31"},
    ]
    assert to_csv(rows).splitlines() == [
        "position,event,tier,stated_on",
        "1,Opened,municipal,",
        "2,PaperEntered,,2019-10-31",
    ]
    same = [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert aligned(same) is same  # rows of one kind are left as they are
