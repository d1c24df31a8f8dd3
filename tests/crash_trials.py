"""Crash trials: kill -9 a kofu command at a random moment, restart, check invariants.

Used by tests/test_crashes.py (a few trials per backend in CI) and by
scripts/fault_crashes.py (as many seeded trials as asked, on demand).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from adapters.bootstrap import open_ledger
from adapters.demo import run_demo
from adapters.projecting import catch_up, open_store, rebuild
from projections.read_models import TABLES

KINDS = ("allocate", "submit", "rebuild")


@dataclass(frozen=True)
class Trial:
    """One crash trial and what was found after the restart."""

    kind: str
    delay: float
    killed: bool
    problems: tuple[str, ...]


def prepare(url: str) -> None:
    """A world of three prefectures with its whole FY2020 cycle."""
    ledger = open_ledger(url)
    run_demo(ledger, 2020, 21, Console(quiet=True), prefectures={"13", "14", "27"})
    ledger.close()


def kofu_process(url: str, *args: str) -> subprocess.Popen[str]:
    code = "from adapters.cli.main import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=os.environ | {"KOFU_DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def answers_file(folder: Path, round_: int) -> Path:
    """Revisions by every Tokyo municipality (received inside the window)."""
    ledger = open_ledger(_url_of(folder))
    codes = [
        e.lg_code
        for e in ledger.entities()
        if e.prefecture_code == "13" and e.kind == "municipality"
    ]
    ledger.close()
    path = folder / f"answers-{round_}.json"
    path.write_text(
        json.dumps(
            [
                {
                    "entity": c,
                    "grant_year": 2020,
                    "tier": "municipal",
                    "received_on": "2019-10-30",
                    "answers": {"II-12-b": f"{round_ % 90}.{i % 10}"},
                }
                for i, c in enumerate(codes)
            ]
        ),
        encoding="utf-8",
    )
    return path


_URLS: dict[Path, str] = {}


def _url_of(folder: Path) -> str:
    return _URLS[folder]


def command(kind: str, folder: Path, round_: int) -> list[str]:
    if kind == "allocate":
        return ["allocate", "--fiscal-year", "2020", "--phase", "reference"]
    if kind == "submit":
        return ["submit", str(answers_file(folder, round_)), "--batch-size", "5"]
    return ["projections", "rebuild", "--batch", "50"]


def check(url: str) -> list[str]:
    """Invariants after a crash and a restart; the problems found."""
    problems = []
    ledger = open_ledger(url)
    try:
        for phase_runs in ledger.phase_runs(2020):
            for run_id in phase_runs.runs:
                run = ledger.run(
                    run_id
                ).calculated  # a listed run must exist (atomic save)
                if (
                    run.totals.allocated_yen + run.totals.remainder_yen
                    != run.inputs.budget_yen
                ):
                    problems.append(f"{run_id}: allocated + remainder != budget")
        store = open_store(ledger)
        catch_up(ledger, store)
        live = _export(store)
        fresh = _export(rebuild(ledger))
        if live != fresh:
            problems.append(
                "read models differ from a rebuild (an event projected twice or skipped)"
            )
        trail = store.rows("audit_trail", {}, ["position", "entity"])
        keys = [(r["position"], r["entity"]) for r in trail]
        if len(keys) != len(set(keys)):
            problems.append("an audit-trail row appears twice")
    finally:
        ledger.close()
    return problems


def _export(store: object) -> str:
    return json.dumps(
        {t.name: store.rows(t.name, {}, list(t.key)) for t in TABLES},  # type: ignore[attr-defined]
        sort_keys=True,
        default=str,
    )


_DURATIONS: dict[tuple[str, str], tuple[float, float]] = {}


def _timing(kind: str, url: str, folder: Path, round_: int) -> tuple[float, float]:
    """(start-up, whole run) of the command uncut here, measured once per kind."""
    if (kind, url) not in _DURATIONS:
        begun = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import adapters.cli.main"], check=True)
        startup = time.perf_counter() - begun
        begun = time.perf_counter()
        process = kofu_process(url, *command(kind, folder, round_ + 1000))
        process.communicate(timeout=300)
        _DURATIONS[kind, url] = (startup, time.perf_counter() - begun)
    return _DURATIONS[kind, url]


def trial(kind: str, url: str, folder: Path, rng: random.Random, round_: int) -> Trial:
    """Start a command, kill -9 it at a random moment of its run, redo it, check."""
    _URLS[folder] = url
    startup, duration = _timing(kind, url, folder, round_)
    args = command(kind, folder, round_)
    process = kofu_process(url, *args)
    # Kill while the command works: after start-up, before it would finish.
    delay = rng.uniform(startup, max(startup, 0.95 * duration))
    time.sleep(delay)
    killed = process.poll() is None
    if killed:
        process.send_signal(signal.SIGKILL)
    process.communicate()
    # Restart: the same command again must complete (resume or cleanly redo).
    again = kofu_process(url, *args)
    _, errors = again.communicate(timeout=300)
    problems = [] if again.returncode == 0 else [f"redo failed: {errors[-500:]}"]
    return Trial(kind, round(delay, 2), killed, tuple(problems + check(url)))
