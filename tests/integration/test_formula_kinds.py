"""Every allocation formula kind, one worked case through every tool that uses it.

`domain.formulas.FORMULAS` registers the kinds; each has a case below, computed by
hand, and each case goes through `kofu allocate`, `kofu explain`, `kofu sensitivity`,
`kofu diff` and `kofu what-if`, which must agree with the hand figures and with each
other to the yen. A kind registered without a case here fails
`test_every_registered_formula_kind_agrees_across_the_tools`; a kind that one of the
tools does not handle fails there too (the tool raises, or its figure differs).

The world (FY2020, Tokyo, municipal tier only; test figures, not published ones):

    entity        第1号被保険者数  band  answers                 score
    E 檜原村        1,000          1    M-1-a                   40
    A 奥多摩町      4,000          2    M-1-a, M-2-a (not M-3-a) 70 → 71
    B 日の出町      6,000          2    M-1-a                   40
    C 瑞穂町       15,000          3    M-2-a, M-3-a            31

Items weigh the same in both grants: M-1-a 40, M-2-a 30, M-3-a 1. The reference
phase is allocated, then the ministry corrects A's M-3-a to checked (one point
more, nothing else changes), then the expected phase is allocated (no 所要見込額 is
declared, so no cap). Budgets are 1,000,000 yen per grant, both rules floor to
1,000 yen:

* 推進 (promotion), `banded_score_x_insured_share@1` (`banded_share`): band budgets
  floor(1,000,000 × band insured / 26,000): band 2 = floor(384,615.38) = 384,615.
  A: 384,615 × 70·4,000 / (70·4,000 + 40·6,000 = 520,000) = 207,100.38 → 207,000;
  after: 384,615 × 284,000 / 524,000 = 208,455.46 → 208,000. One point is worth
  208,455.46 − 207,100.38 = 1,355.07 → 1,355 yen; B's draft moves by −1,355 yen
  through the others' weights (177,514.62 → 176,159.54); E and C, in other
  bands, do not move.
* 支援 (effort support), `worked_pooled_share@1` (`pooled_share`, written here):
  one pool, weights E 40,000, A 280,000, B 240,000, C 465,000 (Σ 1,025,000).
  A: 1,000,000 × 280,000 / 1,025,000 = 273,170.73 → 273,000; after: 1,000,000 ×
  284,000 / 1,029,000 = 275,996.11 → 275,000. One point: 2,825.38 → 2,825 yen;
  the others move by E −152, B −910, C −1,763 yen.

`kofu what-if` of the expected run without the correction gives the reference
amounts back; of a reference run under the other kind's rule, the other grant's
reference amounts (the two grants' inputs are the same).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.inputs.paths import data_dir
from adapters.inputs.rule_files import load_rule
from domain import clock as ledger_clock
from domain.allocation import allocate
from domain.clock import SimulatedClock
from domain.errors import InvalidInput
from domain.formulas import FORMULAS, formula_for
from domain.glossary import JST
from tests.conftest import Kofu, backend_url
from tests.support.worked import catalogue_yaml

YEAR = "2020"
E, A, B, C = "133078", "133086", "133051", "133035"
TIER = "municipal"
THIS = "tests/integration/test_formula_kinds.py"


@dataclass(frozen=True)
class Case:
    """A formula kind's worked case: entity A's figures, computed by hand above."""

    grant: str
    rule: str
    amount_a: int
    amount_b: int
    formula_a: str
    yen_per_point: int
    others: dict[str, int]
    """Every other entity's part moved by the others' weights (0: not in the diff)."""


CASES = {
    "banded_share": Case(
        grant="promotion",
        rule="banded_score_x_insured_share@1",
        amount_a=207_000,
        amount_b=208_000,
        formula_a=(
            "floor(384,615 × 280,000 / 520,000 / 1,000) × 1,000 = 207,000 yen "
            "(unrounded 207,100.38)"
        ),
        yen_per_point=1_355,
        others={E: 0, B: -1_355, C: 0},
    ),
    "pooled_share": Case(
        grant="effort_support",
        rule="worked_pooled_share@1",
        amount_a=273_000,
        amount_b=275_000,
        formula_a=(
            "floor(1,000,000 × 280,000 / 1,025,000 / 1,000) × 1,000 = 273,000 yen "
            "(unrounded 273,170.73)"
        ),
        yen_per_point=2_825,
        others={E: -152, B: -910, C: -1_763},
    ),
}

PREFECTURES_CSV = """\
prefecture_code,lg_code,name,name_kana,name_en
13,130001,東京都,とうきょうと,Tokyo
"""
MUNICIPALITIES_CSV = """\
prefecture_code,jis_code,lg_code,name,name_kana
13,13303,133035,瑞穂町,みずほまち
13,13305,133051,日の出町,ひのでまち
13,13307,133078,檜原村,ひのはらむら
13,13308,133086,奥多摩町,おくたままち
"""
INSURED = {E: 1_000, A: 4_000, B: 6_000, C: 15_000}
"""第1号被保険者数 for FY2020: test figures, not published."""
INSURED_CSV = "lg_code,fiscal_year,category1_insured,source,as_of\n" + "".join(
    f"{code},2020,{count},worked-case test figure (not published),2019-09-30\n"
    for code, count in INSURED.items()
)
POOLED_RULE_YAML = """\
# A test rule (tests/integration/test_formula_kinds.py): the pooled_share kind with
# score × 第1号被保険者数 weights in FY2020. HYPOTHESIS: not a published rule.
id: worked_pooled_share@1
kind: pooled_share
valid_from: 2020
status: hypothesis
label: 【仮説 HYPOTHESIS】検証用 / a test rule, score × insured in one pool
description: >-
  HYPOTHESIS, for a test only. One pool per tier; weight = score × 第1号被保険者数;
  amount = budget × weight / Σ weights, floored to 1,000 yen.
