"""`kofu demo`: the reference data and a whole SYNTHETIC national year.

Real: the 47 prefectures, 1,741 municipalities and 175 wards, the catalogues and the
programme year shipped in data/. Synthetic (labelled so in every record and on
screen): unions' membership, 第1号被保険者数, every answer, revision, confirmation,
ministry value and correction. Rerunning the demo on the same ledger records nothing
new: every command carries an idempotency key derived from the seed.

`--fiscal-year all` tells the nine years FY2018-FY2026 on one ledger. Their cycles
overlap (FY2019's settlement, June 2020, follows FY2021's provisional notice) and the
ledger records nothing back in time, so each year's story is a generator that yields
the day it wants next, and `_drive` always resumes the one whose day is earliest
(ties: the earlier grant year), moving the one simulated clock forward.

Over 300 lines (STYLE): the demo is one story told in calendar order (reference data,
answers, paper entries, corrections, every phase's runs), easier to follow in one file.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from adapters.common.progress import progress
from adapters.demo.synthetic import (
    PUBLISHED_MEANS,
    Finances,
    Nation,
    SurveyYear,
    mean_share,
    synthesise_finances,
    synthesise_nation,
    synthesise_year,
)
from adapters.inputs.files import Loaded, designated_city_insurers, load_files
from adapters.inputs.paths import data_dir
from adapters.inputs.rule_files import load_rules
from adapters.reports.output import print_runs
from domain.clock import SimulatedClock, installed, jst_date
from domain.commands import (
    AllocatePhase,
    Command,
    ConfirmSelfEvaluation,
    CorrectAnswer,
    DeclareRequiredAmounts,
    DefineProgramme,
    EndMembership,
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
from domain.errors import InvalidInput, RecordedBeforeNewest, Refused
from domain.glossary import GRANT_SHORT, JST
from domain.ledger import Result
from domain.money_rules import MONEY_KINDS

if TYPE_CHECKING:
    from domain.allocation_run import AllocationRun
    from domain.base import Grant
    from domain.catalogue import CatalogueSpec
    from domain.ledger import Ledger
    from domain.programme import ProgrammeSpec
    from domain.rule import RuleSpec

    Allocate = Callable[[AllocatePhase], list[AllocationRun]]

DEMO_ACTOR = "system:kofu-demo"
DEMO_ALLOCATOR = "ministry:kofu-demo"
ALL_YEARS = "all"
"""`--fiscal-year all`: every shipped year, FY2018-FY2026, on one ledger."""

Days = Generator[date, None, None]
"""A year's story: yields the day it wants next, resumed once the clock is there."""


@dataclass
class Tally:
    """What each step of the demo recorded."""

    rows: list[tuple[str, int, int]]

    def add(self, what: str, commands: int, result: Result) -> None:
        """Add a step: commands issued and events written."""
        self.rows.append((what, commands, result.events))


@cache
def _rules() -> dict[str, RuleSpec]:
    """The shipped rules, read once per process (a demo of many years asks often)."""
    return load_rules()


@cache
def _shipped(
    grant_year: int,
) -> tuple[ProgrammeSpec, dict[str, CatalogueSpec]]:
    """The year's shipped programme and catalogues by tier, read once per process."""
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


def shipped_years() -> list[int]:
    """The grant years shipped in data/programmes, oldest first."""
    return sorted(int(p.stem[2:]) for p in (data_dir() / "programmes").glob("fy*.yaml"))


@dataclass(frozen=True)
class _Setting:
    """What every year of one demo shares."""

    ledger: Ledger
    seed: int
    console: Console
    allocate: Allocate
    reference: Loaded
    nation: Nation
    finances: dict[int, Finances] = field(default_factory=dict)
    """Each year's synthetic finances, once made."""


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
    _banner(console, f"FY{grant_year}", seed)
    years = list(range(min(shipped_years()), grant_year + 1))
    setting = _setting(ledger, seed, console, allocate, prefectures, years)
    tally = Tally([])
    _drive(
        _opening(programme),
        [(grant_year, _year(setting, grant_year, tally))],
        f"FY{grant_year}",
    )
    return tally


