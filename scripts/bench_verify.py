"""Benchmark: `kofu verify` over 1,000,000 events vs the raw read of the same rows.

Issue 5's figure.

Records the demo's FY2020 year in a fresh PostgreSQL schema, then stores copies of
its events (new aggregate ids, the same topics and payloads) through the library's
recorder until the ledger holds --events events. At half and at the whole it
chains what is new (`Chain.extend`, not timed), then times in the same run:

* raw read: `select_notifications` pages of 1,000, no hashing;
* verify: the same read, the SHA-256 chain recomputed and compared row by row with
  the stored chain, and the checkpoints checked.

    .venv/bin/python scripts/bench_verify.py --events 1000000
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import uuid
from pathlib import Path

import psycopg
from eventsourcing.persistence import StoredEvent
from psycopg import sql
from rich.console import Console

from adapters.bootstrap import open_ledger
from adapters.demo import run_demo
from adapters.integrity import Chain
from domain.ledger import Ledger

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
BATCH = 5000


def fill(ledger: Ledger, target: int) -> None:
    """Store copies of the demo's events until the ledger holds `target` events."""
    template = ledger.recorder.select_notifications(
        start=0, limit=25_000, inclusive_of_start=False
    )
    while ledger.count_events() < target:
        ids: dict[object, uuid.UUID] = {}
        batch = []
        for note in template[: min(len(template), target - ledger.count_events())]:
            new_id = ids.setdefault(note.originator_id, uuid.uuid4())
            batch.append(
                StoredEvent(new_id, note.originator_version, note.topic, note.state)
            )
            if len(batch) == BATCH:
                ledger.recorder.insert_events(batch)
                batch = []
        if batch:
            ledger.recorder.insert_events(batch)


def raw_read(ledger: Ledger) -> tuple[int, float]:
    start, count, begun = 0, 0, time.perf_counter()
    while True:
        notes = ledger.recorder.select_notifications(
            start=start, limit=1000, inclusive_of_start=False
        )
        if not notes:
            return count, time.perf_counter() - begun
        count += len(notes)
        start = notes[-1].id


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=Path("out/bench_verify.json"))
    args = parser.parse_args()
    console = Console()
    schema = f"kofu_bench_{uuid.uuid4().hex[:10]}"
    url = f"{args.url.split('?')[0]}?schema={schema}"
    ledger = open_ledger(url)
    results = []
    try:
        run_demo(ledger, 2020, 1, Console(quiet=True))
        for target in (args.events // 2, args.events):
            fill(ledger, target)
            chain = Chain(ledger)
            chain.extend()
            events, read_s = raw_read(ledger)
            begun = time.perf_counter()
            finding, checked = chain.verify()
            verify_s = time.perf_counter() - begun
            assert finding is None, finding
            assert checked == events
            result = {
                "events": events,
                "raw_read_s": round(read_s, 2),
                "raw_read_per_s": round(events / read_s),
                "verify_s": round(verify_s, 2),
                "verify_per_s": round(events / verify_s),
                "ratio": round(read_s / verify_s, 3),
            }
            results.append(result)
            console.print(
                f"{events:,} events: raw read {result['raw_read_per_s']:,}/s, "
                f"verify {result['verify_per_s']:,}/s ({result['verify_s']} s), "
                f"ratio {result['ratio']}"
            )
        growth = results[1]["verify_s"] / results[0]["verify_s"]
        ratio = results[1]["events"] / results[0]["events"]
        console.print(f"events x{ratio:.2f} → verify time x{growth:.2f}")
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "machine": {
                        "python": platform.python_version(),
                        "platform": platform.platform(),
                    },
                    "results": results,
                    "time_growth": round(growth, 3),
                },
                indent=2,
            )
        )
        console.print(f"wrote {args.json}")
    finally:
        ledger.close()
        with psycopg.connect(args.url.split("?")[0], autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema))
            )


if __name__ == "__main__":
    main()
