"""Read models: exactly once, safe with a second runner, read live or as of a position.

Concurrent writers and a second runner, the audit and status commands, the stored
JSON read as the decoded events, a follower woken by NOTIFY, a database rebuild on
a busy machine. That each read model is the same built live, folded or by the
database: tests/integration/test_read_model_builds.py. Runs on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError
from rich.console import Console

from adapters.kofu import run_demo
from adapters.storage import database_rebuild
from adapters.storage.bootstrap import open_ledger
from adapters.storage.projecting import (
    SELF_EVALUATION_TOPICS,
    catch_up,
    follow,
    recorded_events,
)
from adapters.storage.rebuilding import open_store, rebuild
from domain.clock import SimulatedClock
from domain.ledger import Ledger
from domain.self_evaluation import SelfEvaluation
from projections.context import Recorded, recorded
from tests.conftest import Kofu, correction, submission
from tests.support.followers import Follower, export
from tests.support.timeline import Timeline, jst

AFTER_DEMO = date(2021, 7, 1)
"""The day after the FY2020 demo's last event (its settlement, 2021-06-30)."""


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    opened = open_ledger(database_url)
    yield opened
    opened.close()


WORKER = textwrap.dedent(
    """
    import sys
    from datetime import datetime
    from adapters.storage.bootstrap import open_ledger
    from domain.clock import OffsetClock, installed
    from domain.commands import CorrectAnswer

    url, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    start, at = (datetime.fromisoformat(a) for a in sys.argv[4:6])
    with installed(OffsetClock(start, at)):  # the workers' shared timeline
        ledger = open_ledger(url)
        entities = ["131016", "131024", "131032", "131041"]
        for n in range(count):
            ledger.correct(CorrectAnswer(
                entity=entities[(worker + n) % len(entities)], grant_year=2020,
                tier="municipal", item="II-12-b", value=f"{worker}.{n}",
                reason=f"worker {worker} correction {n}", basis="test",
                actor=f"ministry:worker{worker}",
            ))
        ledger.close()
    """
)


def test_concurrent_writers_are_projected_exactly_once_and_a_second_runner_is_refused(
    ledger: Ledger, database_url: str
) -> None:
    run_demo(ledger, 2020, 3, Console(quiet=True), prefectures={"13"})
    store = open_store(ledger)
    catch_up(ledger, store)
    before = len(
        store.rows("audit_trail", {"event": "SelfEvaluation.Corrected"}, ["position"])
    )
    refused = 0
    # The workers share one running clock, after the demo's last event (settlement)
    after_demo = Timeline(jst(AFTER_DEMO)).argv()
    with Follower(database_url):
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, database_url, str(w), "5", *after_demo],
                stderr=subprocess.PIPE,
                text=True,
            )
            for w in range(4)
        ]
        # A second runner on the same view, racing the follower.
        second = open_ledger(database_url)
        second_store = open_store(second)
        while any(w.poll() is None for w in workers):
            try:
                catch_up(second, second_store, batch=3)
            except IntegrityError:
                refused += 1
        errors = [w.communicate()[1] for w in workers]
        assert all(w.returncode == 0 for w in workers), errors
        second.close()
    catch_up(ledger, store)
    corrected = store.rows(
        "audit_trail", {"event": "SelfEvaluation.Corrected"}, ["position"]
    )
    assert len(corrected) - before == 4 * 5
    assert len({r["position"] for r in corrected}) == len(corrected)
    live = export(store)
    assert export(rebuild(ledger)) == live
    status = {r["entity"]: r for r in store.rows("submission_status", {}, ["entity"])}
    assert sum(
        status[e]["corrections"] for e in ("131016", "131024", "131032", "131041")
    ) == sum(
        1 for r in corrected if r["entity"] in {"131016", "131024", "131032", "131041"}
    )


def submit_then_correct(
    world: Kofu, folder: Path, answers: dict[str, object], clock: SimulatedClock
) -> int:
    """新宿区 submits `answers`, then (after the deadline) the ministry corrects I-1-a.

    Returns the ledger position just before the correction.
    """
    path = folder / "a.json"
    path.write_text(json.dumps(submission(answers=answers)), encoding="utf-8")
    assert world("submit", path)[0] == 0
    before = world.events()
    clock.set_day(date(2019, 11, 11))
    code, output = world(
        *correction(**{"--reason": "誤り", "--basis": "通知", "--actor": "ministry:x"})
    )
    assert code == 0, output
    return before


def test_audit_command_reads_the_trail_in_ledger_order(
    world: Kofu, tmp_path: Any, clock: SimulatedClock
) -> None:
    submit_then_correct(world, tmp_path, {"I-1-a": True}, clock)
    code, output = world(
        "audit", "--entity", "131041", "--fiscal-year", "2020", "--format", "json"
    )
    assert code == 0, output
    trail = json.loads(output)
    assert [t["event"] for t in trail] == [
        "SelfEvaluation.Opened",
        "SelfEvaluation.Submitted",
        "SelfEvaluation.Corrected",
    ]
    assert [t["position"] for t in trail] == sorted(t["position"] for t in trail)
    assert trail[-1]["actor"] == "ministry:x"
    assert trail[-1]["reason"] == "誤り"
    assert trail[-1]["change"]["before"]["checked"] is True
    code, output = world(
        "audit",
        "--entity",
        "131041",
        "--fiscal-year",
        "2020",
        "--as-of",
        str(trail[1]["position"]),
        "--format",
        "json",
    )
    assert [t["event"] for t in json.loads(output)] == [
        "SelfEvaluation.Opened",
        "SelfEvaluation.Submitted",
    ]
    code, output = world("projections", "status", "--format", "json")
    assert code == 0
    assert all(row["behind"] == 0 for row in json.loads(output))


