"""The years side by side (issue 18): an entity's trajectory and the national trend.

A ledger holding two programme years (FY2020 and FY2024, Tokyo, the demo's
synthetic answers) on each backend. Each year's line must be the entity's line in
that year's run in force; each change of amount is split into parts that add up
to it, the first of them (the budget's) worked out here from the two lines; the
national means and quartiles are recomputed from the runs' results. The CLI gives
every format, the API scopes by role, the page shows the same figures.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
import uuid
from collections.abc import Iterator
from datetime import date
from fractions import Fraction

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from adapters.http.app import create_app
from adapters.inputs.tokens import issue
from adapters.kofu import Kofu as Facade
from adapters.kofu import run_demo
from adapters.queries.runs import current_runs
from adapters.queries.trajectory import _quartile, national_trend, trajectory
from adapters.storage.bootstrap import open_ledger
from domain.clock import SimulatedClock
from domain.errors import InvalidInput
from domain.ledger import Ledger
from tests.conftest import PG_BASE, SHINJUKU, Kofu, _drop_schema

PARTS = (
    "budget_yen",
    "insured_yen",
    "own_score_yen",
    "others_yen",
    "rounding_caps_eligibility_yen",
)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def two_years(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Ledger]]:
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('years') / 'kofu.db'}"
    else:
        schema = f"kofu_years_{uuid.uuid4().hex[:12]}"
        url = f"{PG_BASE.split('?')[0]}?schema={schema}"
    ledger = open_ledger(url)
    for year in (2020, 2024):  # FY2024 begins after FY2020's last event
        run_demo(ledger, year, 1, Console(quiet=True), prefectures={"13"})
    yield url, ledger
    ledger.close()
    if schema:
        _drop_schema(schema)


def test_each_year_is_the_entitys_line_in_the_run_in_force(
    two_years: tuple[str, Ledger],
) -> None:
    _, ledger = two_years
    rows = trajectory(ledger, SHINJUKU)
    assert {(r.grant_year, r.grant) for r in rows} == {
        (year, grant)
        for year in (2020, 2024)
        for grant in ("promotion", "effort_support")
    }
    for row in rows:
        (run,) = current_runs(
            ledger, row.grant_year, row.grant, "municipal", None, None
        )
        line = next(r for r in run.calculated.results if r.entity == SHINJUKU)
        assert (row.run_id, row.score, row.amount_yen, row.size_band) == (
            run.calculated.run_id,
            line.score,
            line.amount_yen,
            line.size_band,
        )
        assert row.phase == "settlement"


def test_each_change_is_split_into_parts_that_add_up_to_it(
    two_years: tuple[str, Ledger],
) -> None:
    _, ledger = two_years
    rows = trajectory(ledger, SHINJUKU)
    for grant in ("promotion", "effort_support"):
        first, second = (r for r in rows if r.grant == grant)
        assert first.change_yen is None
        assert all(getattr(first, part) is None for part in PARTS)
        assert second.change_yen == second.amount_yen - first.amount_yen
        assert sum(getattr(second, part) for part in PARTS) == second.change_yen
        # By hand: the budget part moves only the pool budget, P_a → P_b, at last
        # year's weight and denominator: round(P_b·w/W − P_a·w/W).
        a = _line(ledger, first.run_id)
        b = _line(ledger, second.run_id)
        if a.share_denominator:
            moved = Fraction(
                (b.pool_budget_yen - a.pool_budget_yen) * a.share_numerator,
                a.share_denominator,
            )
            assert second.budget_yen == round(moved)
        assert second.band_changed == (a.size_band != b.size_band)
        assert second.rule_changed is False  # both years use the banded rule


def _line(ledger: Ledger, run_id: str):  # type: ignore[no-untyped-def]
    run = ledger.run(run_id).calculated
    return next(r for r in run.results if r.entity == SHINJUKU)


def test_the_national_trend_is_the_runs_means_and_quartiles(
    two_years: tuple[str, Ledger],
) -> None:
    _, ledger = two_years
    rows = national_trend(ledger)
    assert {(r.grant_year, r.grant, r.tier) for r in rows} == {
        (y, g, t)
        for y in (2020, 2024)
        for g in ("promotion", "effort_support")
        for t in ("municipal", "prefectural")
    }
    for row in rows:
        run = ledger.run(row.run_id).calculated
        scores = [r.score for r in run.results]
        exact = Fraction(sum(scores), len(scores))
        assert Fraction(row.mean_score) == round(exact, 2) or abs(
            Fraction(row.mean_score) - exact
        ) <= Fraction(1, 200)
        assert row.allocated_yen == run.totals.allocated_yen
        assert row.budget_yen == run.inputs.budget_yen
        assert row.paid == sum(1 for r in run.results if r.amount_yen)


@pytest.mark.parametrize(
    "values", [[5], [1, 2], [3, 1, 4, 1, 5], list(range(0, 100, 7))]
)
def test_quartiles_are_the_inclusive_method_exactly(values: list[int]) -> None:
    ordered = sorted(values)
    if len(ordered) > 1:
        expected = statistics.quantiles(ordered, n=4, method="inclusive")
        for quarter, value in zip((1, 2, 3), expected, strict=True):
            assert abs(_quartile(ordered, quarter) - value) <= 0.5
    assert _quartile(ordered, 2) in range(ordered[0], ordered[-1] + 1)


def test_an_unknown_grant_or_entity_is_refused_by_name(
    two_years: tuple[str, Ledger],
) -> None:
    _, ledger = two_years
    with pytest.raises(InvalidInput) as refused:
        trajectory(ledger, SHINJUKU, "promo")
    assert refused.value.field == "--grant"
    with pytest.raises(InvalidInput):
        trajectory(ledger, "999999")


def test_the_cli_prints_every_format_and_the_api_scopes_by_role(
    two_years: tuple[str, Ledger], clock: SimulatedClock
) -> None:
    url, ledger = two_years
    kofu = Kofu(url)
    code, output = kofu("trajectory", "--entity", SHINJUKU, "--format", "json")
    assert code == 0, output
    shown = json.loads(output)
    assert [r["amount_yen"] for r in shown] == [
        r.amount_yen for r in trajectory(ledger, SHINJUKU)
    ]
    code, output = kofu("trajectory", "--entity", SHINJUKU, "--format", "csv")
    assert code == 0, output
    table = list(csv.reader(io.StringIO(output)))
    assert len(table) == len(shown) + 1
    assert len({len(line) for line in table}) == 1
    code, output = kofu("trajectory", "--entity", SHINJUKU, "--grant", "promo")
    assert code == 2
    assert "--grant" in output
    code, output = kofu("trend", "--format", "json")
    assert code == 0, output
    assert len(json.loads(output)) == len(national_trend(ledger))

    clock.set_day(date(2026, 1, 5))  # after the FY2024 demo's last event
    secrets = {
        holder: issue(ledger, role, scope, holder, "system:test").secret  # type: ignore[arg-type]
        for holder, role, scope in [
            ("own", "insurer", (SHINJUKU,)),
            ("other", "insurer", ("131016",)),
            ("press", "reader", ()),
        ]
    }
    Facade(ledger=ledger).checkpoint()  # issued directly: the writer signs
    with TestClient(create_app(url)) as client:

        def get(holder: str, path: str) -> object:
            return client.get(
                path, headers={"Authorization": f"Bearer {secrets[holder]}"}
            )

        mine = get("own", f"/api/trajectory?entity={SHINJUKU}")
        assert mine.status_code == 200, mine.text  # type: ignore[attr-defined]
        assert len(mine.json()["items"]) == len(shown)  # type: ignore[attr-defined]
        other = get("other", f"/api/trajectory?entity={SHINJUKU}")
        assert other.status_code == 403  # type: ignore[attr-defined]
        # a reader sees published runs only: none is published here
        press = get("press", f"/api/trajectory?entity={SHINJUKU}")
        assert press.json()["items"] == []  # type: ignore[attr-defined]
        assert get("press", "/api/trend").json()["items"] == []  # type: ignore[attr-defined]
