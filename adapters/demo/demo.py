"""`kofu demo`: the reference data and a whole SYNTHETIC national year.

Real: the 47 prefectures, 1,741 municipalities and 175 wards, the catalogues and the
programme year shipped in data/. Synthetic (labelled so in every record and on
screen): unions' membership, 第1号被保険者数, every answer, revision, confirmation,
ministry value and correction. Rerunning the demo on the same ledger records nothing
new: every command carries an idempotency key derived from the seed.

Over 300 lines (STYLE): the demo is one story told in calendar order (reference data,
answers, paper entries, corrections, every phase's runs), easier to follow in one file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rich.panel import Panel
from rich.table import Table

from adapters.common.progress import progress
from adapters.demo.synthetic import (
    SurveyYear,
    synthesise_finances,
    synthesise_nation,
    synthesise_year,
)
from adapters.inputs.files import designated_city_insurers, load_files
from adapters.inputs.paths import data_dir
from adapters.inputs.rule_files import load_rules
from adapters.reports.output import print_runs
from domain.clock import SimulatedClock, installed
from domain.commands import (
    AllocatePhase,
    Command,
    ConfirmSelfEvaluation,
    CorrectAnswer,
    DeclareRequiredAmounts,
    DefineProgramme,
    EnterPaperSubmission,
    ImportMinistryValues,
    PublishCatalogue,
    PublishRules,
    RecordExpenditures,
    RecordInsuredCounts,
    RegisterEntities,
    RegisterInsurers,
    SubmitSelfEvaluation,
)
from domain.errors import InvalidInput
from domain.glossary import JST
from domain.ledger import Result
from domain.money_rules import MONEY_KINDS

if TYPE_CHECKING:
    from rich.console import Console

    from domain.allocation_run import AllocationRun
    from domain.base import Grant
    from domain.catalogue import CatalogueSpec
    from domain.ledger import Ledger
    from domain.programme import ProgrammeSpec

    Allocate = Callable[[AllocatePhase], list[AllocationRun]]

DEMO_ACTOR = "system:kofu-demo"
DEMO_ALLOCATOR = "ministry:kofu-demo"


@dataclass
class Tally:
    """What each step of the demo recorded."""

    rows: list[tuple[str, int, int]]

    def add(self, what: str, commands: int, result: Result) -> None:
        """Add a step: commands issued and events written."""
        self.rows.append((what, commands, result.events))


def _shipped(
    grant_year: int,
) -> tuple[ProgrammeSpec, dict[str, CatalogueSpec]]:
    programme_file = data_dir() / "programmes" / f"fy{grant_year}.yaml"
    catalogue_files = sorted(
        (data_dir() / "catalogues").glob(f"fy{grant_year}-*-v*.yaml")
    )
    if not programme_file.exists() or not catalogue_files:
        shipped = sorted(
            p.stem[2:] for p in (data_dir() / "programmes").glob("fy*.yaml")
        )
        msg = (
            f"no shipped programme and catalogues for FY{grant_year}; "
            f"shipped: {', '.join(shipped)}"
        )
        raise InvalidInput(msg, field="--fiscal-year")
    loaded = load_files([programme_file, *catalogue_files])
    catalogues: dict[str, CatalogueSpec] = {s.tier: s for s, _ in loaded.catalogues}
    return loaded.programmes[0][0], catalogues


def record_demo(
    ledger: Ledger,
    grant_year: int,
    seed: int,
    console: Console,
    allocate: Allocate,
    prefectures: set[str] | None = None,
) -> Tally:
    """Record the reference data and a synthetic national year; print a summary.

    `allocate` runs one phase with its receipt and returns its runs (the application
    facade's `Kofu.demo` passes its own: call that, or `adapters.kofu.run_demo`
    with an open ledger); `prefectures` (2-digit codes) limits the
    demo to a few prefectures (for tests).

    The year lies in the past, so the demo runs on a simulated clock installed in
    this process, moved forward day by day through the year's schedule: each
    command is recorded at the demo's date, and the ledger refuses it if it already
    holds a later event (kofu records nothing back in time).
    """
    programme, _ = _shipped(grant_year)
    issued = programme.schedule.indicators_issued
    start = datetime(issued.year, issued.month, issued.day, 9, tzinfo=JST)
    with installed(SimulatedClock(start)) as simulated:
        assert isinstance(simulated, SimulatedClock)  # noqa: S101
        return _demo(
            ledger, grant_year, seed, console, simulated, allocate, prefectures
        )


def _demo(
    ledger: Ledger,
    grant_year: int,
    seed: int,
    console: Console,
    clock: SimulatedClock,
    allocate: Allocate,
    prefectures: set[str] | None,
) -> Tally:
    programme, catalogues = _shipped(grant_year)
    console.print(
        Panel(
            f"kofu demo: FY{grant_year}, seed {seed}. Entities and codes are real; "
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
            ledger.register_entities(
                RegisterEntities(entities=loaded.entities), progress=advance
            ),
        )
    for spec in catalogues.values():
        published = ledger.publish_catalogue(PublishCatalogue(spec=spec))
        tally.add(f"catalogue FY{grant_year} {spec.tier}", 1, published)
    defined = ledger.define_programme(DefineProgramme(spec=programme, actor=DEMO_ACTOR))
    tally.add(f"programme FY{grant_year}", 1, defined)
    # The money chain's rules (issue 17) wait for the demo's synthetic chain (part 2):
    # the demo year records what it recorded before.
    allocation_rules = [r for r in load_rules().values() if r.kind not in MONEY_KINDS]
    tally.add(
        "allocation rules",
        len(rules := allocation_rules),
        ledger.publish_rules(PublishRules(rules=rules, actor=DEMO_ACTOR)),
    )
    years = [grant_year - 1, grant_year]
    nation = synthesise_nation(loaded.entities, loaded.wards, years, seed)
    cities = designated_city_insurers(loaded.entities, loaded.wards, "2000-04-01")
    insurers = nation.insurers or cities
    tally.add(
        "insurers (unions synthetic)",
        len(insurers),
        ledger.register_insurers(RegisterInsurers(insurers=insurers)),
    )
    tally.add(
        "insured counts (synthetic)",
        len(nation.insured),
        ledger.record_insured_counts(
            RecordInsuredCounts(counts=nation.insured, actor=DEMO_ACTOR)
        ),
    )
    insured = {
        code: count.count
        for code, count in nation.insured
        if count.fiscal_year == grant_year
    }
    year = synthesise_year(loaded.entities, insured, catalogues, programme, seed)
    _record_year(ledger, year, tally, console, clock)
    tally.add(
        "paper submission keyed in",
        1,
        _story_paper(ledger, programme, catalogues["municipal"], year, seed),
    )
    by_year = {
        y: {code: c.count for code, c in nation.insured if c.fiscal_year == y}
        for y in years
    }
    categories = _categories(programme)
    if categories:  # 事業費 matter only to 支援's eligibility: none before FY2020
        finances = synthesise_finances(
            loaded.entities,
            by_year,
            grant_year,
            list(programme.budgets),
            categories,
            seed,
        )
        tally.add(
            "事業費 (synthetic)",
            len(finances.expenditures),
            ledger.record_expenditures(
                RecordExpenditures(expenditures=finances.expenditures, actor=DEMO_ACTOR)
            ),
        )
        tally.add(
            "所要見込額 (synthetic)",
            len(finances.required),
            ledger.declare_required_amounts(
                DeclareRequiredAmounts(amounts=finances.required, actor=DEMO_ACTOR)
            ),
        )
    _print(console, tally, ledger)
    _run_phases(
        ledger, programme, catalogues["municipal"], seed, console, clock, allocate
    )
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
    clock: SimulatedClock,
    allocate: Allocate,
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
        clock.set_day(programme.schedule.phases[phase])
        command = AllocatePhase(grant_year=year, phase=phase, actor=DEMO_ALLOCATOR)
        recorded += allocate(command)
        if phase in corrections:
            clock.set_day(programme.schedule.phases[phase] + timedelta(days=3))
            _story_correction(
                ledger, programme, catalogue, phase, corrections[phase], seed
            )
    if recorded:
        print_runs(recorded, f"FY{year} allocation runs recorded", console)
    console.print(f"ledger now holds {ledger.count_events():,} events")


def _story_paper(
    ledger: Ledger,
    programme: ProgrammeSpec,
    catalogue: CatalogueSpec,
    year: SurveyYear,
    seed: int,
) -> Result:
    """千代田区's revision that came by post on the closing day, keyed in later.

    The ministry enters it after the window closed; the window is checked against
    the date the paper states, recorded beside the ledger's own time.
    """
    entity = "131016"
    if entity not in {d.lg_code for d in ledger.entities()}:
        return Result("enter_paper")
    item = _self_checkbox(catalogue)
    # The entity's last answer sent online (from the seed, so that a rerun of the
    # demo sends the same paper again: a repeat, recording nothing).
    sent = [c for c in year.submissions + year.revisions if c.entity == entity]
    online = sent[-1].answers.get(item) in {True, "true"}
    return ledger.enter_paper(
        [
            EnterPaperSubmission(
                entity=entity,
                grant_year=programme.grant_year,
                tier="municipal",
                answers={item: not online},
                stated_on=programme.schedule.submission_closes,
                reason="【合成】締切日消印の郵送提出（修正版）を受付後に入力 (demo)",
                basis="郵送提出の取扱い (synthetic instruction)",
                actor="ministry:kofu-demo",
                idempotency_key=f"demo:{seed}:{programme.grant_year}:story-paper",
            )
        ]
    )


def _self_checkbox(catalogue: CatalogueSpec, scoring_for: Grant | None = None) -> str:
    """The first self-reported checkbox (scoring points for a grant, if named)."""
    return next(
        code
        for code, (sub, indicator) in catalogue.sub_items().items()
        if sub.kind == "checkbox"
        and indicator.source == "self"
        and (scoring_for is None or sub.points.get(scoring_for, 0) > 0)
    )


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
    item = _self_checkbox(catalogue, scoring_for="promotion")
    current = evaluation.answers.get(item)
    value = not (current.checked if current else False)
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
            idempotency_key=f"demo:{seed}:{programme.grant_year}:story-correction:{number}",
        )
    )


def _record_year(
    ledger: Ledger,
    year: SurveyYear,
    tally: Tally,
    console: Console,
    clock: SimulatedClock,
) -> None:
    """Send the year's commands day by day; add what each kind recorded."""
    with progress(console, "the year's commands", year.size) as advance:
        events = send_year(ledger, year, clock, advance)
    for what, commands in year.kinds():
        if commands or what != "ministry-computed values":
            tally.rows.append((what, len(commands), events[what]))


