"""Benchmark: scoring and allocating one national year (issue 3).

Loads the demo's synthetic FY2020 nation into a fresh PostgreSQL schema (or the URL
given), then times, alternating, (a) reading a phase's inputs from the ledger (every
entity with its insured counts, 事業費 and 所要見込額, every insurer, every
self-evaluation, the rules and catalogues) and (b) a whole `run_phase` of the
reference phase: the same reads, scoring both grants of both tiers, eligibility,
allocation, capping, ranks and recording the four runs in one transaction. The
difference (b) - (a) is the compute and write cost.

    .venv/bin/python scripts/bench_allocate.py [--url postgresql://...] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from rich.console import Console

from adapters.kofu import run_demo
from adapters.storage.bootstrap import open_ledger
from domain.commands import AllocatePhase
from domain.ledger import Ledger
from domain.phase_run import read_phase, run_phase

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"

BENCH_RUN = AllocatePhase(grant_year=2020, phase="reference", actor="ministry:bench")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path("out/bench_allocate.json"))
    args = parser.parse_args()
    schema = f"kofu_bench_{uuid.uuid4().hex[:10]}"
    url = f"{args.url.split('?')[0]}?schema={schema}"
    ledger = open_ledger(url)
    try:
        run_demo(ledger, 2020, 1, Console(quiet=True))
        events = ledger.count_events()
        reads, runs = [], []
        for round_ in range(args.repeat):
            for side in ("read", "run") if round_ % 2 == 0 else ("run", "read"):
                ledger = _reopen(ledger, url)
                start = time.perf_counter()
                if side == "read":
                    read_phase(ledger, 2020, "reference")
                    reads.append(time.perf_counter() - start)
                else:
                    run_phase(ledger, BENCH_RUN)
                    runs.append(time.perf_counter() - start)
        read, run = statistics.median(reads), statistics.median(runs)
        result = {
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "events_in_ledger": events,
            "read_inputs_s": round(read, 3),
            "run_phase_s": round(run, 3),
            "ratio": round(run / read, 2),
            "compute_and_write_s": round(run - read, 3),
            "reads": reads,
            "runs": runs,
        }
        print(
            f"{events:,} events; read inputs {read:.3f} s; whole run {run:.3f} s; "
            f"ratio {run / read:.2f}; compute+write {run - read:.3f} s"
        )
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    finally:
        ledger.close()
        with psycopg.connect(args.url.split("?")[0], autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema))
            )


def _reopen(ledger: Ledger, url: str) -> Ledger:
    # A fresh application each time: no warm caches from the previous side.
    ledger.close()
    return open_ledger(url)


if __name__ == "__main__":
    main()
