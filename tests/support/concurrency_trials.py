"""Concurrency trials: 8 processes issuing interleaved kofu commands on shared entities.

Each worker process runs the `kofu` command line in-process, command after command
(each opens its own ledger, as a real caller does), all starting at the same moment,
on three shared self-evaluations. The server owns time: an entity revises its answers
only inside the submission window and the ministry corrects them only after the
deadline, so no moment allows both. The trial runs in two stages on one shared clock
(tests/support/timeline.py), every worker in each:

1. inside the window (2019-10-30): a keyed revision, a keyed confirmation and an
   audit read (which projects the read models, racing the follower);
2. after the deadline (2019-11-20): a keyed correction, a correction racing another
   worker's with the same key and other content, one repeating another worker's
   command exactly, one refused correction (by an insurer), and an audit read.

`check` then finds the problems: see its docstring.

Used by tests/trials/test_concurrency.py (both backends) and scripts/fault_suite.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from adapters.storage.bootstrap import open_ledger
from domain.clock import SimulatedClock, installed
from domain.ledger import Ledger
from domain.self_evaluation import Change, SelfEvaluation
from tests.conftest import Kofu, write_world
from tests.support.timeline import Timeline, jst

WORKERS = 8
ENTITIES = ("131016", "131024", "131041")
ITEM = "II-12-b"
ROOT = Path(__file__).parents[2]
PREPARED = jst(date(2019, 10, 10))
"""When the world and the first answers are recorded (the FY2020 window is open)."""
STAGES = {"window": jst(date(2019, 10, 30)), "corrections": jst(date(2019, 11, 20))}
"""Each stage's time when its workers start: inside the window, after the deadline."""


@dataclass(frozen=True)
class Command:
    """One command of a worker, what it should do, and (afterwards) what it did."""

    worker: int
    label: str  # revise | correct | confirm | race | repeat | refused | audit
    args: tuple[str, ...]
    entity: str = ""
    key: str = ""
    value: str = ""
    code: int | None = None
    message: str = ""


def plan(worker: int, folder: Path, stage: str) -> list[Command]:
    """A worker's commands of a stage, in an order rotated by the worker's number."""
    own = ENTITIES[worker % 3]
    pair = worker % 4  # workers w and w + 4 share the keys of a race and a repeat
    audit = Command(worker, "audit", ("audit", "-e", own, "-y", "2020", "-f", "json"))
    if stage == "window":
        commands = [
            _revise(worker, ENTITIES[(worker + 1) % 3], folder),
            _confirm(worker, ENTITIES[(worker + 2) % 3]),
            audit,
        ]
    else:
        commands = [
            _correct(worker, "correct", own, f"c-{worker}", f"{10 * worker + 1}.25"),
            _correct(worker, "race", own, f"race-{pair}", f"{10 * worker + 2}.25"),
            _correct(
                worker, "repeat", ENTITIES[pair % 3], f"same-{pair}", f"9{pair}.5"
            ),
            _correct(worker, "refused", own, "", f"{10 * worker + 3}.25"),
            audit,
        ]
    turn = worker % len(commands)
    return commands[turn:] + commands[:turn]


COMMANDS_EACH = 8
"""The commands of one worker, over both stages."""


def keyed_answer(
    entity: str, key: str, value: str, grant_year: int = 2020, item: str = ITEM
) -> dict[str, object]:
    """A submission file's record: `item` answered, keyed (sent inside the window)."""
    return {
        "entity": entity,
        "grant_year": grant_year,
        "tier": "municipal",
        "answers": {item: value},
        "idempotency_key": key,
    }


def _revise(worker: int, entity: str, folder: Path) -> Command:
    key, value = f"s-{worker}", f"{10 * worker + 4}.25"
    path = folder / f"revise-{worker}.json"
    path.write_text(json.dumps(keyed_answer(entity, key, value)), encoding="utf-8")
    return Command(worker, "revise", ("submit", str(path)), entity, key, value)


