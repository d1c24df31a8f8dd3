"""The README's main job: `kofu demo` records a whole synthetic FY2020 cycle, once.

One demo per backend (module scope) serves every assertion below: the national
cycle through every phase, the correction after the expected amount that changes
the next run, the final decision, the settlement's adjustments, as-of reads. Two
more years, Tokyo only: FY2019 (the promotion grant alone, pooled with the confirmed
formula) and FY2026 (the newest) run every phase too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from adapters.inputs.keys import demo_key
from adapters.kofu import Kofu as Facade
from adapters.kofu import run_demo
from adapters.storage.bootstrap import open_ledger
from domain.bundle import BundleError, verify_bundle
from domain.clock import SimulatedClock
from domain.ledger import Ledger
from tests.conftest import PG_BASE, SIGNING_KEY, Kofu, _drop_schema
from tests.support.merkle import assert_sealed_whole
from tests.support.tamper import tamper

SHINJUKU = "131041"
INTERFACE_FIELDS = {
    "run_id",
    "fiscal_year",
    "grant",
    "tier",
    "phase",
    "entity",
    "insurer_number",
    "name",
    "score",
    "max_score",
    "category1_insured",
    "size_band",
    "eligible",
    "amount_yen",
}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Kofu, str]]:
    folder: Path = tmp_path_factory.mktemp("demo")
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'kofu.db'}"
    else:
        schema = f"kofu_demo_{abs(hash(str(folder))) % 10**8}"
        url = f"{PG_BASE.split('?')[0]}?schema={schema}"
    kofu = Kofu(url)
    code, output = kofu("demo", "--fiscal-year", "2020", "--seed", "1")
    assert code == 0, output
    yield kofu, output
    if schema:
        _drop_schema(schema)


def _allocations(kofu: Kofu, phase: str, grant: str = "promotion") -> dict[str, Any]:
    """The municipal allocations of a phase and grant, by entity."""
    rows = _json(
        kofu,
        "allocations",
        "-y",
        "2020",
        "--phase",
        phase,
        "--grant",
        grant,
        "--tier",
        "municipal",
    )
    return {str(r["entity"]): r for r in rows}


def _json(kofu: Kofu, *args: str) -> list[dict[str, object]]:
    code, output = kofu(*args, "--format", "json")
    assert code == 0, output
    return json.loads(output)


def test_a_dossier_of_the_national_year_verifies_offline(
    demo: tuple[Kofu, str], tmp_path: Path
) -> None:
    # First in this module: before any later test writes with another writer's
    # key (a checkpoint of another origin, which no consistency proof crosses).
    kofu, _ = demo
    folder = tmp_path / "dossier"
    code, output = kofu(
        "dossier", "--entity", SHINJUKU, "--fiscal-year", "2020", "--out", folder
    )
    assert code == 0, output
    code, verdict = offline("--dossier", folder)
    assert code == 0, verdict


def test_demo_says_its_data_is_synthetic_and_its_rules_hypotheses(
    demo: tuple[Kofu, str],
) -> None:
    _, output = demo
    assert "SYNTHETIC" in output
    assert "HYPOTHESIS" in output


def test_the_writer_sealed_every_event_of_the_demo(demo: tuple[Kofu, str]) -> None:
    kofu, _ = demo
    ledger = open_ledger(kofu.url)
    try:
        assert_sealed_whole(ledger, step=97)
    finally:
        ledger.close()


def test_every_municipality_and_prefecture_submitted(demo: tuple[Kofu, str]) -> None:
    kofu, _ = demo
    rows = _json(kofu, "submissions", "--fiscal-year", "2020")
    assert len(rows) == 1741 + 47
    assert {"submitted", "revised", "confirmed", "corrected"} <= {
        r["status"] for r in rows
    }
    insurers = _json(kofu, "insurers")
    assert len(insurers) == 1571
    assert sum(bool(i["synthetic"]) for i in insurers) == 35


def test_every_phase_is_run_and_totals_equal_the_budget_minus_the_remainder(
    demo: tuple[Kofu, str],
) -> None:
    kofu, _ = demo
    runs = _json(kofu, "runs", "--fiscal-year", "2020")
    assert len(runs) == 5 * 4
    for run in runs:
        assert run["allocated_yen"] + run["remainder_yen"] == run["budget_yen"]
        assert 0 <= run["remainder_yen"] < run["budget_yen"] // 100
        assert run["hypothesis"] is True
    budgets = {(r["grant"], r["tier"]): r["budget_yen"] for r in runs}
    assert budgets == {
        ("promotion", "municipal"): 19_000_000_000,
        ("promotion", "prefectural"): 1_000_000_000,
        ("effort_support", "municipal"): 19_000_000_000,
        ("effort_support", "prefectural"): 1_000_000_000,
    }
    rows = _json(kofu, "allocations", "--fiscal-year", "2020", "--phase", "decision")
    assert len(rows) == 2 * (1741 + 47)
    assert set(rows[0]) >= INTERFACE_FIELDS
    for (grant, tier), budget in budgets.items():
        paid = sum(
            r["amount_yen"] for r in rows if (r["grant"], r["tier"]) == (grant, tier)
        )
        run = next(
            r for r in runs if r["run_id"] == f"FY2020-{grant}-{tier}-decision-1"
        )
        assert paid == budget - run["remainder_yen"]
    assert all(r["amount_yen"] % 1000 == 0 for r in rows)
    ineligible = [r for r in rows if not r["eligible"]]
    assert ineligible
    assert all(
        r["grant"] == "effort_support" and r["amount_yen"] == 0 for r in ineligible
    )


def test_a_correction_after_the_expected_amount_changes_the_next_run(
    demo: tuple[Kofu, str],
) -> None:
    kofu, _ = demo
    expected = _allocations(kofu, "expected", "promotion")
    provisional = _allocations(kofu, "provisional", "promotion")
    assert expected[SHINJUKU]["score"] != provisional[SHINJUKU]["score"]
    assert expected[SHINJUKU]["amount_yen"] != provisional[SHINJUKU]["amount_yen"]
    band = expected[SHINJUKU]["size_band"]
    others_changed = [
        e
        for e, row in expected.items()
        if e != SHINJUKU
        and row["size_band"] == band
        and row["amount_yen"] != provisional[e]["amount_yen"]
    ]
    assert others_changed  # through the shares
    history = _json(kofu, "history", "--entity", SHINJUKU, "--fiscal-year", "2020")
    assert any(
        h["event"] == "Corrected" and "expected" in (h["reason"] or "") for h in history
    )


def test_the_decision_is_final_and_the_settlement_records_adjustments(
    demo: tuple[Kofu, str],
) -> None:
    kofu, _ = demo
    before = kofu.events()
    code, output = kofu("allocate", "--fiscal-year", "2020", "--phase", "decision")
    assert code == 1
    assert "is final" in output
    assert kofu.events() == before
    settlement = list(_allocations(kofu, "settlement", "promotion").values())
    decision = _allocations(kofu, "decision", "promotion")
    shinjuku = next(r for r in settlement if r["entity"] == SHINJUKU)
    assert (
        shinjuku["adjustment_yen"]
        == shinjuku["amount_yen"] - decision[SHINJUKU]["amount_yen"]
        != 0
    )
    assert shinjuku["adjustment"] in {"refund", "additional"}
    assert all(
        r["adjustment_yen"] == r["amount_yen"] - decision[r["entity"]]["amount_yen"]
        for r in settlement
    )


def test_allocations_can_be_read_as_they_stood_at_a_past_position(
    demo: tuple[Kofu, str],
) -> None:
    kofu, _ = demo
    runs = _json(kofu, "runs", "--fiscal-year", "2020")
    assert runs
    current = _json(
        kofu, "allocations", "-y", "2020", "--grant", "promotion", "--tier", "municipal"
    )
    assert {r["phase"] for r in current} == {"settlement"}
    # Positions before the first run: nothing was allocated yet.
    assert _json(kofu, "allocations", "-y", "2020", "--as-of", "1") == []
    # At the first expected run's position, that run; just before, the reference
    trail = _json(kofu, "audit", "--entity", SHINJUKU, "--fiscal-year", "2020")
    expected = next(
        t
        for t in trail
        if t["event"] == "AllocationRun.Calculated"
        and t["phase"] == "expected"
        and t["grant"] == "promotion"
    )
    at = str(expected["position"])
    before = str(expected["position"] - 1)
    chosen = ("-y", "2020", "--grant", "promotion", "--tier", "municipal")
    assert {
        r["run_id"] for r in _json(kofu, "allocations", *chosen, "--as-of", at)
    } == {expected["run_id"]}
    assert {
        r["phase"] for r in _json(kofu, "allocations", *chosen, "--as-of", before)
    } == {"reference"}
    code, output = kofu("allocations", "-y", "2020", "--as-of", "yesterday")
    assert code == 2
    assert "--as-of" in output


def test_rerunning_an_open_phase_supersedes_without_erasing(
    demo: tuple[Kofu, str], clock: SimulatedClock
) -> None:
    kofu, _ = demo
    clock.set_day(date(2021, 7, 1))  # after the demo's settlement, its last event
    code, output = kofu(
        "allocate", "--fiscal-year", "2020", "--phase", "reference", "--format", "json"
    )
    assert code == 0, output
    rerun = json.loads(output)
    assert {r["supersedes"] for r in rerun} == {
        f"FY2020-{g}-{t}-reference-1"
        for g in ("promotion", "effort_support")
        for t in ("municipal", "prefectural")
    }
    runs = {r["run_id"] for r in _json(kofu, "runs", "--fiscal-year", "2020")}
    assert "FY2020-promotion-municipal-reference-1" in runs
    assert "FY2020-promotion-municipal-reference-2" in runs


def test_a_rerun_of_the_demo_records_nothing(demo: tuple[Kofu, str]) -> None:
    kofu, _ = demo
    before = kofu.events()
    code, output = kofu("demo", "--fiscal-year", "2020", "--seed", "1")
    assert code == 0, output
    assert kofu.events() == before


def test_demo_refuses_a_year_that_is_not_shipped(kofu: Kofu) -> None:
    code, output = kofu("demo", "--fiscal-year", "2031")
    assert code == 2
    assert (
        "no shipped programme and catalogues for FY2031; shipped: 2018, 2019, 2020, "
        "2021, 2022, 2023, 2024, 2025, 2026" in " ".join(output.split())
    )
    assert kofu.events() == 0


def test_explain_shows_each_items_points_the_event_that_set_it_and_the_formula(
    demo: tuple[Kofu, str],
) -> None:
    kofu, _ = demo
    code, output = kofu(
        "explain",
        "--entity",
        SHINJUKU,
        "--fiscal-year",
        "2020",
        "--grant",
        "promotion",
        "--phase",
        "settlement",
        "--format",
        "json",
    )
    assert code == 0, output
    found = json.loads(output)
    allocation = _allocations(kofu, "settlement", "promotion")[SHINJUKU]
    assert found["amount_yen"] == allocation["amount_yen"]
    assert found["score"] == allocation["score"]
    assert f"= {allocation['draft_yen']:,} yen" in found["formula"]
    assert sum(i["points"] for i in found["items"]) >= found["score"]
    corrected = [i for i in found["items"] if i.get("set_by_event") == "Corrected"]
    assert corrected
    assert all(
        i["set_by_actor"] == "ministry:kofu-demo" and i["set_by_reason"]
        for i in corrected
    )
    assert found["hypothesis"] is True
    code, html = kofu(
        "explain",
        "--entity",
        SHINJUKU,
        "--fiscal-year",
        "2020",
        "--grant",
        "promotion",
        "--phase",
        "settlement",
        "--format",
        "html",
    )
    assert code == 0, html
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert f"{allocation['amount_yen']:,} 円" in html
    assert "令和2年度" in html


def test_diff_attributes_each_change_so_that_it_adds_up(demo: tuple[Kofu, str]) -> None:
    kofu, _ = demo
    rows = _json(
        kofu,
        "diff",
        "FY2020-promotion-municipal-expected-1",
        "FY2020-promotion-municipal-provisional-1",
    )
    assert rows
    parts = (
        "budget_yen",
        "insured_yen",
        "own_score_yen",
        "others_yen",
        "rounding_caps_eligibility_yen",
    )
    for row in rows:
        assert (
            sum(row[p] for p in parts)
            == row["change_yen"]
            == row["amount_b_yen"] - row["amount_a_yen"]
        )
        assert (
            abs(row["rounding_caps_eligibility_yen"]) < 1000 or row["own_events"] == ""
        )
    shinjuku = next(r for r in rows if r["entity"] == SHINJUKU)
    assert shinjuku["own_score_yen"] != 0
    assert "Corrected" in shinjuku["own_events"]
    others = [r for r in rows if r["entity"] != SHINJUKU and r["change_yen"]]
    assert others
    assert all(
        r["own_score_yen"] == 0 and r["own_events"] == ""
        for r in others
        if r["score_a"] == r["score_b"]
    )
    code, output = kofu(
        "diff",
        "FY2020-promotion-municipal-expected-1",
        "FY2020-effort_support-municipal-expected-1",
    )
    assert code == 2
    assert "same grant year, grant and tier" in output


def test_what_if_without_a_correction_writes_nothing_and_undoes_its_effect(
    demo: tuple[Kofu, str],
) -> None:
    kofu, _ = demo
    trail = _json(kofu, "audit", "--entity", SHINJUKU, "--fiscal-year", "2020")
    first = next(
        t
        for t in trail
        if t["event"] == "SelfEvaluation.Corrected"
        and "expected" in (t["reason"] or "")
    )
    before = kofu.events()
    code, output = kofu(
        "what-if",
        "FY2020-promotion-municipal-provisional-1",
        "--without-correction",
        str(first["position"]),
        "--format",
        "json",
    )
    assert code == 0, output
    found = json.loads(output)
    assert kofu.events() == before
    expected = _allocations(kofu, "expected", "promotion")[SHINJUKU]
    shinjuku = next(r for r in found["diff"] if r["entity"] == SHINJUKU)
    assert shinjuku["amount_b_yen"] == expected["amount_yen"]
    assert "what-if" in shinjuku["own_events"]
    code, output = kofu(
        "what-if",
        "FY2020-promotion-municipal-provisional-1",
        "--without-correction",
        "3",
    )
    assert code == 2
    assert "is not a correction" in output
    code, output = kofu(
        "what-if",
        "FY2020-promotion-municipal-expected-1",
        "--rule",
        "score_x_insured_share@1",
    )
    # outside its valid years only when asked (what-if --counterfactual)
    assert code == 2
    assert "valid FY2018–FY2019, not FY2020" in " ".join(output.split())
    assert "--counterfactual" in output


def test_sensitivity_gives_yen_per_point_and_flags_corrections_over_a_threshold(
    demo: tuple[Kofu, str],
) -> None:
    kofu, _ = demo
    code, output = kofu(
        "sensitivity",
        "FY2020-effort_support-municipal-settlement-1",
        "--threshold",
        "0",
        "--format",
        "json",
    )
    assert code == 0, output
    found = json.loads(output)
    allocations = _allocations(kofu, "settlement", "effort_support")
    for row in found["entities"]:
        if not allocations[row["entity"]]["eligible"]:
            assert row["yen_per_point"] == 0
        elif allocations[row["entity"]]["amount_yen"]:
            assert row["yen_per_point"] > 0
    assert found["flagged"]
    assert all(
        f["actor"].startswith("ministry:") and f["reason"] for f in found["flagged"]
    )
    code, output = kofu(
        "sensitivity",
        "FY2020-effort_support-municipal-settlement-1",
        "--threshold",
        "lots",
    )
    assert code == 2
    assert "--threshold" in output


def test_every_run_of_the_national_year_replays_to_its_receipt(
    demo: tuple[Kofu, str],
) -> None:
    kofu, _ = demo
    code, output = kofu("replay", "--fiscal-year", "2020", "--format", "json")
    assert code == 0, output
    rows = json.loads(output)
    assert len(rows) >= 20
    assert all(r["same"] and r["differences"] == 0 for r in rows)
    assert all(r["ledger_sha256"] == r["recorded_ledger_sha256"] for r in rows)


def test_the_audit_dossier_bundles_trail_explanations_receipts_and_a_manifest(
    demo: tuple[Kofu, str], tmp_path: Path
) -> None:
    import hashlib

    from domain.glossary import era

    kofu, _ = demo
    folder = tmp_path / "dossier"
    code, output = kofu(
        "dossier", "--entity", SHINJUKU, "--fiscal-year", "2020", "--out", folder
    )
    assert code == 0, output
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["verified"] is True
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    explanations = json.loads(
        (folder / "explanations.json").read_text(encoding="utf-8")
    )
    assert {(x["phase"], x["grant"]) for x in explanations} == {
        (p, g)
        for p in ("reference", "expected", "provisional", "decision", "settlement")
        for g in ("promotion", "effort_support")
    }
    receipts = json.loads((folder / "receipts.json").read_text(encoding="utf-8"))
    assert all(r["ledger_sha256"] and r["output_sha256"] for r in receipts)
    html = (folder / "index.html").read_text(encoding="utf-8")
    assert "令和2年度" in html
    assert "【仮説 HYPOTHESIS】" in html
    assert "新宿区" in html
    assert (era(2019), era(2020), era(2018)) == (
        "令和元年度",
        "令和2年度",
        "平成30年度",
    )


@pytest.mark.parametrize("year", [2019, 2026])
def test_the_demo_runs_a_promotion_only_year_and_the_newest_one(
    ledger: Ledger, year: int
) -> None:
    run_demo(ledger, year, 1, Console(quiet=True), prefectures={"13"})

    runs = [
        ledger.run(run_id).calculated
        for phase in ledger.phase_runs(year)
        for run_id in phase.runs
    ]
    grants = {run.grant for run in runs}
    assert grants == ({"promotion"} if year < 2020 else {"promotion", "effort_support"})
    assert {run.phase for run in runs} == {
        "reference",
        "expected",
        "provisional",
        "decision",
        "settlement",
    }
    for run in runs:
        totals = run.totals
        assert totals.allocated_yen + totals.remainder_yen == run.inputs.budget_yen
    municipal = {run.inputs.rule_id for run in runs if run.tier == "municipal"}
    assert municipal == (
        {"score_x_insured_share@1"}
        if year < 2020
        else {"banded_score_x_insured_share@1"}
    )


# ------------------------------------------------ the standalone verifier (issue 15)
# The standalone verifier agrees with `kofu verify` on the national demo year: a
# bundle of every event of the year, proved against the newest signed checkpoint,
# is accepted by kofu's check and by the standalone verifier while `kofu verify`
# says intact; so is a dossier of the year. After one stored event is changed (as
# someone with the database in hand would), `kofu verify` and both checks of a new
# bundle fail, each naming that event's position; the bundle made before still
# verifies (it proves the history as it was signed).

OFFLINE = Path(__file__).resolve().parents[2] / "scripts" / "kofu_verify_offline.py"
# The demo signs with the DEMO key; later writes in this module (a rerun phase)
# with the tests' own key (tests/conftest.py): an auditor trusts both.
KEYS = [demo_key().verifier(), SIGNING_KEY.verifier()]


def offline(*args: str | Path) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, OFFLINE, *(f"--key={k}" for k in KEYS), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return done.returncode, done.stdout + done.stderr


def every_event(url: str, path: Path) -> tuple[dict[str, object], int]:
    """A bundle of every stored event, written to `path`; and how many."""
    with Facade(url) as kofu:
        positions, start = [], 0
        while notes := kofu.ledger.recorder.select_notifications(
            start=start, limit=1000, inclusive_of_start=False
        ):
            positions += [n.id for n in notes]
            start = notes[-1].id
        bundle = kofu.prove(positions)
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return bundle, len(positions)


def test_the_offline_verifier_agrees_with_kofu_verify_on_a_national_year(
    demo: tuple[Kofu, str], tmp_path: Path
) -> None:
    # Last in this module: it changes a stored event of the shared national year.
    kofu, _ = demo
    national = kofu.url
    code, output = kofu("verify")
    assert code == 0, output
    before, count = every_event(national, tmp_path / "before.json")
    assert count > 10_000
    assert len(verify_bundle(before, KEYS).positions) == count
    code, verdict = offline(tmp_path / "before.json")
    assert code == 0, verdict
    assert f"{count} events included" in verdict

    # One stored event of 新宿区's trail changed in the database.
    trail = _json(kofu, "audit", "--entity", SHINJUKU, "--fiscal-year", "2020")
    position = int(str(trail[len(trail) // 2]["position"]))
    rewrite = (
        "UPDATE EVENTS SET state = CAST(CAST(state AS TEXT) || ' ' AS BLOB) "
        if national.startswith("sqlite")
        else "UPDATE EVENTS SET state = state || '\\x20'::bytea "
    )
    tamper(national, [rewrite + f"WHERE ID = {position}"])
    code, output = kofu("verify")
    assert code == 1, output
    assert f"position {position}" in output
    after, _ = every_event(national, tmp_path / "after.json")
    with pytest.raises(BundleError, match=f"position {position}\\)"):
        verify_bundle(after, KEYS)
    code, verdict = offline(tmp_path / "after.json")
    assert code == 1, verdict
    assert f"(position {position})" in verdict
    # The bundle made before still proves the history as it was signed.
    assert offline(tmp_path / "before.json")[0] == 0