def record_all_years(
    ledger: Ledger,
    seed: int,
    console: Console,
    allocate: Allocate,
    prefectures: set[str] | None = None,
) -> Tally:
    """Record every shipped year (FY2018-FY2026) on one ledger, in calendar order.

    The years' stories interleave by date on one simulated clock. Refused, with
    nothing written, on a ledger that already holds an event later than the demo
    would record at (kofu records nothing back in time); a rerun records nothing.
    """
    years = shipped_years()
    first, _ = _shipped(years[0])
    last, _ = _shipped(years[-1])
    span = f"FY{years[0]}-FY{years[-1]}"
    _banner(console, span, seed)
    # The years' own tables and bars would interleave: they go to a console
    # nobody reads (not a terminal: no bar), and one summary is printed instead.
    unread = Console(file=io.StringIO())
    setting = _setting(ledger, seed, unread, allocate, prefectures, years)
    tallies = {year: Tally([]) for year in years}
    opening = _opening(first)
    closing = max(last.schedule.phases.values())
    with progress(console, span, (closing - opening.date()).days) as advance:
        _drive(
            opening,
            [(y, _year(setting, y, tallies[y])) for y in years],
            span,
            advance,
        )
    _print_years(console, ledger, tallies)
    return Tally(
        [(f"FY{y} {what}", n, e) for y, t in tallies.items() for what, n, e in t.rows]
    )


def _banner(console: Console, years: str, seed: int) -> None:
    console.print(
        Panel(
            f"kofu demo: {years}, seed {seed}. Entities and codes are real; "
            "insured counts, unions, answers, revisions, confirmations and corrections "
            "are SYNTHETIC (合成データ) and say so in their records.",
            title="SYNTHETIC DATA / 合成データ",
            style="yellow",
        )
    )


def _opening(programme: ProgrammeSpec) -> datetime:
    issued = programme.schedule.indicators_issued
    return datetime(issued.year, issued.month, issued.day, 9, tzinfo=JST)


def _setting(
    ledger: Ledger,
    seed: int,
    console: Console,
    allocate: Allocate,
    prefectures: set[str] | None,
    fiscal_years: list[int],
) -> _Setting:
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
    nation = synthesise_nation(loaded.entities, loaded.wards, fiscal_years, seed)
    return _Setting(ledger, seed, console, allocate, loaded, nation)


def _drive(
    opening: datetime,
    stories: list[tuple[int, Days]],
    what: str,
    advance: Callable[[int], None] | None = None,
) -> None:
    """Run the years' stories on one simulated clock, earliest day first.

    Each story starts on its programme's indicators day; after that it yields the
    day it wants next. The story whose day is earliest resumes (ties: the earlier
    grant year), so the clock only moves forward.

    Raises:
        Refused: the ledger already holds an event later than the story's day
            (the first write is refused: nothing is written).
    """
    with installed(SimulatedClock(opening)) as simulated:
        assert isinstance(simulated, SimulatedClock)  # noqa: S101
        pending = [
            (_shipped(year)[0].schedule.indicators_issued, year, story, True)
            for year, story in stories
        ]
        shown = 0
        while pending:
            pending.sort(key=lambda p: (p[0], p[1]))
            day, year, story, first = pending.pop(0)
            # A story's first day keeps the hour the clock stands at (the demo's
            # opening, 09:00); the days it asks for are at 10:00 (set_day).
            if not first or jst_date(simulated.now()) < day:
                simulated.set_day(day)
            if advance:
                elapsed = (jst_date(simulated.now()) - opening.date()).days
                advance(elapsed - shown)
                shown = elapsed
            try:
                following = _resume(story, what, opening)
            except StopIteration:
                continue
            pending.append((following, year, story, False))


def _resume(story: Days, what: str, opening: datetime) -> date:
    """The story's next day (StopIteration: it has ended).

    Raises:
        Refused: the ledger holds a later event than the demo's clock.
    """
    try:
        return next(story)
    except (Refused, RecordedBeforeNewest) as error:
        if isinstance(error, Refused) and error.field != "clock":
            raise
        # The first write the ledger refused: every write before it was a repeat
        # that recorded nothing, and none after it would be attempted.
        msg = (
            f"the ledger already holds events later than the demo of {what} "
            f"records at (it starts on {opening.date()}); kofu records nothing "
            f"back in time, and nothing was written: run the demo on a new "
            f"ledger ({error})"
        )
        raise Refused(msg, field="--fiscal-year") from None


