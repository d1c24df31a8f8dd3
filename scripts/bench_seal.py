"""Benchmark: what sealing into the Merkle log costs a bulk submission (issue 15).

Loads the nation and its programme year, then times `Ledger.submit` of a national
set of synthetic self-evaluations (`--batch` per transaction), once with kofu's
recorders as they are (every insert seals its events into the Merkle log) and once
with sealing switched off (the baseline: the same recorders, `sealing = False`),
each on a fresh database, in the same run. The sides alternate for --repeat
rounds; the medians and their ratio are reported per backend, and, timed inside
the sealed side, the share of its submission spent in `merkle_log.seal` (a figure
the machine's noise moves far less than the ratio of two runs). The sealed side's
log is checked to cover every event.

    .venv/bin/python scripts/bench_seal.py [--url postgresql://...] [--sqlite]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from benchlib import DEFAULT_URL, fresh_schema, write_result

from adapters.demo.synthetic import synthesise_nation, synthesise_year
from adapters.inputs.files import load_files
from adapters.inputs.paths import data_dir
from adapters.storage import recorders
from adapters.storage.bootstrap import open_ledger
from adapters.storage.merkle_log import MerkleLog
from domain import clock
from domain.commands import (
    DefineProgramme,
    PublishCatalogue,
    RegisterEntities,
    SubmitSelfEvaluation,
)
from domain.entities import Entity

SEAL_SECONDS = [0.0]
_SEAL = recorders.seal


def _timed_seal(*args: Any, **kwargs: Any) -> None:
    begun = time.perf_counter()
    try:
        _SEAL(*args, **kwargs)
    finally:
        SEAL_SECONDS[0] += time.perf_counter() - begun


def set_sealing(*, on: bool) -> None:
    recorders.SQLiteLedgerRecorder.sealing = on
    recorders.PostgresLedgerRecorder.sealing = on
    recorders.seal = _timed_seal  # type: ignore[assignment]


def one_side(
    url: str,
    entities: list[Entity.Details],
    submissions: list[SubmitSelfEvaluation],
    fiscal_year: int,
    batch: int,
    *,
    sealed: bool,
) -> tuple[int, float, float]:
    """Events submitted, seconds taken and seconds of it spent sealing."""
    set_sealing(on=sealed)
    try:
        ledger = open_ledger(url)
        try:
            ledger.register_entities(
                RegisterEntities(entities=entities), batch_size=batch
            )
            loaded = load_files(
                [
                    *sorted(
                        (data_dir() / "catalogues").glob(f"fy{fiscal_year}-*-v1.yaml")
                    ),
                    data_dir() / "programmes" / f"fy{fiscal_year}.yaml",
                ]
            )
            for spec, _ in loaded.catalogues:
                ledger.publish_catalogue(PublishCatalogue(spec=spec))
            ledger.define_programme(
                DefineProgramme(spec=loaded.programmes[0][0], actor="system:bench")
            )
            SEAL_SECONDS[0] = 0.0
            begun = time.perf_counter()
            events = ledger.submit(submissions, batch_size=batch).events
            seconds = time.perf_counter() - begun
            sealing = SEAL_SECONDS[0]
            if sealed:
                total = ledger.count_events()
                assert MerkleLog(ledger).size() == total, "the log missed events"
        finally:
            ledger.close()
    finally:
        set_sealing(on=True)
    return events, seconds, sealing


def measure(
    url_for: object,
    entities: list[Entity.Details],
    submissions: list[SubmitSelfEvaluation],
    fiscal_year: int,
    batch: int,
    repeat: int,
) -> dict[str, object]:
    rates: dict[str, list[float]] = {"sealed": [], "baseline": []}
    shares: list[float] = []
    events = 0
    for round_ in range(repeat):
        order = ("baseline", "sealed") if round_ % 2 == 0 else ("sealed", "baseline")
        for side in order:
            with url_for() as url:  # type: ignore[operator]
                events, seconds, sealing = one_side(
                    url,
                    entities,
                    submissions,
                    fiscal_year,
                    batch,
                    sealed=side == "sealed",
                )
            rates[side].append(events / seconds)
            if side == "sealed":
                shares.append(sealing / seconds)
            print(
                f"  {side:8} {events:,} events in {seconds:.2f} s"
                + (f" (sealing {sealing:.3f} s)" if side == "sealed" else "")
            )
    sealed = statistics.median(rates["sealed"])
    baseline = statistics.median(rates["baseline"])
    return {
        "events_per_submit": events,
        "sealed_events_per_s": round(sealed),
        "baseline_events_per_s": round(baseline),
        "ratio": round(sealed / baseline, 3),
        "seal_share_of_submit": round(statistics.median(shares), 4),
        "rounds": {k: [round(r) for r in v] for k, v in rates.items()},
    }


class SqliteFile:
    """A fresh SQLite file per use (the `fresh_schema` of SQLite)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.count = folder, 0

    def __call__(self) -> SqliteFile:
        """Itself: a context giving the next file's URL."""
        return self

    def __enter__(self) -> str:
        self.count += 1
        return f"sqlite:///{self.folder / f'seal-{self.count}.db'}"

    def __exit__(self, *exc: object) -> None:
        for path in self.folder.glob(f"seal-{self.count}.db*"):
            path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--sqlite", action="store_true", help="also on SQLite")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fiscal-year", type=int, default=2024)
    parser.add_argument(
        "--limit", type=int, default=None, help="only the first N submissions"
    )
    parser.add_argument("--json", type=Path, default=Path("out/bench_seal.json"))
    args = parser.parse_args()
    reference = data_dir() / "reference"
    loaded = load_files(
        [
            reference / "prefectures.csv",
            reference / "municipalities.csv",
            reference / "designated_city_wards.csv",
        ]
    )
    year = args.fiscal_year
    nation = synthesise_nation(loaded.entities, loaded.wards, [year], 1)
    insured = {code: c.count for code, c in nation.insured}
    catalogues = {
        s.tier: s
        for s, _ in load_files(
            sorted((data_dir() / "catalogues").glob(f"fy{year}-*-v1.yaml"))
        ).catalogues
    }
    programme = load_files([data_dir() / "programmes" / f"fy{year}.yaml"]).programmes[
        0
    ][0]
    submissions = synthesise_year(
        loaded.entities, insured, catalogues, programme, 1
    ).submissions[: args.limit]
    print(f"{len(submissions)} submissions, batch {args.batch}, {args.repeat} rounds")
    opens = programme.schedule.submission_opens
    window = datetime(opens.year, opens.month, opens.day, 10, tzinfo=clock.JST)
    result: dict[str, object] = {}
    with clock.installed(clock.SimulatedClock(window)):
        print("PostgreSQL")
        result["postgres"] = measure(
            lambda: fresh_schema(args.url),
            loaded.entities,
            submissions,
            year,
            args.batch,
            args.repeat,
        )
        if args.sqlite:
            print("SQLite")
            with tempfile.TemporaryDirectory() as folder:
                result["sqlite"] = measure(
                    SqliteFile(Path(folder)),
                    loaded.entities,
                    submissions,
                    year,
                    args.batch,
                    args.repeat,
                )
    for backend, figures in result.items():
        assert isinstance(figures, dict)
        print(
            f"{backend}: sealed {figures['sealed_events_per_s']:,} events/s, "
            f"baseline {figures['baseline_events_per_s']:,} events/s, "
            f"ratio {figures['ratio']}; sealing took "
            f"{figures['seal_share_of_submit']:.1%} of the sealed submission's time"
        )
    write_result(args.json, {"submissions": len(submissions), **result})


if __name__ == "__main__":
    main()