def test_a_runner_that_read_from_an_old_position_cannot_commit_a_longer_batch(
    ledger: Ledger, database_url: str
) -> None:
    # Given two runners that both read the read models at the same position
    run_demo(ledger, 2020, 5, Console(quiet=True), prefectures={"13"})
    first = open_store(ledger)
    start = first.position()
    other = open_ledger(database_url)
    second = open_store(other)
    assert second.position() == start
    # When the first commits a short batch
    first.apply([], start, start + 3)
    # Then the second's batch from the same start is refused, shorter or longer
    # (the library's "newer position" check alone would accept the longer one).
    with pytest.raises(IntegrityError):
        second.apply([], start, start + 2)
    with pytest.raises(IntegrityError):
        second.apply([], start, start + 50)
    assert second.position() == start + 3
    other.close()


def test_status_and_scores_read_live_or_as_of_a_past_position(
    world: Kofu, tmp_path: Any, clock: SimulatedClock
) -> None:
    before_correction = submit_then_correct(
        world, tmp_path, {"I-1-a": True, "II-12-b": "70"}, clock
    )
    live = json.loads(world("status", "-y", "2020", "--format", "json")[1])
    assert [(r["entity"], r["status"], r["corrections"]) for r in live] == [
        ("131041", "corrected", 1)
    ]
    past = json.loads(
        world(
            "status",
            "-y",
            "2020",
            "--as-of",
            str(before_correction),
            "--format",
            "json",
        )[1]
    )
    assert [(r["entity"], r["status"], r["corrections"]) for r in past] == [
        ("131041", "submitted", 0)
    ]
    now = json.loads(world("scores", "-y", "2020", "--items", "--format", "json")[1])
    then = json.loads(
        world(
            "scores",
            "-y",
            "2020",
            "--items",
            "--as-of",
            str(before_correction),
            "--format",
            "json",
        )[1]
    )
    assert now[0]["I-1-a"] == 0
    assert then[0]["I-1-a"] > 0
    assert then[0]["total"] - now[0]["total"] == then[0]["I-1-a"]
    assert now[0]["rank"] == 1


def test_self_evaluation_events_read_from_stored_json_give_the_decoded_facts(
    ledger: Ledger,
) -> None:
    # Given a ledger with submissions, revisions, confirmations and corrections
    run_demo(ledger, 2020, 5, Console(quiet=True), prefectures={"13"})
    notes = ledger.recorder.select_notifications(start=0, limit=10**6)
    # When each self-evaluation event is read both ways
    fast = dict(recorded_events(ledger, notes))
    compared = 0
    for note in notes:
        if note.topic not in SELF_EVALUATION_TOPICS:
            continue
        event = ledger.mapper.to_domain_event(note)
        # Then the stored JSON gives exactly what the decoded event gives
        assert fast[note.id] == recorded(event)
        compared += 1
    kinds = {fact.kind for fact in fast.values() if isinstance(fact, Recorded)}
    assert {
        SelfEvaluation.Opened,
        SelfEvaluation.Submitted,
        SelfEvaluation.Corrected,
        SelfEvaluation.Confirmed,
    } <= kinds
    assert compared > 100
    # and events no read model shows (receipts, rules) are not read at all
    assert len(fast) < len(notes)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_follower_on_postgres_wakes_on_the_recorders_notify_not_its_poll(
    world: Kofu, database_url: str, tmp_path: Path
) -> None:
    ledger = open_ledger(database_url)
    store = open_store(ledger)
    catch_up(ledger, store)
    done = threading.Event()
    # Given a follower whose poll interval is an hour
    thread = threading.Thread(
        target=follow,
        args=(ledger, store),
        kwargs={"interval": 3600, "until": done.is_set},
        daemon=True,
    )
    thread.start()
    try:
        # When an event is recorded by another process
        path = tmp_path / "a.json"
        path.write_text(json.dumps(submission()), encoding="utf-8")
        assert world("submit", path)[0] == 0
        # Then the follower projects it without waiting for its poll
        for _ in range(600):
            if store.position() == ledger.recorder.max_notification_id():
                break
            threading.Event().wait(0.1)
        assert store.position() == ledger.recorder.max_notification_id()
        assert store.rows("submission_status", {"entity": "131041"}, ["entity"])
    finally:
        done.set()
        recorder = ledger.recorder
        with recorder.datastore.transaction(commit=True) as cursor:  # wake it
            cursor.execute(f'NOTIFY "{recorder.channel_name}"')
        thread.join(timeout=30)
        assert not thread.is_alive()
        ledger.close()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_database_rebuild_outlasts_the_pools_idle_limit_while_python_works(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a ledger whose connections end a transaction idle for over a second
    monkeypatch.setenv("POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT", "1")
    ledger = open_ledger(database_url)
    try:
        run_demo(ledger, 2020, 3, Console(quiet=True), prefectures={"13"})
        # and a Python side slower than that: two seconds per page of other events
        decode = database_rebuild.recorded_events

        def slowly(
            ledger: Ledger, notes: Sequence[Any]
        ) -> Iterator[tuple[int, object]]:
            time.sleep(2)
            yield from decode(ledger, notes)

        monkeypatch.setattr(database_rebuild, "recorded_events", slowly)
        store = open_store(ledger)
        assert database_rebuild.applies(ledger, store)
        # When the database rebuilds the read models (its transactions wait, idle,
        # for that page, and for the thread decoding it)
        by_database = export(rebuild(ledger, store=store))
        # Then it finishes, with what folding every event in Python writes
        assert by_database == export(rebuild(ledger, store=store, in_database=False))
    finally:
        ledger.close()
