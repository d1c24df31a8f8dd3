"""How the web pages show amounts, years and the band chart (pure functions)."""

from __future__ import annotations

import pytest

from adapters.web.chart import BAR_SPACE, bar_chart
from adapters.web.formatting import sen, year_label, yen
from adapters.web.overview import band_labels, by_band


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (1_234_000, "1,234"),
        (1_234_567, "1,234.567"),
        (999, "0.999"),
        (-2_081_000, "-2,081"),
        (0, "0"),
        (None, "—"),
    ],
)
def test_thousand_yen_keeps_every_yen(amount: int | None, shown: str) -> None:
    assert sen(amount) == shown


def test_yen_has_separators() -> None:
    assert yen(18_954_789_000) == "18,954,789,000 円"


@pytest.mark.parametrize(
    ("year", "shown"),
    [
        (2018, "平成30年度 (FY2018)"),
        (2019, "令和元年度 (FY2019)"),
        (2020, "令和2年度 (FY2020)"),
        (2024, "令和6年度 (FY2024)"),
    ],
)
def test_years_are_shown_in_wareki_with_the_western_year(year: int, shown: str) -> None:
    assert year_label(year) == shown


def test_bars_are_integer_pixels_proportional_to_the_amounts() -> None:
    chart = bar_chart("t", [("a", 12_000_421_000), ("b", 199_080_000), ("c", 0)])
    lengths = [bar.length for bar in chart.bars]
    assert lengths == [BAR_SPACE, 199_080_000 * BAR_SPACE // 12_000_421_000, 0]
    assert all(isinstance(length, int) for length in lengths)
    assert [bar.y for bar in chart.bars] == sorted({bar.y for bar in chart.bars})


def test_an_empty_chart_has_no_bars() -> None:
    assert bar_chart("t", []).bars == ()
    assert bar_chart("t", [("a", 0)]).bars[0].length == 0


def test_band_labels_follow_the_years_lower_bounds() -> None:
    assert band_labels((0, 3000, 10000)) == {
        1: "区分1: 0〜2,999人",
        2: "区分2: 3,000〜9,999人",
        3: "区分3: 10,000人以上",
    }


def test_band_totals_add_up_the_entities_of_each_band() -> None:
    rows = [
        {"size_band": 2, "amount_yen": 5000, "category1_insured": 4000},
        {"size_band": 1, "amount_yen": 0, "category1_insured": 100},
        {"size_band": 2, "amount_yen": 7000, "category1_insured": 6000},
    ]
    found = by_band(rows, {1: "one", 2: "two"})
    assert found == [
        {
            "band": 1,
            "label": "one",
            "entities": 1,
            "paid": 0,
            "insured": 100,
            "amount_yen": 0,
        },
        {
            "band": 2,
            "label": "two",
            "entities": 2,
            "paid": 2,
            "insured": 10000,
            "amount_yen": 12000,
        },
    ]
