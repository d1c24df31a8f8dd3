"""The server owns time: no caller chooses the time its own action is recorded at.

On SQLite and on PostgreSQL: every way a caller could once give a recording time is
refused (exit 2 / 422, the field or option named, nothing written); the submission
window and the correction deadline are judged on the ledger's clock, at its date in
Japan; a process whose clock is behind the newest event is refused (exit 1 / 409,
field `clock`) and writes nothing; and recorded times never fall in log order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from adapters.http.app import create_app
from adapters.inputs.tokens import issue
from adapters.kofu import Kofu as Facade
from adapters.kofu import run_demo
from adapters.storage.bootstrap import open_ledger
from adapters.storage.recorders import event_time
from domain import clock as ledger_clock
from domain.clock import JST, SimulatedClock
from domain.errors import Refused
from tests.conftest import SHINJUKU, Kofu, correction, submission, write_world
from tests.support.bad_input import (
    AFTER_DEADLINE,
    IN_WINDOW_DAY,
    SERVER_TIME,
    Worlds,
    prepared,
)

__all__ = ["prepared"]  # the module-scoped worlds of tests/support/bad_input.py

TOKYO = "130001"
WINDOW = "outside the FY2020 submission window 2019-10-01 to 2019-10-31"
BEFORE_DEADLINE = "comes before the deadline 2019-10-31"
CLOCK_BEHIND = "this process's clock ({}) is behind the newest recorded event"


def jst(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JST)


def timestamps(url: str) -> list[datetime]:
    """The recorded time of every stored event, in log order."""
    opened = open_ledger(url)
    try:
        found: list[datetime] = []
        start = 1
        while page := opened.recorder.select_notifications(start=start, limit=1000):
            found += [t for t in (event_time(n.state) for n in page) if t]
            start = page[-1].id + 1
        return found
    finally:
        opened.close()


# ------------------------------------------- no caller chooses its recording time


@dataclass(frozen=True)
class Attempt:
    name: str
    field: str
    args: Callable[[Path], list[str]]
    day: date = IN_WINDOW_DAY


def answer_file(name: str, text: str, command: str = "submit") -> Callable[..., list]:
    def make(folder: Path) -> list[str]:
        (folder / name).write_text(text, encoding="utf-8")
        return [*command.split(), str(folder / name)]

    return make


def with_file(*args: str) -> Callable[[Path], list[str]]:
    """`args` then a valid answer file (for options that take files)."""

    def make(folder: Path) -> list[str]:
        (folder / "ok.json").write_text(json.dumps(submission()), encoding="utf-8")
        return [*args, str(folder / "ok.json")]

    return make


MINISTRY_VALUES = [
    "ministry-values",
    "--actor",
    "ministry:yamada",
    "--source",
    "介護DB",
]
CONFIRM = ["confirm", "--entity", SHINJUKU, "--fiscal-year", "2020"]
ATTEMPTS = [
    Attempt(
        "received_on in a JSON answer file",
        "in.json: received_on: received_on " + SERVER_TIME,
        answer_file("in.json", json.dumps(submission(received_on="2019-10-10"))),
    ),
    Attempt(
        "received_on column in an answer CSV",
        "a.csv:1: column received_on " + SERVER_TIME,
        answer_file(
            "a.csv",
            "entity,grant_year,tier,item,value,received_on\n"
            "131041,2020,municipal,I-1-a,true,2019-10-10\n",
        ),
    ),
    Attempt(
        "received_on in a ministry-values file",
        "m.json: received_on: received_on " + SERVER_TIME,
        answer_file(
            "m.json",
            json.dumps(submission(received_on="2019-11-15", answers={"II-24-a": "80"})),
            " ".join(MINISTRY_VALUES),
        ),
        day=AFTER_DEADLINE,
    ),
    Attempt(
        "kofu submit --received-on",
        "No such option: --received-on",
        with_file("submit", "--received-on", "2019-10-10"),
    ),
    Attempt(
        "kofu confirm --on",
        "No such option: --on",
        lambda _: [*CONFIRM, "--actor", f"prefecture:{TOKYO}", "--on", "2019-10-10"],
    ),
    Attempt(
        "kofu correct --on",
        "No such option: --on",
        lambda _: correction(**{"--on": "2019-11-15"}),
        day=AFTER_DEADLINE,
    ),
    Attempt(
        "kofu ministry-values --on",
        "No such option: --on",
        with_file(*MINISTRY_VALUES, "--on", "2019-11-15"),
        day=AFTER_DEADLINE,
    ),
    Attempt(
        "kofu publish --on",
        "No such option: --on",
        lambda _: [
            "publish",
            "R-1",
            "--actor",
            "ministry:yamada",
            "--on",
            "2019-11-15",
        ],
        day=AFTER_DEADLINE,
    ),
]


def test_every_way_to_give_a_recording_time_is_in_the_table(tmp_path: Path) -> None:
    options = {a.field for a in ATTEMPTS}
    assert {"No such option: --received-on", "No such option: --on"} <= options
    commands = {a.args(tmp_path)[0] for a in ATTEMPTS if "option" in a.field}
    assert commands == {"submit", "confirm", "correct", "ministry-values", "publish"}


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[a.name for a in ATTEMPTS])
def test_no_caller_chooses_its_own_recording_time(
    attempt: Attempt, prepared: Worlds, clock: SimulatedClock, tmp_path: Path
) -> None:
    clock.set_day(attempt.day)
    kofu = prepared.on(attempt.day)
    before = kofu.events()
    code, output = kofu(*attempt.args(tmp_path))
    assert code == 2, output
    assert attempt.field in output, output
    assert "Traceback" not in output
    assert kofu.events() == before


@dataclass(frozen=True)
class Api:
    client: TestClient
    secrets: dict[str, str]
    kofu: Kofu

    def post(self, who: str, path: str, body: object) -> object:
        headers = {"Authorization": f"Bearer {self.secrets[who]}"}
        return self.client.post(path, json=body, headers=headers)


@pytest.fixture(scope="module")
def api(prepared: Worlds) -> Iterator[Api]:
    """The HTTP API on the after-deadline world, a token per role."""
    world = prepared.after_deadline
    with ledger_clock.installed(SimulatedClock(jst(AFTER_DEADLINE))):
        opened = open_ledger(world.url)
        secrets = {
            role: issue(opened, role, scope, role, "system:test").secret  # type: ignore[arg-type]
            for role, scope in (
                ("insurer", (SHINJUKU,)),
                ("prefecture", (TOKYO,)),
                ("ministry", ()),
            )
        }
        # Issued through the ledger directly: the writer (this fixture) signs.
        Facade(ledger=opened).checkpoint()
        opened.close()
    with TestClient(create_app(world.url), raise_server_exceptions=False) as client:
        yield Api(client, secrets, world)


BODY = {"entity": SHINJUKU, "grant_year": 2020}
HTTP_ATTEMPTS = [
    (
        "insurer",
        "/api/submissions",
        BODY | {"tier": "municipal", "answers": {"I-1-a": True}},
        "received_on",
    ),
    ("prefecture", "/api/confirmations", BODY, "received_on"),
    (
        "ministry",
        "/api/corrections",
        BODY | {"item": "I-1-a", "value": True, "reason": "r", "basis": "b"},
        "received_on",
    ),
    (
        "ministry",
        "/api/ministry-values",
        BODY | {"values": {"II-24-a": "80"}, "source": "介護DB"},
        "received_on",
    ),
    ("ministry", "/api/runs/R-1/publish", {}, "published_on"),
]


@pytest.mark.parametrize(
    ("who", "path", "body", "field"),
    HTTP_ATTEMPTS,
    ids=[f"{p} {f}" for _, p, _, f in HTTP_ATTEMPTS],
)
def test_no_http_caller_chooses_its_own_recording_time(
    who: str,
    path: str,
    body: dict[str, object],
    field: str,
    api: Api,
    clock: SimulatedClock,
) -> None:
    clock.set_day(AFTER_DEADLINE)
    before = api.kofu.events()
    response = api.post(who, path, body | {field: "2019-11-15"})
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    reply = response.json()  # type: ignore[attr-defined]
    assert reply["field"] == field
    assert f"{field} cannot be given" in reply["error"]
    assert api.kofu.events() == before


# ------------------------------------------------ the window and the deadline


@pytest.fixture
def early(kofu: Kofu, tmp_path: Path) -> Iterator[tuple[Kofu, SimulatedClock]]:
    """The small world loaded on 2019-09-01, before the FY2020 window opens."""
    with ledger_clock.installed(SimulatedClock(jst(date(2019, 9, 1)))) as simulated:
        assert isinstance(simulated, SimulatedClock)
        code, output = kofu("load", *write_world(tmp_path / "world"))
        assert code == 0, output
        yield kofu, simulated


EDGES = [
    # (what, the ledger's moment, accepted?, the refusal's message)
    (
        "submission the day before the window opens",
        jst(date(2019, 9, 30)),
        False,
        WINDOW,
    ),
    (
        "submission 23:59 JST before it opens",
        jst(date(2019, 9, 30), 23, 59),
        False,
        WINDOW,
    ),
    ("submission at 00:00 JST on its opening day", jst(date(2019, 10, 1), 0), True, ""),
    ("submission on its opening day", jst(date(2019, 10, 1)), True, ""),
    ("submission on its closing day", jst(date(2019, 10, 31)), True, ""),
    (
        "submission 23:59 JST on its closing day",
        jst(date(2019, 10, 31), 23, 59),
        True,
        "",
    ),
    ("submission 00:00 JST the day after", jst(date(2019, 11, 1), 0), False, WINDOW),
    ("submission the day after it closes", jst(date(2019, 11, 1)), False, WINDOW),
    ("correction on the deadline day", jst(date(2019, 10, 31)), False, BEFORE_DEADLINE),
    (
        "correction 23:59 JST on the deadline day",
        jst(date(2019, 10, 31), 23, 59),
        False,
        BEFORE_DEADLINE,
    ),
    ("correction 00:00 JST the day after", jst(date(2019, 11, 1), 0), True, ""),
    ("correction the day after the deadline", jst(date(2019, 11, 1)), True, ""),
]


@pytest.mark.parametrize(
    ("what", "moment", "accepted", "message"), EDGES, ids=[e[0] for e in EDGES]
)
def test_the_window_and_the_deadline_are_judged_on_the_ledgers_date_in_japan(
    what: str,
    moment: datetime,
    accepted: bool,
    message: str,
    early: tuple[Kofu, SimulatedClock],
    tmp_path: Path,
) -> None:
    kofu, simulated = early
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(submission()), encoding="utf-8")
    if what.startswith("correction"):
        simulated.set_day(date(2019, 10, 1))
        code, output = kofu("submit", answers)
        assert code == 0, output
        command = correction()
    else:
        command = ["submit", str(answers)]
    simulated.set(moment)
    before = kofu.events()
    code, output = kofu(*command)
    if accepted:
        assert code == 0, output
        assert kofu.events() > before
        assert timestamps(kofu.url)[-1] == moment  # recorded at the ledger's time
    else:
        assert code == 1, output
        day = moment.astimezone(JST).date()
        assert f"on {day}" in output, output
        assert message in output, output
        assert kofu.events() == before


def test_a_window_refusal_names_the_ledgers_date_not_a_callers_field(
    ledger: object, clock: SimulatedClock, tmp_path: Path
) -> None:
    from adapters.inputs.loading import load_reference
    from domain.commands import SubmitSelfEvaluation
    from domain.ledger import Ledger

    assert isinstance(ledger, Ledger)
    for _ in load_reference(
        ledger, write_world(tmp_path / "w"), "system:test", Console(quiet=True)
    ):
        pass
    clock.set_day(AFTER_DEADLINE)
    cmd = SubmitSelfEvaluation.model_validate(submission(actor=f"insurer:{SHINJUKU}"))
    with pytest.raises(Refused) as refused:
        ledger.submit([cmd])
    assert refused.value.field == "date"


# ------------------------------------------------ a clock behind the ledger's


BEHIND = {
    "an answer": (jst(date(2019, 10, 20)), "submit"),
    "a correction": (jst(date(2019, 11, 14)), "correct"),
    "a token": (jst(date(2019, 11, 14)), "tokens"),
}


@pytest.mark.parametrize(("moment", "command"), list(BEHIND.values()), ids=list(BEHIND))
def test_a_process_whose_clock_is_behind_the_newest_event_writes_nothing(
    moment: datetime, command: str, prepared: Worlds, tmp_path: Path
) -> None:
    # A new process on a machine whose clock is late: its rules would accept the
    # command at its own date (the window is open, or the deadline past).
    kofu = prepared.after_deadline
    newest = timestamps(kofu.url)[-1]
    assert moment < newest
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(submission(answers={"II-12-b": "55"})), "utf-8")
    args = {
        "submit": ["submit", str(answers)],
        "correct": correction(**{"--item": "II-12-b", "--value": "61"}),
        "tokens": ["tokens", "issue", "--role", "reader", "--name", "press"],
    }[command]
    before = kofu.events()
    with ledger_clock.installed(SimulatedClock(moment)):
        code, output = kofu(*args)
    assert code == 1, output
    behind = CLOCK_BEHIND.format(moment.astimezone(UTC).isoformat())
    assert f"refused: clock: {behind} ({newest.isoformat()})" in output, output
    assert "Traceback" not in output
    assert kofu.events() == before
    assert timestamps(kofu.url)[-1] == newest


def test_an_http_caller_behind_the_newest_event_is_refused_409_clock(
    api: Api,
) -> None:
    before = api.kofu.events()
    with ledger_clock.installed(SimulatedClock(jst(date(2019, 11, 14)))):
        response = api.post(
            "ministry",
            "/api/corrections",
            BODY | {"item": "II-12-b", "value": "62", "reason": "r", "basis": "b"},
        )
    assert response.status_code == 409, response.text  # type: ignore[attr-defined]
    assert response.json()["field"] == "clock"  # type: ignore[attr-defined]
    assert api.kofu.events() == before


# ------------------------------------------------ recorded times rise


def test_recorded_times_never_fall_in_log_order_across_a_demo(
    kofu: Kofu, clock: SimulatedClock
) -> None:
    opened = open_ledger(kofu.url)
    try:
        run_demo(opened, 2020, 5, Console(quiet=True), prefectures={"13"})
    finally:
        opened.close()
    times = timestamps(kofu.url)
    assert len(times) == kofu.events() > 100
    assert all(a <= b for a, b in pairwise(times))
    days = {t.astimezone(JST).date() for t in times}
    assert min(days) == date(2019, 9, 30)  # FY2020's indicators issued
    assert max(days) == date(2021, 6, 30)  # FY2020's settlement, the last phase
    assert len(days) > 10
    # This test's own clock (2019-10-10) is now behind the demo's newest event: a
    # write from it is refused, and once the clock passes that event it is accepted.
    before = kofu.events()
    code, output = kofu("tokens", "issue", "--role", "reader", "--name", "press")
    assert code == 1, output
    assert "is behind the newest recorded event" in output
    assert kofu.events() == before
    clock.set(times[-1])
    code, output = kofu("tokens", "issue", "--role", "reader", "--name", "press")
    assert code == 0, output
    assert timestamps(kofu.url)[-1] == times[-1]
