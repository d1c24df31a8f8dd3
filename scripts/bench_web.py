"""Benchmark: the audit web pages on a whole national year (issue 6, item 5).

Records `kofu demo` (FY2020, the nation: 1,788 entities, every phase) in a fresh
PostgreSQL schema (or uses the ledger at --database-url, which must hold FY2020),
serves the web router with uvicorn on a free loopback port and times each page over
HTTP: the first request (which opens the ledger and catches the read models up)
and then --repeat more (median and slowest).

    .venv/bin/python scripts/bench_web.py --repeat 5
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import threading
import time
import urllib.request
from contextlib import nullcontext
from http import HTTPStatus
from pathlib import Path

import uvicorn
from benchlib import DEFAULT_URL, fresh_schema, write_result
from fastapi import FastAPI
from rich.console import Console

from adapters.kofu import run_demo
from adapters.storage.bootstrap import open_ledger
from adapters.web import router
from adapters.web.deps import close_ledgers

PAGES = (
    "/years/2020",
    "/entities/131041/2020",
    "/entities/130001/2020",
    "/runs/FY2020-promotion-municipal-provisional-1",
)


def fetch(url: str) -> tuple[float, int]:
    """Seconds taken and bytes received for one page."""
    begun = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as response:  # noqa: S310
        size = len(response.read())
        assert response.status == HTTPStatus.OK, url
    return time.perf_counter() - begun, size


def serve() -> tuple[str, uvicorn.Server, threading.Thread]:
    app = FastAPI()
    app.include_router(router)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def measure(url: str, repeat: int) -> list[dict[str, object]]:
    os.environ["KOFU_DATABASE_URL"] = url
    base, server, thread = serve()
    rows: list[dict[str, object]] = []
    try:
        for page in PAGES:
            first, size = fetch(base + page)
            times = [fetch(base + page)[0] for _ in range(repeat)]
            rows.append(
                {
                    "page": page,
                    "bytes": size,
                    "first_ms": round(first * 1000),
                    "median_ms": round(statistics.median(times) * 1000),
                    "max_ms": round(max(times) * 1000),
                }
            )
            print(rows[-1])
    finally:
        server.should_exit = True
        thread.join()
        close_ledgers()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="A ledger holding FY2020 already.")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--out", type=Path, default=Path("test-artifacts/bench/web.json")
    )
    args = parser.parse_args()
    where = nullcontext(args.database_url) if args.database_url else None
    with where or fresh_schema(DEFAULT_URL) as url:
        if not args.database_url:
            ledger = open_ledger(url)
            begun = time.perf_counter()
            run_demo(ledger, 2020, 1, Console(quiet=True))
            print(f"demo recorded in {time.perf_counter() - begun:.1f} s")
            ledger.close()
        rows = measure(url, args.repeat)
    write_result(args.out, {"repeat": args.repeat, "pages": rows})


if __name__ == "__main__":
    main()