def _year(setting: _Setting, grant_year: int, tally: Tally) -> Days:
    """One year's story, from its indicators day to its settlement."""
    ledger, seed, console = setting.ledger, setting.seed, setting.console
    programme, catalogues = _shipped(grant_year)
    loaded = setting.reference
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
    allocation_rules = [r for r in _rules().values() if r.kind not in MONEY_KINDS]
    tally.add(
        "allocation rules",
        len(rules := allocation_rules),
        ledger.publish_rules(PublishRules(rules=rules, actor=DEMO_ACTOR)),
    )
    nation = setting.nation
    years = [y for y in (grant_year - 1, grant_year) if y >= min(shipped_years())]
    cities = designated_city_insurers(loaded.entities, loaded.wards, "2000-04-01")
    insurers = nation.insurers or cities
    tally.add(
        "insurers (unions synthetic)",
        len(insurers),
        ledger.register_insurers(RegisterInsurers(insurers=insurers)),
    )
    _change_unions(ledger, nation, grant_year, tally)
    counts = [(code, c) for code, c in nation.insured if c.fiscal_year in years]
    tally.add(
        "insured counts (synthetic)",
        len(counts),
        ledger.record_insured_counts(
            RecordInsuredCounts(counts=counts, actor=DEMO_ACTOR)
        ),
    )
    insured = {
        code: count.count
        for code, count in nation.insured
        if count.fiscal_year == grant_year
    }
    year = synthesise_year(loaded.entities, insured, catalogues, programme, seed)
    yield from _record_year(ledger, year, tally, console)
    tally.add(
        "paper submission keyed in",
        1,
        _story_paper(ledger, programme, catalogues["municipal"], year, seed),
    )
    finances = _finances(setting, programme)
    if finances:  # 事業費 matter only to 支援's eligibility: none before FY2020
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
    yield from _run_phases(setting, programme, catalogues["municipal"])


def _change_unions(
    ledger: Ledger, nation: Nation, grant_year: int, tally: Tally
) -> None:
    """The unions' changes up to this grant year (a repeat records nothing).

    Recorded in the autumn before they take effect on 1 April of the grant year
    (a demo of a later year catches up with the earlier ones).
    """
    for change in nation.changes:
        if change.grant_year > grant_year:
            continue
        events = 0
        for number, code in change.ended:
            ended = ledger.end_membership(
                EndMembership(
                    insurer_number=number,
                    lg_code=code,
                    valid_to=date(change.grant_year, 3, 31),
                    actor=DEMO_ACTOR,
                )
            )
            events += ended.events
        registered = ledger.register_insurers(
            RegisterInsurers(insurers=change.registered)
        )
        tally.rows.append(
            (
                f"unions FY{change.grant_year}: {change.what} (synthetic)",
                len(change.ended) + len(change.registered),
                events + registered.events,
            )
        )


def _finances(setting: _Setting, programme: ProgrammeSpec) -> Finances | None:
    """The year's 事業費 and 所要見込額 (None: no eligibility rule compares them).

    The base year's spending is the year before's own figure where that year had
    spending too (one figure per entity and fiscal year, whichever year's story
    records it: a second, other figure would replace the first).
    """
    grant_year = programme.grant_year
    categories = _categories(programme)
    if not categories:
        return None
    if grant_year not in setting.finances:
        before = grant_year - 1
        earlier = (
            _finances(setting, _shipped(before)[0])
            if before in shipped_years()
            else None
        )
        base = {
            code: spending
            for code, spending in (earlier.expenditures if earlier else [])
            if spending.fiscal_year == before
        }
        insured = setting.nation.insured
        by_year = {
            y: {code: c.count for code, c in insured if c.fiscal_year == y}
            for y in (before, grant_year)
        }
        setting.finances[grant_year] = synthesise_finances(
            setting.reference.entities,
            by_year,
            grant_year,
            list(programme.budgets),
            categories,
            setting.seed,
            base=base,
        )
    return setting.finances[grant_year]


def _categories(programme: ProgrammeSpec) -> list[str]:
    rules = _rules()
    found: list[str] = []
    for tiers in programme.eligibility.values():
        for rule_id in tiers.values():
            found += rules[rule_id].eligibility_parameters().spending_categories
    return sorted(set(found))


