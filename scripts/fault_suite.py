"""The whole fault-and-abuse suite, with one summary table (and JSON).

    .venv/bin/python scripts/fault_suite.py [--crash-trials 6] [--outage-trials 2]
        [--commands 24] [--url postgresql://postgres@127.0.0.1:5432/test]
        [--json fault-summary.json]

The trials' code is in tests/support/:
1. crash trials (crash_trials.py): kill -9 during allocate, bulk submit, rebuild;
2. outage trials (outage_trials.py): a throwaway PostgreSQL restarted mid-stream;
3. concurrency (concurrency_trials.py): 8 processes on shared entities, with a
   live follower compared to a rebuild;
4. the bad-input table and the hostile corpus (bad_input.py, abuse_corpus.py).
Steps 1, 3 and 4 run on SQLite and on PostgreSQL (each in a schema of its own).
Exit code 1 if anything was lost, duplicated, half-applied or otherwise wrong.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

from adapters.storage.bootstrap import open_ledger
from adapters.storage.rebuilding import rebuild
from domain.clock import SimulatedClock, installed
from domain.glossary import JST
from tests.support import concurrency_trials, crash_trials, outage_trials
from tests.support.abuse_corpus import (
    REFUSED,
    VERBATIM,
    refusal_problems,
    verbatim_problems,
)
from tests.support.bad_input import (
    AFTER_DEADLINE,
    CASES,
    IN_WINDOW_DAY,
    Worlds,
    prepare_world,
)
from tests.support.followers import Follower, export


@dataclass
class Row:
    """One line of the summary."""

    part: str
    backend: str
    trials: int = 0
    faults: int = 0
    inputs: int = 0
    lost: int = 0
    duplicated: int = 0
    half_applied: int = 0
    problems: list[str] = field(default_factory=list)


@contextmanager
def database(backend: str, base: str) -> Iterator[tuple[str, Path]]:
    """A fresh ledger URL on `backend` and a folder; dropped afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="kofu-faults-"))
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'kofu.db'}", folder
        return
    schema = f"kofu_faults_{uuid.uuid4().hex[:8]}"
    try:
        yield f"{base.split('?', maxsplit=1)[0]}?schema={schema}", folder
    finally:
        with psycopg.connect(base.split("?", maxsplit=1)[0], autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(schema)
                )
            )


def crashes(url: str, folder: Path, trials: int) -> Row:
    crash_trials.prepare(url)
    rng = random.Random(20261126)
    row = Row("kill -9 mid-command", "", trials=trials)
    kinds = crash_trials.KINDS
    for n in range(trials):
        result = crash_trials.trial(kinds[n % len(kinds)], url, folder, rng, n)
        row.faults += result.killed
        for problem in result.problems:
            row.half_applied += "remainder" in problem
            row.duplicated += "twice" in problem or "rebuild" in problem
        row.problems += list(result.problems)
    return row


def outages(trials: int, commands: int) -> Row:
    row = Row("PostgreSQL restarted", "postgres (own cluster)", trials=trials)
    cluster = outage_trials.Cluster()
    rng = random.Random(20261126)
    try:
        for n in range(trials):
            report = outage_trials.trial(cluster, f"kofu_outage_{n}", rng, commands)
            row.faults += report.faults
            row.inputs += report.commands
            row.lost += report.lost
            row.duplicated += report.duplicated
            row.half_applied += report.half_applied
            row.problems += report.problems
    finally:
        cluster.destroy()
    return row


def concurrency(url: str, folder: Path) -> Row:
    concurrency_trials.prepare(url, folder)
    with Follower(url) as follower:
        done = concurrency_trials.run_workers(url, folder)
        live = _caught_up(follower)
    findings = concurrency_trials.check(url, done)
    row = Row("8 concurrent processes", "", trials=1, inputs=len(done))
    row.lost, row.duplicated = findings.lost, findings.duplicated
    row.half_applied = findings.half_applied
    row.problems = findings.problems
    ledger = open_ledger(url)
    try:
        if export(rebuild(ledger)) != live:
            row.problems.append("the live read models differ from a rebuild")
    finally:
        ledger.close()
    return row


