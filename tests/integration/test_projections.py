"""Read models: exactly once, identical when rebuilt, safe with a second runner.

A small synthetic world (Tokyo and Kanagawa, the whole FY2020 cycle through every
phase) is recorded while a follower projects live; the read models are then
exported to JSON and compared with a rebuild from position 0. Runs on SQLite and
on PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
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
    open_store,
    rebuild,
    recorded_events,
)
from domain.catalogue import CHECKED, UNCHECKED
from domain.clock import SimulatedClock
from domain.ledger import Ledger
from domain.self_evaluation import SelfEvaluation
from projections.read_models import Recorded, recorded
from tests.conftest import Kofu, correction, submission
from tests.support.followers import Follower, export
from tests.support.timeline import Timeline, jst

WORLD = {"13", "14"}
AFTER_DEMO = date(2021, 7, 1)
"""The day after the FY2020 demo's last event (its settlement, 2021-06-30)."""


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    opened = open_ledger(database_url)
    yield opened
    opened.close()


def test_views_built_live_while_commands_run_equal_a_rebuild_from_zero(
    ledger: Ledger, database_url: str
) -> None:
    # Given a follower projecting while a whole synthetic cycle is recorded
    with Follower(database_url) as follower:
        run_demo(ledger, 2020, 7, Console(quiet=True), prefectures=WORLD)
    assert follower.error is None
    store = open_store(ledger)
    catch_up(ledger, store)
    assert store.position() == ledger.count_events()
    live = export(store)
    # When the read models are rebuilt from position 0 (blue-green)
    rebuilt = rebuild(ledger)
    # Then the rebuilt tables are identical, byte for byte, and cover everything
    assert rebuilt.generation == store.generation + 1
    assert export(rebuilt) == live
    rows = json.loads(live)
    assert len(rows["submission_status"]) == 97
    phases = {(r["grant"], r["tier"], r["phase"]) for r in rows["allocations"]}
    assert len(phases) == 2 * 2 * 5
    events = {r["event"] for r in rows["audit_trail"]}
    assert {
        "AllocationRun.Calculated",
        "Entity.Registered",
        "Insurer.Registered",
        *(f"SelfEvaluation.{name}" for name in SELF_EVALUATION_TOPICS.values()),
    } <= events
    # The score read model agrees with the scores the last allocation run computed
    scores = {(r["grant"], r["entity"]): r for r in rows["scores"]}
    assert len(scores) == 2 * 97
    settled = [r for r in rows["allocations"] if r["phase"] == "settlement"]
    assert settled
    for allocation in settled:
        assert (
            scores[allocation["grant"], allocation["entity"]]["total"]
            == allocation["score"]
        )
    for row in rows["scores"]:
        better = sum(
            1
            for other in rows["scores"]
            if (other["grant"], other["tier"]) == (row["grant"], row["tier"])
            and other["total"] > row["total"]
        )
        assert row["rank"] == better + 1
    items = [
        r
        for r in rows["item_scores"]
        if r["entity"] == "131041" and r["grant"] == "promotion"
    ]
    assert len(items) > 50
    assert sum(r["points"] for r in items) >= scores["promotion", "131041"]["total"]


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


def test_the_database_rebuild_writes_what_folding_every_event_in_python_writes(
    ledger: Ledger, database_url: str, clock: SimulatedClock
) -> None:
    # Given a ledger with every kind of self-evaluation event, some revised twice
    run_demo(ledger, 2020, 7, Console(quiet=True), prefectures=WORLD)
    clock.set_day(AFTER_DEMO)
    for evaluation in list(ledger.self_evaluations(2020, "municipal"))[:5]:
        ledger.retrying(lambda e=evaluation: _revise_twice(ledger, e))
    store = open_store(ledger)
    in_database = database_rebuild.applies(ledger, store)
    if in_database:  # and a stage left behind by a rebuild killed mid-way
        with store.cursor() as cursor:
            stage = database_rebuild.STAGE.format(store.generation + 1)
            cursor.execute(f'CREATE UNLOGGED TABLE "{stage}" (junk text)')
    # When the read models are rebuilt by the database (on PostgreSQL) and by
    # folding every event in Python, one after the other
    counted: list[int] = []
    by_database = export(rebuild(ledger, store=store, progress=counted.append))
    by_python = export(rebuild(ledger, store=store, in_database=False))
    # Then the tables are identical; the database path is PostgreSQL's alone
    assert in_database == database_url.startswith("postgresql")
    assert by_database == by_python
    assert sum(counted) == ledger.count_events()  # a progress bar that ends full
    with store.cursor() as cursor:  # no stage is left behind
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE name LIKE 'kofu_rebuild_stage%'"
            if store.backend == "sqlite"
            else "SELECT count(*) FROM pg_tables WHERE tablename LIKE "
            "'kofu_rebuild_stage%' AND schemaname = current_schema()"
        )
        assert next(iter(dict(cursor.fetchone()).values())) == 0
        # and downstream readers of the view get the details as JSON text
        cursor.execute("SELECT details FROM kofu_audit_trail_v1 LIMIT 1")
        details = next(iter(dict(cursor.fetchone()).values()))
        assert isinstance(details, str)
        assert isinstance(json.loads(details), dict)
    rows = json.loads(by_python)
    assert len(rows["audit_trail"]) > 1000
    assert len(rows["item_scores"]) > 10_000


def _revise_twice(ledger: Ledger, stale: SelfEvaluation) -> None:
    # Two revisions in one save: an item flipped, then flipped back with another.
    evaluation = ledger.get(stale.id, SelfEvaluation)
    assert evaluation is not None
    spec = ledger.catalogue(2020, "municipal").spec
    first, second = [
        code
        for code, (item, indicator) in spec.sub_items().items()
        if item.kind == "checkbox" and indicator.source == "self"
    ][:2]
    before = evaluation.answers.get(first, UNCHECKED)
    flip = UNCHECKED if before == CHECKED else CHECKED
    window = ledger.programme(2020).spec.schedule.submission_opens
    actor = f"insurer:{evaluation.lg_code}"
    evaluation.submit({first: flip}, actor, window)
    evaluation.submit({first: before, second: flip}, actor, window)
    ledger.save(evaluation)


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
    names = {fact.name for fact in fast.values() if isinstance(fact, Recorded)}
    assert {"Opened", "Submitted", "Corrected", "Confirmed"} <= names
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
