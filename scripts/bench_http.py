"""Benchmark: the HTTP API under load, each figure beside the same work in-process.

Starts `kofu serve` (uvicorn, one process) on loopback against a ledger, then:

* reads: N concurrent workers (httpx async) for --seconds each on a page of
  allocations and on a page of one entity's audit trail; p50/p99 latency and
  requests/s, beside the same read called in this process without HTTP;
* commands: ministry corrections (of one checkbox, flipped each time) sent open-loop
  at the busiest submission day's rate (1,741 municipalities in one hour = 0.48/s)
  and at 10× that; latency and the achieved rate, beside the same command run
  in-process (Ledger.correct and the chain extension, as the server does). The
  server owns time: the demo's year lies in the past, its window closed, so the
  write load is corrections (allowed after the deadline), not submissions.

* limits (issue 12; `--only-limits` runs just these): three unauthenticated and
  one authenticated 150 MB body (time to the 401/413, the server's RSS growth),
  ten as-of reads at ten positions (each time, RSS growth), the same as-of read
  again (cached), a read refused beyond the as-of slot (time to the 429), and
  300 half-open connections (time until the header timeout closed them all).

Every request must succeed (zero errors). Without --database-url it records a demo
year in a fresh PostgreSQL schema (dropped afterwards); with one it uses that
ledger as it is (for example a 1,000,000-event ledger) and WRITES to it: tokens
and corrections (labelled benchmark).

    .venv/bin/python scripts/bench_http.py
    .venv/bin/python scripts/bench_http.py --database-url postgresql://...?schema=big
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from benchlib import DEFAULT_URL, fresh_schema, write_result
from loadgen import closed_loop, in_process, open_loop
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from adapters.inputs.tokens import issue
from adapters.kofu import Kofu, run_demo
from adapters.queries.runs import allocation_rows, current_runs
from adapters.storage.bootstrap import open_ledger
from adapters.storage.integrity import Chain
from adapters.storage.projecting import catch_up
from adapters.storage.read_store import ReadStore
from adapters.storage.rebuilding import open_store
from domain.checkpoint import SignerKey
from domain.commands import CorrectAnswer
from domain.ledger import Ledger
from tests.support.server_trials import (
    MB,
    closed_by_server,
    half_open,
    send_body,
    serving,
)

BUSIEST_DAY_RATE = 1741 / 3600  # every municipality submits within one hour
console = Console()


def caught_up(ledger: Ledger, store: ReadStore) -> ReadStore:
    """The store after projecting whatever is new (as every server read does)."""
    catch_up(ledger, store)
    return store


class Setup:
    """What the benchmark reads and writes on a ledger: year, entity, item, tokens."""

    def __init__(self, ledger: Ledger, year: int, submitters: int) -> None:
        self.ledger = ledger
        self.year = year
        runs = current_runs(ledger, year, None, "municipal", None, None)
        if not runs:
            msg = f"the ledger has no FY{year} municipal run (kofu allocate first)"
            raise SystemExit(msg)
        self.entities = [r.entity for r in runs[0].calculated.results][:submitters]
        self.entity = self.entities[0]
        spec = ledger.catalogue(year, "municipal").spec
        self.item = next(
            code
            for code, (sub, indicator) in spec.sub_items().items()
            if sub.kind == "checkbox" and indicator.source != "ministry"
        )
        self.start = {
            e: bool(
                (
                    found := ledger.self_evaluation(e, year, "municipal").answers.get(
                        self.item
                    )
                )
                and found.checked
            )
            for e in self.entities
        }
        self.ministry = issue(ledger, "ministry", (), "bench", "system:bench").secret
        self.insurers = [
            issue(ledger, "insurer", (e,), f"bench-{e}", "system:bench").secret
            for e in self.entities
        ]
        # The tokens were issued through the ledger: the writer signs (only
        # sealed and signed tokens authenticate, docs/INTEGRITY.md §10).
        Kofu(ledger=ledger).checkpoint()

    def correction(self, index: int) -> dict[str, Any]:
        """A correction of one checkbox, flipped each time, so each records an event."""
        entity = self.entities[index % len(self.entities)]
        flips = index // len(self.entities)
        value = self.start[entity] if flips % 2 else not self.start[entity]
        return {
            "entity": entity,
            "grant_year": self.year,
            "tier": "municipal",
            "item": self.item,
            "value": value,
            "reason": "【ベンチマーク】負荷試験の修正",
            "basis": "benchmark",
        }


def reads(base: str, setup: Setup, args: argparse.Namespace) -> dict[str, Any]:
    """Allocations and audit-trail pages over HTTP, and the same reads in-process."""
    ledger, year, limit = setup.ledger, setup.year, args.page
    store = open_store(ledger)  # opened once, as the server does
    paths = {
        "allocations": f"/api/allocations?fiscal_year={year}&limit={limit}",
        "audit_trail": f"/api/audit?entity={setup.entity}&fiscal_year={year}"
        f"&limit={limit}",
    }
    baselines: dict[str, Callable[[], object]] = {
        "allocations": lambda: allocation_rows(
            current_runs(ledger, year, None, None, None, None)
        )[:limit],
        "audit_trail": lambda: caught_up(ledger, store).rows(
            "audit_trail", {"entity": setup.entity, "grant_year": year}, ["position"]
        )[:limit],
    }
    found = {}
    for name, path in paths.items():
        # Warm up: the first read catches the read store up with the ledger.
        headers = {"Authorization": f"Bearer {setup.ministry}"}
        httpx.get(f"{base}{path}", headers=headers, timeout=600).raise_for_status()
        baselines[name]()
        alone = asyncio.run(
            closed_loop(base, path, setup.ministry, 1, args.seconds / 2)
        )
        http = asyncio.run(
            closed_loop(base, path, setup.ministry, args.workers, args.seconds)
        )
        local = in_process(baselines[name], args.seconds)
        found[name] = {
            "http_1_worker": alone,
            "http": http,
            "in_process": local,
            "p50_ratio": round(alone["p50_ms"] / max(local["p50_ms"], 1e-6), 2),
            "throughput_ratio": round(http["per_s"] / max(local["per_s"], 1e-6), 2),
        }
    return found


def commands(base: str, setup: Setup, args: argparse.Namespace) -> dict[str, Any]:
    """Corrections at the busiest day's rate and 10x, and the same in-process."""
    found: dict[str, Any] = {}
    sent = 0

    def request(index: int) -> httpx.Request:
        return httpx.Request(
            "POST",
            f"{base}/api/corrections",
            json=setup.correction(sent + index),
            headers={"Authorization": f"Bearer {setup.ministry}"},
        )

    for label, rate in (
        ("busiest_day", BUSIEST_DAY_RATE),
        ("10x", 10 * BUSIEST_DAY_RATE),
    ):
        found[label] = asyncio.run(open_loop(base, rate, args.command_seconds, request))
        sent += found[label]["requests"]
    counter = iter(range(sent, sent + 1_000_000))

    def correct() -> None:
        body = setup.correction(next(counter))
        cmd = CorrectAnswer.model_validate(body | {"actor": "ministry:bench"})
        setup.ledger.correct(cmd)
        Chain(setup.ledger).extend()

    local = in_process(correct, min(args.command_seconds, 10))
    found["in_process"] = local
    for label in ("busiest_day", "10x"):
        found[label]["p50_ratio"] = round(
            found[label]["p50_ms"] / max(local["p50_ms"], 1e-6), 2
        )
    return found


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    begun = time.perf_counter()
    found = work()
    return found, round((time.perf_counter() - begun) * 1000, 1)


