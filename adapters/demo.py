"""`kofu demo`: the reference data and a whole SYNTHETIC national year.

Real: the 47 prefectures, 1,741 municipalities and 175 wards, the catalogues and the
programme year shipped in data/. Synthetic (labelled so in every record and on
screen): unions' membership, 第1号被保険者数, every answer, revision, confirmation,
ministry value and correction. Rerunning the demo on the same ledger records nothing
new: every command carries an idempotency key derived from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from rich.panel import Panel
from rich.table import Table

from adapters.cli.allocations import print_runs
from adapters.cli.reads import progress
from adapters.files import designated_city_insurers, load_files
from adapters.integrity import record_phase
from adapters.paths import data_dir
from adapters.rules import load_rules
from adapters.synthetic import synthesise_finances, synthesise_nation, synthesise_year
from domain.commands import CorrectAnswer
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


def run_demo(
    ledger: Ledger,
    fiscal_year: int,
    seed: int,
    console: Console,
    prefectures: set[str] | None = None,
) -> Tally:
    """Record the reference data and a synthetic national year; print a summary.

    `prefectures` (2-digit codes) limits the demo to a few prefectures (for tests).
    """
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
    if prefectures:
        loaded.entities = [
            e for e in loaded.entities if e.prefecture_code in prefectures
        ]
        loaded.wards = [w for w in loaded.wards if w.prefecture_code in prefectures]
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
    tally.add(
        "allocation rules",
        len(rules := list(load_rules().values())),
        ledger.publish_rules(rules, DEMO_ACTOR),
    )
    years = [fiscal_year - 1, fiscal_year]
    nation = synthesise_nation(loaded.entities, loaded.wards, years, seed)
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
    by_year = {
        y: {code: c.count for code, c in nation.insured if c.fiscal_year == y}
        for y in years
    }
    categories = _categories(programme)
    finances = synthesise_finances(
        loaded.entities, by_year, fiscal_year, list(programme.budgets), categories, seed
    )
    tally.add(
        "事業費 (synthetic)",
        len(finances.expenditures),
        ledger.record_expenditures(finances.expenditures, DEMO_ACTOR),
    )
    tally.add(
        "所要見込額 (synthetic)",
        len(finances.required),
        ledger.declare_required_amounts(finances.required, DEMO_ACTOR),
    )
    _print(console, tally, ledger)
    _run_phases(ledger, programme, catalogues["municipal"], seed, console)
    return tally


def _categories(programme: ProgrammeSpec) -> list[str]:
    rules = load_rules()
    found: list[str] = []
    for tiers in programme.eligibility.values():
        for rule_id in tiers.values():
            found += rules[rule_id].eligibility_parameters().spending_categories
    return sorted(set(found))


def _run_phases(
    ledger: Ledger,
    programme: ProgrammeSpec,
    catalogue: CatalogueSpec,
    seed: int,
    console: Console,
) -> None:
    """Run every phase in order, with corrections after 交付見込額 and 交付決定.

    The corrections show a changed next run and a settlement adjustment.
    """
    year = programme.grant_year
    corrections = {"expected": 1, "decision": 2}
    recorded = []
    for phase in programme.schedule.phases:
        phase_runs = [
            p for p in ledger.phase_runs(year) if p.phase == phase and p.current
        ]
        if phase_runs:
            continue  # recorded by an earlier run of the demo, with its correction
        recorded += record_phase(ledger, year, phase, "ministry:kofu-demo")
        if phase in corrections:
            _story_correction(
                ledger, programme, catalogue, phase, corrections[phase], seed
            )
    if recorded:
        print_runs(recorded, f"FY{year} allocation runs recorded", console)
    console.print(f"ledger now holds {ledger.count_events():,} events")


def _story_correction(
    ledger: Ledger,
    programme: ProgrammeSpec,
    catalogue: CatalogueSpec,
    phase: str,
    number: int,
    seed: int,
) -> None:
    """A ministry correction of 新宿区's first promotion checkbox after a phase."""
    entity = "131041"
    evaluation = ledger.self_evaluation(entity, programme.grant_year, "municipal")
    item = next(
        code
        for code, (sub, indicator) in catalogue.sub_items().items()
        if sub.kind == "checkbox"
        and indicator.source == "self"
        and sub.points.get("promotion", 0) > 0
    )
    current = evaluation.answers.get(item)
    value = not (current.checked if current else False)
    day = programme.schedule.phases[phase] + timedelta(days=3)  # type: ignore[index]
    ledger.correct(
        CorrectAnswer(
            entity=entity,
            grant_year=programme.grant_year,
            tier="municipal",
            item=item,
            value=value,
            reason=f"【合成】{phase} 公表後の確認で調査票の誤りが判明 (demo {number})",
            basis="老認発 (synthetic instruction)",
            actor="ministry:kofu-demo",
            received_on=day,
            idempotency_key=f"demo:{seed}:{programme.grant_year}:story-correction:{number}",
        )
    )


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
