"""Benchmark: `kofu verify` at 1,000,000 events, each figure beside its baseline.

Issue 15 (part 5); issue 5's figure, now over the Merkle log. Records the demo's
FY2020 year in a fresh PostgreSQL schema (or SQLite file with --sqlite), then stores
copies of its events (new aggregate ids, the same topics and payloads, the newest
time) through kofu's recorder, which seals each batch into the log in its insert
transaction, until the ledger holds --events events; the old chain is extended
and the writer signs a checkpoint after every --sign-every events (a throwaway
key), as it signs after each write. Then, in the same run:

* raw read: `select_notifications` pages of 1,000, no hashing (twice: before and
  after the verify; the faster is the baseline);
* full verify (`Kofu.verify`: the chain, the log, every signed checkpoint, one
  pass) with --state, which writes the verifier's state;
* --new more events appended, sealed, chained and signed; the incremental verify
  (`Kofu.verify --state`) beside the full verify;
* inclusion proofs (`MerkleLog.prove_inclusion`) of --proofs random positions,
  in-process: p50 and p99.

    .venv/bin/python scripts/bench_verify.py --events 1000000 [--sqlite]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchlib import DEFAULT_URL, fresh_schema, raw_read, write_result
from eventsourcing.persistence import StoredEvent
from rich.console import Console

from adapters.inputs.keys import demo_key, generate
from adapters.kofu import Kofu, run_demo
from adapters.storage.bootstrap import open_ledger
from adapters.storage.integrity import Chain
from adapters.storage.merkle_log import MerkleLog
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
    parser.add_argument("--sqlite", action="store_true", help="on a SQLite file")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=1000)
    parser.add_argument("--proofs", type=int, default=10_000)
    parser.add_argument("--sign-every", type=int, default=10_000)
    parser.add_argument("--json", type=Path, default=Path("out/bench_verify.json"))
    args = parser.parse_args()
    console = Console()
    with _database(args.url, sqlite=args.sqlite) as url:
        ledger = open_ledger(url)
        try:
            result = measure(ledger, args, console)
        finally:
            ledger.close()
    result["backend"] = "sqlite" if args.sqlite else "postgres"
    write_result(args.json, result)
    console.print(f"wrote {args.json}")


@contextmanager
def _database(url: str, *, sqlite: bool) -> Iterator[str]:
    if not sqlite:
        with fresh_schema(url) as fresh:
            yield fresh
        return
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


def grow(ledger: Ledger, target: int, sign_every: int, console: Console) -> float:
    """Fill to `target` events, chaining and signing as the writer does; seconds."""
    key, log, chain = _KEY[0], MerkleLog(ledger), Chain(ledger)
    begun = time.perf_counter()
    count = ledger.count_events()
    while count < target:
        count = min(target, count + sign_every)
        fill(ledger, count)
        chain.extend()
        log.sign_checkpoint(key)
        if count % 100_000 < sign_every:
            console.print(f"  {count:,} events")
    return time.perf_counter() - begun


_KEY = [generate("bench.kofu.example/ledger")]


def measure(ledger: Ledger, args: Any, console: Console) -> dict[str, Any]:
    """The figures of one run (see the module)."""
    run_demo(ledger, 2020, 1, Console(quiet=True))
    fill_s = grow(ledger, args.events, args.sign_every, console)
    keys = [demo_key().verifier(), _KEY[0].verifier()]
    facade = Kofu(ledger=ledger)
    log = MerkleLog(ledger)
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "verifier.json"
        events, read_before = raw_read(ledger)
        begun = time.perf_counter()
        full = facade.verify(keys=keys, state=state)
        full_s = time.perf_counter() - begun
        _, read_after = raw_read(ledger)
        assert full.finding is None, full.finding
        assert full.log is not None
        assert full.log.leaves == events
        read_s = min(read_before, read_after)
        grow(ledger, events + args.new, args.new, console)
        begun = time.perf_counter()
        incremental = facade.verify(keys=keys, state=state)
        incremental_s = time.perf_counter() - begun
        assert incremental.finding is None, incremental.finding
        assert incremental.log is not None
        assert incremental.log.leaves == events + args.new
        assert incremental.log.events == args.new
    proofs = prove(log, args.proofs)
    result = {
        "events": events,
        "checkpoints": full.log.checkpoints,
        "fill_s": round(fill_s, 1),
        "raw_read_s": round(read_s, 2),
        "raw_read_per_s": round(events / read_s),
        "raw_reads_s": [round(read_before, 2), round(read_after, 2)],
        "verify_s": round(full_s, 2),
        "verify_per_s": round(events / full_s),
        "verify_vs_raw_read": round(read_s / full_s, 3),
        "new_events": args.new,
        "incremental_verify_s": round(incremental_s, 4),
        "incremental_vs_full": round(incremental_s / full_s, 5),
        **proofs,
    }
    console.print(
        f"{events:,} events, {result['checkpoints']:,} signed checkpoints: raw read "
        f"{result['raw_read_per_s']:,}/s, full verify {result['verify_per_s']:,}/s "
        f"({full_s:.1f} s), ratio {result['verify_vs_raw_read']} (target ≥ 0.8)"
    )
    console.print(
        f"incremental verify of {args.new:,} new events: {incremental_s * 1000:.0f} "
        f"ms = {result['incremental_vs_full']:.2%} of the full verify (target < 1%)"
    )
    console.print(
        f"inclusion proof ({args.proofs:,} random positions): p50 "
        f"{proofs['proof_p50_ms']} ms, p99 {proofs['proof_p99_ms']} ms (target ≤ 10)"
    )
    return result


def prove(log: MerkleLog, count: int) -> dict[str, float]:
    """p50 and p99 of in-process inclusion proofs at random sealed positions."""
    rng = random.Random(15)
    size = log.size()
    times = []
    for _ in range(count):
        position = log.position_of(rng.randrange(size))
        assert position is not None
        begun = time.perf_counter()
        log.prove_inclusion(position)
        times.append((time.perf_counter() - begun) * 1000)
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return {
        "proofs": count,
        "proof_p50_ms": round(cuts[49], 3),
        "proof_p99_ms": round(cuts[98], 3),
    }


if __name__ == "__main__":
    main()
