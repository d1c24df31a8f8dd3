"""`kofu demo --fiscal-year all`: FY2018-FY2026 on one ledger, in calendar order.

One all-years demo per backend (module scope, Tokyo only) serves the assertions:
every year runs every phase of its programme, no 支援 before FY2020, the synthetic
scores rise year over year, a union changes members between two years, and a rerun
records nothing. The refusal on a ledger that holds later events needs no demo.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest
from rich.console import Console

from adapters.kofu import run_demo
from adapters.storage.bootstrap import open_ledger
from domain.allocation_run import AllocationRun
from domain.ledger import Ledger
from tests.conftest import Kofu, backend_url

YEARS = range(2018, 2027)
TOKYO = {"13"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def nation(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ledger]:
    folder = tmp_path_factory.mktemp("years")
    with backend_url(request.param, folder, "kofu_years") as url:
        ledger = open_ledger(url)
        run_demo(ledger, "all", 1, Console(quiet=True), prefectures=TOKYO)
        yield ledger
        ledger.close()


def _runs(ledger: Ledger, year: int) -> list[AllocationRun.Calculated]:
    return [
        ledger.run(run_id).calculated
        for phase in ledger.phase_runs(year)
        if phase.current
        for run_id in phase.runs
    ]


def test_every_year_runs_every_phase_of_its_programme_and_no_support_before_2020(
    nation: Ledger,
) -> None:
    for year in YEARS:
        spec = nation.programme(year).spec
        runs = _runs(nation, year)
        budgeted = {
            (grant, tier) for grant, tiers in spec.budgets.items() for tier in tiers
        }
        assert {(r.grant, r.tier, r.phase) for r in runs} == {
            (grant, tier, phase)
            for grant, tier in budgeted
            for phase in spec.schedule.phases
        }, year
        grants = {r.grant for r in runs}
        assert ("effort_support" in grants) == (year >= 2020), year
        municipal = {r.inputs.rule_id for r in runs if r.tier == "municipal"}
        assert municipal == (
            {"score_x_insured_share@1"}
            if year < 2020
            else {"banded_score_x_insured_share@1"}
        ), year


def test_the_synthetic_national_mean_score_rises_year_over_year(
    nation: Ledger,
) -> None:
    shares = []
    for year in YEARS:
        settled = [
            r
            for r in _runs(nation, year)
            if r.phase == "settlement" and r.tier == "municipal"
        ]
        scored = sum(x.score for r in settled for x in r.results)
        full = sum(x.max_score for r in settled for x in r.results)
        shares.append(scored / full)
    assert all(a < b for a, b in pairwise(shares)), shares


def test_a_union_changes_members_between_two_years(nation: Ledger) -> None:
    def insurer_of(year: int) -> dict[str, str | None]:
        settled = next(
            r
            for r in _runs(nation, year)
            if (r.phase, r.grant, r.tier) == ("decision", "promotion", "municipal")
        )
        return {x.entity: x.insurer_number for x in settled.results}

    before, after = insurer_of(2020), insurer_of(2026)
    moved = {code for code in before if before[code] != after[code]}
    assert moved
    insurers = {i.details.insurer_number: i for i in nation.insurers()}
    kinds = set()
    for code in moved:
        old, new = insurers[str(before[code])], insurers[str(after[code])]
        assert old.details.synthetic or new.details.synthetic  # a union's change
        assert old.members_on(date(2020, 7, 31)).count(code) == 1
        assert code not in old.members_on(date(2026, 7, 31))
        assert code in new.members_on(date(2026, 7, 31))
        kinds |= {old.details.kind, new.details.kind}
    # a town left a union (now single) and towns formed a new union
    assert {"single", "partial_affairs_association"} <= kinds


def test_a_second_run_records_nothing(nation: Ledger) -> None:
    before = nation.count_events()
    run_demo(nation, "all", 1, Console(quiet=True), prefectures=TOKYO)
    assert nation.count_events() == before


def test_refused_with_nothing_written_on_a_ledger_holding_later_events(
    kofu: Kofu,
) -> None:
    reference = Path(__file__).parents[2] / "data" / "reference"
    code, output = kofu("load", reference / "prefectures.csv")  # at 2019-10-10
    assert code == 0, output
    before = kofu.events()
    code, output = kofu("demo", "--fiscal-year", "all")
    assert code == 1, output
    said = " ".join(output.split())
    assert "already holds events later than the demo of FY2018-FY2026" in said
    assert "nothing was written" in said
    assert kofu.events() == before


def test_a_year_that_is_neither_a_number_nor_all_is_refused(kofu: Kofu) -> None:
    code, output = kofu("demo", "--fiscal-year", "every")
    assert code == 2
    assert "--fiscal-year" in output
    assert "or all" in output
    assert kofu.events() == 0