def _actor(label: str, entity: str) -> str:
    """Who sends a keyed command: the entity its answers (and the refused
    correction), the ministry the other corrections."""
    if label in {"revise", "refused"}:
        return f"insurer:{entity}"
    return "ministry:concurrency"


def _correct(worker: int, label: str, entity: str, key: str, value: str) -> Command:
    actor = _actor(label, entity)
    args = [
        *("correct", "-e", entity, "-y", "2020", "--item", ITEM, "--value", value),
        *("--reason", f"並行修正 {value}", "--basis", "test"),
        *("--actor", actor),
    ]
    if key:
        args += ["--idempotency-key", key]
    return Command(worker, label, tuple(args), entity, key, value)


def _confirm(worker: int, entity: str) -> Command:
    key = f"f-{worker}"
    args = (
        *("confirm", "-e", entity, "-y", "2020", "--actor", "prefecture:130001"),
        *("--idempotency-key", key),
    )
    return Command(worker, "confirm", args, entity, key)


def prepare(url: str, folder: Path) -> None:
    """The small world, with the three shared entities' first answers (on 10-10)."""
    kofu = Kofu(url)
    path = folder / "first.json"
    records = [
        {
            "entity": e,
            "grant_year": 2020,
            "tier": "municipal",
            "answers": {ITEM: "50", "I-1-a": True},
        }
        for e in ENTITIES
    ]
    path.write_text(json.dumps(records), encoding="utf-8")
    with installed(SimulatedClock(PREPARED)):
        code, output = kofu("load", *write_world(folder / "world"))
        assert code == 0, output
        code, output = kofu("submit", path)
        assert code == 0, output


def work(url: str, worker: int, folder: str, stage: str, timeline: list[str]) -> None:
    """A worker process: run its stage's plan through the CLI on the trial's clock.

    It starts when the timeline does and prints one JSON line per command.
    """
    os.environ["KOFU_DATABASE_URL"] = url
    commands = plan(worker, Path(folder), stage)
    shared = Timeline.from_argv(timeline)
    time.sleep(max(0.0, shared.at.timestamp() - time.time()))
    with installed(shared.clock()):
        _run(commands)


