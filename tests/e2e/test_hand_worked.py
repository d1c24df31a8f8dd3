"""A small FY2020 ledger worked out by hand, driven end to end through the CLI.

Two prefectures and five municipalities (each its own insurer) are loaded with
`kofu load` from files written here: a small programme year (budgets of 1,000,000 and
100,000 yen per grant and tier), a small catalogue per tier, 第1号被保険者数 for FY2020
and a deliberately different count for FY2019, 事業費 for both years and 所要見込額.
They submit, revise, confirm and are corrected on the ledger's simulated clock, on
and around the edges of the window and the deadline; then every phase is allocated
on its day. Every amount of every entity in every phase is written out below as an
integer computed by hand from the rules' documented formulas:

* municipal tier, `banded_score_x_insured_share@1` [hypothesis]: band budget =
  floor(budget × Σ insured of the band's eligible members / Σ insured of all eligible
  members) to the yen; amount = floor(band budget × score × insured / Σ over the
  band's members (score × insured) / 1,000) × 1,000; what the floors leave, and the
  whole budget of a band where nobody scores, is the remainder (never passed on).
* prefectural tier, `prefecture_by_score@1` [hypothesis]: amount = floor(budget ×
  score / Σ score / 1,000) × 1,000.
* 支援 eligibility, `effort_support_eligibility@1` [hypothesis]: 事業費 of FY2020
  strictly above FY2019; where the elderly population fell, per elderly person.
* from 交付見込額 (expected) on: amount = min(draft, 所要見込額), the cut joins the
  remainder (`redistribute_capped: false`).
* settlement: amount − decided = a refund (< 0) or an additional grant (> 0).

The window and the deadline are judged to the day here as part of the story (the
finer edges, to the minute in JST, are tests/trials/test_server_time.py's
`test_the_window_and_the_deadline_are_judged_on_the_ledgers_date_in_japan`).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from adapters.inputs.paths import data_dir
from domain import clock as ledger_clock
from domain.clock import JST, SimulatedClock
from tests.conftest import Kofu
from tests.support.worked import catalogue_yaml

YEAR = "2020"

# The ledger: LG codes (with check digits) and insurer numbers built on JIS codes.
TOKYO, KANAGAWA = "130001", "140007"
E = "133078"  # 檜原村 (Tokyo): band 1, never gets a submission in
A = "133086"  # 奥多摩町 (Tokyo): band 2, submits on the window's opening day
B = "133051"  # 日の出町 (Tokyo): band 2, revises on the closing day; 支援 ineligible
C = "142107"  # 三浦市 (Kanagawa): band 3, corrected after the 交付決定
D = "142174"  # 南足柄市 (Kanagawa): band 3, corrected the day after the deadline

PREFECTURES_CSV = """\
prefecture_code,lg_code,name,name_kana,name_en
13,130001,東京都,とうきょうと,Tokyo
14,140007,神奈川県,かながわけん,Kanagawa
"""

MUNICIPALITIES_CSV = """\
prefecture_code,jis_code,lg_code,name,name_kana
13,13305,133051,日の出町,ひのでまち
13,13307,133078,檜原村,ひのはらむら
13,13308,133086,奥多摩町,おくたままち
14,14210,142107,三浦市,みうらし
14,14217,142174,南足柄市,みなみあしがらし
"""

INSURERS_YAML = """\
# Each municipality is its own insurer (単独保険者); numbers built on the JIS codes.
kind: insurers
insurers:
  - {insurer_number: "133058", kind: single, name: 日の出町, prefecture_code: "13",
     members: [{lg_code: "133051", valid_from: 2000-04-01}]}
  - {insurer_number: "133074", kind: single, name: 檜原村, prefecture_code: "13",
     members: [{lg_code: "133078", valid_from: 2000-04-01}]}
  - {insurer_number: "133082", kind: single, name: 奥多摩町, prefecture_code: "13",
     members: [{lg_code: "133086", valid_from: 2000-04-01}]}
  - {insurer_number: "142109", kind: single, name: 三浦市, prefecture_code: "14",
     members: [{lg_code: "142107", valid_from: 2000-04-01}]}
  - {insurer_number: "142174", kind: single, name: 南足柄市, prefecture_code: "14",
     members: [{lg_code: "142174", valid_from: 2000-04-01}]}