reference: tests/integration/test_formula_kinds.py
parameters:
  rounding_unit_yen: 1000
  rounding: floor
  weight_by_insured: true
  redistribute_capped: false
"""
SHIPPED = yaml.safe_load(
    (data_dir() / "programmes" / "fy2020.yaml").read_text(encoding="utf-8")
)
PHASE_DAYS: dict[str, date] = SHIPPED["schedule"]["phases"]


def programme_yaml() -> str:
    """The shipped FY2020 programme (schedule, size bands) with test budgets and rules.

    Municipal budgets only; no eligibility rule, so every entity is eligible.
    """
    programme = {
        key: value for key, value in SHIPPED.items() if key != "eligibility"
    } | {
        "title": "令和2年度 算定式検証用",
        "source": f"{THIS}: the shipped FY2020 schedule and size bands, test budgets",
        "budgets": {g: {TIER: 1_000_000} for g in ("promotion", "effort_support")},
        "rules": {
            "promotion": {TIER: "banded_score_x_insured_share@1"},
            "effort_support": {TIER: "worked_pooled_share@1"},
        },
        "hypotheses": ["budgets, rules and answers are test figures"],
    }
    return yaml.safe_dump(programme, allow_unicode=True)


ITEMS = {"M-1-a": (40, 40), "M-2-a": (30, 30), "M-3-a": (1, 1)}
"""Points per item (promotion, 支援): the same in both grants."""
ANSWERS = {
    E: {"M-1-a": True},
    A: {"M-1-a": True, "M-2-a": True, "M-3-a": False},
    B: {"M-1-a": True},
    C: {"M-2-a": True, "M-3-a": True},
}


def _ok(kofu: Kofu, *args: str | Path) -> str:
    code, output = kofu(*args)
    assert code == 0, output
    return output


def _json(kofu: Kofu, *args: str) -> Any:
    return json.loads(_ok(kofu, *args, "--format", "json"))


def record_world(kofu: Kofu, folder: Path) -> None:
    """Load, answer, allocate the reference phase, correct A, allocate expected."""
    texts = {
        "prefectures.csv": PREFECTURES_CSV,
        "municipalities.csv": MUNICIPALITIES_CSV,
        "insured.csv": INSURED_CSV,
        "worked_pooled_share.yaml": POOLED_RULE_YAML,
        "catalogue.yaml": catalogue_yaml(TIER, ITEMS, used_by=THIS),
        "programme.yaml": programme_yaml(),
    }
    files: list[str | Path] = []
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
        files.append(folder / name)
    files.insert(3, data_dir() / "rules" / "banded_score_x_insured_share@1.yaml")
    clock = SimulatedClock(datetime(2019, 9, 30, 10, tzinfo=JST))
    with ledger_clock.installed(clock):
        _ok(kofu, "load", *files)
        clock.set_day(date(2019, 10, 10))
        for entity, answers in ANSWERS.items():
            body = {
                "entity": entity,
                "grant_year": int(YEAR),
                "tier": TIER,
                "answers": answers,
            }
            path = folder / f"answers-{entity}.json"
            path.write_text(json.dumps(body), encoding="utf-8")
            _ok(kofu, "submit", path)
        clock.set_day(PHASE_DAYS["reference"])
        _ok(kofu, "allocate", "--fiscal-year", YEAR, "--phase", "reference")
        clock.set_day(date(2019, 12, 2))
        _ok(
            kofu,
            "correct",
            "--entity",
            A,
            "--fiscal-year",
            YEAR,
            "--item",
            "M-3-a",
            "--value",
            "true",
            "--reason",
            "根拠資料により該当を確認",
            "--basis",
            "検証用事務連絡第1号",
            "--actor",
            "ministry:yamada",
        )
        clock.set_day(PHASE_DAYS["expected"])
        _ok(kofu, "allocate", "--fiscal-year", YEAR, "--phase", "expected")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def worked(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Kofu]:
    """The worked world on each backend, recorded once per module."""
    folder = tmp_path_factory.mktemp("formula-kinds")
    with backend_url(request.param, folder, "kofu_kinds") as url:
        kofu = Kofu(url)
        record_world(kofu, folder)
        yield kofu


def _amounts_of(kofu: Kofu, grant: str, phase: str) -> dict[str, int]:
    rows = _json(
        kofu,
        "allocations",
        "--fiscal-year",
        YEAR,
        "--grant",
        grant,
        "--tier",
        TIER,
        "--phase",
        phase,
    )
    return {r["entity"]: r["amount_yen"] for r in rows}


def _explain(kofu: Kofu, grant: str, phase: str) -> Any:
    return _json(
        kofu, "explain", "-e", A, "-y", YEAR, "--grant", grant, "--phase", phase
    )


PARTS = (
    "budget_yen",
    "insured_yen",
    "own_score_yen",
    "others_yen",
    "rounding_caps_eligibility_yen",
)


@pytest.mark.parametrize("kind", sorted(FORMULAS))
def test_every_registered_formula_kind_agrees_across_the_tools(
    worked: Kofu, kind: str
) -> None:
    case = CASES.get(kind)
    if case is None:
        pytest.fail(f"formula kind {kind!r} has no worked case in CASES: add one")
    kofu = worked
    run_a = f"FY{YEAR}-{case.grant}-{TIER}-reference-1"
    run_b = f"FY{YEAR}-{case.grant}-{TIER}-expected-1"

    # allocate: the recorded amounts are the hand-computed ones, under this kind.
    before = _amounts_of(kofu, case.grant, "reference")
    after = _amounts_of(kofu, case.grant, "expected")
    assert before[A] == case.amount_a
    assert after[A] == case.amount_b
    assert set(before) == set(after) == {E, A, B, C}

    # explain: the formula in words, with the same draft and amount.
    found = _explain(kofu, case.grant, "reference")
    assert found["run_id"] == run_a
    assert found["rule"] == case.rule
    assert found["formula"] == case.formula_a
    assert found["draft_yen"] == found["amount_yen"] == case.amount_a
    later = _explain(kofu, case.grant, "expected")
    assert f" = {case.amount_b:,} yen (unrounded " in later["formula"]
    assert later["draft_yen"] == later["amount_yen"] == case.amount_b
    assert later["score"] == found["score"] + 1

    # sensitivity: one more point of A's score is worth this much, exactly rounded.
    sensitivity = _json(kofu, "sensitivity", run_a, "--threshold", "0")
    per_point = {r["entity"]: r["yen_per_point"] for r in sensitivity["entities"]}
    assert per_point[A] == case.yen_per_point

    # diff: the one-point correction moved A's share by the yen per point, to the yen.
    rows = {r["entity"]: r for r in _json(kofu, "diff", run_a, run_b)}
    own = rows[A]
    assert own["change_yen"] == case.amount_b - case.amount_a
    assert own["own_score_yen"] == per_point[A]
    assert own["budget_yen"] == own["insured_yen"] == own["others_yen"] == 0
    assert sum(own[p] for p in PARTS) == own["change_yen"]
    assert "Corrected" in own["own_events"]
    for entity, moved in case.others.items():
        if moved == 0 and before[entity] == after[entity]:
            assert entity not in rows
            continue
        row = rows[entity]
        assert row["others_yen"] == moved
        assert row["own_score_yen"] == 0
        assert row["change_yen"] == after[entity] - before[entity]
        assert sum(row[p] for p in PARTS) == row["change_yen"]

    # what-if: the expected run without the correction is the reference run again.
    trail = _json(kofu, "audit", "--entity", A, "--fiscal-year", YEAR)
    corrected = next(t for t in trail if t["event"] == "SelfEvaluation.Corrected")
    events = kofu.events()
    what_if = _json(
        kofu, "what-if", run_b, "--without-correction", str(corrected["position"])
    )
    assert kofu.events() == events
    assert what_if["what_if"]["allocated_yen"] == sum(before.values())
    undone = {r["entity"]: r for r in what_if["diff"]}
    assert {e for e in before if before[e] != after[e]} <= set(undone)
    for entity, row in undone.items():
        assert row["amount_a_yen"] == after[entity]
        assert row["amount_b_yen"] == before[entity]
    assert undone[A]["own_score_yen"] == -per_point[A]

    # what-if under another kind's rule: the grants' inputs are the same (budgets,
    # points, all eligible), so the run becomes that kind's run, yen for yen.
    for other in (c for k, c in CASES.items() if k != kind):
        swapped = _json(kofu, "what-if", run_a, "--rule", other.rule)
        moved = {r["entity"]: r["amount_b_yen"] for r in swapped["diff"]}
        as_other = {e: moved.get(e, amount) for e, amount in before.items()}
        assert as_other == _amounts_of(kofu, other.grant, "reference")
        assert as_other != before


def test_every_case_is_of_a_registered_kind() -> None:
    assert set(CASES) <= set(FORMULAS)


def test_a_kind_without_a_formula_is_refused_by_name() -> None:
    """What every tool meets first: `formula_for` names the unknown kind and field."""
    rule = load_rule("prefecture_by_score@1").model_copy(update={"kind": "nonesuch"})
    for attempt in (lambda: formula_for(rule), lambda: allocate(rule, 1_000, [], (0,))):
        with pytest.raises(InvalidInput) as refused:
            attempt()
        assert refused.value.field == "rule"
        assert "no allocation formula for kind 'nonesuch'" in str(refused.value)
