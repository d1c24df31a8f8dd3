"""FY2019 allocated with the confirmed formula, on the shipped programme and catalogue.

`kofu load` records Tokyo and four of its municipalities (each its own insurer),
their FY2019 第1号被保険者数 (test figures), the shipped rules, the shipped FY2019
programme (推進 only: 市町村分 19,000,000,000 yen, 都道府県分 1,000,000,000 yen; no 支援)
and the shipped FY2019 catalogues. The four answer checkboxes of the shipped
municipal catalogue inside the FY2019 window; the 参考値 is allocated on its day with
`score_x_insured_share@1` [CONFIRMED]: one nationwide pool (no size bands),

    amount = floor(budget × s·n / Σ s·n / 1,000) × 1,000 yen

(s the total promotion score, n the 第1号被保険者数; the floor to 1,000 yen is the
rule's hypothesis, the rest is the published formula). Worked out by hand:

    entity           checked items (promotion points)            s      n        s·n
    甲 千代田区 131016 I-1-a 20, I-5-a 20, II-1-a 40, II-3-a 40,  160   10,000   1,600,000
                     II-15-a 40
    乙 中央区  131024 I-1-a 20, I-5-a 20, I-6-a 20 (ア), II-1-a 40 100   20,000   2,000,000
    丙 港区    131032 II-1-a 40, II-2-a 40 (ア), II-3-a 40,        200   36,000   7,200,000
                     II-4-a 20, II-4-b 20, II-15-a 40
    丁 日の出町 133051 丙's six + II-5-a 20, II-5-b 20, II-6-a 20, 300    4,000   1,200,000
                     II-6-b 20, II-6-c 20
                                                                          Σ s·n = 12,000,000

    甲 19,000,000,000 × 1,600,000 / 12,000,000 = 2,533,333,333.3 → 2,533,333,000
    乙 19,000,000,000 × 2,000,000 / 12,000,000 = 3,166,666,666.6 → 3,166,666,000
    丙 19,000,000,000 × 7,200,000 / 12,000,000 = 11,400,000,000  → 11,400,000,000
    丁 19,000,000,000 × 1,200,000 / 12,000,000 = 1,900,000,000   → 1,900,000,000
    allocated 18,999,999,000; remainder 1,000.

No cap bites (indicator, section and full marks: I-6 and II-2 are best-of
alternatives, II-4 40, II-5 60, II-6 60), so s is the plain sum. Under the banded
hypothesis of FY2020 on, 丁 (4,000 insured, band 2) would sit in another pool than
the others (band 3): here all four share one, band 1 of a single band. Tokyo answers
nothing: its prefectural pool (the prefecture_by_score@1 hypothesis) has no positive
score and keeps its whole budget as remainder. There is no 支援 run.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from adapters.inputs.paths import data_dir
from domain import clock as ledger_clock
from domain.clock import JST, SimulatedClock
from domain.codes import insurer_number_for
from tests.conftest import Kofu

YEAR = "2019"
TOKYO = "130001"
MUNICIPALITIES = {
    # LG code: (JIS code, name, kana)
    "131016": ("13101", "千代田区", "ちよだく"),
    "131024": ("13102", "中央区", "ちゅうおうく"),
    "131032": ("13103", "港区", "みなとく"),
    "133051": ("13305", "日の出町", "ひのでまち"),
}
KOU, OTSU, HEI, TEI = MUNICIPALITIES
INSURED = {KOU: 10_000, OTSU: 20_000, HEI: 36_000, TEI: 4_000}
HEI_ITEMS = ("II-1-a", "II-2-a", "II-3-a", "II-4-a", "II-4-b", "II-15-a")
ANSWERS = {
    KOU: ("I-1-a", "I-5-a", "II-1-a", "II-3-a", "II-15-a"),
    OTSU: ("I-1-a", "I-5-a", "I-6-a", "II-1-a"),
    HEI: HEI_ITEMS,
    TEI: (*HEI_ITEMS, "II-5-a", "II-5-b", "II-6-a", "II-6-b", "II-6-c"),
}
SCORES = {KOU: 160, OTSU: 100, HEI: 200, TEI: 300}
AMOUNTS = {
    KOU: 2_533_333_000,
    OTSU: 3_166_666_000,
    HEI: 11_400_000_000,
    TEI: 1_900_000_000,
}
BUDGET = 19_000_000_000
PREFECTURAL_BUDGET = 1_000_000_000


def reference_files(folder: Path) -> list[Path]:
    prefectures = (
        "prefecture_code,lg_code,name,name_kana,name_en\n"
        "13,130001,東京都,とうきょうと,Tokyo\n"
    )
    municipalities = "prefecture_code,jis_code,lg_code,name,name_kana\n" + "".join(
        f"13,{jis},{lg},{name},{kana}\n"
        for lg, (jis, name, kana) in MUNICIPALITIES.items()
    )
    insurers = "kind: insurers\ninsurers:\n" + "".join(
        f'  - {{insurer_number: "{insurer_number_for(jis)}", kind: single, '
        f'name: {name}, prefecture_code: "13", '
        f'members: [{{lg_code: "{lg}", valid_from: 2000-04-01}}]}}\n'
        for lg, (jis, name, _) in MUNICIPALITIES.items()
    )
    insured = "lg_code,fiscal_year,category1_insured,source,as_of\n" + "".join(
        f'{lg},2019,"{n:,}",FY2019 golden test figure (not published),2018-09-30\n'
        for lg, n in INSURED.items()
    )
    written = []
    for name, text in (
        ("prefectures.csv", prefectures),
        ("municipalities.csv", municipalities),
        ("insurers.yaml", insurers),
        ("insured.csv", insured),
    ):
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    data = data_dir()
    return [
        *written,
        data / "rules" / "score_x_insured_share@1.yaml",
        data / "rules" / "prefecture_by_score@1.yaml",
        data / "catalogues" / "fy2019-municipal-v1.yaml",
        data / "catalogues" / "fy2019-prefectural-v1.yaml",
        data / "programmes" / "fy2019.yaml",
    ]


def ok(kofu: Kofu, *args: str | Path) -> str:
    code, output = kofu(*args)
    assert code == 0, output
    return output


def as_json(kofu: Kofu, *args: str) -> Any:
    return json.loads(ok(kofu, *args, "--format", "json"))


def test_fy2019_is_allocated_nationwide_by_score_times_insured(
    kofu: Kofu, tmp_path: Path
) -> None:
    clock = SimulatedClock(datetime(2018, 9, 28, 9, tzinfo=JST))
    with ledger_clock.installed(clock):
        ok(kofu, "load", *reference_files(tmp_path))
        clock.set_day(date(2018, 10, 10))  # inside the FY2019 window
        for entity, items in ANSWERS.items():
            path = tmp_path / f"answers-{entity}.json"
            body = {
                "entity": entity,
                "grant_year": int(YEAR),
                "tier": "municipal",
                "answers": dict.fromkeys(items, True),
            }
            path.write_text(json.dumps(body), encoding="utf-8")
            ok(kofu, "submit", path)
        clock.set_day(date(2018, 11, 30))  # the FY2019 参考値 day
        ok(kofu, "allocate", "--fiscal-year", YEAR, "--phase", "reference")

        rows = as_json(kofu, "allocations", "--fiscal-year", YEAR)
        runs = as_json(kofu, "runs", "--fiscal-year", YEAR)

    municipal = {r["entity"]: r for r in rows if r["tier"] == "municipal"}
    assert {r["grant"] for r in rows} == {"promotion"}
    assert {e: r["score"] for e, r in municipal.items()} == SCORES
    assert {e: r["category1_insured"] for e, r in municipal.items()} == INSURED
    assert {e: r["amount_yen"] for e, r in municipal.items()} == AMOUNTS
    assert {r["size_band"] for r in municipal.values()} == {1}
    assert {r["rule_status"] for r in municipal.values()} == {"confirmed"}
    assert not any(r["hypothesis"] for r in municipal.values())
    assert [
        r["rank_in_tier"] for r in sorted(municipal.values(), key=lambda r: -r["score"])
    ] == [1, 2, 3, 4]

    summary = {r["run_id"]: r for r in runs}
    assert sorted(summary) == [
        "FY2019-promotion-municipal-reference-1",
        "FY2019-promotion-prefectural-reference-1",
    ]
    pooled = summary["FY2019-promotion-municipal-reference-1"]
    assert (pooled["budget_yen"], pooled["allocated_yen"], pooled["remainder_yen"]) == (
        BUDGET,
        sum(AMOUNTS.values()),
        1_000,
    )
    assert sum(AMOUNTS.values()) == 18_999_999_000
    assert pooled["hypothesis"] is False
    prefectural = summary["FY2019-promotion-prefectural-reference-1"]
    assert (prefectural["allocated_yen"], prefectural["remainder_yen"]) == (
        0,
        PREFECTURAL_BUDGET,
    )
    assert prefectural["hypothesis"] is True
