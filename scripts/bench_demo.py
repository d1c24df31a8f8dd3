"""Benchmark: `kofu demo` as a user runs it, the default year and all years (issue 18).

Each case runs the real command line (`kofu init`, then `kofu demo --fiscal-year X`,
then the same demo again, which records nothing) in a subprocess on a new ledger:
a SQLite file in a temporary folder (the embedded default), or with `--url` a fresh
PostgreSQL schema. Reports the wall time of each demo, the events it recorded and
the rerun's time. The default demo's goal (issue 18): under 60 s on SQLite.

    .venv/bin/python scripts/bench_demo.py                     # 2020 and all, SQLite
    .venv/bin/python scripts/bench_demo.py --years 2020        # the default only
    .venv/bin/python scripts/bench_demo.py --url postgresql://postgres@127.0.0.1:5432/test

Timings are of one run each on whatever else the machine is doing: compare them
with a baseline measured in the same session, never across machines.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from benchlib import fresh_schema, write_result
from rich.console import Console
from rich.table import Table

from adapters.storage.bootstrap import open_ledger

ROOT = Path(__file__).resolve().parents[1]
KOFU = ROOT / ".venv" / "bin" / "kofu"
GOAL_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--years", nargs="+", default=["2020", "all"])
    parser.add_argument("--url", help="a PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--json", type=Path, default=Path("out/bench_demo.json"))
    args = parser.parse_args()
    console = Console()
    cases = [_case(year, args.url, args.seed, console) for year in args.years]
    table = Table(title=f"kofu demo on {'PostgreSQL' if args.url else 'SQLite'}")
    for column in ("--fiscal-year", "seconds", "events", "rerun seconds", "rerun"):
        table.add_column(column, justify="right")
    for case in cases:
        table.add_row(
            case["fiscal_year"],
            f"{case['seconds']:.1f}",
            f"{case['events']:,}",
            f"{case['rerun_seconds']:.1f}",
            f"{case['rerun_events']:,} events",
        )
    console.print(table)
    default = next((c for c in cases if c["fiscal_year"] == "2020"), None)
    if default and not args.url:
        verdict = "met" if default["seconds"] < GOAL_SECONDS else "NOT met"
        console.print(f"goal: the default demo under {GOAL_SECONDS:.0f} s: {verdict}")
    write_result(
        args.json,
        {"backend": "postgresql" if args.url else "sqlite", "cases": cases},
    )


def _case(year: str, url: str | None, seed: str, console: Console) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder, _ledger_url(url, folder) as target:
        _kofu(target, "init")
        started = time.perf_counter()
        _kofu(target, "demo", "--fiscal-year", year, "--seed", seed)
        seconds = time.perf_counter() - started
        events = _events(target)
        started = time.perf_counter()
        _kofu(target, "demo", "--fiscal-year", year, "--seed", seed)
        rerun = time.perf_counter() - started
        rerun_events = _events(target) - events
    console.print(f"--fiscal-year {year}: {seconds:.1f} s, {events:,} events")
    return {
        "fiscal_year": year,
        "seconds": round(seconds, 2),
        "events": events,
        "rerun_seconds": round(rerun, 2),
        "rerun_events": rerun_events,
    }


def _ledger_url(url: str | None, folder: str) -> AbstractContextManager[str]:
    if url:
        return fresh_schema(url)
    return nullcontext(f"sqlite:///{folder}/kofu.db")


def _kofu(url: str, *args: str) -> None:
    done = subprocess.run(  # noqa: S603 - our own command line
        [str(KOFU), "--database-url", url, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        msg = f"kofu {' '.join(args)} failed ({done.returncode})"
        raise SystemExit(msg)


def _events(url: str) -> int:
    ledger = open_ledger(url)
    try:
        return ledger.count_events()
    finally:
        ledger.close()


if __name__ == "__main__":
    main()
