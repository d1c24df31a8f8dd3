"""A seeded, deterministic synthetic national dataset (for demos and tests).

Nothing here is real. Every `source` string carries the word `synthetic`; synthetic
insurers are marked `synthetic=True` and their names say they are fictional (kakuu).
Pure: stdlib `random.Random` seeded from strings, no I/O, no database; the same seed
gives the same output on every machine.

What the data reproduces [published] (docs/DOMAIN.md §3, §5):
* national category-1 insured (aged 65+) ≈ 35.85 million in FY2022; Yokohama
  (LG 141003) the largest (≈ 950,000); the smallest a few dozen;
* size bands by the FY2026 bounds 0 / 3,000 / 10,000 / 50,000 / 100,000 hold exactly
  447, 535 and 759 (bands 3-5) municipalities, in every generated year;
* about 1,571 insurers, 205 of the 1,741 municipalities in unions;
* the FY2026 mean scores by band (407.6, 448.8, 481.1, 508.0, 527.8 of 800) set each
  band's mean propensity to tick a checkbox or reach a threshold, scaled for other
  years by the national means FY2024 422.35, FY2025 434.99, FY2026 455.13.

What is modelled [hypothesis]:
* bands 3 / 4 / 5 split 569 / 115 / 75; typical sizes by kind (designated city,
  special ward, city, town, village);
* each municipality's own trend around +0.5 %/year, kept inside its band, except
  rural decline: 17 % of all municipalities, drawn from the small ones (bands 1
  and 2), lose elderly people (about -1.2 %/year); with the few whose drawn trend
  is below zero, about a fifth of the municipalities have fewer insured than the
  year before, while the national total still rises about 0.4-0.5 %/year;
* `as_of` of a fiscal year's count is 1 October of the calendar year before it
  (when the survey of that grant year runs);
* 35 unions of 3-9 consecutive towns and villages in a county (JIS third digit ≥ 3)
  of one prefecture, named after the first member's area, numbered
  `<prefecture><8><serial>` + check digit (no real JIS code has 8 there);
* the unions change: from FY2021 and FY2025 a town leaves one (a single insurer,
  marked synthetic), from FY2023 two or three single towns form a new one, each
  from 1 April of the grant year (memberships end on 31 March);
* the level of the answers by grant year: each year's national mean share of full
  marks (MEAN_SHARES: the published FY2024-FY2026 means, a hypothesis before);
* dates, and the rates of revision (8 %), confirmation (60 %) and correction (2 %);
* spending (事業費) of every municipality and prefecture in the grant year and the
  year before, per counted category: 3,000-12,000 yen per category-1 insured person
  and category in the base year; 15 % of entities spend less in the grant year than
  in the base year, the others more. Of the entities whose insured count fell, half
  spend less in total but more per insured person (the demographic adjustment
  decides their eligibility); other decreases come with less spending per person.
  `as_of`: the base year's figure is its initial budget (当初予算), as of 31 March
  before that fiscal year began; the grant year's figure is the estimate reported
  in the survey, as of 1 October of the year before (like the insured counts);
* required amounts (所要見込額): about 24 municipalities ([published] 24 of 1,741 in
  FY2024), chosen among those with at least 1,000 insured, declare for every grant
  30-150 yen per insured person (50,000-3,000,000 yen, whole thousands): below
  their draft amount as a rule. Declared on 10 December of the year before the
  grant year (between the reference and expected phases).

Over 300 lines (STYLE): one generator. The nation, its finances and each survey year
draw from streams seeded in one fixed order, and most of the length is the published
figures each part reproduces, written beside the code that reproduces them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from statistics import fmean
from typing import TYPE_CHECKING

from adapters.inputs.files import Ward, designated_city_insurers
from domain.codes import insurer_check_digit, insurer_number_for
from domain.commands import (
    Command,
    ConfirmSelfEvaluation,
    CorrectAnswer,
    ImportMinistryValues,
    RawValue,
    SubmitSelfEvaluation,
)
from domain.entities import (
    Entity,
    Expenditure,
    InsuredCount,
    InsurerDetails,
    Membership,
    RequiredAmount,
    size_band,
)
from domain.glossary import era

if TYPE_CHECKING:
    from collections.abc import Sequence

    from domain.base import Tier
    from domain.catalogue import CatalogueSpec, SubItem
    from domain.programme import ProgrammeSpec

SYNTHETIC = "synthetic"
"""The word every generated `source` string carries."""

KEY_PREFIX = "demo"
"""Idempotency keys read `demo:<seed>:<grant year>:<command>:<LG code>`."""

MEMBERSHIP_FROM = date(2000, 4, 1)  # long-term-care insurance began on 2000-04-01
BASE_YEAR = 2022
NATIONAL_TOTAL = 35_850_000  # [published] FY2022
ANNUAL_TREND = 0.005  # [hypothesis] national +0.5 %/year
TREND_SPREAD = 0.003
DECLINE_SHARE = 0.17  # [hypothesis] share of municipalities set on a decline
DECLINING_BANDS = (1, 2)  # ... chosen among the small ones (rural decline)
DECLINE_TREND = (-0.012, 0.005)  # mean and spread of their yearly change
DECLINE_LIMITS = (-0.03, -0.004)
LARGEST_LG = "141003"  # Yokohama
LARGEST_COUNT = 950_000  # [published] ≈ FY2022
SMALLEST_COUNT = 30
BAND_BOUNDS = (0, 3_000, 10_000, 50_000, 100_000)  # [published] FY2026 file
BAND_SIZES = (447, 535, 569, 115, 75)  # [published] 447, 535, 759 = 569+115+75
NATION_SIZE = 1_741
UNIONS = 35
UNION_MEMBERS = 205
UNION_SIZES = (3, 9)
WIDE_AREA_SHARE = 0.6
# [hypothesis] unions change members from 1 April of these grant years.
UNION_CHANGES = ((2021, "leave"), (2023, "form"), (2025, "leave"))

# Size of the 65+ population by kind: (median, spread of the log).
_KIND_SIZES = {
    "designated": (300_000.0, 0.4),
    "ward": (70_000.0, 0.6),
    "city": (22_000.0, 0.9),
    "town": (4_000.0, 0.9),
    "village": (1_500.0, 0.9),
}

# [published] FY2026 mean scores of 800 by band 1-5, and the national mean.
BAND_MEANS = (407.6, 448.8, 481.1, 508.0, 527.8)
NATIONAL_MEAN = 455.13
FULL_MARKS = 800.0
# The national mean score of each grant year as a share of full marks (得点率): the
# band means above are scaled by the year's share / the FY2026 one.
# [published] FY2024 422.35, FY2025 434.99, FY2026 455.13 of 800 (docs/DOMAIN.md §5);
# [hypothesis] FY2018-FY2023: 46.3 % rising 1 point a year to 51.3 % in FY2023,
# below FY2024 (the published FY2023 means, 推進 742.94 / 1,355 and 支援 412.92 /
# 830, are 52.9 % of 2,185, a hair above FY2024's 52.8 % on the old catalogue's
# scale: the synthetic path does not follow that dip).
PUBLISHED_MEANS = {2024: 422.35, 2025: 434.99, 2026: NATIONAL_MEAN}
"""[published] national mean total scores of 800 (docs/PROGRAMME-YEARS.md [S7])."""
MEAN_SHARES = {
    **{year: 0.463 + 0.01 * (year - 2018) for year in range(2018, 2024)},
    **{year: mean / FULL_MARKS for year, mean in PUBLISHED_MEANS.items()},
}
PROPENSITY_OFFSET = -0.03  # calibrated: FY2024 catalogue mean ≈ 455 of 800
# calibrated (seed 1, the whole nation): what each year's catalogue adds to the
# offset for its realised mean to meet MEAN_SHARES (their structures differ).
YEAR_OFFSETS = {
    2018: 0.059,
    2019: 0.063,
    2020: 0.008,
    2021: 0.009,
    2022: 0.01,
    2023: 0.018,
    2024: 0.004,
    2025: 0.003,
}
PROPENSITY_SPREAD = 0.11
PROPENSITY_LIMITS = (0.05, 0.95)
ITEM_DIFFICULTY = 0.15
NUMBER_SPREAD = 0.15
REVISION_RATE = 0.08
CONFIRMATION_RATE = 0.60
CORRECTION_RATE = 0.02
CHANGES_PER_REVISION = (1, 3)
SPENDING_PER_INSURED = (3_000.0, 12_000.0)  # yen per person and category, base year
SPENDING_RISE = (1.005, 1.12)  # grant year / base year, total, where it rises
SPENDING_FALL = (0.88, 0.99)  # ... where it falls
SPENDING_DECREASE_SHARE = 0.15
ADJUSTED_SHARE = 0.5  # of those whose insured fell: total down, per person up
CATEGORY_NOISE = 0.03
REQUIRED_COUNT = 24  # [published] FY2024: 24 of 1,741 needed less than their draft
REQUIRED_MIN_INSURED = 1_000
REQUIRED_PER_INSURED = (30.0, 150.0)
REQUIRED_YEN = (50_000, 3_000_000)
REQUIRED_STEP = 1_000
MINISTRY_ACTOR = "ministry:mhlw-db"
STAFF = ("rouken-suishin01", "rouken-suishin02", "rouken-hoken03")
TENTH = Decimal("0.1")

Answers = dict[str, RawValue]


def _rng(*parts: object) -> random.Random:
    """A generator seeded from a string (stable across runs and machines)."""
    return random.Random(":".join(str(p) for p in parts))  # noqa: S311 - not crypto


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


# ------------------------------------------------------------------ the nation


@dataclass(frozen=True)
class UnionChange:
    """Synthetic unions changing members from 1 April of a grant year.

    The memberships in `ended` (insurer number, LG code) end on 31 March before;
    the insurers in `registered` (a town gone single, a new union) begin on 1 April.
    """

    grant_year: int
    ended: tuple[tuple[str, str], ...]
    registered: tuple[InsurerDetails, ...]
    what: str


@dataclass(frozen=True)
class Nation:
    """Insurers and category-1 insured counts of a synthetic nation.

    `insurers` as founded (every membership from 2000-04-01); `changes` to them, by
    grant year.
    """

    insurers: list[InsurerDetails]
    insured: list[tuple[str, InsuredCount]]
    changes: list[UnionChange] = field(default_factory=list)


@dataclass(frozen=True)
class _Segment:
    """A run of municipalities in size order whose counts lie in [low, high]."""

    size: int
    band: int
    low: float
    high: float
    shape: float
    scaled: bool


def synthesise_nation(
    entities: list[Entity.Details],
    wards: list[Ward],
    fiscal_years: list[int],
    seed: int,
) -> Nation:
    """Insurers (every municipality in exactly one) and counts for the fiscal years."""
    municipalities = sorted(
        (e for e in entities if e.kind == "municipality"), key=lambda e: e.lg_code
    )
    designated = designated_city_insurers(entities, wards, MEMBERSHIP_FROM.isoformat())
    big = {insurer.members[0].lg_code for insurer in designated}
    base, bands = _base_counts(municipalities, big, seed)
    insurers = [*designated, *_unions_and_singles(entities, designated, seed)]
    insured = _insured_by_year(entities, (base, bands), fiscal_years, seed)
    changes = _union_changes(entities, insurers, seed)
    return Nation(sorted(insurers, key=lambda i: i.insurer_number), insured, changes)


def _kind(entity: Entity.Details, big: set[str]) -> str:
    if entity.lg_code in big:
        return "designated"
    if entity.special_ward:
        return "ward"
    return {"市": "city", "町": "town"}.get(entity.name[-1], "village")


def _segments(total: int, designated: int, pinned: int) -> list[_Segment]:
    """Band sizes (scaled to `total`), band 5 ending with the designated cities."""
    share = [round(size * total / NATION_SIZE) for size in BAND_SIZES]
    share[4] = max(share[4], designated)
    while sum(share) > total:
        share[max(range(4), key=lambda band: share[band])] -= 1
    share[2] += total - sum(share)
    rest = max(0, designated - pinned)
    return [
        _Segment(share[0], 1, 40, 2_900, 0.55, scaled=False),
        _Segment(share[1], 2, 3_150, 9_600, 1.0, scaled=False),
        _Segment(share[2], 3, 10_400, 48_000, 1.6, scaled=True),
        _Segment(share[3], 4, 51_500, 96_000, 1.3, scaled=True),
        _Segment(share[4] - rest - pinned, 5, 103_000, 185_000, 1.3, scaled=True),
        _Segment(rest, 5, 190_000, 720_000, 1.2, scaled=True),
        _Segment(pinned, 5, LARGEST_COUNT, LARGEST_COUNT, 1.0, scaled=False),
    ]


def _size_order(
    municipalities: list[Entity.Details], big: set[str], seed: int
) -> list[Entity.Details]:
    """Municipalities from the smallest up; designated cities, then Yokohama, last."""
    rng = _rng(seed, "size")
    latent = {}
    for entity in municipalities:
        median, spread = _KIND_SIZES[_kind(entity, big)]
        rank = 2 if entity.lg_code == LARGEST_LG else int(entity.lg_code in big)
        latent[entity.lg_code] = (rank, math.log(median) + rng.gauss(0, spread))
    return sorted(municipalities, key=lambda e: latent[e.lg_code])


def _base_counts(
    municipalities: list[Entity.Details], big: set[str], seed: int
) -> tuple[dict[str, float], dict[str, int]]:
    """FY2022 counts and bands by size order, scaled to the national total."""
    rng = _rng(seed, "counts")
    pinned = int(any(m.lg_code == LARGEST_LG for m in municipalities))
    order = _size_order(municipalities, big, seed)
    counts: dict[str, float] = {}
    bands: dict[str, int] = {}
    placed: list[tuple[_Segment, list[str]]] = []
    start = 0
    for segment in _segments(len(order), len(big), pinned):
        codes = [e.lg_code for e in order[start : start + segment.size]]
        start += segment.size
        placed.append((segment, codes))
        for index, code in enumerate(codes):
            quantile = (index + rng.random()) / max(1, len(codes))
            ratio = math.log(segment.high / segment.low) * quantile**segment.shape
            counts[code] = segment.low * math.exp(ratio)
            bands[code] = segment.band
    _scale_to_total(counts, placed, NATIONAL_TOTAL * len(order) / NATION_SIZE)
    return counts, bands


def _scale_to_total(
    counts: dict[str, float], placed: list[tuple[_Segment, list[str]]], target: float
) -> None:
    """Scale the large segments so the counts add up to `target`, within bounds."""
    for _ in range(6):
        variable = [(s, c) for s, c in placed if s.scaled]
        moving = sum(counts[code] for _, codes in variable for code in codes)
        if not moving:
            return
        factor = (target - sum(counts.values()) + moving) / moving
        for segment, codes in variable:
            for code in codes:
                counts[code] = _clamp(counts[code] * factor, segment.low, segment.high)


def _band_limits(band: int) -> tuple[int, int]:
    """The counts a band holds (its bounds, and at least the smallest count)."""
    low = max(BAND_BOUNDS[band - 1], SMALLEST_COUNT)
    high = BAND_BOUNDS[band] - 1 if band < len(BAND_BOUNDS) else 10_000_000
    return low, high


def _insured_by_year(
    entities: list[Entity.Details],
    base: tuple[dict[str, float], dict[str, int]],
    fiscal_years: list[int],
    seed: int,
) -> list[tuple[str, InsuredCount]]:
    """Counts per fiscal year: each municipality's trend, kept inside its band."""
    counts, bands = base
    trend = _trends(bands, seed)
    source = (
        f"{SYNTHETIC}: kofu demo seed {seed} (modelled on published national facts)"
    )
    result: list[tuple[str, InsuredCount]] = []
    for year in fiscal_years:
        by_prefecture: dict[str, int] = {}
        for code in sorted(counts):
            grown = round(counts[code] * (1 + trend[code]) ** (year - BASE_YEAR))
            count = int(_clamp(grown, *_band_limits(bands[code])))
            by_prefecture[code[:2]] = by_prefecture.get(code[:2], 0) + count
            result.append((code, _insured(year, count, source)))
        result.extend(
            (e.lg_code, _insured(year, by_prefecture.get(e.prefecture_code, 0), source))
            for e in entities
            if e.kind == "prefecture"
        )
    return result


