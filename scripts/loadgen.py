"""The HTTP benchmark's load generator.

Closed-loop and open-loop load with httpx (async), and the same work timed
in-process. The server on loopback is `tests.support.server_trials.serving`.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p99 in milliseconds."""
    if len(samples) < 2:
        only = samples[0] * 1000 if samples else 0.0
        return {"p50_ms": round(only, 2), "p99_ms": round(only, 2)}
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 2), "p99_ms": round(cuts[98] * 1000, 2)}


async def closed_loop(
    base: str, path: str, token: str, workers: int, seconds: float
) -> dict[str, Any]:
    """N workers, each sending the next request when the last one answered."""
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            response = await client.get(path, headers=headers)
            latencies.append(time.perf_counter() - began)
            errors += response.status_code != 200

    begun = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(workers)))
    took = time.perf_counter() - begun
    return {
        "requests": len(latencies),
        "errors": errors,
        "per_s": round(len(latencies) / took, 1),
        **percentiles(latencies),
    }


async def open_loop(
    base: str, rate: float, seconds: float, send: Callable[[int], httpx.Request]
) -> dict[str, Any]:
    """Requests sent at a fixed rate whatever the answers' latency."""
    latencies: list[float] = []
    errors: list[str] = []

    async def one(client: httpx.AsyncClient, index: int) -> None:
        began = time.perf_counter()
        response = await client.send(send(index))
        latencies.append(time.perf_counter() - began)
        if response.status_code not in {200, 201}:
            errors.append(response.text[:200])

    count = max(1, int(rate * seconds))
    begun = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        tasks = []
        for index in range(count):
            await asyncio.sleep(max(0.0, begun + index / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(client, index)))
        await asyncio.gather(*tasks)
    took = time.perf_counter() - begun
    return {
        "requests": count,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "target_per_s": round(rate, 3),
        "achieved_per_s": round(count / max(seconds, took), 3),
        **percentiles(latencies),
    }


def in_process(call: Callable[[], object], seconds: float) -> dict[str, Any]:
    """The same work called in this process, one at a time."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(latencies) < 3:
        began = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - began)
    return {
        "calls": len(latencies),
        "per_s": round(len(latencies) / sum(latencies), 1),
        **percentiles(latencies),
    }
