"""Outage trials: a throwaway PostgreSQL restarted while kofu commands run.

A private cluster (initdb into a temporary folder, a free port) holds a small world
(Tokyo, the whole FY2020 cycle, FY2024 opened). A stream of `kofu` commands runs
against it, one process each, on one shared clock in FY2024's submission window
(tests/support/crash_trials.py `TIMELINE`; the server owns time): keyed FY2024 submissions of
several entities in one file, keyed FY2020 corrections (its deadline long past),
FY2020 allocations and audit reads (which project the read models). During most
commands a thread stops the server (immediate or fast shutdown) at a seeded random
moment between the end of the command's start-up and the end of its work, and starts
it again 0.05-3 s later (past the library's own retries); the first command of a
trial always starts while the server is down. Afterwards, with the server up:

* every command exited 0, or 3 with "storage unavailable" (a traceback is a problem);
* a command that exited 0 is in the ledger whole: each of its keys has its receipt and
  exactly one event carrying its value;
* a command that exited 3 is whole or absent (never some records without others);
  run again with the same keys it exits 0 and is then in the ledger exactly once;
* `kofu verify` finds the hash chain intact; runs are whole; the read models equal
  a rebuild (tests/support/crash_trials.py `check`).

Used by tests/trials/test_outage.py (one CI-sized trial) and scripts/fault_outage.py.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from adapters.kofu import run_demo
from adapters.storage.bootstrap import open_ledger
from domain.ledger import Ledger
from domain.self_evaluation import SelfEvaluation
from tests.support.concurrency_trials import ITEM, keyed_answer
from tests.support.crash_trials import FY2024_ITEM, check, kofu_process, open_fy2024

PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/usr/bin"))
AS_POSTGRES = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
FAULT_RATE = 0.6
"""The share of commands during which the server is restarted."""
OUTAGE_ACTOR = "ministry:outage"
"""Who makes the stream's corrections (its submissions are the entities' own)."""


class Cluster:
    """A private PostgreSQL server in a temporary folder, on a free port."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="kofu-outage-pg-"))
        if AS_POSTGRES:
            shutil.chown(self.folder, "postgres")
        self.data = self.folder / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._pg(
            "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync"
        )
        self.start()

    def url(self, schema: str = "kofu") -> str:
        """The kofu database URL of a schema in this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres?schema={schema}"

    def _pg(self, program: str, *args: object) -> None:
        command = [*AS_POSTGRES, str(PG_BIN / program), *map(str, args)]
        subprocess.run(command, check=True, capture_output=True)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        log = self.folder / "log"
        self._pg("pg_ctl", "-D", self.data, "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `immediate` (like a crash) or `fast` (cut sessions)."""
        self._pg("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        """Stop the server if it runs and delete its folder."""
        with suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


class Outage(threading.Thread):
    """Stops the server after `delay` s (immediate or fast), starts it again."""

    def __init__(
        self,
        cluster: Cluster,
        rng: random.Random,
        window: tuple[float, float],
        downtime: float | None = None,
    ) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.delay = rng.uniform(*window)
        self.mode = rng.choice(["immediate", "fast"])
        # Up to past the library's own retries (10 x 0.2 s on a lost connection).
        self.downtime = downtime or rng.uniform(0.05, 3.0)

    def run(self) -> None:
        time.sleep(self.delay)
        self.cluster.stop(self.mode)
        time.sleep(self.downtime)
        self.cluster.start()


@dataclass(frozen=True)
class Step:
    """One command of the stream; `records` are its (entity, key, value) triples.

    Each record answers `item` of the entity's `grant_year` self-evaluation.
    """

    kind: str
    args: tuple[str, ...]
    records: tuple[tuple[str, str, str], ...] = ()
    grant_year: int = 2020
    item: str = ITEM


@dataclass
class Report:
    """What one trial did and found."""

    commands: int = 0
    faults: int = 0
    exits: dict[int, int] = field(default_factory=dict)
    cut_mid_command: int = 0
    reruns: int = 0
    lost: int = 0
    duplicated: int = 0
    half_applied: int = 0
    problems: list[str] = field(default_factory=list)


def prepare(url: str) -> list[str]:
    """Tokyo's FY2020 cycle, FY2024 opened; the municipalities that answered FY2020."""
    ledger = open_ledger(url)
    try:
        run_demo(ledger, 2020, 21, Console(quiet=True), prefectures={"13"})
        open_fy2024(ledger)
        return sorted(e.lg_code for e in ledger.self_evaluations(2020, "municipal"))
    finally:
        ledger.close()


def stream(folder: Path, entities: list[str], rng: random.Random, n: int) -> list[Step]:
    """`n` commands: keyed FY2024 submissions, keyed FY2020 corrections, FY2020
    allocations, reads."""
    tag = f"{rng.randrange(10**6):06d}"
    steps = []
    for i in range(n):
        kind = ("submit", "correct", "submit", "correct", "allocate", "audit")[i % 6]
        picked = rng.sample(entities, 3 if kind == "submit" else 1)
        # A value used nowhere else (3 decimals ending in 7): the event's marker.
        records = tuple(
            (e, f"outage-{tag}-{i}-{j}", f"{i % 100}.{j}{rng.randrange(10)}7")
            for j, e in enumerate(picked)
        )
        if kind == "submit":
            path = folder / f"outage-{tag}-{i}.json"
            answers = [keyed_answer(*r, 2024, FY2024_ITEM) for r in records]
            path.write_text(json.dumps(answers), "utf-8")
            steps.append(Step(kind, ("submit", str(path)), records, 2024, FY2024_ITEM))
        elif kind == "correct":
            steps.append(Step(kind, _correction(*records[0]), records))
        elif kind == "allocate":
            steps.append(Step(kind, ("allocate", "-y", "2020", "--phase", "reference")))
        else:
            steps.append(
                Step(kind, ("audit", "-e", picked[0], "-y", "2020", "-f", "json"))
            )
    return steps


def _correction(entity: str, key: str, value: str) -> tuple[str, ...]:
    return (
        *("correct", "-e", entity, "-y", "2020", "--item", ITEM, "--value", value),
        *("--reason", f"停電試験 {key}", "--basis", "test"),
        *("--actor", OUTAGE_ACTOR, "--idempotency-key", key),
    )


def run(url: str, step: Step) -> tuple[int, str]:
    """Run one command to its end; (exit code, stderr)."""
    process = kofu_process(url, *step.args)
    try:
        _, errors = process.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        process.kill()
        return -1, "hung for 180 s"
    return process.returncode, errors


def expected_exit(code: int, errors: str) -> bool:
    """0, or 3 with the storage message; anything else (a traceback) is a fault."""
    return code == 0 or (code == 3 and "storage unavailable" in errors)


def presence(ledger: Ledger, step: Step) -> list[int]:
    """Per record of a keyed step: 0 absent, 1 whole, 2+ duplicated, -1 half."""
    found = []
    for entity, key, value in step.records:
        actor = OUTAGE_ACTOR if step.kind == "correct" else f"insurer:{entity}"
        receipt = ledger.receipt(actor, key) is not None
        events = _events_with(ledger, step, entity, Decimal(value))
        found.append(events if receipt == (events > 0) else -1)
    return found


def _events_with(ledger: Ledger, step: Step, entity: str, value: Decimal) -> int:
    """The events of `entity` that set the step's item to `value`."""
    history = ledger.history(
        SelfEvaluation.id_for(entity, step.grant_year, "municipal")
    )
    count = 0
    for event in history:
        if isinstance(event, SelfEvaluation.Submitted):
            answer = event.answers.get(step.item)
            count += answer is not None and answer.number == value
            continue
        if isinstance(event, SelfEvaluation.Corrected):
            changes: tuple[object, ...] = (event.change,)
        elif isinstance(event, SelfEvaluation.Revised):
            changes = event.changes
        else:
            continue
        count += any(
            c.item == step.item and c.after.number == value  # type: ignore[attr-defined]
            for c in changes
        )
    return count


def trial(cluster: Cluster, schema: str, rng: random.Random, n: int) -> Report:
    """Prepare a schema, run `n` commands through restarts, then check everything."""
    url = cluster.url(schema)
    entities = prepare(url)
    folder = Path(tempfile.mkdtemp(prefix="kofu-outage-"))
    steps = stream(folder, entities, rng, n)
    report = Report(commands=len(steps))
    # A correction outside the stream (4 decimals: no stream value) times a command.
    window = _working(url, Step("probe", _correction(entities[0], "probe", "0.0017")))
    outcomes = []
    for index, step in enumerate(steps):
        outage = None
        if index == 0:  # the first command starts while the server is down
            outage = Outage(cluster, rng, (0.0, 0.0), downtime=2.5)
        elif rng.random() < FAULT_RATE:
            outage = Outage(cluster, rng, window)
        if outage:
            outage.start()
            report.faults += 1
        outcomes.append(run(url, step))
        if outage:
            outage.join()
    _check_steps(url, steps, outcomes, report)
    shutil.rmtree(folder, ignore_errors=True)
    return report


def _working(url: str, probe: Step) -> tuple[float, float]:
    """When a command works: from the end of start-up to the end of a whole one."""
    timings = []
    for _ in range(3):  # the first start-up reads cold files: the quickest counts
        begun = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import adapters.cli.main"], check=True)
        timings.append(time.perf_counter() - begun)
    begun = time.perf_counter()
    run(url, probe)
    whole = time.perf_counter() - begun
    return min(timings), max(whole, min(timings) + 0.2)


def _check_steps(
    url: str, steps: list[Step], outcomes: list[tuple[int, str]], report: Report
) -> None:
    for code, errors in outcomes:
        report.exits[code] = report.exits.get(code, 0) + 1
        report.cut_mid_command += code == 3 and "cannot reach" not in errors
    for step, (code, errors) in zip(steps, outcomes, strict=True):
        if not expected_exit(code, errors):
            report.problems.append(f"{step.kind} exited {code}: {errors[-300:]}")
        if code == 0 or not step.records:
            continue
        _tally(url, step, report, after_outage=True)
        report.reruns += 1
        again, said = run(url, step)
        if again != 0:
            report.problems.append(f"re-run of {step.kind} exited {again}: {said}")
    for step in steps:
        if step.records:
            _tally(url, step, report, after_outage=False)
    code, errors = run(url, Step("verify", ("verify",)))
    if code != 0:
        report.problems.append(f"kofu verify exited {code}: {errors[-300:]}")
    report.problems += check(url)


def _tally(url: str, step: Step, report: Report, *, after_outage: bool) -> None:
    """Count lost, duplicated and half-applied records of a keyed step."""
    ledger = open_ledger(url)
    try:
        found = presence(ledger, step)
    finally:
        ledger.close()
    half = -1 in found or (after_outage and len(set(found)) > 1)
    report.half_applied += half
    report.duplicated += sum(f > 1 for f in found)
    if not after_outage:
        report.lost += sum(f == 0 for f in found)
    if half or any(f > 1 for f in found) or (not after_outage and 0 in found):
        report.problems.append(f"{step.kind} {step.records}: found {found}")