def _trends(bands: dict[str, int], seed: int) -> dict[str, float]:
    """Each municipality's yearly change; a share of the small ones decline."""
    rng = _rng(seed, "trend")
    trend = {
        code: ANNUAL_TREND
        if code == LARGEST_LG
        else rng.gauss(ANNUAL_TREND, TREND_SPREAD)
        for code in sorted(bands)
    }
    small = sorted(c for c, band in bands.items() if band in DECLINING_BANDS)
    rng = _rng(seed, "decline")
    wanted = min(len(small), round(DECLINE_SHARE * len(bands)))
    for code in rng.sample(small, wanted):
        trend[code] = _clamp(rng.gauss(*DECLINE_TREND), *DECLINE_LIMITS)
    return trend


def _insured(year: int, count: int, source: str) -> InsuredCount:
    return InsuredCount(
        fiscal_year=year, count=count, source=source, as_of=date(year - 1, 10, 1)
    )


# ------------------------------------------------------------------ insurers


def _unions_and_singles(
    entities: list[Entity.Details], designated: list[InsurerDetails], seed: int
) -> list[InsurerDetails]:
    """Synthetic unions of small towns, and a single insurer for every other one."""
    municipalities = sorted(
        (e for e in entities if e.kind == "municipality"), key=lambda e: e.lg_code
    )
    prefectures = {
        e.prefecture_code: e.name for e in entities if e.kind == "prefecture"
    }
    taken = {i.insurer_number for i in designated} | {
        w.insurer_number for i in designated for w in i.wards
    }
    taken |= {insurer_number_for(m.lg_code[:5]) for m in municipalities}
    rng = _rng(seed, "unions")
    unions = []
    for group in _union_groups(municipalities, rng):
        number = _union_number(group[0].prefecture_code, taken)
        taken.add(number)
        unions.append(_union(group, number, prefectures, rng))
    grouped = {m.lg_code for i in (*designated, *unions) for m in i.members}
    singles = [_single(m) for m in municipalities if m.lg_code not in grouped]
    return [*unions, *singles]