def _run(commands: list[Command]) -> None:
    from adapters.cli.main import main

    for command in commands:
        errors = io.StringIO()
        code = 0
        with (
            contextlib.redirect_stderr(errors),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            try:
                main(list(command.args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except Exception as exc:  # noqa: BLE001 - a traceback is a finding
                code, errors = -1, io.StringIO(f"crashed: {exc!r}")
        done = Command(
            **{**asdict(command), "code": code, "message": errors.getvalue()}
        )
        print(json.dumps(asdict(done)), flush=True)  # noqa: T201 - the report


def run_workers(url: str, folder: Path, workers: int = WORKERS) -> list[Command]:
    """Run the stages one after the other; the commands the workers report."""
    found = []
    for stage in STAGES:
        found += _run_stage(url, folder, stage, workers)
    return found


def _run_stage(url: str, folder: Path, stage: str, workers: int) -> list[Command]:
    """Start the workers at the same moment, the stage's time on a shared clock."""
    start_at = datetime.fromtimestamp(time.time() + 4, tz=UTC)
    timeline = Timeline(STAGES[stage], at=start_at).argv()
    code = "import sys; from tests.support.concurrency_trials import work; "
    code += (
        "work(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:])"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, url, str(w), str(folder), stage, *timeline],
            cwd=ROOT,
            env=os.environ | {"PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    found = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
        for line in out.splitlines():
            record = json.loads(line)
            found.append(Command(**{**record, "args": tuple(record["args"])}))
    return found


@dataclass
class Findings:
    """What `check` found: counts of each kind of fault, and the problems named."""

    lost: int = 0
    duplicated: int = 0
    half_applied: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, problem: str) -> None:
        """Name a problem."""
        self.problems.append(problem)


EXPECTED_REFUSAL = {
    "refused": "only ministry staff correct answers",
    "race": "already used for a different command",
}


def check(url: str, done: list[Command]) -> Findings:
    """The problems after the run.

    Each command exited 0, or 1 with a refusal message (the insurer's correction,
    and the loser of each race for a key); each accepted command is in the ledger
    exactly once (its receipt and one event carrying its value), a refused one not at
    all, an exact repeat once; each self-evaluation's history is gapless and its
    before/after values chain; each confirmation confirms the answers as they stood.
    """
    findings = Findings()
    ledger = open_ledger(url)
    try:
        for command in done:
            _check_exit(command, done, findings)
            if command.value:
                _check_presence(ledger, command, findings)
        for entity in ENTITIES:
            _check_chain(ledger, entity, findings)
    finally:
        ledger.close()
    return findings


def _check_exit(command: Command, done: list[Command], findings: Findings) -> None:
    expected = 0
    if command.label == "refused":
        expected = 1
    elif command.label == "race":
        rival = next(c for c in done if c.key == command.key and c is not command)
        expected = 1 if rival.code == 0 else 0
    said = EXPECTED_REFUSAL.get(command.label, "")
    if command.code != expected or (expected and "refused: " not in command.message):
        findings.add(
            f"{command.label} of worker {command.worker} exited "
            f"{command.code}: {command.message[-300:]}"
        )
    elif expected and said not in command.message:
        findings.add(f"{command.label} refused for another reason: {command.message}")


def _check_presence(ledger: Ledger, command: Command, findings: Findings) -> None:
    events = _events_with(ledger, command.entity, Decimal(command.value))
    receipt = None
    if command.key:
        receipt = ledger.receipt(_actor(command.label, command.entity), command.key)
    if command.code == 0:
        findings.lost += events == 0
        findings.duplicated += events > 1
        findings.half_applied += receipt is None
        if events != 1 or receipt is None:
            findings.add(
                f"accepted {command.label} {command.key}: {events} events, "
                f"receipt {'found' if receipt else 'missing'}"
            )
    elif events:
        findings.add(f"refused {command.label} {command.key} left {events} events")


def _events_with(ledger: Ledger, entity: str, value: Decimal) -> int:
    count = 0
    for event in ledger.history(SelfEvaluation.id_for(entity, 2020, "municipal")):
        if isinstance(event, SelfEvaluation.Corrected):
            count += event.change.after.number == value
        elif isinstance(event, SelfEvaluation.Revised):
            count += any(c.after.number == value for c in event.changes)
    return count


def _check_chain(ledger: Ledger, entity: str, findings: Findings) -> None:
    """Versions 1..n; each change's `before` is the value it replaced."""
    history = ledger.history(SelfEvaluation.id_for(entity, 2020, "municipal"))
    versions = [e.originator_version for e in history]
    if versions != list(range(1, len(history) + 1)):
        findings.add(f"{entity}: versions {versions} have gaps")
    current: dict[str, object] = {}
    answered, confirmed = 0, set()
    for event in history:
        changes: tuple[Change, ...] = ()
        if isinstance(event, SelfEvaluation.Submitted):
            current.update(event.answers)
            answered = event.originator_version
        elif isinstance(event, SelfEvaluation.Revised):
            changes, answered = event.changes, event.originator_version
        elif isinstance(event, SelfEvaluation.Corrected):
            changes = (event.change,)
        elif isinstance(event, SelfEvaluation.Confirmed):
            if event.as_of_version != answered or answered in confirmed:
                findings.add(
                    f"{entity}: confirmation {event.originator_version} "
                    f"of version {event.as_of_version} (answers: {answered})"
                )
            confirmed.add(event.as_of_version)
        for change in changes:
            if current.get(change.item) != change.before:
                findings.add(
                    f"{entity} v{event.originator_version}: before {change.before} "
                    f"but the answer was {current.get(change.item)}"
                )
            current[change.item] = change.after