def limits(url: str, setup: Setup, events: int) -> dict[str, Any]:
    """The bounded surface of issue 12, measured on a real server (one slot)."""
    ministry = setup.ministry
    headers = {"Authorization": f"Bearer {ministry}"}
    log = Path("out/bench_http_limits.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    found: dict[str, Any] = {}
    with serving(url, log, KOFU_AS_OF_SLOTS="1", KOFU_HEADER_TIMEOUT="10") as srv:
        httpx.get(f"{srv.base}/api/me", headers=headers, timeout=60)
        before = srv.rss()
        unauthenticated = []
        for _ in range(3):
            answer, ms = _timed(
                lambda: send_body(srv.port, "/api/corrections", 150 * MB)
            )
            unauthenticated.append({"status": answer.status, "ms": ms})
        found["unauthenticated_150mb"] = unauthenticated
        found["unauthenticated_rss_growth_mb"] = round((srv.rss() - before) / MB, 1)
        answer, ms = _timed(
            lambda: send_body(srv.port, "/api/corrections", 150 * MB, token=ministry)
        )
        found["authenticated_150mb"] = {"status": answer.status, "ms": ms}
        answer, ms = _timed(
            lambda: send_body(
                srv.port, "/api/corrections", 150 * MB, token=ministry, chunked=True
            )
        )
        found["authenticated_150mb_chunked"] = {"status": answer.status, "ms": ms}
        before = srv.rss()
        as_of = []
        for n in range(1, 11):
            position = events * n // 11
            response, ms = _timed(
                lambda p=position: httpx.get(
                    f"{srv.base}/api/scores?fiscal_year={setup.year}&as_of={p}",
                    headers=headers,
                    timeout=600,
                )
            )
            as_of.append(
                {"position": position, "status": response.status_code, "ms": ms}
            )
        found["as_of_ten"] = as_of
        found["as_of_rss_growth_mb"] = round((srv.rss() - before) / MB, 1)
        cached, ms = _timed(
            lambda: httpx.get(
                f"{srv.base}/api/scores?fiscal_year={setup.year}&as_of={as_of[-1]['position']}",
                headers=headers,
                timeout=600,
            )
        )
        found["as_of_cached"] = {"status": cached.status_code, "ms": ms}
        board = f"{srv.base}/api/submissions?fiscal_year={setup.year}"
        holder = threading.Thread(
            target=lambda: httpx.get(
                f"{board}&as_of={events - 3}",
                headers=headers,
                timeout=600,
            )
        )
        holder.start()
        time.sleep(0.2)  # let the holder take the slot (the figure is what matters)
        refused, ms = _timed(
            lambda: httpx.get(
                f"{board}&as_of={events - 5}",
                headers=headers,
                timeout=600,
            )
        )
        found["as_of_beyond_the_slot"] = {
            "status": refused.status_code,
            "ms": ms,
            "holder_still_running": holder.is_alive(),
        }
        holder.join()
        sockets = half_open(srv.port, 300)
        _, ms = _timed(lambda: all(closed_by_server(s, 60) for s in sockets))
        for sock in sockets:
            sock.close()
        found["half_open_300_closed_ms"] = ms
    return found


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Set up the ledger, start the server, measure."""
    ledger = open_ledger(url)
    try:
        if args.demo:
            prefectures = set(args.demo.split(",")) if args.demo != "all" else None
            run_demo(ledger, args.fiscal_year, 1, Console(quiet=True), prefectures)
        setup = Setup(ledger, args.fiscal_year, args.submitters)
        events = ledger.count_events()
        console.print(f"ledger: {events:,} events; serving on loopback")
        result: dict[str, Any] = {"ledger_events": events}
        if not args.only_limits:
            log = Path("out/bench_http_server.log")
            log.parent.mkdir(parents=True, exist_ok=True)
            with serving(url, log) as srv:
                base = srv.base
                result |= {
                    "workers": args.workers,
                    "page": args.page,
                    "reads": reads(base, setup, args),
                    "commands": commands(base, setup, args),
                }
        result["limits"] = limits(url, setup, events)
    finally:
        ledger.close()
    return result


def main() -> None:
    # The writer's key for this run (the server trusts its own key): made here
    # unless one is configured.
    os.environ.setdefault(
        "KOFU_SIGNING_KEY", str(SignerKey.generate("bench.kofu.invalid/ledger"))
    )
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="Use this ledger as it is.")
    parser.add_argument("--base-url", default=DEFAULT_URL, help="For a fresh schema.")
    parser.add_argument(
        "--demo", default="13,14", help="Prefectures of the demo (or all)."
    )
    parser.add_argument("--fiscal-year", type=int, default=2020)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--command-seconds", type=float, default=30.0)
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--submitters", type=int, default=50)
    parser.add_argument("--json", type=Path, default=Path("out/bench_http.json"))
    parser.add_argument(
        "--only-limits", action="store_true", help="Only the limits (issue 12)."
    )
    args = parser.parse_args()
    if args.database_url:
        args.demo = None
        result = run(args.database_url, args)
    else:
        with fresh_schema(args.base_url) as url:
            result = run(url, args)
    console.print(f"limits: {result['limits']}")
    for name, figures in result.get("reads", {}).items():
        alone, http = figures["http_1_worker"], figures["http"]
        local = figures["in_process"]
        console.print(
            f"{name}: HTTP 1 worker p50 {alone['p50_ms']} ms p99 {alone['p99_ms']} ms;"
            f" {args.workers} workers p50 {http['p50_ms']} ms p99 {http['p99_ms']} ms "
            f"{http['per_s']}/s ({alone['errors'] + http['errors']} errors) | "
            f"in-process p50 {local['p50_ms']} ms {local['per_s']}/s | "
            f"p50 x{figures['p50_ratio']}, throughput x{figures['throughput_ratio']}"
        )
    for label in ("busiest_day", "10x") if "commands" in result else ():
        local = result["commands"]["in_process"]
        c = result["commands"][label]
        console.print(
            f"corrections {label}: {c['achieved_per_s']}/s of {c['target_per_s']}/s, "
            f"p50 {c['p50_ms']} ms p99 {c['p99_ms']} ms, {c['errors']} errors | "
            f"in-process p50 {local['p50_ms']} ms | p50 x{c['p50_ratio']}"
        )
    write_result(args.json, result)
    console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
