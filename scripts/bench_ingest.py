"""Benchmark: loading the nation and a full national set of submissions (issue 2).

Measures, on PostgreSQL (or the URL given), the events/s of kofu's own commands
(`register_entities`, `submit`: validation, idempotency receipts, batching) next to
the library's raw `Application.save()` of the very same events in the same batch
sizes, built beforehand, in the same run. Each side gets a fresh schema; the sides
alternate for --repeat rounds and the median is reported.

    .venv/bin/python scripts/bench_ingest.py [--url postgresql://...] [--batch 200]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from adapters.demo.synthetic import synthesise_nation, synthesise_year
from adapters.inputs.files import load_files
from adapters.inputs.paths import data_dir
from adapters.storage.bootstrap import open_ledger
from domain import clock
from domain.commands import (
    DefineProgramme,
    PublishCatalogue,
    RegisterEntities,
    SubmitSelfEvaluation,
)
from domain.entities import Entity
from domain.glossary import JST
from domain.ledger import Ledger
from domain.receipts import CommandReceipt
from domain.self_evaluation import SelfEvaluation

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def fresh(url: str) -> tuple[str, str]:
    schema = f"kofu_bench_{uuid.uuid4().hex[:10]}"
    return f"{url.split('?', maxsplit=1)[0]}?schema={schema}", schema


def drop(url: str, schema: str) -> None:
    if url.startswith("postgres"):
        with psycopg.connect(url.split("?", maxsplit=1)[0], autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema))
            )


def timed(step: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    events = step()
    return time.perf_counter() - start, events


def year_files(fiscal_year: int) -> list[Path]:
    catalogues = sorted((data_dir() / "catalogues").glob(f"fy{fiscal_year}-*-v1.yaml"))
    return [*catalogues, data_dir() / "programmes" / f"fy{fiscal_year}.yaml"]


def prepare_world(
    ledger: Ledger, entities: list[Entity.Details], fiscal_year: int
) -> None:
    ledger.register_entities(RegisterEntities(entities=entities))
    prepare_world_rest(ledger, fiscal_year)


def kofu_side(
    url: str,
    entities: list[Entity.Details],
    submissions: list[SubmitSelfEvaluation],
    batch: int,
    fiscal_year: int,
) -> dict[str, float]:
    ledger = open_ledger(url)
    try:
        entity_s, entity_events = timed(
            lambda: (
                ledger.register_entities(
                    RegisterEntities(entities=entities), batch_size=batch
                ).events
            )
        )
        prepare_world_rest(ledger, fiscal_year)
        submit_s, submit_events = timed(
            lambda: ledger.submit(submissions, batch_size=batch).events
        )
    finally:
        ledger.close()
    return {
        "entity_s": entity_s,
        "entity_events": entity_events,
        "submit_s": submit_s,
        "submit_events": submit_events,
    }


def prepare_world_rest(ledger: Ledger, fiscal_year: int) -> None:
    loaded = load_files(year_files(fiscal_year))
    for spec, _ in loaded.catalogues:
        ledger.publish_catalogue(PublishCatalogue(spec=spec))
    ledger.define_programme(
        DefineProgramme(spec=loaded.programmes[0][0], actor="system:bench")
    )


def raw_side(
    url: str,
    entities: list[Entity.Details],
    submissions: list[SubmitSelfEvaluation],
    batch: int,
    fiscal_year: int,
) -> dict[str, float]:
    """The same events, built beforehand by the same domain code, raw save()."""
    # Build the submission aggregates with kofu's own preparation on a scratch
    # ledger, so that the events are identical; only the save is timed.
    scratch_url, scratch_schema = (
        fresh(url) if url.startswith("postgres") else (url + ".scratch", "")
    )
    scratch = open_ledger(scratch_url)
    try:
        prepare_world(scratch, entities, fiscal_year)
        scratch.refresh()
        prepared = scratch._prepare_submissions(submissions)
    finally:
        scratch.close()
        drop(url, scratch_schema)
    # The same aggregates again, built by plain library calls from typed values
    # (what a program using eventsourcing directly would do), for the build+save side.
    typed = [
        (a.lg_code, a.grant_year, a.tier, a.catalogue_version, dict(a.answers))
        for a in prepared
        if isinstance(a, SelfEvaluation)
    ]
    receipts = [
        (a.key, a.command, a.fingerprint)
        for a in prepared
        if isinstance(a, CommandReceipt)
    ]
    registered = [Entity.register(details) for details in entities]
    ledger = open_ledger(url)
    try:
        entity_s, entity_events = timed(lambda: save_batches(ledger, registered, batch))
        prepare_world_rest(ledger, fiscal_year)
        submit_s, submit_events = timed(lambda: save_batches(ledger, prepared, batch))
    finally:
        ledger.close()
    assert len(typed) == len(submissions)
    built_url, built_schema = (
        fresh(url) if url.startswith("postgres") else (url + ".built", "")
    )
    ledger = open_ledger(built_url)
    try:
        prepare_world_rest(ledger, fiscal_year)
        received = {s.entity: (s.actor, clock.today()) for s in submissions}

        def build_and_save() -> int:
            built: list[object] = []
            for (lg, year, tier, version, answers), (key, command, fingerprint) in zip(
                typed, receipts, strict=True
            ):
                evaluation = SelfEvaluation.open(lg, year, tier, version)
                actor, on = received[lg]
                evaluation.submit(answers, actor, on)
                built += [
                    evaluation,
                    CommandReceipt.record(key, command, fingerprint, actor),
                ]
            return save_batches(ledger, built, batch)

        built_s, built_events = timed(build_and_save)
    finally:
        ledger.close()
        drop(url, built_schema)
    return {
        "entity_s": entity_s,
        "entity_events": entity_events,
        "submit_s": submit_s,
        "submit_events": submit_events,
        "built_s": built_s,
        "built_events": built_events,
    }


def save_batches(ledger: Ledger, aggregates: list, batch: int) -> int:  # type: ignore[type-arg]
    events = 0
    for start in range(0, len(aggregates), batch):
        events += len(ledger.save(*aggregates[start : start + batch]))
    return events


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fiscal-year", type=int, default=2024)
    parser.add_argument("--json", type=Path, default=Path("out/bench_ingest.json"))
    args = parser.parse_args()
    reference = data_dir() / "reference"
    loaded = load_files(
        [
            reference / "prefectures.csv",
            reference / "municipalities.csv",
            reference / "designated_city_wards.csv",
        ]
    )
    nation = synthesise_nation(loaded.entities, loaded.wards, [args.fiscal_year], 1)
    insured = {code: c.count for code, c in nation.insured}
    catalogues = {
        s.tier: s
        for s, _ in load_files(
            sorted((data_dir() / "catalogues").glob(f"fy{args.fiscal_year}-*-v1.yaml"))
        ).catalogues
    }
    programme = load_files(
        [data_dir() / "programmes" / f"fy{args.fiscal_year}.yaml"]
    ).programmes[0][0]
    submissions = synthesise_year(
        loaded.entities, insured, catalogues, programme, 1
    ).submissions
    answers = sum(len(s.answers) for s in submissions)
    print(
        f"{len(loaded.entities)} entities, {len(submissions)} submissions, "
        f"{answers} answers, batch {args.batch}"
    )
    rounds: dict[str, list[dict[str, float]]] = {"kofu": [], "raw": []}
    # The server owns time: both sides record on the window's first day (simulated).
    opens = programme.schedule.submission_opens
    window = datetime(opens.year, opens.month, opens.day, 10, tzinfo=JST)
    with clock.installed(clock.SimulatedClock(window)):
        for round_ in range(args.repeat):
            for side, run in (
                (("raw", raw_side), ("kofu", kofu_side))
                if round_ % 2 == 0
                else (("kofu", kofu_side), ("raw", raw_side))
            ):
                url, schema = fresh(args.url)
                try:
                    rounds[side].append(
                        run(
                            url,
                            loaded.entities,
                            submissions,
                            args.batch,
                            args.fiscal_year,
                        )
                    )
                finally:
                    drop(args.url, schema)
    summary = {}
    built = statistics.median(r["built_events"] / r["built_s"] for r in rounds["raw"])
    kofu_submit = statistics.median(
        r["submit_events"] / r["submit_s"] for r in rounds["kofu"]
    )
    summary["submit_vs_build_and_save"] = {
        "kofu_events_per_s": round(kofu_submit),
        "raw_build_and_save_events_per_s": round(built),
        "ratio": round(kofu_submit / built, 3),
    }
    print(
        f"submit  kofu {kofu_submit:9,.0f} ev/s   "
        f"raw build+save() {built:9,.0f} ev/s   ratio {kofu_submit / built:.2f}"
    )
    for what in ("entity", "submit"):
        rates = {
            side: statistics.median(
                r[f"{what}_events"] / r[f"{what}_s"] for r in rounds[side]
            )
            for side in rounds
        }
        events = {side: rounds[side][0][f"{what}_events"] for side in rounds}
        summary[what] = {
            "kofu_events_per_s": round(rates["kofu"]),
            "raw_save_events_per_s": round(rates["raw"]),
            "ratio": round(rates["kofu"] / rates["raw"], 3),
            "events": events,
        }
        print(
            f"{what:7s} kofu {rates['kofu']:9,.0f} ev/s   "
            f"raw save() {rates['raw']:9,.0f} ev/s   "
            f"ratio {rates['kofu'] / rates['raw']:.2f}   events {events}"
        )
    result = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": __import__("os").cpu_count(),
        },
        "url": args.url.split("?")[0],
        "batch": args.batch,
        "repeat": args.repeat,
        "summary": summary,
        "rounds": rounds,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
