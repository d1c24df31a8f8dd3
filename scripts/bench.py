"""The benchmark harness (issue 7): every figure next to a baseline from the same run.

Builds a synthetic national history in a fresh PostgreSQL schema (or the URL given):
the demo's FY2024 and FY2020 years (entities, submissions, corrections, every
allocation phase), then rounds of revisions, confirmations and corrections
(`benchlib.grow`) up to half of --events, measures, grows to --events, and
measures again. At both sizes:

* rebuild of every read model      vs the raw notification-log read (same events),
  as `kofu projections rebuild` does it on PostgreSQL and as it does elsewhere;
* verify (hash chain)              vs the raw notification-log read;
* as-of allocations at mid-ledger  vs the current allocations (same reads);

and at the full size only:

* audit trail of one entity and year (read model), p50/p99 over --queries random
  queries, vs reading that self-evaluation's own stored events (p50/p99);
* an allocation phase run          vs reading its inputs;
* bulk submission                  vs the library's save() of the same events
  (`bench_ingest.py`, its own fresh schemas).

Ratios are kofu's rate over the baseline's (higher is better; 1.0 = as fast as
the baseline), or, for latencies, kofu's time over the baseline's. Prints a table
and writes JSON with the machine it ran on.

    .venv/bin/python scripts/bench.py --events 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib import DEFAULT_URL, fresh_schema, grow, raw_read, write_result
from rich.console import Console
from rich.table import Table

from adapters.kofu import run_demo
from adapters.queries.runs import allocation_rows, current_runs
from adapters.storage.bootstrap import open_ledger
from adapters.storage.integrity import Chain
from adapters.storage.rebuilding import open_store, rebuild
from domain.commands import AllocatePhase
from domain.ledger import Ledger
from domain.phase_run import read_phase, run_phase

Figure = dict[str, Any]

BENCH_RUN = AllocatePhase(grant_year=2020, phase="reference", actor="ministry:bench")


def timed(step: Callable[[], object]) -> float:
    begun = time.perf_counter()
    step()
    return time.perf_counter() - begun


def rate_figure(name: str, events: int, kofu_s: float, base_s: float) -> Figure:
    return {
        "figure": name,
        "events": events,
        "kofu": f"{events / kofu_s:,.0f} ev/s ({kofu_s:.2f} s)",
        "baseline": f"{events / base_s:,.0f} ev/s ({base_s:.2f} s)",
        "kofu_s": round(kofu_s, 3),
        "baseline_s": round(base_s, 3),
        "ratio": round(base_s / kofu_s, 3),
    }


def scaling(ledger: Ledger, console: Console) -> list[Figure]:
    """Rebuild, verify and as-of at the ledger's current size."""
    events, read_s = raw_read(ledger)
    console.print(f"[bold]{events:,} events[/]: raw read {read_s:.2f} s")
    rebuild_s = timed(lambda: rebuild(ledger))
    folded_s = timed(lambda: rebuild(ledger, in_database=False))
    chain = Chain(ledger)
    chain.extend()
    verify_s = timed(chain.verify)
    middle = ledger.recorder.max_notification_id() // 2

    def allocations(position: int | None) -> None:
        for year in (2020, 2024):
            allocation_rows(current_runs(ledger, year, None, None, None, position))

    current_s = statistics.median(timed(lambda: allocations(None)) for _ in range(3))
    as_of_s = statistics.median(timed(lambda: allocations(middle)) for _ in range(3))
    return [
        rate_figure("rebuild all read models / raw read", events, rebuild_s, read_s),
        rate_figure(
            "rebuild, every event folded in Python (SQLite's path) / raw read",
            events,
            folded_s,
            read_s,
        ),
        rate_figure("verify hash chain / raw read", events, verify_s, read_s),
        {
            "figure": "as-of allocations (mid-ledger) / current allocations",
            "events": events,
            "kofu": f"{as_of_s * 1000:.0f} ms",
            "baseline": f"{current_s * 1000:.0f} ms",
            "kofu_s": round(as_of_s, 4),
            "baseline_s": round(current_s, 4),
            "ratio": round(current_s / as_of_s, 3),
        },
    ]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def audit_latency(ledger: Ledger, queries: int, seed: int) -> list[Figure]:
    """The audit trail of random (entity, year) pairs vs their raw stored events."""
    store = open_store(ledger)
    keys = sorted(ledger.refresh().self_evaluations.items(), key=lambda kv: kv[1])
    rng = random.Random(seed)
    picks = [rng.choice(keys) for _ in range(queries)]
    trail_ms, raw_ms, rows = [], [], 0
    for aggregate_id, (code, year, _) in picks:
        begun = time.perf_counter()
        found = store.rows(
            "audit_trail", {"entity": code, "grant_year": year}, ["position"]
        )
        trail_ms.append((time.perf_counter() - begun) * 1000)
        rows += len(found)
        begun = time.perf_counter()
        ledger.recorder.select_events(aggregate_id)
        raw_ms.append((time.perf_counter() - begun) * 1000)
    events = ledger.count_events()
    figures = []
    for label, share in (("p50", 0.5), ("p99", 0.99)):
        kofu, base = percentile(trail_ms, share), percentile(raw_ms, share)
        figures.append(
            {
                "figure": f"audit trail of one entity and year, {label} "
                f"({queries} queries, {rows / queries:.0f} rows each) / its raw events",
                "events": events,
                "kofu": f"{kofu:.2f} ms",
                "baseline": f"{base:.2f} ms",
                "kofu_s": round(kofu / 1000, 5),
                "baseline_s": round(base / 1000, 5),
                "ratio": round(base / kofu, 3),
            }
        )
    return figures


