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


def grow(ledger: Ledger, target: int, console: Any = None, seed: int = 1) -> int:
    """Append synthetic history until the ledger holds `target` events; the count.

    Rounds over every municipal self-evaluation of every year in the ledger: each
    round the entity revises one item (inside its window); every 5th round its
    prefecture confirms a fifth of them; every 7th round the ministry corrects a
    twentieth (after the deadline, with a reason). The aggregates stay in memory
    and are saved 500 at a time through the ledger (the same events, the same
    atomic saves, none of the per-command checks): a million events in minutes.
    Labelled synthetic: every actor is `...:synthetic` and every reason says so.
    """
    import random  # noqa: PLC0415
    from datetime import timedelta  # noqa: PLC0415

    from domain.catalogue import CHECKED, UNCHECKED  # noqa: PLC0415

    rng = random.Random(seed)
    years = sorted({y for (_, y, _) in ledger.refresh().self_evaluations.values()})
    plans = []
    for year in years:
        schedule = ledger.programme(year).spec.schedule
        spec = ledger.catalogue(year, "municipal").spec
        items = [
            c
            for c, (s, i) in spec.sub_items().items()
            if s.kind == "checkbox" and i.source == "self"
        ]
        window = schedule.submission_opens + timedelta(days=20)
        late = schedule.submission_closes + timedelta(days=10)
        evaluations = list(ledger.self_evaluations(year, "municipal"))
        plans.append((items, window, late, evaluations))
    prefectures = {
        e.lg_code[:2]: e.lg_code for e in ledger.entities() if e.kind == "prefecture"
    }
    count, round_ = ledger.count_events(), 0
    while count < target:
        pending = []
        for items, window, late, evaluations in plans:
            item = items[round_ % len(items)]
            for evaluation in evaluations:
                flip = UNCHECKED if evaluation.answers.get(item) == CHECKED else CHECKED
                code = evaluation.lg_code
                if round_ % 7 == 6 and rng.random() < 0.05:
                    evaluation.correct(
                        item,
                        flip,
                        "synthetic correction (合成データ)",
                        "synthetic",
                        "ministry:synthetic",
                        late,
                    )
                else:
                    evaluation.submit({item: flip}, f"insurer:{code}", window)
                if round_ % 5 == 4 and rng.random() < 0.2:
                    evaluation.confirm(f"prefecture:{prefectures[code[:2]]}", window)
                pending.append(evaluation)
        for start in range(0, len(pending), 500):
            chunk = pending[start : start + 500]
            count += sum(len(a.pending_events) for a in chunk)
            ledger.save(*chunk)
            if count >= target:
                break
        round_ += 1
        if console is not None and round_ % 10 == 0:
            console.print(f"  {count:,} events")
    return ledger.count_events()