def _caught_up(follower: Follower) -> str:
    import time  # noqa: PLC0415

    for _ in range(300):
        if follower.store.position() >= follower.ledger.count_events():
            return export(follower.store)
        time.sleep(0.1)
    return f"the follower stopped: {follower.error!r}"


def corpus(url: str, folder: Path) -> Row:
    """Every bad input and hostile case, each on the ledger's (simulated) day it names.

    Two worlds, as in tests/support/bad_input.py: one whose newest event lies inside
    the submission window, one after the deadline (the clock never runs back).
    """
    urls = [_sibling(url, n) for n in range(2)]
    try:
        return _corpus(urls, folder)
    finally:
        for sibling in urls:
            _drop(sibling)


def _at_ten(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=JST)


def _sibling(url: str, n: int) -> str:
    """Another ledger beside `url`: a file beside it, or a schema named after it."""
    if url.startswith("sqlite"):
        return url.replace("kofu.db", f"kofu-{n}.db")
    return f"{url}_{n}"


def _drop(url: str) -> None:
    if url.startswith("sqlite"):
        return
    base, schema = url.split("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


def _corpus(urls: list[str], folder: Path) -> Row:
    worlds = Worlds(
        *(
            prepare_world(url, folder / f"world-{n}", day)
            for n, (url, day) in enumerate(
                zip(urls, (IN_WINDOW_DAY, AFTER_DEADLINE), strict=True)
            )
        )
    )
    row = Row("bad and hostile input", "", inputs=len(CASES) + len(REFUSED))
    for n, case in enumerate([*CASES, *REFUSED]):
        place = folder / f"case-{n}"
        place.mkdir()
        with installed(SimulatedClock(_at_ten(case.day))):
            row.problems += refusal_problems(worlds.on(case.day), case, place)
    with installed(SimulatedClock(_at_ten(AFTER_DEADLINE))):
        for n, reason in enumerate(VERBATIM):
            row.problems += verbatim_problems(
                worlds.after_deadline, reason, str(40 + n)
            )
    row.inputs += len(VERBATIM)
    return row


def on_backends(
    make: Callable[[str, Path], Row], base: str, backends: list[str]
) -> list[Row]:
    rows = []
    for backend in backends:
        with database(backend, base) as (url, folder):
            row = make(url, folder)
        row.backend = backend
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--crash-trials", type=int, default=6)
    parser.add_argument("--outage-trials", type=int, default=2)
    parser.add_argument("--commands", type=int, default=24)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--json", default="fault-summary.json")
    args = parser.parse_args()
    backends = args.backends.split(",")
    rows = on_backends(
        lambda url, folder: crashes(url, folder, args.crash_trials),
        args.url,
        backends,
    )
    rows.append(outages(args.outage_trials, args.commands))
    rows += on_backends(concurrency, args.url, backends)
    rows += on_backends(corpus, args.url, backends)
    print_table(rows)
    Path(args.json).write_text(
        json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2),
        encoding="utf-8",
    )
    raise SystemExit(1 if any(r.problems for r in rows) else 0)


def print_table(rows: list[Row]) -> None:
    table = Table(title="kofu fault-and-abuse suite")
    table.add_column("part")
    table.add_column("backend")
    for column in ("trials", "faults injected", "inputs tried", "lost"):
        table.add_column(column, justify="right")
    for column in ("duplicated", "half-applied", "problems"):
        table.add_column(column, justify="right")
    for r in rows:
        counts = (r.trials, r.faults, r.inputs, r.lost, r.duplicated, r.half_applied)
        table.add_row(r.part, r.backend, *map(str, counts), str(len(r.problems)))
    console = Console(width=150)
    console.print(table)
    for r in rows:
        for problem in r.problems:
            console.print(f"[red]{r.part} ({r.backend}):[/red] {problem}")


if __name__ == "__main__":
    main()
