"""Run-read trials: ministry corrections commit while an allocation reads its inputs.

Worker processes (real OS processes, each with its own ledger) wait for a trial
number on their standard input, then each commits one ministry correction of its
own entity and answers with the position of the correction. The test
(tests/trials/test_run_race.py) starts a trial from inside the allocation's read: the
`reading` hook of `record_phase` is called once the run has noted the position it
reads from, sends the trial number and waits (bounded) until the ledger's head has
moved, so a correction commits after that position and before the aggregates are
read.

Used by tests/trials/test_run_race.py (both backends).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from rich.console import Console

from adapters.kofu import run_demo
from adapters.storage.bootstrap import open_ledger
from domain.catalogue import CHECKED
from domain.clock import JST, OffsetClock, installed
from domain.commands import CorrectAnswer
from domain.ledger import Ledger, Result

WORKERS = 3
ENTITIES = ("131016", "131024", "131041")  # 千代田区, 中央区, 新宿区: one per worker
ITEM = "I-1-a"
ROOT = Path(__file__).parents[2]
WAIT_SECONDS = 10.0
TIMELINE = datetime(2021, 7, 1, 10, tzinfo=JST)
"""Where the trial's shared timeline starts: the day after the demo's settlement."""


def timeline(anchor: float) -> OffsetClock:
    """The trial's clock: TIMELINE at the machine's moment `anchor`, then running.

    The test and every worker install the same one, so they share one timeline.
    """
    return OffsetClock(TIMELINE, at=datetime.fromtimestamp(anchor, UTC))


def correct(ledger: Ledger, entity: str, checked: bool) -> Result:
    """The ministry corrects ITEM of `entity`'s FY2020 answers to `checked`.

    The one place that makes a correction. Its date is the ledger's: the trial's
    timeline (`timeline`), after the demo's settlement and so after the deadline.
    """
    return ledger.correct(
        CorrectAnswer(
            entity=entity,
            grant_year=2020,
            tier="municipal",
            item=ITEM,
            value=checked,
            reason="競合試験の修正",
            basis="test",
            actor="ministry:race",
        )
    )


def prepare(url: str) -> None:
    """The demo year of Tokyo (every phase run once); the workers' entities answered."""
    ledger = open_ledger(url)
    try:
        run_demo(ledger, 2020, 11, Console(quiet=True), prefectures={"13"})
        for entity in ENTITIES:
            ledger.self_evaluation(entity, 2020, "municipal")
    finally:
        ledger.close()


def work(url: str, worker: int, anchor: float) -> None:
    """A worker: per trial number read, flip ITEM of its entity; print the position."""
    with installed(timeline(anchor)):
        _work(url, worker)


def _work(url: str, worker: int) -> None:
    ledger = open_ledger(url)
    entity = ENTITIES[worker]
    try:
        for line in sys.stdin:
            if line.strip() == "quit":
                return
            trial = int(line)
            if worker:  # the others spread over the read that follows
                time.sleep(random.uniform(0, 0.03))  # noqa: S311 - not a secret
            evaluation = ledger.self_evaluation(entity, 2020, "municipal")
            done = correct(ledger, entity, evaluation.answers.get(ITEM) != CHECKED)
            print(f"{trial} {done.position}", flush=True)  # noqa: T201 - the report
    finally:
        ledger.close()


class Workers:
    """The worker processes of one backend, started once for all its trials."""

    def __init__(self, url: str, anchor: float, workers: int = WORKERS) -> None:
        code = "import sys; from tests.support.run_race_trials import work; "
        code += "work(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))"
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-c", code, url, str(w), repr(anchor)],
                cwd=ROOT,
                env=os.environ | {"PYTHONPATH": str(ROOT)},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for w in range(workers)
        ]

    def start(self, trial: int) -> None:
        """Every worker commits its correction of this trial, now."""
        for process in self.processes:
            _stream(process.stdin).write(f"{trial}\n")
            _stream(process.stdin).flush()

    def positions(self, trial: int) -> list[int]:
        """The positions of this trial's corrections (waits for every worker)."""
        found = []
        for process in self.processes:
            line = _stream(process.stdout).readline()
            assert line, f"worker {process.pid} ended early (see its stderr)"
            number, position = line.split()
            assert int(number) == trial
            found.append(int(position))
        return found

    def stop(self) -> None:
        """Ask every worker to end; wait for it (bounded)."""
        for process in self.processes:
            try:
                _stream(process.stdin).write("quit\n")
                _stream(process.stdin).close()
            except BrokenPipeError:  # pragma: no cover - it ended already
                pass
        for process in self.processes:
            process.wait(timeout=60)
            assert process.returncode == 0, f"worker {process.pid} failed"


def _stream(stream: IO[str] | None) -> IO[str]:
    assert stream is not None
    return stream


def wait_for_head(ledger: Ledger, position: int) -> int:
    """The ledger's head once it is past `position` (bounded wait; may not be)."""
    deadline = time.monotonic() + WAIT_SECONDS
    head = ledger.count_events()
    while head <= position and time.monotonic() < deadline:
        time.sleep(0.002)
        head = ledger.count_events()
    return head
