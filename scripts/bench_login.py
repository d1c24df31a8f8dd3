"""Benchmark: what checking that a token is sealed costs a login (issue 15 part 4).

Fills a ledger with `--events` sealed events (an inert topic, through kofu's
recorder, 1,000 per transaction), issues a token through the facade (the writer
signs), adds as many events again and signs, so the token sits mid-log. Then, in
the same run and alternating, it times `--logins` authentications each way:

* sealed: `Kofu.authenticate`, as the server does (the token folded from its own
  events, the newest trusted checkpoint opened once and kept, the Issued event's
  leaf recomputed and its inclusion proof read and checked);
* cold: the same with a new facade each time (nothing kept: the note opened, the
  inclusion proof read and checked on every login);
* baseline: the same `inputs.tokens.authenticate` with the lookup before this
  part (the repository's aggregate, nothing checked).

Reports the median microseconds per login each way and the ratios to the
baseline, per backend.

    .venv/bin/python scripts/bench_login.py [--url postgresql://...] [--sqlite]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from benchlib import DEFAULT_URL, fresh_schema, write_result
from eventsourcing.persistence import StoredEvent

from adapters.inputs.tokens import authenticate
from adapters.kofu import Kofu
from adapters.storage.bootstrap import open_ledger
from adapters.storage.merkle_log import MerkleLog

if TYPE_CHECKING:
    from domain.ledger import Ledger


def fill(ledger: Ledger, count: int) -> None:
    """`count` sealed events of an inert topic, 1,000 per transaction."""
    for start in range(0, count, 1000):
        ledger.recorder.insert_events(
            [
                StoredEvent(uuid.uuid4(), 1, "bench.Filler", b'{"n":%d}' % i)
                for i in range(start, min(count, start + 1000))
            ]
        )


def measure(url: str, events: int, logins: int, rounds: int) -> dict[str, object]:
    ledger = open_ledger(url)
    try:
        kofu = Kofu(ledger=ledger)
        fill(ledger, events // 2)
        secret = kofu.issue_token("ministry", (), "bench", "system:bench").secret
        fill(ledger, events - events // 2)
        kofu.checkpoint()
        size = MerkleLog(ledger).size()
        begun = time.perf_counter()
        assert kofu.authenticate(secret) is not None, "the token did not open"
        first = time.perf_counter() - begun

        def baseline() -> object:
            return authenticate(lambda i: (ledger.access_token(i), ()), secret)

        sides = {
            "sealed": lambda: kofu.authenticate(secret),
            "cold": lambda: Kofu(ledger=ledger).authenticate(secret),
            "baseline": baseline,
        }
        times: dict[str, list[float]] = {side: [] for side in sides}
        for round_ in range(rounds):
            order = list(sides) if round_ % 2 else list(reversed(sides))
            for side in order:
                begun = time.perf_counter()
                for _ in range(logins):
                    assert sides[side]() is not None
                times[side].append((time.perf_counter() - begun) / logins * 1e6)
                print(f"  {side:8} {times[side][-1]:8.0f} µs per login")
    finally:
        ledger.close()
    sealed, cold, plain = (
        statistics.median(times[side]) for side in ("sealed", "cold", "baseline")
    )
    return {
        "log_size": size,
        "first_login_us": round(first * 1e6),
        "sealed_us_per_login": round(sealed),
        "cold_us_per_login": round(cold),
        "baseline_us_per_login": round(plain),
        "ratio": round(sealed / plain, 2),
        "cold_ratio": round(cold / plain, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--sqlite", action="store_true", help="also on SQLite")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=Path("out/bench_login.json"))
    args = parser.parse_args()
    result: dict[str, object] = {}
    print(f"PostgreSQL, {args.events:,} events")
    with fresh_schema(args.url) as url:
        result["postgres"] = measure(url, args.events, args.logins, args.repeat)
    print(result["postgres"])
    if args.sqlite:
        print(f"SQLite, {args.events:,} events")
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'login.db'}"
            result["sqlite"] = measure(url, args.events, args.logins, args.repeat)
        print(result["sqlite"])
    write_result(args.json, result)


if __name__ == "__main__":
    main()
