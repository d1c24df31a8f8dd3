"""`kofu demo`: the reference data and a whole SYNTHETIC national year.

Real: the 47 prefectures, 1,741 municipalities and 175 wards, the catalogues and the
programme year shipped in data/. Synthetic (labelled so in every record and on
screen): unions' membership, 第1号被保険者数, every answer, revision, confirmation,
ministry value and correction. Rerunning the demo on the same ledger records nothing
new: every command carries an idempotency key derived from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.panel import Panel
from rich.table import Table

from adapters.cli.reads import progress
from adapters.files import designated_city_insurers, load_files
from adapters.paths import data_dir
from adapters.synthetic import synthesise_nation, synthesise_year
from domain.errors import InvalidInput

if TYPE_CHECKING:
    from rich.console import Console

    from domain.catalogue import CatalogueSpec
    from domain.ledger import Ledger, Result
    from domain.programme import ProgrammeSpec

DEMO_ACTOR = "system:kofu-demo"


@dataclass
class Tally:
    """What each step of the demo recorded."""

    rows: list[tuple[str, int, int]]

    def add(self, what: str, commands: int, result: Result) -> None:
        """Add a step: commands issued and events written."""
        self.rows.append((what, commands, result.events))


def _shipped(
    fiscal_year: int,
) -> tuple[ProgrammeSpec, dict[str, CatalogueSpec]]:
    programme_file = data_dir() / "programmes" / f"fy{fiscal_year}.yaml"
    catalogue_files = sorted(
        (data_dir() / "catalogues").glob(f"fy{fiscal_year}-*-v*.yaml")
    )
    if not programme_file.exists() or not catalogue_files:
        shipped = sorted(
            p.stem[2:] for p in (data_dir() / "programmes").glob("fy*.yaml")
        )
        msg = (
            f"no shipped programme and catalogues for FY{fiscal_year}; "
            f"shipped: {', '.join(shipped)}"
        )
        raise InvalidInput(msg, field="--fiscal-year")
    loaded = load_files([programme_file, *catalogue_files])
    catalogues: dict[str, CatalogueSpec] = {s.tier: s for s, _ in loaded.catalogues}
    return loaded.programmes[0][0], catalogues


def run_demo(ledger: Ledger, fiscal_year: int, seed: int, console: Console) -> Tally:
    """Record the reference data and a synthetic national year; print a summary."""
    programme, catalogues = _shipped(fiscal_year)
    console.print(
        Panel(
            f"kofu demo: FY{fiscal_year}, seed {seed}. Entities and codes are real; "
            "insured counts, unions, answers, revisions, confirmations and corrections "
            "are SYNTHETIC (合成データ) and say so in their records.",
            title="SYNTHETIC DATA / 合成データ",
            style="yellow",
        )
    )
    tally = Tally([])
    reference = data_dir() / "reference"
    loaded = load_files(
        [
            reference / "prefectures.csv",
            reference / "municipalities.csv",
            reference / "designated_city_wards.csv",
        ]
    )
    with progress(console, "entities", len(loaded.entities)) as advance:
        tally.add(
            "entities (real)",
            len(loaded.entities),
            ledger.register_entities(loaded.entities, progress=advance),
        )
    for spec in catalogues.values():
        tally.add(
            f"catalogue FY{fiscal_year} {spec.tier}", 1, ledger.publish_catalogue(spec)
        )
    tally.add(
        f"programme FY{fiscal_year}", 1, ledger.define_programme(programme, DEMO_ACTOR)
    )
    nation = synthesise_nation(loaded.entities, loaded.wards, [fiscal_year], seed)
    cities = designated_city_insurers(loaded.entities, loaded.wards, "2000-04-01")
    insurers = nation.insurers or cities
    tally.add(
        "insurers (unions synthetic)", len(insurers), ledger.register_insurers(insurers)
    )
    tally.add(
        "insured counts (synthetic)",
        len(nation.insured),
        ledger.record_insured_counts(nation.insured, DEMO_ACTOR),
    )
    insured = {
        code: count.count
        for code, count in nation.insured
        if count.fiscal_year == fiscal_year
    }
    year = synthesise_year(loaded.entities, insured, catalogues, programme, seed)
    _record_year(ledger, year, tally, console)
    _print(console, tally, ledger)
    return tally


def _record_year(ledger: Ledger, year: object, tally: Tally, console: Console) -> None:
    from adapters.synthetic import SurveyYear  # noqa: PLC0415

    assert isinstance(year, SurveyYear)  # noqa: S101
    with progress(console, "submissions", len(year.submissions)) as advance:
        tally.add(
            "submissions (synthetic)",
            len(year.submissions),
            ledger.submit(year.submissions, progress=advance),
        )
    tally.add("revisions", len(year.revisions), ledger.submit(year.revisions))
    events = 0
    with progress(console, "confirmations", len(year.confirmations)) as advance:
        for confirmation in year.confirmations:
            events += ledger.confirm(confirmation).events
            advance(1)
    tally.rows.append(("prefecture confirmations", len(year.confirmations), events))
    if year.ministry_values:
        tally.add(
            "ministry-computed values",
            len(year.ministry_values),
            ledger.import_ministry_values(year.ministry_values),
        )
    events = sum(ledger.correct(c).events for c in year.corrections)
    tally.rows.append(("ministry corrections", len(year.corrections), events))


def _print(console: Console, tally: Tally, ledger: Ledger) -> None:
    table = Table(title="recorded by this run (0 events: already in the ledger)")
    table.add_column("step")
    table.add_column("commands", justify="right")
    table.add_column("events", justify="right")
    for what, commands, events in tally.rows:
        table.add_row(what, f"{commands:,}", f"{events:,}")
    console.print(table)
    console.print(f"ledger now holds {ledger.count_events():,} events")