def _single(entity: Entity.Details) -> InsurerDetails:
    return InsurerDetails(
        insurer_number=insurer_number_for(entity.lg_code[:5]),
        kind="single",
        name=entity.name,
        prefecture_code=entity.prefecture_code,
        members=(Membership(lg_code=entity.lg_code, valid_from=MEMBERSHIP_FROM),),
    )


def _union(
    group: list[Entity.Details],
    number: str,
    prefectures: dict[str, str],
    rng: random.Random,
) -> InsurerDetails:
    wide = rng.random() < WIDE_AREA_SHARE
    area = prefectures.get(group[0].prefecture_code, "") + group[0].name[:-1] + "地区"
    suffix = "介護保険広域連合（架空）" if wide else "介護保険事務組合（架空）"
    return InsurerDetails(
        insurer_number=number,
        kind="wide_area_union" if wide else "partial_affairs_association",
        name=area + suffix,
        prefecture_code=group[0].prefecture_code,
        members=tuple(
            Membership(lg_code=m.lg_code, valid_from=MEMBERSHIP_FROM) for m in group
        ),
        synthetic=True,
    )


def _union_number(prefecture_code: str, taken: set[str]) -> str:
    """`<prefecture><8><serial>` + check digit, the first serial not taken."""
    for serial in range(1, 100):
        body = f"{prefecture_code}8{serial:02d}"
        number = body + insurer_check_digit(body)
        if number not in taken:
            return number
    msg = f"no synthetic insurer number is left in prefecture {prefecture_code}"
    raise ValueError(msg)