def _run_phases(
    setting: _Setting,
    programme: ProgrammeSpec,
    catalogue: CatalogueSpec,
) -> Days:
    """Run every phase on its day, with corrections after 交付見込額 and 交付決定.

    The corrections show a changed next run and a settlement adjustment.
    """
    ledger, seed, console = setting.ledger, setting.seed, setting.console
    year = programme.grant_year
    corrections = {"expected": 1, "decision": 2}
    recorded = []
    for phase in programme.schedule.phases:
        phase_runs = [
            p for p in ledger.phase_runs(year) if p.phase == phase and p.current
        ]
        if phase_runs:
            continue  # recorded by an earlier run of the demo, with its correction
        yield programme.schedule.phases[phase]
        command = AllocatePhase(grant_year=year, phase=phase, actor=DEMO_ALLOCATOR)
        recorded += setting.allocate(command)
        if phase in corrections:
            yield programme.schedule.phases[phase] + timedelta(days=3)
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
    ledger: Ledger, year: SurveyYear, tally: Tally, console: Console
) -> Days:
    """Send the year's commands day by day; add what each kind recorded."""
    events = {what: 0 for what, _ in year.kinds()}
    with progress(console, "the year's commands", year.size) as advance:
        yield from _sending(ledger, year, events, advance)
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
    events = {what: 0 for what, _ in year.kinds()}
    for day in _sending(ledger, year, events, advance):
        clock.set_day(day)
    return events


def _sending(
    ledger: Ledger,
    year: SurveyYear,
    events: dict[str, int],
    advance: Callable[[int], None] | None,
) -> Days:
    """Yield each day of the survey, then send its commands; count the events."""
    kinds = year.kinds()
    order = {id(c): n for n, (_, commands) in enumerate(kinds) for c in commands}
    days = sorted({year.day(c) for _, commands in kinds for c in commands})
    for day in days:
        yield day
        today = [c for _, cs in kinds for c in cs if year.day(c) == day]
        today.sort(key=lambda c: order[id(c)])
        for what, done in _send(ledger, today):
            events[what] += done
        if advance:
            advance(len(today))


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


def municipal_means(ledger: Ledger, grant_year: int) -> tuple[float, int] | None:
    """The mean municipal score of the year's last current runs, and full marks.

    Scores of every grant added up per municipality (the published means add the
    grants too); None before the year's first run.
    """
    phase_runs = [p for p in ledger.phase_runs(grant_year) if p.current]
    if not phase_runs:
        return None
    order: list[str] = list(ledger.programme(grant_year).spec.schedule.phases)
    last = max(phase_runs, key=lambda p: order.index(p.phase))
    runs = [ledger.run(run_id).calculated for run_id in last.runs]
    municipal = [run for run in runs if run.tier == "municipal"]
    totals: dict[str, int] = {}
    full = 0
    for run in municipal:
        full += run.results[0].max_score if run.results else 0
        for result in run.results:
            totals[result.entity] = totals.get(result.entity, 0) + result.score
    return (sum(totals.values()) / len(totals) if totals else 0.0), full


def _print_years(console: Console, ledger: Ledger, tallies: dict[int, Tally]) -> None:
    table = Table(
        title="recorded by this run, year by year (0 events: already in the ledger)"
    )
    for column in ("grant year", "events", "grants", "phases run"):
        table.add_column(column, justify="right")
    table.add_column("municipal mean score (synthetic)", justify="right")
    table.add_column("target", justify="right")
    for year, tally in tallies.items():
        phase_runs = [p for p in ledger.phase_runs(year) if p.current]
        grants = sorted(
            {ledger.run(r).calculated.grant for p in phase_runs for r in p.runs}
        )
        means = municipal_means(ledger, year)
        mean = f"{means[0]:,.1f} / {means[1]:,}" if means else "-"
        share = mean_share(year)
        published = year in PUBLISHED_MEANS
        table.add_row(
            f"FY{year}",
            f"{sum(events for _, _, events in tally.rows):,}",
            " + ".join(GRANT_SHORT.get(g, g) for g in sorted(grants, reverse=True)),
            f"{len({p.phase for p in phase_runs})}",
            mean,
            f"{PUBLISHED_MEANS[year]} / 800 (published)"
            if published
            else f"{share:.1%} of full marks (hypothesis)",
        )
    console.print(table)
    console.print(f"ledger now holds {ledger.count_events():,} events")


def _print(console: Console, tally: Tally, ledger: Ledger) -> None:
    table = Table(title="recorded by this run (0 events: already in the ledger)")
    table.add_column("step")
    table.add_column("commands", justify="right")
    table.add_column("events", justify="right")
    for what, commands, events in tally.rows:
        table.add_row(what, f"{commands:,}", f"{events:,}")
    console.print(table)
    console.print(f"ledger now holds {ledger.count_events():,} events")
