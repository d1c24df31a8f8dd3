"""Several processes correcting the same self-evaluation at once lose nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

from adapters.storage.bootstrap import open_ledger
from adapters.storage.merkle_log import MerkleLog
from adapters.storage.rebuilding import rebuild
from domain.clock import SimulatedClock
from domain.commands import CorrectAnswer
from domain.self_evaluation import SelfEvaluation
from tests.conftest import Kofu, submission
from tests.support.concurrency_trials import (
    COMMANDS_EACH,
    WORKERS,
    Command,
    check,
    prepare,
    run_workers,
)
from tests.support.followers import Follower, export
from tests.support.timeline import Timeline, jst

SHINJUKU = "131041"
PROCESSES = 6
CORRECTIONS_EACH = 4

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
        for n in range(count):
            result = ledger.correct(CorrectAnswer(
                entity="131041", grant_year=2020, tier="municipal", item="II-12-b",
                value=f"{worker}.{n}", reason=f"worker {worker} correction {n}",
                basis="test", actor=f"ministry:worker{worker}",
                idempotency_key=f"w{worker}-{n}",
            ))
            print(result.position, flush=True)
        ledger.close()
    """
)


def test_concurrent_corrections_are_all_recorded_exactly_once_in_order(
    world: Kofu, tmp_path: Path
) -> None:
    # Given a submitted self-evaluation
    answers = tmp_path / "a.json"
    answers.write_text(
        json.dumps(
            {
                "entity": SHINJUKU,
                "grant_year": 2020,
                "tier": "municipal",
                "answers": {"II-12-b": "50"},
            }
        ),
        encoding="utf-8",
    )
    assert world("submit", answers)[0] == 0
    # When several processes correct the same item at the same time (after the
    # deadline, on one shared clock)
    after_deadline = Timeline(jst(date(2019, 11, 20))).argv()
    workers = [
        subprocess.Popen(
            [
                *(sys.executable, "-c", WORKER, world.url),
                *(str(w), str(CORRECTIONS_EACH), *after_deadline),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(PROCESSES)
    ]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1][-2000:] for o in outputs]
    # Then every accepted correction is in the history exactly once, in a consistent order
    ledger = open_ledger(world.url)
    try:
        evaluation = ledger.self_evaluation(SHINJUKU, 2020, "municipal")
        history = ledger.history(evaluation.id)
    finally:
        ledger.close()
    corrections = [e for e in history if isinstance(e, SelfEvaluation.Corrected)]
    values = [e.change.after.number for e in corrections]
    expected = {
        Decimal(f"{w}.{n}") for w in range(PROCESSES) for n in range(CORRECTIONS_EACH)
    }
    assert len(values) == PROCESSES * CORRECTIONS_EACH
    assert set(values) == expected
    assert [e.originator_version for e in history] == list(range(1, len(history) + 1))
    for before, after in pairwise(corrections):
        assert after.change.before == before.change.after
    for w in range(PROCESSES):
        own = [v for v in values if int(v) == w]
        assert own == sorted(own)
    assert evaluation.answers["II-12-b"].number == values[-1]


def test_eight_processes_interleaving_commands_on_shared_entities_lose_nothing(
    database_url: str, tmp_path: Path
) -> None:
    # Given three submitted self-evaluations and a follower projecting live
    prepare(database_url, tmp_path)
    with Follower(database_url) as follower:
        # When 8 processes revise, confirm and read inside the window, then correct,
        # race for keys, repeat and read after the deadline
        done = run_workers(database_url, tmp_path)
        live = caught_up(follower)
    # Then every command was answered: accepted, or refused with the reason
    assert len(done) == WORKERS * COMMANDS_EACH
    codes = Counter((c.label, c.code) for c in done)
    assert codes[("refused", 1)] == WORKERS
    assert codes[("race", 0)] == codes[("race", 1)] == WORKERS // 2
    assert codes[("repeat", 0)] == WORKERS
    # ... each accepted command is in the ledger once, each chain is consistent
    findings = check(database_url, done)
    assert findings.problems == []
    assert (findings.lost, findings.duplicated, findings.half_applied) == (0, 0, 0)
    # ... and the read models built live equal a rebuild from zero
    assert follower.error is None
    ledger = open_ledger(database_url)
    try:
        assert export(rebuild(ledger)) == live
        # ... and every event the racing writers committed was sealed, in order
        sealed = MerkleLog(ledger).scan()
        assert sealed.findings == []
        # (positions may have gaps: PostgreSQL's sequence skips the ids of the
        # lost races' rolled-back inserts, so the newest position is not a count)
        stored = sum(1 for _ in ledger.recorder.select_notifications(1, 10**6))
        assert sealed.leaves == sealed.events == stored > 0
        log = MerkleLog(ledger)
        newest = log.prove_inclusion(ledger.count_events())
        assert newest.leaf_index == newest.size - 1 == sealed.leaves - 1
    finally:
        ledger.close()


def caught_up(follower: Follower) -> str:
    """The follower's read models once it has projected every event."""
    for _ in range(100):
        if follower.store.position() >= follower.ledger.count_events():
            return export(follower.store)
        time.sleep(0.1)
    msg = f"the follower stopped at {follower.store.position()}: {follower.error!r}"
    raise AssertionError(msg)


def test_the_check_names_a_lost_command_and_a_refusal_without_its_reason(
    database_url: str, tmp_path: Path
) -> None:
    prepare(database_url, tmp_path)
    claimed = [
        Command(0, "correct", (), SHINJUKU, "c-0", "12.5", code=0),
        Command(1, "refused", (), SHINJUKU, "", "13.5", code=1, message="boom"),
    ]
    findings = check(database_url, claimed)
    assert (findings.lost, findings.half_applied) == (1, 1)
    assert any("exited 1: boom" in p for p in findings.problems)


def test_a_keyed_correction_saved_by_another_process_meanwhile_is_a_repeat(
    world: Kofu, tmp_path: Path, clock: SimulatedClock
) -> None:
    # Given a submission, and a second process whose directory was read just before
    # the first process saved a keyed correction
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(submission()), encoding="utf-8")
    assert world("submit", answers)[0] == 0
    clock.set_day(date(2019, 11, 20))
    command = CorrectAnswer(
        entity=SHINJUKU, grant_year=2020, tier="municipal", item="I-1-a",
        value="false", reason="r", basis="b", actor="ministry:a",
        idempotency_key="same",
    )  # fmt: skip
    first, second = open_ledger(world.url), open_ledger(world.url)
    try:
        second.refresh()
        assert not first.correct(command).noop
        fresh = second.refresh
        stale = [second.directory]
        second.refresh = lambda: stale.pop() if stale else fresh()  # type: ignore[method-assign]
        # When the second process carries out the same command
        result = second.correct(command)
    finally:
        first.close()
        second.close()
    # Then it is a repeat (not "I-1-a is already false"), recorded once
    assert result.noop
    assert result.detail == "repeat of an idempotent command"
    ledger = open_ledger(world.url)
    try:
        history = ledger.history(SelfEvaluation.id_for(SHINJUKU, 2020, "municipal"))
    finally:
        ledger.close()
    assert sum(isinstance(e, SelfEvaluation.Corrected) for e in history) == 1
