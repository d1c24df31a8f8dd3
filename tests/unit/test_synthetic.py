"""The synthetic national dataset reproduces the published facts (docs/DOMAIN.md)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from statistics import fmean
from typing import Any

import pytest
import yaml

from adapters.demo.demo import send_year
from adapters.demo.synthetic import (
    PUBLISHED_MEANS,
    SYNTHETIC,
    Nation,
    SurveyYear,
    synthesise_nation,
    synthesise_year,
)
from adapters.inputs.files import Loaded, load_files
from adapters.inputs.paths import data_dir
from adapters.storage.bootstrap import open_ledger
from domain import clock as ledger_clock
from domain.catalogue import CatalogueSpec
from domain.clock import SimulatedClock
from domain.codes import insurer_number, insurer_number_for
from domain.commands import (
    DefineProgramme,
    PublishCatalogue,
    RecordInsuredCounts,
    RegisterEntities,
    RegisterInsurers,
)
from domain.entities import size_band
from domain.programme import ProgrammeSpec
from domain.scoring import score

SEED = 1
YEARS = [2020, 2022, 2024, 2026]
BOUNDS = (0, 3_000, 10_000, 50_000, 100_000)
YOKOHAMA = "141003"


def _document(path: Path) -> dict[str, Any]:
    body = yaml.safe_load(path.read_text(encoding="utf-8"))
    body.pop("kind")
    return body


def _catalogues(grant_year: int) -> dict[str, CatalogueSpec]:
    found = {}
    for tier in ("municipal", "prefectural"):
        path = data_dir() / "catalogues" / f"fy{grant_year}-{tier}-v1.yaml"
        if path.exists() or tier == "municipal":
            found[tier] = CatalogueSpec.model_validate(_document(path))
    return found


def _programme(grant_year: int) -> ProgrammeSpec:
    path = data_dir() / "programmes" / f"fy{grant_year}.yaml"
    return ProgrammeSpec.model_validate(_document(path))


@pytest.fixture(scope="module")
def reference() -> Loaded:
    folder = data_dir() / "reference"
    return load_files(
        [
            folder / "prefectures.csv",
            folder / "municipalities.csv",
            folder / "designated_city_wards.csv",
        ]
    )


@pytest.fixture(scope="module")
def nation(reference: Loaded) -> Nation:
    return synthesise_nation(reference.entities, reference.wards, YEARS, SEED)


def _counts(nation: Nation, year: int) -> dict[str, int]:
    return {lg: c.count for lg, c in nation.insured if c.fiscal_year == year}


def _municipal(reference: Loaded) -> set[str]:
    return {e.lg_code for e in reference.entities if e.kind == "municipality"}


def _survey(
    reference: Loaded, nation: Nation, grant_year: int, seed: int
) -> SurveyYear:
    return synthesise_year(
        reference.entities,
        _counts(nation, grant_year),
        _catalogues(grant_year),
        _programme(grant_year),
        seed,
    )


@pytest.fixture(scope="module", params=[2024, 2020])
def year(request: pytest.FixtureRequest, reference: Loaded, nation: Nation) -> Any:
    grant_year = request.param
    survey = _survey(reference, nation, grant_year, SEED)
    return grant_year, survey, _catalogues(grant_year), _programme(grant_year)


# ------------------------------------------------------------------ the nation


def test_band_counts_match_the_published_facts_in_every_generated_year(
    reference, nation
):
    municipal = _municipal(reference)
    for fiscal_year in YEARS:
        counts = _counts(nation, fiscal_year)
        bands = Counter(size_band(counts[lg], BOUNDS) for lg in municipal)
        assert bands[1] == 447, fiscal_year
        assert bands[2] == 535, fiscal_year
        assert bands[3] + bands[4] + bands[5] == 759, fiscal_year


def test_each_municipality_stays_in_its_band_across_years(reference, nation):
    by_year = [_counts(nation, y) for y in YEARS]
    bands = {
        lg: {size_band(counts[lg], BOUNDS) for counts in by_year}
        for lg in _municipal(reference)
    }
    assert all(len(found) == 1 for found in bands.values())


def test_national_total_is_within_one_percent_of_35_85_million_in_fy2022(
    reference, nation
):
    counts = _counts(nation, 2022)
    total = sum(counts[lg] for lg in _municipal(reference))
    assert abs(total - 35_850_000) <= 0.01 * 35_850_000


def test_other_years_follow_a_gentle_upward_trend(reference, nation):
    municipal = _municipal(reference)
    by_year = [_counts(nation, y) for y in YEARS]
    totals = [sum(counts[lg] for lg in municipal) for counts in by_year]
    for earlier, later in pairwise(totals):
        assert 1.0 < later / earlier < 1.02  # two years apart: about +1 %


@pytest.mark.parametrize("grant_year", [2020, 2024])
def test_a_fifth_of_municipalities_mostly_small_lose_insured_in_a_year_yet_the_total_rises(
    reference, grant_year
):
    years = [grant_year - 1, grant_year]
    pair = synthesise_nation(reference.entities, reference.wards, years, SEED)
    before, after = (_counts(pair, y) for y in years)
    municipal = _municipal(reference)
    fell = [lg for lg in municipal if after[lg] < before[lg]]
    assert 0.15 <= len(fell) / len(municipal) <= 0.25
    small = [lg for lg in fell if size_band(before[lg], BOUNDS) <= 2]
    assert len(small) >= 0.75 * len(fell)
    growth = sum(after[lg] for lg in municipal) / sum(before[lg] for lg in municipal)
    assert 1.002 < growth < 1.008
    for counts in (before, after):
        bands = Counter(size_band(counts[lg], BOUNDS) for lg in municipal)
        assert (bands[1], bands[2], bands[3] + bands[4] + bands[5]) == (447, 535, 759)
    assert all(
        size_band(before[lg], BOUNDS) == size_band(after[lg], BOUNDS)
        for lg in municipal
    )


def test_largest_insurer_is_yokohama_with_about_950_thousand(reference, nation):
    counts = _counts(nation, 2022)
    largest = max(_municipal(reference), key=lambda lg: counts[lg])
    assert largest == YOKOHAMA
    assert abs(counts[YOKOHAMA] - 950_000) <= 0.05 * 950_000


def test_smallest_municipality_has_a_few_dozen_insured(reference, nation):
    for fiscal_year in YEARS:
        counts = _counts(nation, fiscal_year)
        assert 30 <= min(counts[lg] for lg in _municipal(reference)) < 100


def test_cities_are_larger_than_towns_and_villages_and_wards_are_large(
    reference, nation
):
    counts = _counts(nation, 2022)
    municipalities = [e for e in reference.entities if e.kind == "municipality"]
    by_kind: dict[str, list[int]] = {}
    for entity in municipalities:
        by_kind.setdefault(entity.name[-1], []).append(counts[entity.lg_code])
    assert fmean(by_kind["市"]) > fmean(by_kind["町"]) > fmean(by_kind["村"])
    wards = [counts[e.lg_code] for e in municipalities if e.special_ward]
    assert len(wards) == 23
    assert min(wards) >= 10_000
    designated = [i for i in nation.insurers if i.kind == "designated_city"]
    assert len(designated) == 20
    assert all(counts[i.members[0].lg_code] >= 100_000 for i in designated)


def test_prefecture_counts_are_the_sum_of_their_municipalities(reference, nation):
    prefectures = [e for e in reference.entities if e.kind == "prefecture"]
    for fiscal_year in YEARS:
        counts = _counts(nation, fiscal_year)
        for prefecture in prefectures:
            members = [
                counts[lg]
                for lg in _municipal(reference)
                if lg[:2] == prefecture.prefecture_code
            ]
            assert counts[prefecture.lg_code] == sum(members)


def test_every_entity_has_one_count_per_year_naming_a_synthetic_source(
    reference, nation
):
    assert len(nation.insured) == len(reference.entities) * len(YEARS)
    keys = {(lg, c.fiscal_year) for lg, c in nation.insured}
    assert len(keys) == len(nation.insured)
    for _, count in nation.insured:
        assert SYNTHETIC in count.source
        assert count.as_of.year == count.fiscal_year - 1


def test_every_municipality_belongs_to_exactly_one_insurer(reference, nation):
    day = date(2024, 4, 1)
    members = Counter(
        m.lg_code for i in nation.insurers for m in i.members if m.valid_on(day)
    )
    assert set(members) == _municipal(reference)
    assert set(members.values()) == {1}


def test_a_one_prefecture_subset_still_gives_each_municipality_one_insurer(
    reference,
):
    entities = [e for e in reference.entities if e.prefecture_code == "14"]
    subset = synthesise_nation(entities, reference.wards, [2022], SEED)
    members = Counter(m.lg_code for i in subset.insurers for m in i.members)
    municipal = {e.lg_code for e in entities if e.kind == "municipality"}
    assert set(members) == municipal
    assert set(members.values()) == {1}
    counts = _counts(subset, 2022)
    assert max(municipal, key=lambda lg: counts[lg]) == YOKOHAMA


def test_insurer_count_and_union_members_are_near_the_published_figures(nation):
    assert 1_560 <= len(nation.insurers) <= 1_580
    unions = [i for i in nation.insurers if i.synthetic]
    assert 30 <= len(unions) <= 40
    assert abs(sum(len(u.members) for u in unions) - 205) <= 10
    singles = [i for i in nation.insurers if i.kind == "single"]
    assert all(not i.synthetic for i in singles)


def test_unions_group_three_to_nine_consecutive_towns_of_one_prefecture(
    reference, nation
):
    towns: dict[str, list[str]] = {}
    for entity in sorted(reference.entities, key=lambda e: e.lg_code):
        if entity.kind == "municipality" and entity.lg_code[2] >= "3":
            towns.setdefault(entity.prefecture_code, []).append(entity.lg_code)
    unions = [i for i in nation.insurers if i.synthetic]
    assert {u.kind for u in unions} == {
        "wide_area_union",
        "partial_affairs_association",
    }
    for union in unions:
        codes = [m.lg_code for m in union.members]
        assert 3 <= len(codes) <= 9
        assert "（架空）" in union.name
        assert {c[:2] for c in codes} == {union.prefecture_code}
        listed = towns[union.prefecture_code]
        start = listed.index(codes[0])
        assert listed[start : start + len(codes)] == codes


def test_insurer_numbers_are_valid_and_synthetic_ones_never_collide(reference, nation):
    numbers = [i.insurer_number for i in nation.insurers]
    wards = [w.insurer_number for i in nation.insurers for w in i.wards]
    assert len(set(numbers + wards)) == len(numbers) + len(wards)
    for number in numbers + wards:
        assert insurer_number(number) == number
    real = {insurer_number_for(lg[:5]) for lg in _municipal(reference)}
    for union in (i for i in nation.insurers if i.synthetic):
        assert union.insurer_number[2] == "8"
        assert union.insurer_number[:2] == union.prefecture_code
        assert union.insurer_number not in real
    for single in (i for i in nation.insurers if i.kind == "single"):
        assert single.insurer_number[:5] == single.members[0].lg_code[:5]


def test_same_seed_gives_the_same_nation_and_another_seed_differs(reference, nation):
    again = synthesise_nation(reference.entities, reference.wards, YEARS, SEED)
    assert again == nation
    other = synthesise_nation(reference.entities, reference.wards, YEARS, SEED + 1)
    assert _counts(other, 2022) != _counts(nation, 2022)


# ------------------------------------------------------------------ the survey year


def _self_items(spec: CatalogueSpec) -> set[str]:
    return {c for c, (_, ind) in spec.sub_items().items() if ind.source == "self"}


def _ministry_items(spec: CatalogueSpec) -> set[str]:
    return {c for c, (_, ind) in spec.sub_items().items() if ind.source == "ministry"}


def test_every_entity_submits_once_answering_every_self_reported_item(reference, year):
    grant_year, survey, catalogues, _ = year
    expected = {
        e.lg_code
        for e in reference.entities
        if ("municipal" if e.kind == "municipality" else "prefectural") in catalogues
    }
    entities = [s.entity for s in survey.submissions]
    assert sorted(entities) == sorted(expected)
    for command in survey.submissions + survey.revisions:
        assert command.grant_year == grant_year
        assert set(command.answers) == _self_items(catalogues[command.tier])
        role = "insurer" if command.tier == "municipal" else "prefecture"
        assert command.actor == f"{role}:{command.entity}"


def test_no_ministry_item_is_ever_submitted(year):
    _, survey, catalogues, _ = year
    assert any(_ministry_items(spec) for spec in catalogues.values())
    for command in survey.submissions + survey.revisions:
        assert not set(command.answers) & _ministry_items(catalogues[command.tier])
    for correction in survey.corrections:
        assert correction.item in _self_items(catalogues[correction.tier])


def test_checkboxes_are_bools_and_numbers_are_decimals_in_range_to_one_place(year):
    _, survey, catalogues, _ = year
    commands = [(c.tier, c.answers) for c in survey.submissions + survey.revisions]
    commands += [(c.tier, c.values) for c in survey.ministry_values]
    for tier, answers in commands:
        items = catalogues[tier].sub_items()
        for code, value in answers.items():
            sub = items[code][0]
            if sub.kind == "checkbox":
                assert type(value) is bool
                continue
            assert type(value) is Decimal
            assert value == value.quantize(Decimal("0.1"))
            assert sub.minimum is None or value >= sub.minimum
            assert sub.maximum is None or value <= sub.maximum
            assert sub.parse(value).number == value


def test_numbers_spread_around_their_thresholds(year):
    _, survey, catalogues, _ = year
    spec = catalogues["municipal"]
    for code, (sub, indicator) in spec.sub_items().items():
        if sub.kind != "number" or indicator.source != "self":
            continue
        values = [s.answers[code] for s in survey.submissions if s.tier == "municipal"]
        first = sub.thresholds[0].at_least
        last = sub.thresholds[-1].at_least
        assert any(v < first for v in values) or first == sub.minimum, code
        assert any(v >= last for v in values), code


def test_answers_arrive_inside_the_window_and_revisions_come_later(year):
    _, survey, _, programme = year
    schedule = programme.schedule
    submitted = {s.entity: survey.day(s) for s in survey.submissions}
    for command in survey.submissions + survey.revisions:
        assert schedule.submission_opens <= survey.day(command)
        assert survey.day(command) <= schedule.submission_closes
    for revision in survey.revisions:
        assert survey.day(revision) > submitted[revision.entity]


def test_about_eight_percent_revise_a_few_answers(year):
    _, survey, _, _ = year
    assert 0.05 <= len(survey.revisions) / len(survey.submissions) <= 0.11
    first = {s.entity: s.answers for s in survey.submissions}
    for revision in survey.revisions:
        before = first[revision.entity]
        changed = [c for c in revision.answers if revision.answers[c] != before[c]]
        assert 1 <= len(changed) <= 3


def test_about_sixty_percent_of_municipalities_are_confirmed_by_their_prefecture(
    reference, year
):
    _, survey, _, programme = year
    prefectures = {
        e.prefecture_code: e.lg_code
        for e in reference.entities
        if e.kind == "prefecture"
    }
    municipal = [s for s in survey.submissions if s.tier == "municipal"]
    assert 0.55 <= len(survey.confirmations) / len(municipal) <= 0.65
    last = {s.entity: survey.day(s) for s in survey.submissions + survey.revisions}
    for confirmation in survey.confirmations:
        assert confirmation.tier == "municipal"
        assert (
            confirmation.actor == f"prefecture:{prefectures[confirmation.entity[:2]]}"
        )
        assert last[confirmation.entity] <= survey.day(confirmation)
        assert survey.day(confirmation) <= programme.schedule.submission_closes


def test_ministry_values_cover_every_ministry_item_of_every_entity(year):
    _, survey, catalogues, programme = year
    imported = {(m.entity, m.tier): m for m in survey.ministry_values}
    for submission in survey.submissions:
        wanted = _ministry_items(catalogues[submission.tier])
        if not wanted:
            continue
        command = imported[submission.entity, submission.tier]
        assert set(command.values) == wanted
        assert command.actor == "ministry:mhlw-db"
        assert SYNTHETIC in command.source
        assert survey.day(command) > programme.schedule.submission_closes


def test_about_two_percent_get_a_ministry_correction_after_the_deadline(year):
    _, survey, _, programme = year
    schedule = programme.schedule
    final = {s.entity: s.answers for s in survey.submissions + survey.revisions}
    municipal = [s for s in survey.submissions if s.tier == "municipal"]
    assert 0.01 <= len(survey.corrections) / len(municipal) <= 0.035
    for correction in survey.corrections:
        assert correction.actor.startswith("ministry:")
        assert correction.actor != "ministry:mhlw-db"
        assert schedule.submission_closes < survey.day(correction)
        assert survey.day(correction) < min(schedule.phases.values())
        assert correction.value != final[correction.entity][correction.item]
        assert any("\u3040" <= ch <= "\u9fff" for ch in correction.reason)
        assert any("\u3040" <= ch <= "\u9fff" for ch in correction.basis)


def test_every_command_has_its_own_deterministic_idempotency_key(
    reference, nation, year
):
    grant_year, survey, _, _ = year
    commands = [
        *survey.submissions,
        *survey.revisions,
        *survey.confirmations,
        *survey.ministry_values,
        *survey.corrections,
    ]
    keys = [c.idempotency_key for c in commands]
    assert all(k and k.startswith(f"demo:{SEED}:{grant_year}:") for k in keys)
    assert len(set(keys)) == len(keys)
    again = _survey(reference, nation, grant_year, SEED)
    assert again == survey


def test_another_seed_gives_other_answers(reference, nation, year):
    grant_year, survey, _, _ = year
    other = _survey(reference, nation, grant_year, SEED + 1)
    assert [s.answers for s in other.submissions] != [
        s.answers for s in survey.submissions
    ]


def test_rough_promotion_checkbox_score_rises_with_size_band(nation, year):
    grant_year, survey, catalogues, programme = year
    items = catalogues["municipal"].sub_items()
    counts = _counts(nation, grant_year)
    scores: dict[int, list[int]] = {}
    for submission in survey.submissions:
        if submission.tier != "municipal":
            continue
        score = sum(
            items[code][0].points.get("promotion", 0)
            for code, value in submission.answers.items()
            if value is True
        )
        band = size_band(counts[submission.entity], programme.size_bands)
        scores.setdefault(band, []).append(score)
    means = [fmean(scores[band]) for band in sorted(scores)]
    assert len(means) == 5
    assert means == sorted(means)
    assert means[0] < means[-1] * 0.9


def test_the_ledger_accepts_every_generated_command_and_a_rerun_is_a_no_op(
    reference, nation, tmp_path
):
    grant_year = 2024
    survey = _survey(reference, nation, grant_year, SEED)
    chosen = {survey.corrections[0].entity[:2], survey.revisions[0].entity[:2]}

    def keep(lg: str) -> bool:
        return lg[:2] in chosen

    entities = [e for e in reference.entities if keep(e.lg_code)]
    insurers = [i for i in nation.insurers if i.prefecture_code in chosen]
    ledger = open_ledger(f"sqlite:///{tmp_path / 'kofu.db'}")
    try:
        ledger.register_entities(RegisterEntities(entities=entities))
        ledger.register_insurers(RegisterInsurers(insurers=insurers))
        counts = [(lg, c) for lg, c in nation.insured if keep(lg)]
        ledger.record_insured_counts(
            RecordInsuredCounts(counts=counts, actor="system:synthetic")
        )
        for spec in _catalogues(grant_year).values():
            ledger.publish_catalogue(PublishCatalogue(spec=spec))
        ledger.define_programme(
            DefineProgramme(spec=_programme(grant_year), actor="system:synthetic")
        )
        _apply(ledger, survey, keep)
        events = ledger.count_events()
        _apply(ledger, survey, keep)
        assert ledger.count_events() == events
    finally:
        ledger.close()


def _apply(ledger: Any, survey: SurveyYear, keep: Any) -> None:
    kept = SurveyYear(
        **{
            name: [c for c in commands if keep(c.entity)]
            for name, commands in (
                ("submissions", survey.submissions),
                ("revisions", survey.revisions),
                ("confirmations", survey.confirmations),
                ("ministry_values", survey.ministry_values),
                ("corrections", survey.corrections),
            )
        },
        days=survey.days,
    )
    simulated = ledger_clock.current()
    assert isinstance(simulated, SimulatedClock)
    send_year(ledger, kept, simulated)


def test_the_national_mean_score_follows_the_published_means(
    reference: Loaded,
) -> None:
    """FY2024-FY2026 within a point of the published means of 800; FY2023 below."""
    nation = synthesise_nation(
        reference.entities, reference.wards, [2023, 2024, 2025, 2026], SEED
    )
    means = {}
    for year in (2023, 2024, 2025, 2026):
        catalogue = _catalogues(year)["municipal"]
        survey = _survey(reference, nation, year, SEED)
        answers: dict[str, dict[str, object]] = {}
        for command in [*survey.submissions, *survey.revisions]:
            if command.tier == "municipal":
                answers.setdefault(command.entity, {}).update(command.answers)
        for values in survey.ministry_values:
            if values.tier == "municipal":
                answers.setdefault(values.entity, {}).update(values.values)
        scored = full = 0
        for raw in answers.values():
            parsed = {c: catalogue.sub_items()[c][0].parse(v) for c, v in raw.items()}
            for grant in _programme(year).budgets:
                sheet = score(catalogue, parsed, grant)
                scored, full = scored + sheet.total, full + sheet.max_total
        means[year] = scored / full
    for year, published in PUBLISHED_MEANS.items():
        assert abs(means[year] * 800 - published) < 1.5, (year, means[year] * 800)
    assert means[2023] < means[2024] < means[2025] < means[2026]


def test_unions_change_members_apart_from_the_nation_as_founded(
    reference: Loaded, nation: Nation
) -> None:
    changes = {c.grant_year: c for c in nation.changes}
    assert sorted(changes) == [2021, 2023, 2025]
    founded = {i.insurer_number: i for i in nation.insurers}
    left = changes[2021]
    ((union, town),) = left.ended
    assert founded[union].synthetic
    assert town in {m.lg_code for m in founded[union].members}
    (single,) = left.registered
    assert single.kind == "single"
    assert single.synthetic
    assert "架空" in single.name
    assert single.members[0].lg_code == town
    assert single.members[0].valid_from == date(2021, 4, 1)
    formed = changes[2023]
    (new_union,) = formed.registered
    assert new_union.synthetic
    assert new_union.insurer_number not in founded
    assert {code for _, code in formed.ended} == {m.lg_code for m in new_union.members}
    assert all(founded[n].kind == "single" for n, _ in formed.ended)
    # The nation as founded is the same whatever changes come after
    assert (
        nation.insurers
        == synthesise_nation(reference.entities, reference.wards, [2020], SEED).insurers
    )
    again = synthesise_nation(reference.entities, reference.wards, YEARS, SEED)
    assert again.changes == nation.changes