"""

# FY2020 (the programme year) and FY2019, deliberately different: a run fed FY2019's
# counts gets other band budgets and other weights (bands stay as they are).
#            FY2020  FY2019
#   E 檜原村   1,000   1,100  (fell)
#   A 奥多摩町 4,000   4,100  (fell)
#   B 日の出町 6,000   5,800  (rose)
#   C 三浦市  15,000  14,800  (rose)
#   D 南足柄市 12,400  12,900  (fell)
# Prefectures: no count of their own, their municipalities' total (Tokyo 11,000,
# Kanagawa 27,400); the prefectural rule does not weight by it.
INSURED_CSV = """\
lg_code,fiscal_year,category1_insured,source,as_of
133078,2020,"1,000",hand-worked test figure (not published),2019-09-30
133086,2020,"4,000",hand-worked test figure (not published),2019-09-30
133051,2020,"6,000",hand-worked test figure (not published),2019-09-30
142107,2020,"15,000",hand-worked test figure (not published),2019-09-30
142174,2020,"12,400",hand-worked test figure (not published),2019-09-30
133078,2019,"1,100",hand-worked test figure (not published),2018-09-30
133086,2019,"4,100",hand-worked test figure (not published),2018-09-30
133051,2019,"5,800",hand-worked test figure (not published),2018-09-30
142107,2019,"14,800",hand-worked test figure (not published),2018-09-30
142174,2019,"12,900",hand-worked test figure (not published),2018-09-30
"""

# 事業費 (both counted categories; the sums are what the eligibility rule compares):
#   E:  5,000,000 → 5,000,000  equal, but elderly fell 1,100 → 1,000: per person
#       5,000,000 × 1,100 > 5,000,000 × 1,000                         → eligible
#   A: 10,000,000 → 11,000,000  elderly fell: 11,000,000 × 4,100 > 10,000,000 × 4,000
#                                                                     → eligible
#   B: 20,000,000 → 19,000,000  elderly rose: 19,000,000 < 20,000,000 → ineligible
#   C: 30,000,000 → 31,000,000  elderly rose: 31,000,000 > 30,000,000 → eligible
#   D: 24,000,000 → 23,500,000  fell in total, but elderly fell 12,900 → 12,400:
#       23,500,000 × 12,900 = 303.15e9 > 24,000,000 × 12,400 = 297.6e9 → eligible
SPENDING = {
    E: ((3_000_000, 2_000_000), (3_000_000, 2_000_000)),
    A: ((6_000_000, 4_000_000), (7_000_000, 4_000_000)),
    B: ((12_000_000, 8_000_000), (11_000_000, 8_000_000)),
    C: ((18_000_000, 12_000_000), (19_000_000, 12_000_000)),
    D: ((14_000_000, 10_000_000), (13_500_000, 10_000_000)),
}
CATEGORIES = ("comprehensive_program", "comprehensive_support_enhanced")

# 所要見込額, declared before the expected phase (a second `kofu load`):
# A's promotion and D's effort support bite; Kanagawa's promotion bites too.
REQUIRED_CSV = """\
lg_code,grant_year,grant,required_yen,source,declared_on
133086,2020,promotion,"100,000",hand-worked test figure (not published),2019-12-10
142174,2020,effort_support,"250,000",hand-worked test figure (not published),2019-12-10
140007,2020,promotion,"50,000",hand-worked test figure (not published),2019-12-10
"""

PROGRAMME_YAML = """\
# A hand-worked FY2020 programme for tests/e2e/test_hand_worked.py: the shipped FY2020
# schedule, rules and size bands with budgets small enough to compute by hand.
# Budgets: HYPOTHESIS (test figures, not the published 190億円 / 10億円).
kind: programme_year
grant_year: 2020
title: 令和2年度 手計算検証用（交付額を手計算で確かめるための小さな年度）
source: >-
  tests/e2e/test_hand_worked.py: the schedule, rule versions and size bands of
  data/programmes/fy2020.yaml with test budgets (1,000,000 / 100,000 yen)
budgets:
  promotion: {municipal: 1000000, prefectural: 100000}
  effort_support: {municipal: 1000000, prefectural: 100000}