def _group_sizes(rng: random.Random, count: int, members: int) -> list[int]:
    """`count` group sizes within UNION_SIZES adding up to `members` if possible."""
    low, high = UNION_SIZES
    sizes = [rng.randint(low, high) for _ in range(count)]
    members = int(_clamp(members, low * count, high * count))
    while sum(sizes) != members:
        step = 1 if sum(sizes) < members else -1
        movable = [i for i, s in enumerate(sizes) if low <= s + step <= high]
        sizes[rng.choice(movable)] += step
    return sizes


def _union_groups(
    municipalities: list[Entity.Details], rng: random.Random
) -> list[list[Entity.Details]]:
    """Runs of consecutive towns and villages (JIS third digit ≥ 3), one prefecture."""
    towns: dict[str, list[Entity.Details]] = {}
    for entity in municipalities:
        if entity.lg_code[2] >= "3":
            towns.setdefault(entity.prefecture_code, []).append(entity)
    scale = len(municipalities) / NATION_SIZE
    sizes = _group_sizes(rng, round(UNIONS * scale), round(UNION_MEMBERS * scale))
    taken: set[str] = set()
    groups = []
    for size in sizes:
        group = _place(towns, size, taken, rng)
        if group:
            taken.update(e.lg_code for e in group)
            groups.append(group)
    return groups


def _place(
    towns: dict[str, list[Entity.Details]],
    size: int,
    taken: set[str],
    rng: random.Random,
) -> list[Entity.Details] | None:
    """A free run of `size` consecutive towns and villages (None after 500 tries)."""
    prefectures = [p for p in sorted(towns) if len(towns[p]) >= size]
    if not prefectures:
        return None
    weights = [len(towns[p]) for p in prefectures]
    for _ in range(500):
        candidates = towns[rng.choices(prefectures, weights)[0]]
        start = rng.randrange(len(candidates) - size + 1)
        run = candidates[start : start + size]
        if not any(e.lg_code in taken for e in run):
            return run
    return None


def _union_changes(
    entities: list[Entity.Details], insurers: list[InsurerDetails], seed: int
) -> list[UnionChange]:
    """A town leaves a union (FY2021, FY2025); towns form a new union (FY2023).

    Drawn from a stream of their own, so that the nation as founded is the same
    with or without them. Where no union has three members, or no two single
    towns are left in a prefecture, the change is left out.
    """
    rng = _rng(seed, "union changes")
    prefectures = {
        e.prefecture_code: e.name for e in entities if e.kind == "prefecture"
    }
    names = {e.lg_code: e.name for e in entities}
    current = {i.insurer_number: i for i in insurers}
    changes = []
    for year, kind in UNION_CHANGES:
        if kind == "leave":
            change = _leave(current, names, year, rng)
        else:
            change = _form(current, prefectures, year, rng)
        if change is None:
            continue
        for number, code in change.ended:
            insurer = current.pop(number)
            members = tuple(m for m in insurer.members if m.lg_code != code)
            if members:
                current[number] = insurer.model_copy(update={"members": members})
        current.update({i.insurer_number: i for i in change.registered})
        changes.append(change)
    return changes


def _leave(
    current: dict[str, InsurerDetails],
    names: dict[str, str],
    year: int,
    rng: random.Random,
) -> UnionChange | None:
    """The last member of a drawn union of three or more goes single."""
    unions = [
        i
        for _, i in sorted(current.items())
        if i.synthetic and len(i.members) > UNION_SIZES[0] - 1
    ]
    if not unions:
        return None
    union = rng.choice(unions)
    leaving = union.members[-1].lg_code
    single = InsurerDetails(
        insurer_number=insurer_number_for(leaving[:5]),
        kind="single",
        name=f"{names[leaving]}（架空の脱退後）",
        prefecture_code=union.prefecture_code,
        members=(Membership(lg_code=leaving, valid_from=date(year, 4, 1)),),
        synthetic=True,  # the union it left, and its leaving, are fictional
    )
    return UnionChange(
        year,
        ((union.insurer_number, leaving),),
        (single,),
        f"{names[leaving]} ({leaving}) leaves {union.name} ({union.insurer_number})"
        " and becomes a single insurer",
    )


