"""A small world for the money chain (issue 17), with runs whose amounts are given.

One prefecture (東京都) and three municipalities: 日の出町 is its own insurer
(133058); 檜原村 and 奥多摩町 form a union (139907, synthetic). Every shipped rule
is loaded, with the FY2020 programme. The provisional (内示) and decision runs are
recorded directly with the amounts below (the allocation itself is tested
elsewhere); the chain reads them as it reads any run.

    entity          insurer   promotion            effort_support
                              provisional decision provisional decision
    133051 日の出町  133058    1,000,000  1,000,000   600,000   600,000
    133078 檜原村    139907      300,000    300,000   200,000   200,000
    133086 奥多摩町  139907      500,000    480,000   250,000   250,000
    130001 東京都   (prefectural tier)
                              2,000,000  2,000,000 1,000,000 1,000,000

So the union's provisional promotion amount is 300,000 + 500,000 = 800,000 and its
decision-run amount 300,000 + 480,000 = 780,000.
"""

from __future__ import annotations

from pathlib import Path

from adapters.inputs.paths import data_dir
from adapters.storage.bootstrap import open_ledger
from domain.allocation_run import (
    AllocationRun,
    EntityResult,
    PhaseRuns,
    RunInputs,
    RunTotals,
)
from domain.rule import RuleSpec
from tests.conftest import Kofu

TOKYO = "130001"
HINODE, HINOHARA, OKUTAMA = "133051", "133078", "133086"
HINODE_INSURER, UNION = "133058", "139907"

PREFECTURES_CSV = """\
prefecture_code,lg_code,name,name_kana,name_en
13,130001,東京都,とうきょうと,Tokyo
"""
MUNICIPALITIES_CSV = """\
prefecture_code,jis_code,lg_code,name,name_kana
13,13305,133051,日の出町,ひのでまち
13,13307,133078,檜原村,ひのはらむら
13,13308,133086,奥多摩町,おくたままち
"""
INSURERS_YAML = """\
kind: insurers
insurers:
  - {insurer_number: "133058", kind: single, name: 日の出町, prefecture_code: "13",
     members: [{lg_code: "133051", valid_from: 2000-04-01}]}
  - {insurer_number: "139907", kind: wide_area_union, name: 西多摩介護保険組合（架空）,
     prefecture_code: "13", synthetic: true,
     members: [{lg_code: "133078", valid_from: 2000-04-01},
               {lg_code: "133086", valid_from: 2000-04-01}]}
"""

AMOUNTS = {
    # (grant, tier): {entity: (insurer, provisional, decision)}
    ("promotion", "municipal"): {
        HINODE: (HINODE_INSURER, 1_000_000, 1_000_000),
        HINOHARA: (UNION, 300_000, 300_000),
        OKUTAMA: (UNION, 500_000, 480_000),
    },
    ("effort_support", "municipal"): {
        HINODE: (HINODE_INSURER, 600_000, 600_000),
        HINOHARA: (UNION, 200_000, 200_000),
        OKUTAMA: (UNION, 250_000, 250_000),
    },
    ("promotion", "prefectural"): {TOKYO: (None, 2_000_000, 2_000_000)},
    ("effort_support", "prefectural"): {TOKYO: (None, 1_000_000, 1_000_000)},
}


def load_money_world(kofu: Kofu, folder: Path) -> None:
    """Load the world and every shipped rule, then record the runs."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name, text in (
        ("prefectures.csv", PREFECTURES_CSV),
        ("municipalities.csv", MUNICIPALITIES_CSV),
        ("insurers.yaml", INSURERS_YAML),
    ):
        (folder / name).write_text(text, encoding="utf-8")
        files.append(folder / name)
    files += sorted((data_dir() / "rules").glob("*.yaml"))
    files.append(data_dir() / "programmes" / "fy2020.yaml")
    code, output = kofu("load", *files)
    assert code == 0, output
    record_runs(kofu.url)


def record_runs(url: str) -> None:
    """The provisional and decision runs of FY2020, with the amounts above."""
    ledger = open_ledger(url)
    try:
        rule = ledger.rule("banded_score_x_insured_share@1")
        for (grant, tier), lines in AMOUNTS.items():
            for index, phase in ((0, "provisional"), (1, "decision")):
                run_id = f"FY2020-{grant}-{tier}-{phase}-1"
                results = tuple(
                    _line(entity, insurer, (provisional, decision)[index])
                    for entity, (insurer, provisional, decision) in lines.items()
                )
                run = _run(run_id, grant, tier, phase, rule, results)
                phase_runs = PhaseRuns.open(2020, grant, tier, phase)
                position = ledger.recorder.max_notification_id() or 0
                phase_runs.add(run_id, position, "ministry:test")
                ledger.save(run, phase_runs)
    finally:
        ledger.close()


def _line(entity: str, insurer: str | None, amount: int) -> EntityResult:
    return EntityResult(
        entity=entity,
        name=entity,
        insurer_number=insurer,
        score=1,
        max_score=1,
        evaluation_version=1,
        insured=1,
        insured_as_of=None,
        size_band=None,
        eligible=True,
        share_numerator=1,
        share_denominator=1,
        pool_budget_yen=amount,
        draft_yen=amount,
        amount_yen=amount,
        rank_in_tier=1,
    )


def _run(
    run_id: str,
    grant: str,
    tier: str,
    phase: str,
    rule: RuleSpec,
    results: tuple[EntityResult, ...],
) -> AllocationRun:
    total = sum(r.amount_yen for r in results)
    return AllocationRun.record(
        run_id=run_id,
        grant_year=2020,
        grant=grant,
        tier=tier,
        phase=phase,
        sequence=1,
        supersedes=None,
        hypothesis=True,
        label="money-chain test run: amounts given (not calculated)",
        rule=rule,
        inputs=RunInputs(
            ledger_position=0,
            catalogue_version=1,
            rule_id=rule.id,
            rule_status=rule.status,
            parameters_sha256="0" * 64,
            insured_sha256="0" * 64,
            insured_as_of=(),
            budget_yen=total,
            size_bands=(0,),
        ),
        totals=RunTotals(
            allocated_yen=total, remainder_yen=0, capped_off_yen=0, redistributed_yen=0
        ),
        results=results,
        actor="ministry:test",
    )
