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
import time
import uuid
from pathlib import Path
from typing import Any

from benchlib import DEFAULT_URL, fresh_schema, raw_read, write_result
from eventsourcing.persistence import StoredEvent
from rich.console import Console

from adapters.kofu import run_demo
from adapters.storage.bootstrap import open_ledger
from adapters.storage.integrity import Chain
from domain.ledger import Ledger

BATCH = 5000


def fill(ledger: Ledger, target: int) -> None:
    """Store copies of the demo's events until the ledger holds `target` events.

    Each copy gets a new aggregate id and the newest stored event's time (the
    recorder refuses an event timed before the newest); the recorder seals each
    batch in its insert transaction, as it seals every write.
    """
    template = ledger.recorder.select_notifications(
        start=0, limit=25_000, inclusive_of_start=False
    )
    newest = max(_stamp(note.state) for note in template)
    states = [_restamp(note.state, newest) for note in template]
    count = ledger.count_events()
    while count < target:
        ids: dict[object, uuid.UUID] = {}
        batch = []
        for note, state in zip(template[: target - count], states, strict=False):
            new_id = ids.setdefault(note.originator_id, uuid.uuid4())
            batch.append(
                StoredEvent(new_id, note.originator_version, note.topic, state)
            )
            if len(batch) == BATCH:
                ledger.recorder.insert_events(batch)
                batch = []
        if batch:
            ledger.recorder.insert_events(batch)
        count = ledger.count_events()


_TIMESTAMP = b'"timestamp":"'


def _stamp(state: bytes) -> bytes:
    start = state.find(_TIMESTAMP) + len(_TIMESTAMP)
    return state[start : state.find(b'"', start)] if start >= len(_TIMESTAMP) else b""


def _restamp(state: bytes, stamp: bytes) -> bytes:
    old = _stamp(state)
    return state.replace(_TIMESTAMP + old + b'"', _TIMESTAMP + stamp + b'"', 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=Path("out/bench_verify.json"))
    args = parser.parse_args()
    console = Console()
    with fresh_schema(args.url) as url:
        ledger = open_ledger(url)
        try:
            results = measure(ledger, args.events, console)
        finally:
            ledger.close()
    growth = results[1]["verify_s"] / results[0]["verify_s"]
    ratio = results[1]["events"] / results[0]["events"]
    console.print(f"events x{ratio:.2f} → verify time x{growth:.2f}")
    write_result(args.json, {"results": results, "time_growth": round(growth, 3)})
    console.print(f"wrote {args.json}")


def measure(
    ledger: Ledger, events_wanted: int, console: Console
) -> list[dict[str, Any]]:
    """Verify against the raw read at half and at all of `events_wanted`."""
    results: list[dict[str, Any]] = []
    run_demo(ledger, 2020, 1, Console(quiet=True))
    for target in (events_wanted // 2, events_wanted):
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
    return results


if __name__ == "__main__":
    main()