def _form(
    current: dict[str, InsurerDetails],
    prefectures: dict[str, str],
    year: int,
    rng: random.Random,
) -> UnionChange | None:
    """Two or three single towns (JIS third digit ≥ 3) of a prefecture unite."""
    towns: dict[str, list[InsurerDetails]] = {}
    for _, insurer in sorted(current.items()):
        code = insurer.members[0].lg_code
        if insurer.kind == "single" and code[2] >= "3":
            towns.setdefault(insurer.prefecture_code, []).append(insurer)
    size = rng.randint(2, 3)
    candidates = [p for p in sorted(towns) if len(towns[p]) >= size]
    if not candidates:
        return None
    singles = towns[rng.choice(candidates)]
    start = rng.randrange(len(singles) - size + 1)
    group = singles[start : start + size]
    prefecture = group[0].prefecture_code
    number = _union_number(prefecture, set(current))
    members = tuple(
        Membership(lg_code=i.members[0].lg_code, valid_from=date(year, 4, 1))
        for i in group
    )
    union = InsurerDetails(
        insurer_number=number,
        kind="partial_affairs_association",
        name=f"{prefectures.get(prefecture, '')}{group[0].name}地区"
        "介護保険事務組合（架空・新設）",
        prefecture_code=prefecture,
        members=members,
        synthetic=True,
    )
    return UnionChange(
        year,
        tuple((i.insurer_number, i.members[0].lg_code) for i in group),
        (union,),
        f"{', '.join(m.lg_code for m in members)} form {number}",
    )


# ------------------------------------------------------------------ finances


@dataclass(frozen=True)
class Finances:
    """Spending (事業費) by fiscal year and required amounts (所要見込額)."""

    expenditures: list[tuple[str, Expenditure]]
    required: list[tuple[str, RequiredAmount]]


@dataclass(frozen=True)
class _People:
    """An entity's category-1 insured in the base year and the grant year."""

    base: int
    now: int

    @property
    def fell(self) -> bool:
        return 0 < self.now < self.base


def synthesise_finances(
    entities: list[Entity.Details],
    insured_by_year: dict[int, dict[str, int]],
    grant_year: int,
    grants: Sequence[str],
    categories: Sequence[str],
    seed: int,
    *,
    declared_on: date | None = None,
    base: Mapping[str, Expenditure] | None = None,
) -> Finances:
    """Spending of every entity in `grant_year` - 1 and `grant_year`; required amounts.

    `insured_by_year` (fiscal year to LG code to category-1 insured) must hold both
    years for every entity. `declared_on` defaults to 10 December of the year before
    the grant year. `base` (by LG code): the base year's spending as already
    recorded (the year before's own figure, in a demo of many years), kept as it
    is where it has the same categories; the grant year's is drawn against it.

    Raises:
        ValueError: no categories, an entity without an insured count, or an
            unknown grant (a pydantic `ValidationError`).
    """
    if not categories:
        msg = "synthetic spending needs at least one category"
        raise ValueError(msg)
    targets = sorted(entities, key=lambda e: e.lg_code)
    people = {
        e.lg_code: _People(
            _people(insured_by_year, grant_year - 1, e.lg_code),
            _people(insured_by_year, grant_year, e.lg_code),
        )
        for e in targets
    }
    direction = _directions(people, grant_year, seed)
    source = f"{SYNTHETIC}: 事業費, kofu demo seed {seed} (not a published figure)"
    expenditures: list[tuple[str, Expenditure]] = []
    for code in sorted(people):
        given = (base or {}).get(code)
        if given is not None and list(given.spending_yen) != list(categories):
            given = None
        before, now = _spending(
            people[code],
            direction[code],
            categories,
            (seed, grant_year, code),
            list(given.spending_yen.values()) if given else None,
        )
        for year, amounts in ((grant_year - 1, before), (grant_year, now)):
            if year < grant_year and given is not None:
                expenditures.append((code, given))
                continue
            as_of = min(date(year, 3, 31), date(grant_year - 1, 10, 1))
            expenditures.append(
                (
                    code,
                    Expenditure(
                        fiscal_year=year,
                        spending_yen=dict(zip(categories, amounts, strict=True)),
                        source=source,
                        as_of=as_of,
                    ),
                )
            )
    day = declared_on or date(grant_year - 1, 12, 10)
    required = _required(targets, people, (grant_year, grants, day), seed)
    return Finances(expenditures, required)


def _people(insured_by_year: dict[int, dict[str, int]], year: int, code: str) -> int:
    count = insured_by_year.get(year, {}).get(code)
    if count is None:
        msg = f"no FY{year} category-1 insured count for {code}"
        raise ValueError(msg)
    return count


def _directions(
    people: dict[str, _People], grant_year: int, seed: int
) -> dict[str, str]:
    """`rise`, `fall` or `adjusted` (total down, per person up) per entity.

    Exactly SPENDING_DECREASE_SHARE of the entities spend less (where there are enough
    to choose from); half of those whose insured fell are `adjusted`.
    """
    rng = _rng(seed, grant_year, "spending direction")
    codes = sorted(people)
    fell = [c for c in codes if people[c].fell]
    decreasing = round(SPENDING_DECREASE_SHARE * len(codes))
    adjusted = rng.sample(fell, min(decreasing, round(ADJUSTED_SHARE * len(fell))))
    others = [c for c in codes if c not in set(adjusted)]
    falling = rng.sample(others, min(len(others), decreasing - len(adjusted)))
    direction = dict.fromkeys(codes, "rise")
    direction.update(dict.fromkeys(adjusted, "adjusted"))
    direction.update(dict.fromkeys(falling, "fall"))
    return direction


def _spending(
    people: _People,
    direction: str,
    categories: Sequence[str],
    key: tuple[object, ...],
    given: list[int] | None = None,
) -> tuple[list[int], list[int]]:
    """Spending per category in the base year (drawn, or `given`) and the grant year.

    Whole yen.
    """
    rng = _rng(*key, "spending")
    drawn = [
        round(max(people.base, 1) * rng.uniform(*SPENDING_PER_INSURED))
        for _ in categories
    ]
    base = given or drawn
    total = _new_total(sum(base), people, direction, rng)
    weights = [amount * max(0.0, rng.gauss(1, CATEGORY_NOISE)) for amount in base]
    return base, _split(total, weights)


