"""Benchmark: rebuilding every read model vs reading the raw notification log (issue 4).

Builds a synthetic history in a fresh PostgreSQL schema (or the URL given): the
demo's FY2020 and FY2024 years (entities, submissions, corrections, every phase),
then rounds of revisions, confirmations and corrections (`benchlib.grow`) until
the ledger holds --events events.
At half of that and at the whole, it measures in the same run:

* the raw read rate: `select_notifications` pages of 1,000, no decoding;
* the rebuild rate: `kofu projections rebuild` (decode, changes, batched writes,
  one tracking update per batch, blue-green switch).

    .venv/bin/python scripts/bench_projections.py --events 1000000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchlib import DEFAULT_URL, fresh_schema, grow, raw_read, write_result
from rich.console import Console

from adapters.kofu import run_demo
from adapters.storage.bootstrap import open_ledger
from adapters.storage.rebuilding import rebuild
from domain.ledger import Ledger


def measure(ledger: Ledger) -> dict[str, float]:
    events, read_s = raw_read(ledger)
    begun = time.perf_counter()
    rebuild(ledger, batch=1000)
    rebuild_s = time.perf_counter() - begun
    return {
        "events": events,
        "raw_read_s": round(read_s, 2),
        "raw_read_per_s": round(events / read_s),
        "rebuild_s": round(rebuild_s, 2),
        "rebuild_per_s": round(events / rebuild_s),
        "ratio": round(read_s / rebuild_s, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=Path("out/bench_projections.json"))
    args = parser.parse_args()
    console = Console()
    results = []
    with fresh_schema(args.url) as url:
        ledger = open_ledger(url)
        try:
            quiet = Console(quiet=True)
            run_demo(ledger, 2020, 1, quiet)  # in time order: the ledger
            run_demo(ledger, 2024, 1, quiet)  # records nothing back in time
            for target in (args.events // 2, args.events):
                grow(ledger, target, console)
                result = measure(ledger)
                results.append(result)
                console.print(
                    f"{result['events']:,} events: "
                    f"raw read {result['raw_read_per_s']:,}/s, "
                    f"rebuild {result['rebuild_per_s']:,}/s ({result['rebuild_s']} s), "
                    f"ratio {result['ratio']}"
                )
        finally:
            ledger.close()
    growth = results[1]["rebuild_s"] / results[0]["rebuild_s"]
    event_growth = results[1]["events"] / results[0]["events"]
    console.print(f"events x{event_growth:.2f} → rebuild time x{growth:.2f}")
    write_result(
        args.json,
        {
            "results": results,
            "time_growth": round(growth, 3),
            "event_growth": round(event_growth, 3),
        },
    )
    console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