def allocation(ledger: Ledger) -> Figure:
    """A whole reference phase of FY2020 vs reading its inputs."""
    read_s = timed(lambda: read_phase(ledger, 2020, "reference"))
    run_s = timed(lambda: run_phase(ledger, BENCH_RUN))
    return {
        "figure": "allocation phase (score, allocate, record) / reading its inputs",
        "events": ledger.count_events(),
        "kofu": f"{run_s:.2f} s",
        "baseline": f"{read_s:.2f} s",
        "kofu_s": round(run_s, 3),
        "baseline_s": round(read_s, 3),
        "ratio": round(read_s / run_s, 3),
    }


def ingest(url: str, console: Console) -> list[Figure]:
    """Run `bench_ingest.py` (its own fresh schemas) and read its summary."""
    out = Path("out/bench_ingest.json")
    script = Path(__file__).with_name("bench_ingest.py")
    subprocess.run(  # noqa: S603 - our own script
        [
            sys.executable,
            str(script),
            "--url",
            url,
            "--repeat",
            "3",
            "--json",
            str(out),
        ],
        check=True,
    )
    summary = json.loads(out.read_text())["summary"]
    submitted = summary["submit"]["events"]["kofu"]
    figures = []
    for key, label in (
        ("submit_vs_build_and_save", "bulk submission / library build+save()"),
        ("submit", "bulk submission / library save() of prebuilt events"),
    ):
        found = summary.get(key)
        if found is None:
            continue
        console.print(f"ingest {key}: {found}")
        kofu = found["kofu_events_per_s"]
        base = found.get(
            "raw_build_and_save_events_per_s", found.get("raw_save_events_per_s")
        )
        figures.append(
            {
                "figure": label,
                "events": submitted,
                "kofu": f"{kofu:,} ev/s",
                "baseline": f"{base:,} ev/s",
                "ratio": found["ratio"],
            }
        )
    return figures


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    memory = next(
        (
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        "0",
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(int(memory) / 2**20, 1),
        "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--json", type=Path, default=Path("out/bench.json"))
    args = parser.parse_args()
    console = Console(width=150)
    figures: list[Figure] = []
    sizes: list[int] = []
    with fresh_schema(args.url) as url:
        ledger = open_ledger(url)
        try:
            quiet = Console(quiet=True)
            run_demo(ledger, 2020, args.seed, quiet)  # in time order: the ledger
            run_demo(ledger, 2024, args.seed, quiet)  # records nothing back in time
            for target in (args.events // 2, args.events):
                console.print(f"growing the ledger to {target:,} events")
                sizes.append(grow(ledger, target, console, args.seed))
                figures += scaling(ledger, console)
            figures += audit_latency(ledger, args.queries, args.seed)
            figures.append(allocation(ledger))
        finally:
            ledger.close()
    if not args.skip_ingest:
        figures += ingest(args.url, console)
    growth = growth_figures(figures)
    show(console, figures, growth)
    write_result(
        args.json,
        {
            "command": " ".join(sys.argv),
            "host": machine(),
            "sizes": sizes,
            "figures": figures,
            "growth": growth,
        },
    )
    console.print(f"wrote {args.json}")


def growth_figures(figures: list[Figure]) -> list[dict[str, Any]]:
    """Time at 2N over time at N for the figures measured at both sizes."""
    by_name: dict[str, list[Figure]] = {}
    for figure in figures:
        by_name.setdefault(figure["figure"], []).append(figure)
    return [
        {
            "figure": name,
            "events": [pair[0]["events"], pair[1]["events"]],
            "event_growth": round(pair[1]["events"] / pair[0]["events"], 3),
            "time_growth": round(pair[1]["kofu_s"] / pair[0]["kofu_s"], 3),
        }
        for name, pair in by_name.items()
        if len(pair) == 2 and "kofu_s" in pair[0]
    ]


def show(console: Console, figures: list[Figure], growth: list[dict[str, Any]]) -> None:
    table = Table(title="kofu benchmarks (ratio: baseline time / kofu time)")
    for column in ("figure", "events", "kofu", "baseline", "ratio"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for f in figures:
        table.add_row(
            f["figure"], f"{f['events']:,}", f["kofu"], f["baseline"], f"{f['ratio']}"
        )
    console.print(table)
    for g in growth:
        console.print(
            f"{g['figure']}: events x{g['event_growth']} -> time x{g['time_growth']}"
        )


if __name__ == "__main__":
    main()