def _new_total(before: int, people: _People, direction: str, rng: random.Random) -> int:
    """The grant year's total; exact integer bounds keep each direction true."""
    if direction == "rise":
        return max(before + 1, round(before * rng.uniform(*SPENDING_RISE)))
    if direction == "adjusted":
        # less in total, more per person: base·now < total·base_people < before·base
        low = before * people.now // people.base + 1
        high = before - 1
        return low + round((high - low) * rng.uniform(0.2, 0.8))
    # less in total and (where fewer people) less per person too
    total = round(before * rng.uniform(*SPENDING_FALL))
    per_person_cap = (before * people.now - 1) // max(people.base, 1)
    return max(0, min(total, before - 1, per_person_cap))


def _split(total: int, weights: list[float]) -> list[int]:
    """`total` in whole yen split by `weights` (largest remainders get the rest)."""
    weight = sum(weights)
    if weight <= 0:
        weights, weight = [1.0] * len(weights), float(len(weights))
    shares = [total * w / weight for w in weights]
    parts = [math.floor(share) for share in shares]
    order = sorted(range(len(parts)), key=lambda i: parts[i] - shares[i])
    for index in order[: total - sum(parts)]:
        parts[index] += 1
    return parts


def _required(
    targets: list[Entity.Details],
    people: dict[str, _People],
    year: tuple[int, Sequence[str], date],
    seed: int,
) -> list[tuple[str, RequiredAmount]]:
    """About REQUIRED_COUNT municipalities declare a small 所要見込額 for each grant."""
    grant_year, grants, declared_on = year
    municipal = [e.lg_code for e in targets if e.kind == "municipality"]
    candidates = [c for c in municipal if people[c].now >= REQUIRED_MIN_INSURED]
    wanted = min(
        len(candidates), max(1, round(REQUIRED_COUNT * len(municipal) / NATION_SIZE))
    )
    rng = _rng(seed, grant_year, "required")
    chosen = sorted(rng.sample(candidates, wanted))
    source = f"{SYNTHETIC}: 所要見込額, kofu demo seed {seed} (not a published figure)"
    result = []
    for code in chosen:
        for grant in grants:
            drawn = people[code].now * rng.uniform(*REQUIRED_PER_INSURED)
            amount = int(_clamp(drawn, *REQUIRED_YEN)) // REQUIRED_STEP * REQUIRED_STEP
            required = RequiredAmount.model_validate(
                {
                    "grant_year": grant_year,
                    "grant": grant,  # validated: a known grant
                    "required_yen": amount,
                    "source": source,
                    "declared_on": declared_on,
                }
            )
            result.append((code, required))
    return result


# ------------------------------------------------------------------ the survey year


@dataclass(frozen=True)
class SurveyYear:
    """The commands of one grant year's survey, in the order to apply them."""

    submissions: list[SubmitSelfEvaluation]
    revisions: list[SubmitSelfEvaluation]
    confirmations: list[ConfirmSelfEvaluation]
    ministry_values: list[ImportMinistryValues]
    corrections: list[CorrectAnswer]
    days: dict[str, date] = field(default_factory=dict)
    """The day each command is sent, by its idempotency key: the demo sets its
    simulated clock to it (the ledger, not the command, owns the recording time)."""

    def day(self, command: Command) -> date:
        """The day `command` is sent."""
        return self.days[str(command.idempotency_key)]

    def kinds(self) -> tuple[tuple[str, Sequence[Command]], ...]:
        """Each kind of command with its label, in the order a day sends them."""
        return (
            ("submissions (synthetic)", self.submissions),
            ("revisions", self.revisions),
            ("prefecture confirmations", self.confirmations),
            ("ministry-computed values", self.ministry_values),
            ("ministry corrections", self.corrections),
        )

    @property
    def size(self) -> int:
        """How many commands the year holds."""
        return sum(len(commands) for _, commands in self.kinds())


@dataclass(frozen=True)
class _Year:
    """What every entity's commands of one grant year share."""

    seed: int
    grant_year: int
    opens: date
    closes: date
    first_phase: date
    catalogues: dict[str, CatalogueSpec]
    difficulty: dict[tuple[str, str], float]
    prefectures: dict[str, str]
    propensity: dict[str, float]
    ticked: frozenset[tuple[str, str]] = frozenset()
    sent: dict[str, date] = field(default_factory=dict)
    """The day of each command made so far, by idempotency key."""

    def dated(self, key: str, day: date) -> str:
        """Note that the command with `key` is sent on `day`; return the key."""
        self.sent[key] = day
        return key

    def key(self, command: str, lg_code: str) -> str:
        """The idempotency key of a command about an entity."""
        return f"{KEY_PREFIX}:{self.seed}:{self.grant_year}:{command}:{lg_code}"

    def items(self, tier: str, source: str) -> list[SubItem]:
        """The tier's items whose indicator has this source, in catalogue order."""
        return [
            sub
            for sub, indicator in self.catalogues[tier].sub_items().values()
            if indicator.source == source
        ]

    def chance(self, tier: str, code: str, lg_code: str) -> float:
        """How likely the entity ticks the item or reaches its thresholds."""
        share = self.propensity[lg_code] + self.difficulty[tier, code]
        return _clamp(share, 0.02, 0.98)

    def day(self, offset: int) -> date:
        """The day `offset` days after the window opens."""
        return self.opens + timedelta(days=offset)


@dataclass(frozen=True)
class _EntityCommands:
    submission: SubmitSelfEvaluation
    revision: SubmitSelfEvaluation | None
    confirmation: ConfirmSelfEvaluation | None
    correction: CorrectAnswer | None


def synthesise_year(
    entities: list[Entity.Details],
    insured: dict[str, int],
    catalogues: dict[str, CatalogueSpec],
    programme: ProgrammeSpec,
    seed: int,
) -> SurveyYear:
    """Answers, revisions, confirmations, ministry values and corrections of a year.

    `catalogues` is keyed by tier; entities of a tier without one are left out.
    `insured` (LG code to category-1 insured) places municipalities in size bands.
    """
    targets = sorted(
        (e for e in entities if _tier(e) in catalogues), key=lambda e: e.lg_code
    )
    groups = _band_groups(targets, insured, programme)
    year = _year(entities, catalogues, programme, seed)
    year = replace(year, propensity=_propensities(groups, programme.grant_year, seed))
    year = replace(year, ticked=_ticked(year, groups))
    made = [_entity_commands(year, e) for e in targets]
    ministry = [
        _ministry_values(year, e) for e in targets if year.items(_tier(e), "ministry")
    ]
    return SurveyYear(
        submissions=[m.submission for m in made],
        revisions=[m.revision for m in made if m.revision],
        confirmations=[m.confirmation for m in made if m.confirmation],
        ministry_values=ministry,
        corrections=[m.correction for m in made if m.correction],
        days=dict(year.sent),
    )


