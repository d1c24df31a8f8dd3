"""Crash trials: kill -9 a kofu command at a random moment, restart, check invariants.

The world holds Tokyo, Kanagawa and Osaka's whole FY2020 cycle, and FY2024's programme
and catalogues. The server owns time, and FY2020's submission window closed before its
cycle was recorded: the commands run on one shared clock (tests/support/timeline.py) in
FY2024's submission window (from 2023-10-10), where the bulk imports submit FY2024
answers while FY2020's runs are recalculated.

Used by tests/trials/test_crashes.py (a few trials per backend in CI) and by
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
from datetime import date
from pathlib import Path

from rich.console import Console

from adapters.inputs.loading import load_reference
from adapters.inputs.paths import data_dir
from adapters.kofu import run_demo
from adapters.storage.bootstrap import open_ledger
from adapters.storage.projecting import catch_up
from adapters.storage.rebuilding import open_store, rebuild
from domain.clock import SimulatedClock, installed
from domain.ledger import Ledger
from projections.read_models import TABLES
from tests.support.timeline import KOFU, Timeline, jst

KINDS = ("allocate", "submit", "rebuild")
FY2024_ITEM = "P1-A3-a"
"""A number (0-100) of the FY2024 municipal catalogue: the bulk imports' answer."""
FY2024_OPENED = jst(date(2023, 10, 2), hour=9)
"""When FY2024's programme and catalogues are loaded: its window opens that day."""
TIMELINE = Timeline(jst(date(2023, 10, 10)))
"""The trials' shared clock: FY2024's window is open, FY2020's deadline long past."""


@dataclass(frozen=True)
class Trial:
    """One crash trial and what was found after the restart."""

    kind: str
    delay: float
    killed: bool
    problems: tuple[str, ...]


def prepare(url: str) -> None:
    """A world of three prefectures with its whole FY2020 cycle; FY2024 opened."""
    ledger = open_ledger(url)
    try:
        run_demo(ledger, 2020, 21, Console(quiet=True), prefectures={"13", "14", "27"})
        open_fy2024(ledger)
    finally:
        ledger.close()


def open_fy2024(ledger: Ledger) -> None:
    """Load FY2024's programme and catalogues (after the FY2020 demo's last event)."""
    files = [data_dir() / "programmes" / "fy2024.yaml"] + [
        data_dir() / "catalogues" / f"fy2024-{tier}-v1.yaml"
        for tier in ("municipal", "prefectural")
    ]
    with installed(SimulatedClock(FY2024_OPENED)):
        for _ in load_reference(ledger, files, "system:test", Console(quiet=True)):
            pass


def kofu_process(url: str, *args: str) -> subprocess.Popen[str]:
    """`kofu *args` in a process of its own, on the trials' shared clock."""
    return subprocess.Popen(
        [sys.executable, "-c", KOFU, *TIMELINE.argv(), *args],
        env=os.environ | {"KOFU_DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def answers_file(folder: Path, round_: int) -> Path:
    """FY2024 answers by every Tokyo municipality (sent inside FY2024's window)."""
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
                    "grant_year": 2024,
                    "tier": "municipal",
                    "answers": {FY2024_ITEM: f"{round_ % 90}.{i % 10}"},
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