schedule:
  indicators_issued: 2019-09-30
  submission_opens: 2019-10-01
  submission_closes: 2019-10-31
  phases:
    reference: 2019-11-29
    expected: 2019-12-27
    provisional: 2020-05-15
    decision: 2020-07-31
    settlement: 2021-06-30
rules:
  promotion:
    municipal: banded_score_x_insured_share@1
    prefectural: prefecture_by_score@1
  effort_support:
    municipal: banded_score_x_insured_share@1
    prefectural: prefecture_by_score@1
eligibility:
  effort_support:
    municipal: effort_support_eligibility@1
adjustment_policy: refund_or_additional
size_bands: [0, 3000, 10000, 50000, 100000]
hypotheses:
  - budgets are test figures
  - schedule days, size bands and rules as in data/programmes/fy2020.yaml
"""


# Points per item (promotion, 支援); full marks 100 / 50 in both tiers.
MUNICIPAL_ITEMS = {"M-1-a": (40, 10), "M-2-a": (35, 15), "M-3-a": (25, 25)}
PREFECTURAL_ITEMS = {"P-1-a": (60, 30), "P-2-a": (25, 15), "P-3-a": (15, 5)}

RULES = [
    data_dir() / "rules" / f"{rule}.yaml"
    for rule in (
        "banded_score_x_insured_share@1",
        "prefecture_by_score@1",
        "effort_support_eligibility@1",
    )
]

# ------------------------------------------------------------------ scores
#
# Municipal (promotion / 支援), after every answer, revision and correction:
#   E  nothing                                   0 /  0
#   A  M-1-a, M-2-a              40+35 = 75 / 10+15 = 25
#   B  M-1-a (10-10), revised on 10-31 to M-1-a, M-3-a
#                                40+25 = 65 / 10+25 = 35
#   C  M-2-a, M-3-a              35+25 = 60 / 15+25 = 40
#      from 2020-08-03 (M-1-a corrected to true) 100 / 50
#   D  M-1-a, M-2-a, M-3-a, corrected on 11-01 (M-3-a false)
#                                40+35 = 75 / 10+15 = 25
# Prefectural:
#   Tokyo     P-1-a, P-3-a       60+15 = 75 / 30+5 = 35
#   Kanagawa  P-1-a, P-2-a, P-3-a        100 / 50
#      from 2020-01-15 (P-3-a corrected to false) 85 / 45
#
# ------------------------------------------------- promotion, municipal tier
#
# Bands (FY2020 counts): 1: E 1,000; 2: A 4,000 + B 6,000 = 10,000;
# 3: C 15,000 + D 12,400 = 27,400; all eligible; Σ = 38,400.
#   band 1: floor(1,000,000 × 1,000 / 38,400)  =  26,041 (26,041.66)
#   band 2: floor(1,000,000 × 10,000 / 38,400) = 260,416 (260,416.66)
#   band 3: floor(1,000,000 × 27,400 / 38,400) = 713,541 (713,541.66)
#   Σ 999,998: 2 yen left by the band floors.
# Band 1: E scores 0, nobody has weight: its 26,041 all go to the remainder.
# Band 2: A 75 × 4,000 = 300,000; B 65 × 6,000 = 390,000; Σ 690,000
#   A: 260,416 × 300,000 / 690,000 = 113,224.3 → 113,000
#   B: 260,416 × 390,000 / 690,000 = 147,191.6 → 147,000   (band left 416)
# Band 3: C 60 × 15,000 = 900,000; D 75 × 12,400 = 930,000; Σ 1,830,000
#   C: 713,541 × 900,000 / 1,830,000 = 350,921.8 → 350,000
#   D: 713,541 × 930,000 / 1,830,000 = 362,619.1 → 362,000  (band left 1,541)
# reference: allocated 972,000; remainder 2 + 26,041 + 416 + 1,541 = 28,000.
# expected on: A capped at its 100,000 (13,000 cut off): allocated 959,000,
#   remainder 41,000.
# settlement (C 100): band 3 C 100 × 15,000 = 1,500,000; Σ 2,430,000
#   C: 713,541 × 1,500,000 / 2,430,000 = 440,457.4 → 440,000 (decided 350,000: +90,000)
#   D: 713,541 × 930,000 / 2,430,000   = 273,083.5 → 273,000 (decided 362,000: −89,000)
#   A 100,000 (draft 113,000, capped 13,000), B 147,000 unchanged.
#   allocated 960,000, remainder 40,000, adjustments +1,000.
#
# ------------------------------------------------ 支援, municipal tier
#
# B is ineligible: its 6,000 leave the band weights (band_weight: eligible_insured).
# Bands: 1: E 1,000; 2: A 4,000; 3: C 15,000 + D 12,400 = 27,400; Σ 32,400.
#   band 1: floor(1,000,000 × 1,000 / 32,400)  =  30,864 (30,864.19)
#   band 2: floor(1,000,000 × 4,000 / 32,400)  = 123,456 (123,456.79)
#   band 3: floor(1,000,000 × 27,400 / 32,400) = 845,679 (845,679.01)
#   Σ 999,999: 1 yen left.
# Band 1: E scores 0: 30,864 to the remainder.
# Band 2: A 25 × 4,000 = 100,000 of 100,000 (B has weight 0): 123,456 → 123,000
# Band 3: C 40 × 15,000 = 600,000; D 25 × 12,400 = 310,000; Σ 910,000
#   C: 845,679 × 600,000 / 910,000 = 557,590.5 → 557,000
#   D: 845,679 × 310,000 / 910,000 = 288,088.4 → 288,000
# reference: allocated 968,000; remainder 1 + 30,864 + 456 + 679 = 32,000.
# expected on: D capped at 250,000 (38,000 cut off): allocated 930,000, remainder
#   70,000.
# settlement (C 50): C 50 × 15,000 = 750,000; Σ 1,060,000
#   C: 845,679 × 750,000 / 1,060,000 = 598,357.7 → 598,000 (decided 557,000: +41,000)
#   D: 845,679 × 310,000 / 1,060,000 = 247,321.2 → 247,000, below its 250,000: not
#      capped (decided 250,000: −3,000)
#   allocated 968,000, remainder 32,000, adjustments +38,000.
#
# ------------------------------------------------ prefectural tier (by score)
#
# promotion, reference and expected: Tokyo 75, Kanagawa 100; Σ 175
#   Tokyo:    100,000 × 75 / 175  = 42,857.1 → 42,000
#   Kanagawa: 100,000 × 100 / 175 = 57,142.8 → 57,000; remainder 1,000
#   expected: Kanagawa capped at 50,000 (7,000 cut off): remainder 8,000
# promotion from provisional (Kanagawa 85): Σ 160
#   Tokyo:    100,000 × 75 / 160 = 46,875 → 46,000
#   Kanagawa: 100,000 × 85 / 160 = 53,125 → 53,000 → capped 50,000 (3,000 cut off)
#   remainder 4,000; settlement = decision, no adjustment.
# 支援, reference and expected: Tokyo 35, Kanagawa 50; Σ 85
#   Tokyo:    100,000 × 35 / 85 = 41,176.4 → 41,000
#   Kanagawa: 100,000 × 50 / 85 = 58,823.5 → 58,000; remainder 1,000
# 支援 from provisional (Kanagawa 45): Σ 80
#   Tokyo:    100,000 × 35 / 80 = 43,750 → 43,000
#   Kanagawa: 100,000 × 45 / 80 = 56,250 → 56,000; remainder 1,000

PHASES = ("reference", "expected", "provisional", "decision", "settlement")
PHASE_DAYS = {
    "reference": date(2019, 11, 29),
    "expected": date(2019, 12, 27),
    "provisional": date(2020, 5, 15),
    "decision": date(2020, 7, 31),
    "settlement": date(2021, 6, 30),
}

PROMOTION_MUNICIPAL = {A: 113_000, B: 147_000, C: 350_000, D: 362_000, E: 0}
PROMOTION_MUNICIPAL_CAPPED = PROMOTION_MUNICIPAL | {A: 100_000}
SUPPORT_MUNICIPAL = {A: 123_000, B: 0, C: 557_000, D: 288_000, E: 0}
SUPPORT_MUNICIPAL_CAPPED = SUPPORT_MUNICIPAL | {D: 250_000}

# (grant, tier, phase) → {entity: amount}
EXPECTED: dict[tuple[str, str, str], dict[str, int]] = {
    ("promotion", "municipal", "reference"): PROMOTION_MUNICIPAL,
    ("promotion", "municipal", "expected"): PROMOTION_MUNICIPAL_CAPPED,
    ("promotion", "municipal", "provisional"): PROMOTION_MUNICIPAL_CAPPED,
    ("promotion", "municipal", "decision"): PROMOTION_MUNICIPAL_CAPPED,
    ("promotion", "municipal", "settlement"): {
        A: 100_000,
        B: 147_000,
        C: 440_000,
        D: 273_000,
        E: 0,
    },
    ("effort_support", "municipal", "reference"): SUPPORT_MUNICIPAL,
    ("effort_support", "municipal", "expected"): SUPPORT_MUNICIPAL_CAPPED,
    ("effort_support", "municipal", "provisional"): SUPPORT_MUNICIPAL_CAPPED,
    ("effort_support", "municipal", "decision"): SUPPORT_MUNICIPAL_CAPPED,
    ("effort_support", "municipal", "settlement"): {
        A: 123_000,
        B: 0,
        C: 598_000,
        D: 247_000,
        E: 0,
    },
    ("promotion", "prefectural", "reference"): {TOKYO: 42_000, KANAGAWA: 57_000},
    ("promotion", "prefectural", "expected"): {TOKYO: 42_000, KANAGAWA: 50_000},
    ("promotion", "prefectural", "provisional"): {TOKYO: 46_000, KANAGAWA: 50_000},
    ("promotion", "prefectural", "decision"): {TOKYO: 46_000, KANAGAWA: 50_000},
    ("promotion", "prefectural", "settlement"): {TOKYO: 46_000, KANAGAWA: 50_000},
    ("effort_support", "prefectural", "reference"): {TOKYO: 41_000, KANAGAWA: 58_000},
    ("effort_support", "prefectural", "expected"): {TOKYO: 41_000, KANAGAWA: 58_000},
    ("effort_support", "prefectural", "provisional"): {
        TOKYO: 43_000,
        KANAGAWA: 56_000,
    },
    ("effort_support", "prefectural", "decision"): {TOKYO: 43_000, KANAGAWA: 56_000},
    ("effort_support", "prefectural", "settlement"): {TOKYO: 43_000, KANAGAWA: 56_000},
}

# (grant, tier, phase) → (allocated, remainder, capped off, adjustments)
TOTALS: dict[tuple[str, str, str], tuple[int, int, int, int]] = {
    ("promotion", "municipal", "reference"): (972_000, 28_000, 0, 0),
    ("promotion", "municipal", "expected"): (959_000, 41_000, 13_000, 0),
    ("promotion", "municipal", "provisional"): (959_000, 41_000, 13_000, 0),
    ("promotion", "municipal", "decision"): (959_000, 41_000, 13_000, 0),
    ("promotion", "municipal", "settlement"): (960_000, 40_000, 13_000, 1_000),
    ("effort_support", "municipal", "reference"): (968_000, 32_000, 0, 0),
    ("effort_support", "municipal", "expected"): (930_000, 70_000, 38_000, 0),
    ("effort_support", "municipal", "provisional"): (930_000, 70_000, 38_000, 0),
    ("effort_support", "municipal", "decision"): (930_000, 70_000, 38_000, 0),
    ("effort_support", "municipal", "settlement"): (968_000, 32_000, 0, 38_000),
    ("promotion", "prefectural", "reference"): (99_000, 1_000, 0, 0),
    ("promotion", "prefectural", "expected"): (92_000, 8_000, 7_000, 0),
    ("promotion", "prefectural", "provisional"): (96_000, 4_000, 3_000, 0),
    ("promotion", "prefectural", "decision"): (96_000, 4_000, 3_000, 0),
    ("promotion", "prefectural", "settlement"): (96_000, 4_000, 3_000, 0),
    ("effort_support", "prefectural", "reference"): (99_000, 1_000, 0, 0),
    ("effort_support", "prefectural", "expected"): (99_000, 1_000, 0, 0),
    ("effort_support", "prefectural", "provisional"): (99_000, 1_000, 0, 0),
    ("effort_support", "prefectural", "decision"): (99_000, 1_000, 0, 0),
    ("effort_support", "prefectural", "settlement"): (99_000, 1_000, 0, 0),
}

# Settlement adjustments (amount − decided), by (grant, entity); the others are 0.
ADJUSTMENTS = {
    ("promotion", C): (90_000, "additional"),
    ("promotion", D): (-89_000, "refund"),
    ("effort_support", C): (41_000, "additional"),
    ("effort_support", D): (-3_000, "refund"),
}

# `kofu explain`: each draft's own arithmetic (pool = the band budget), as computed by
# hand above; (grant, phase, entity) → formula. Band budgets floored to the yen show
# here even where the 1,000-yen floor would hide a change in them.
ZERO = "weight 0 (zero score or ineligible): draft 0 yen"
FORMULAS = {
    ("promotion", "reference", E): ZERO,
    ("promotion", "reference", A): (
        "floor(260,416 × 300,000 / 690,000 / 1,000) × 1,000 = 113,000 yen "
        "(unrounded 113,224.34)"
    ),
    ("promotion", "reference", B): (
        "floor(260,416 × 390,000 / 690,000 / 1,000) × 1,000 = 147,000 yen "
        "(unrounded 147,191.65)"
    ),
    ("promotion", "reference", C): (
        "floor(713,541 × 900,000 / 1,830,000 / 1,000) × 1,000 = 350,000 yen "
        "(unrounded 350,921.80)"
    ),
    ("promotion", "reference", D): (
        "floor(713,541 × 930,000 / 1,830,000 / 1,000) × 1,000 = 362,000 yen "
        "(unrounded 362,619.19)"
    ),
    ("effort_support", "reference", E): ZERO,
    ("effort_support", "reference", A): (
        "floor(123,456 × 100,000 / 100,000 / 1,000) × 1,000 = 123,000 yen "
        "(unrounded 123,456.00)"
    ),
    ("effort_support", "reference", B): ZERO,
    ("effort_support", "reference", C): (
        "floor(845,679 × 600,000 / 910,000 / 1,000) × 1,000 = 557,000 yen "
        "(unrounded 557,590.54)"
    ),
    ("effort_support", "reference", D): (
        "floor(845,679 × 310,000 / 910,000 / 1,000) × 1,000 = 288,000 yen "
        "(unrounded 288,088.45)"
    ),
    ("promotion", "settlement", C): (
        "floor(713,541 × 1,500,000 / 2,430,000 / 1,000) × 1,000 = 440,000 yen "
        "(unrounded 440,457.40)"
    ),
    ("promotion", "settlement", D): (
        "floor(713,541 × 930,000 / 2,430,000 / 1,000) × 1,000 = 273,000 yen "
        "(unrounded 273,083.59)"
    ),
    ("effort_support", "settlement", C): (
        "floor(845,679 × 750,000 / 1,060,000 / 1,000) × 1,000 = 598,000 yen "
        "(unrounded 598,357.78)"
    ),
    ("effort_support", "settlement", D): (
        "floor(845,679 × 310,000 / 1,060,000 / 1,000) × 1,000 = 247,000 yen "
        "(unrounded 247,321.21)"
    ),
}

# 所要見込額 as the runs show them from the expected phase on (none in the reference).
REQUIRED = {
    ("promotion", A): 100_000,
    ("effort_support", D): 250_000,
    ("promotion", KANAGAWA): 50_000,
}

# What every run line shows besides the amount (scores as in force at the phase).
INSURED = {E: 1_000, A: 4_000, B: 6_000, C: 15_000, D: 12_400}
BANDS = {E: 1, A: 2, B: 2, C: 3, D: 3}


def scores(grant: str, phase: str) -> dict[str, int]:
    """Scores in force at a phase (see the table above)."""
    settled = phase == "settlement"
    later = phase in {"provisional", "decision", "settlement"}
    if grant == "promotion":
        return {
            E: 0,
            A: 75,
            B: 65,
            C: 100 if settled else 60,
            D: 75,
            TOKYO: 75,
            KANAGAWA: 85 if later else 100,
        }
    return {
        E: 0,
        A: 25,
        B: 35,
        C: 50 if settled else 40,
        D: 25,
        TOKYO: 35,
        KANAGAWA: 45 if later else 50,
    }


def jst(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=JST)


class Story:
    """The CLI on the hand-worked ledger, with its own simulated clock."""

    def __init__(self, kofu: Kofu, folder: Path, clock: SimulatedClock) -> None:
        self.kofu = kofu
        self.folder = folder
        self.clock = clock
        self.files = 0

    def on(self, day: date) -> None:
        self.clock.set_day(day)

    def write(self, name: str, text: str) -> Path:
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        return path

    def ok(self, *args: str | Path) -> str:
        code, output = self.kofu(*args)
        assert code == 0, output
        return output

    def refused(self, message: str, *args: str | Path) -> None:
        before = self.kofu.events()
        code, output = self.kofu(*args)
        assert code == 1, output
        assert message in " ".join(output.split()), output
        assert self.kofu.events() == before

    def answers(self, entity: str, tier: str, *checked: str) -> Path:
        self.files += 1
        body = {
            "entity": entity,
            "grant_year": int(YEAR),
            "tier": tier,
            "answers": dict.fromkeys(checked, True),
        }
        return self.write(f"answers-{self.files}.json", json.dumps(body))

    def submit(self, entity: str, tier: str, *checked: str) -> str:
        return self.ok("submit", self.answers(entity, tier, *checked))

    def correction(
        self, entity: str, item: str, value: str, tier: str = "municipal"
    ) -> list[str]:
        return [
            "correct",
            "--entity",
            entity,
            "--fiscal-year",
            YEAR,
            "--tier",
            tier,
            "--item",
            item,
            "--value",
            value,
            "--reason",
            "証拠書類と不一致",
            "--basis",
            "老認発手計算第1号",
            "--actor",
            "ministry:yamada",
        ]

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--format", "json"))


def load_reference(story: Story) -> None:
    spending = "lg_code,fiscal_year,category,spending_yen,source,as_of\n" + "".join(
        f"{code},{year},{category},{amount},hand-worked test figure,{as_of}\n"
        for code, years in SPENDING.items()
        for year, as_of, amounts in zip(
            (2019, 2020), ("2019-03-31", "2019-09-30"), years, strict=True
        )
        for category, amount in zip(CATEGORIES, amounts, strict=True)
    )
    files = [
        story.write("prefectures.csv", PREFECTURES_CSV),
        story.write("municipalities.csv", MUNICIPALITIES_CSV),
        story.write("insurers.yaml", INSURERS_YAML),
        story.write("insured.csv", INSURED_CSV),
        story.write("spending.csv", spending),
        *RULES,
        story.write(
            "catalogue-municipal.yaml", catalogue_yaml("municipal", MUNICIPAL_ITEMS)
        ),
        story.write(
            "catalogue-prefectural.yaml",
            catalogue_yaml("prefectural", PREFECTURAL_ITEMS),
        ),
        story.write("programme.yaml", PROGRAMME_YAML),
    ]
    story.ok("load", *files)


WINDOW = "outside the FY2020 submission window 2019-10-01 to 2019-10-31"
BEFORE_DEADLINE = "comes before the deadline 2019-10-31"


def test_a_hand_worked_ledger_gets_every_amount_computed_by_hand(
    kofu: Kofu, tmp_path: Path
) -> None:
    start = SimulatedClock(jst(date(2019, 9, 30)))
    with ledger_clock.installed(start):
        story = Story(kofu, tmp_path, start)
        answer_window(story)
        allocate_every_phase(story)


def answer_window(story: Story) -> None:
    """Load, then answer around the window's and the deadline's edges."""
    load_reference(story)

    # 2019-09-30, the day before the window opens: A's answers are refused.
    story.refused(
        f"a submission on 2019-09-30 is {WINDOW}",
        "submit",
        story.answers(A, "municipal", "M-1-a", "M-2-a"),
    )
    # 2019-10-01, the opening day: accepted.
    story.on(date(2019, 10, 1))
    story.submit(A, "municipal", "M-1-a", "M-2-a")
    story.submit(TOKYO, "prefectural", "P-1-a", "P-3-a")
    # 2019-10-10: the others (E never does).
    story.on(date(2019, 10, 10))
    story.submit(B, "municipal", "M-1-a")
    story.submit(C, "municipal", "M-2-a", "M-3-a")
    story.submit(D, "municipal", "M-1-a", "M-2-a", "M-3-a")
    story.submit(KANAGAWA, "prefectural", "P-1-a", "P-2-a", "P-3-a")
    # 2019-10-31, the closing day: B's revision is accepted (65 instead of 40);
    # the ministry may not correct yet (the deadline day is still the entity's).
    story.on(date(2019, 10, 31))
    story.submit(B, "municipal", "M-1-a", "M-3-a")
    story.refused(
        f"a correction on 2019-10-31 (JST, the ledger's date) {BEFORE_DEADLINE}",
        *story.correction(D, "M-3-a", "false"),
    )
    for prefecture, municipalities in ((TOKYO, (A, B)), (KANAGAWA, (C, D))):
        for municipality in municipalities:
            story.ok(
                "confirm",
                "--entity",
                municipality,
                "--fiscal-year",
                YEAR,
                "--actor",
                f"prefecture:{prefecture}",
            )
    # 2019-11-01, the day after: E is too late; the ministry corrects D (75, not 100).
    story.on(date(2019, 11, 1))
    story.refused(
        f"a submission on 2019-11-01 is {WINDOW}",
        "submit",
        story.answers(E, "municipal", "M-1-a"),
    )
    story.ok(*story.correction(D, "M-3-a", "false"))


def allocate_every_phase(story: Story) -> None:
    """Allocate each phase on its day and check every line against the hand table."""
    for phase in PHASES:
        if phase == "expected":
            story.on(date(2019, 12, 10))
            story.ok("load", story.write("required.csv", REQUIRED_CSV))
        if phase == "provisional":
            # After 交付見込額: Kanagawa's own P-3-a is corrected (100 → 85, 50 → 45).
            story.on(date(2020, 1, 15))
            story.ok(*story.correction(KANAGAWA, "P-3-a", "false", "prefectural"))
        if phase == "settlement":
            # After 交付決定: C's M-1-a is corrected (60 → 100, 40 → 50).
            story.on(date(2020, 8, 3))
            story.ok(*story.correction(C, "M-1-a", "true"))
        story.on(PHASE_DAYS[phase])
        story.ok("allocate", "--fiscal-year", YEAR, "--phase", phase)
        check_phase(story, phase)
    check_runs(story)


def check_phase(story: Story, phase: str) -> None:
    rows = story.json("allocations", "--fiscal-year", YEAR, "--phase", phase)
    found: dict[tuple[str, str, str], dict[str, int]] = {}
    for row in rows:
        key = (row["grant"], row["tier"], row["phase"])
        found.setdefault(key, {})[row["entity"]] = row["amount_yen"]
        assert row["run_id"] == f"FY2020-{row['grant']}-{row['tier']}-{phase}-1"
        assert row["score"] == scores(row["grant"], phase)[row["entity"]], row
        if row["tier"] == "municipal":
            assert row["category1_insured"] == INSURED[row["entity"]], row
            assert row["size_band"] == BANDS[row["entity"]], row
            assert row["eligible"] is not (
                row["grant"] == "effort_support" and row["entity"] == B
            ), row
        required = REQUIRED.get((row["grant"], row["entity"]))
        assert row["required_yen"] == (None if phase == "reference" else required)
        adjustment = (
            ADJUSTMENTS.get((row["grant"], row["entity"]), (0, None))
            if phase == "settlement"
            else (None, None)
        )
        assert (row["adjustment_yen"], row["adjustment"]) == adjustment, row
    wanted = {key: amounts for key, amounts in EXPECTED.items() if key[2] == phase}
    assert sorted(found) == sorted(wanted)
    for key, amounts in wanted.items():
        assert found[key] == amounts, key
    for (grant, at, entity), formula in FORMULAS.items():
        if at == phase:
            explained = story.json(
                "explain",
                "--entity",
                entity,
                "--fiscal-year",
                YEAR,
                "--grant",
                grant,
                "--phase",
                phase,
            )
            assert explained["formula"] == formula, (grant, phase, entity)


def check_runs(story: Story) -> None:
    runs = story.json("runs", "--fiscal-year", YEAR)
    found = {
        (r["run_id"]): (
            r["allocated_yen"],
            r["remainder_yen"],
            r["capped_off_yen"],
            r["adjustments_yen"],
        )
        for r in runs
    }
    assert found == {
        f"FY2020-{grant}-{tier}-{phase}-1": totals
        for (grant, tier, phase), totals in TOTALS.items()
    }
    for run in runs:
        assert run["budget_yen"] == (
            1_000_000 if run["tier"] == "municipal" else 100_000
        )
        assert run["hypothesis"] is True