def _tier(entity: Entity.Details) -> Tier:
    return "municipal" if entity.kind == "municipality" else "prefectural"


def _year(
    entities: list[Entity.Details],
    catalogues: dict[str, CatalogueSpec],
    programme: ProgrammeSpec,
    seed: int,
) -> _Year:
    schedule = programme.schedule
    phases = sorted(schedule.phases.values())
    difficulty = {
        (tier, code): offset
        for tier, spec in catalogues.items()
        for code, offset in _difficulties(spec, seed).items()
    }
    return _Year(
        seed=seed,
        grant_year=programme.grant_year,
        opens=schedule.submission_opens,
        closes=schedule.submission_closes,
        first_phase=phases[0] if phases else schedule.submission_closes + timedelta(30),
        catalogues=catalogues,
        difficulty=difficulty,
        prefectures={
            e.prefecture_code: e.lg_code for e in entities if e.kind == "prefecture"
        },
        propensity={},
    )


def _difficulties(spec: CatalogueSpec, seed: int) -> dict[str, float]:
    """Each item's offset to the propensity (easier items > 0).

    The offsets average 0 weighted by the items' points, so that the expected score
    does not depend on which items the seed made easy.
    """
    drawn = {}
    weight = {}
    for code, (sub, _) in spec.sub_items().items():
        rng = _rng(seed, spec.grant_year, spec.tier, code)
        drawn[code] = rng.uniform(-ITEM_DIFFICULTY, ITEM_DIFFICULTY)
        points = sub.thresholds[-1].points if sub.thresholds else sub.points
        weight[code] = 1 + sum(points.values())
    shift = sum(drawn[c] * weight[c] for c in drawn) / sum(weight.values())
    return {code: offset - shift for code, offset in drawn.items()}


def _band_groups(
    targets: list[Entity.Details], insured: dict[str, int], programme: ProgrammeSpec
) -> dict[int, list[Entity.Details]]:
    """Municipalities by size band (a missing count is 0); prefectures as band 0."""
    groups: dict[int, list[Entity.Details]] = {}
    for entity in targets:
        band = 0
        if entity.kind == "municipality":
            band = size_band(insured.get(entity.lg_code, 0), programme.size_bands)
        groups.setdefault(band, []).append(entity)
    return groups


def mean_share(grant_year: int) -> float:
    """The national mean score the year's synthetic answers aim at, of full marks.

    Years outside FY2018-FY2026 take the nearest year's.
    """
    years = sorted(MEAN_SHARES)
    return MEAN_SHARES[min(max(grant_year, years[0]), years[-1])]


def _propensities(
    groups: dict[int, list[Entity.Details]], grant_year: int, seed: int
) -> dict[str, float]:
    """Each entity's propensity; each band's mean is exactly its published share."""
    result = {}
    for band, members in groups.items():
        noise = {
            e.lg_code: _rng(seed, grant_year, e.lg_code, "propensity").gauss(
                0, PROPENSITY_SPREAD
            )
            for e in members
        }
        shift = fmean(noise.values())
        mean = BAND_MEANS[min(band, len(BAND_MEANS)) - 1] if band else NATIONAL_MEAN
        level = mean_share(grant_year) * FULL_MARKS / NATIONAL_MEAN
        offset = PROPENSITY_OFFSET + YEAR_OFFSETS.get(grant_year, 0.0)
        for code, drawn in noise.items():
            share = level * mean / FULL_MARKS + offset + drawn - shift
            result[code] = _clamp(share, *PROPENSITY_LIMITS)
    return result


# ------------------------------------------------------------------ answers


def _ticked(
    year: _Year, groups: dict[int, list[Entity.Details]]
) -> frozenset[tuple[str, str]]:
    """The (LG code, item) pairs of ticked checkboxes.

    Within a band, each checkbox is ticked by exactly its expected number of entities
    (systematic sampling in a random order), so band means are steady; each entity
    still ticks it with its own chance.
    """
    ticked = set()
    for band, members in groups.items():
        tier = _tier(members[0])
        for code, (sub, _) in year.catalogues[tier].sub_items().items():
            if sub.kind != "checkbox":
                continue
            rng = _rng(year.seed, year.grant_year, tier, band, code, "ticks")
            order = list(members)
            rng.shuffle(order)
            running = rng.random()
            for entity in order:
                before = math.floor(running)
                running += year.chance(tier, code, entity.lg_code)
                if math.floor(running) > before:
                    ticked.add((entity.lg_code, code))
    return frozenset(ticked)


def _answers(
    year: _Year, entity: Entity.Details, items: list[SubItem], rng: random.Random
) -> Answers:
    """Answers to `items`: checkboxes as ticked, numbers at a drawn quantile."""
    answers: Answers = {}
    for sub in items:
        if sub.kind == "checkbox":
            answers[sub.code] = (entity.lg_code, sub.code) in year.ticked
            continue
        chance = year.chance(_tier(entity), sub.code, entity.lg_code)
        quantile = _clamp(rng.gauss(chance, NUMBER_SPREAD), 0.0, 1.0)
        answers[sub.code] = _number(sub, quantile)
    return answers


def _anchors(sub: SubItem) -> list[Decimal]:
    """The item's range with its thresholds in between."""
    bounds = [t.at_least for t in sub.thresholds]
    spread = (bounds[-1] - bounds[0]) or max(abs(bounds[-1]), Decimal(1))
    low = sub.minimum if sub.minimum is not None else bounds[0] - spread
    high = sub.maximum if sub.maximum is not None else bounds[-1] + spread
    return [min(low, bounds[0]), *bounds, max(high, bounds[-1])]


