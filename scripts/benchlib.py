"""What the benchmark scripts share: fresh schemas, the raw read, the JSON record."""

from __future__ import annotations

import json
import os
import platform
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from domain.ledger import Ledger

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def fresh_schema(base_url: str) -> Iterator[str]:
    """A URL on a new, empty schema, dropped afterwards."""
    schema = f"kofu_bench_{uuid.uuid4().hex[:10]}"
    try:
        yield f"{base_url.split('?', maxsplit=1)[0]}?schema={schema}"
    finally:
        base = base_url.split("?", maxsplit=1)[0]
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(schema)
                )
            )


def raw_read(ledger: Ledger) -> tuple[int, float]:
    """Events read and seconds taken: `select_notifications` pages of 1,000."""
    start, count, begun = 0, 0, time.perf_counter()
    while True:
        notes = ledger.recorder.select_notifications(
            start=start, limit=1000, inclusive_of_start=False
        )
        if not notes:
            return count, time.perf_counter() - begun
        count += len(notes)
        start = notes[-1].id


def write_result(path: Path, result: dict[str, Any]) -> None:
    """Write a benchmark's result, with the machine it ran on."""
    machine = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine, **result}, indent=2))