def send_year(
    ledger: Ledger,
    year: SurveyYear,
    clock: SimulatedClock,
    advance: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Send a survey year's commands, each on its day (the clock moved there).

    Returns the events recorded per kind of command.
    """
    kinds = year.kinds()
    order = {id(c): n for n, (_, commands) in enumerate(kinds) for c in commands}
    days = sorted({year.day(c) for _, commands in kinds for c in commands})
    events = {what: 0 for what, _ in kinds}
    for day in days:
        clock.set_day(day)
        today = [c for _, cs in kinds for c in cs if year.day(c) == day]
        today.sort(key=lambda c: order[id(c)])
        for what, done in _send(ledger, today):
            events[what] += done
        if advance:
            advance(len(today))
    return events


def _send(ledger: Ledger, commands: list[Command]) -> list[tuple[str, int]]:
    """Send one day's commands in order: answers in bulk, the rest one by one.

    An entity revises on a later day than it first submits, so a day's first
    submissions and its revisions are two bulk calls.
    """
    done: list[tuple[str, int]] = []
    answers = [c for c in commands if isinstance(c, SubmitSelfEvaluation)]
    for what, marker in (
        ("submissions (synthetic)", ":submit:"),
        ("revisions", ":revise:"),
    ):
        batch = [c for c in answers if marker in str(c.idempotency_key)]
        if batch:
            done.append((what, ledger.submit(batch).events))
    for cmd in commands:
        if isinstance(cmd, ConfirmSelfEvaluation):
            done.append(("prefecture confirmations", ledger.confirm(cmd).events))
        elif isinstance(cmd, ImportMinistryValues):
            result = ledger.import_ministry_values([cmd])
            done.append(("ministry-computed values", result.events))
        elif isinstance(cmd, CorrectAnswer):
            done.append(("ministry corrections", ledger.correct(cmd).events))
    return done


def _print(console: Console, tally: Tally, ledger: Ledger) -> None:
    table = Table(title="recorded by this run (0 events: already in the ledger)")
    table.add_column("step")
    table.add_column("commands", justify="right")
    table.add_column("events", justify="right")
    for what, commands, events in tally.rows:
        table.add_row(what, f"{commands:,}", f"{events:,}")
    console.print(table)
    console.print(f"ledger now holds {ledger.count_events():,} events")