def _number(sub: SubItem, quantile: float) -> Decimal:
    """The value at `quantile`, the thresholds evenly spaced in between, to 0.1."""
    anchors = _anchors(sub)
    steps = len(anchors) - 1
    position = quantile * steps
    index = min(int(position), steps - 1)
    fraction = Decimal(position - index)
    value = anchors[index] + (anchors[index + 1] - anchors[index]) * fraction
    return _within(sub, value.quantize(TENTH))


def _within(sub: SubItem, value: Decimal) -> Decimal:
    if sub.minimum is not None and value < sub.minimum:
        return sub.minimum.quantize(TENTH)
    if sub.maximum is not None and value > sub.maximum:
        return sub.maximum.quantize(TENTH)
    return value


def _changed(sub: SubItem, old: RawValue, rng: random.Random) -> RawValue:
    """Another answer to `sub` than `old`."""
    if isinstance(old, bool):
        return not old
    new = _number(sub, rng.random())
    if new != old:
        return new
    up = _within(sub, new + TENTH)
    return up if up != new else _within(sub, new - TENTH)


# ------------------------------------------------------------------ commands


def _entity_commands(year: _Year, entity: Entity.Details) -> _EntityCommands:
    """An entity's submission and, by chance, revision, confirmation, correction."""
    rng = _rng(year.seed, year.grant_year, entity.lg_code, "answers")
    tier = _tier(entity)
    items = year.items(tier, "self")
    answers = _answers(year, entity, items, rng)
    window = (year.closes - year.opens).days
    revising = rng.random() < REVISION_RATE and window > 0
    submitted = min(int(rng.triangular(0, window + 1, 0.8 * (window + 1))), window)
    submitted = min(submitted, window - 1) if revising else submitted
    submission = _submit(year, entity, answers, year.day(submitted), "submit")
    revision = None
    last = submitted
    if revising:
        last = rng.randint(submitted + 1, window)
        answers = _revise(items, answers, rng)
        revision = _submit(year, entity, answers, year.day(last), "revise")
    confirmation = None
    if tier == "municipal" and rng.random() < CONFIRMATION_RATE:
        confirmation = _confirm(year, entity, year.day(rng.randint(last, window)))
    correction = None
    if tier == "municipal" and rng.random() < CORRECTION_RATE:
        correction = _correct(year, entity, items, answers, rng)
    return _EntityCommands(submission, revision, confirmation, correction)


def _actor(entity: Entity.Details) -> str:
    role = "insurer" if entity.kind == "municipality" else "prefecture"
    return f"{role}:{entity.lg_code}"


def _submit(
    year: _Year, entity: Entity.Details, answers: Answers, day: date, command: str
) -> SubmitSelfEvaluation:
    return SubmitSelfEvaluation(
        entity=entity.lg_code,
        grant_year=year.grant_year,
        tier=_tier(entity),
        answers=answers,
        actor=_actor(entity),
        idempotency_key=year.dated(year.key(command, entity.lg_code), day),
    )


def _revise(items: list[SubItem], answers: Answers, rng: random.Random) -> Answers:
    """The answers with one to three of them changed."""
    revised = dict(answers)
    count = min(len(items), rng.randint(*CHANGES_PER_REVISION))
    for sub in rng.sample(items, count):
        revised[sub.code] = _changed(sub, revised[sub.code], rng)
    return revised


def _confirm(
    year: _Year, entity: Entity.Details, day: date
) -> ConfirmSelfEvaluation | None:
    prefecture = year.prefectures.get(entity.prefecture_code)
    if prefecture is None:
        return None
    return ConfirmSelfEvaluation(
        entity=entity.lg_code,
        grant_year=year.grant_year,
        tier="municipal",
        actor=f"prefecture:{prefecture}",
        idempotency_key=year.dated(year.key("confirm", entity.lg_code), day),
    )


def _after_deadline(year: _Year, rng: random.Random) -> date:
    """A day after the window closes, and before the first phase where there is room."""
    room = (year.first_phase - year.closes).days - 1
    return year.closes + timedelta(days=rng.randint(1, max(1, room)))


def _correct(
    year: _Year,
    entity: Entity.Details,
    items: list[SubItem],
    answers: Answers,
    rng: random.Random,
) -> CorrectAnswer:
    """A ministry correction of one self-reported answer after the deadline."""
    sub = rng.choice(items)
    value = _changed(sub, answers[sub.code], rng)
    if value is False:
        reason = (
            "提出後に根拠資料を確認したところ、当該項目の要件を満たしていなかったため"
        )
    elif value is True:
        reason = (
            "都道府県を通じて追加提出された根拠資料により、"
            "要件を満たすことが確認されたため"
        )
    else:
        reason = "報告値に集計誤り（転記誤り）があったため、正しい値に修正する"
    return CorrectAnswer(
        entity=entity.lg_code,
        grant_year=year.grant_year,
        tier="municipal",
        item=sub.code,
        value=value,
        reason=reason,
        basis=f"{era(year.grant_year)} "
        "評価指標の該当状況調査に係る留意事項（架空の事務連絡）",
        actor=f"ministry:{rng.choice(STAFF)}",
        idempotency_key=year.dated(
            year.key("correct", entity.lg_code), _after_deadline(year, rng)
        ),
    )


def _ministry_values(year: _Year, entity: Entity.Details) -> ImportMinistryValues:
    """The ministry's outcome values (from its care database) for one entity."""
    rng = _rng(year.seed, year.grant_year, entity.lg_code, "ministry")
    tier = _tier(entity)
    values = _answers(year, entity, year.items(tier, "ministry"), rng)
    room = (year.first_phase - year.closes).days
    return ImportMinistryValues(
        entity=entity.lg_code,
        grant_year=year.grant_year,
        tier=tier,
        values=values,
        source=f"{SYNTHETIC}: ministry outcome values, kofu demo seed {year.seed}",
        actor=MINISTRY_ACTOR,
        idempotency_key=year.dated(
            year.key("ministry", entity.lg_code),
            year.closes + timedelta(days=max(1, room // 3)),
        ),
    )
