"""Spending (事業費) and required amounts (所要見込額): files and synthetic data.

File parsing uses `adapters.inputs.files.load_files` directly (no database); the synthetic
facts come from `adapters.demo.synthetic.synthesise_finances` on the national dataset.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from adapters.demo.synthetic import (
    SYNTHETIC,
    Finances,
    synthesise_finances,
    synthesise_nation,
)
from adapters.inputs.files import Loaded, load_files
from adapters.inputs.paths import data_dir
from adapters.inputs.rule_files import load_rule
from domain.eligibility import EligibilityInput, determine_eligibility
from domain.errors import InvalidInput

EXAMPLES = Path(__file__).parents[2] / "examples"
SEED = 1
GRANT_YEAR = 2024
BASE_YEAR = GRANT_YEAR - 1
GRANTS = ("promotion", "effort_support")
CATEGORIES = ("comprehensive_program", "comprehensive_support_enhanced")
SHINJUKU = "131041"
YOKOHAMA = "141003"

EXPENDITURE_HEADER = "lg_code,fiscal_year,category,spending_yen,source,as_of"
REQUIRED_HEADER = "lg_code,grant_year,grant,required_yen,source,declared_on"


def _write(folder: Path, name: str, *lines: str) -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _spending_row(
    lg_code: str = SHINJUKU,
    year: str = "2020",
    category: str = "comprehensive_program",
    amount: str = "1000",
    as_of: str = "2019-10-01",
) -> str:
    return f"{lg_code},{year},{category},{amount},synthetic test,{as_of}"


def _required_row(
    lg_code: str = SHINJUKU, grant: str = "promotion", amount: str = "500000"
) -> str:
    return f"{lg_code},2020,{grant},{amount},synthetic test,2019-12-10"


# ------------------------------------------------------------------ files


def test_a_spending_file_combines_the_categories_of_an_entity_and_year(tmp_path):
    path = _write(
        tmp_path,
        "spending.csv",
        EXPENDITURE_HEADER,
        _spending_row(category="comprehensive_program", amount='"1,234,000"'),
        _spending_row(YOKOHAMA, amount="9000000"),
        _spending_row(category="comprehensive_support_enhanced", amount="56000"),
        _spending_row(year="2019", amount="0", as_of="2019-03-31"),
    )
    loaded = load_files([path])
    assert [(lg, e.fiscal_year) for lg, e in loaded.expenditures] == [
        (SHINJUKU, 2020),
        (YOKOHAMA, 2020),
        (SHINJUKU, 2019),
    ]
    shinjuku = loaded.expenditures[0][1]
    assert shinjuku.spending_yen == {
        "comprehensive_program": 1_234_000,
        "comprehensive_support_enhanced": 56_000,
    }
    assert shinjuku.as_of == date(2019, 10, 1)
    assert shinjuku.source == "synthetic test"
    assert loaded.expenditures[2][1].spending_yen == {"comprehensive_program": 0}
    assert loaded.origins[id(shinjuku)] == f"{path}:2-4"
    assert loaded.origins[id(loaded.expenditures[1][1])] == f"{path}:3"
    assert loaded.count() == 3


def test_a_required_amount_file_gives_one_declaration_per_row(tmp_path):
    path = _write(
        tmp_path,
        "required.csv",
        REQUIRED_HEADER,
        _required_row(amount='"1,200,000"'),
        _required_row(grant="effort_support", amount="0"),
        _required_row(YOKOHAMA),
    )
    loaded = load_files([path])
    assert [(lg, r.grant, r.required_yen) for lg, r in loaded.required] == [
        (SHINJUKU, "promotion", 1_200_000),
        (SHINJUKU, "effort_support", 0),
        (YOKOHAMA, "promotion", 500_000),
    ]
    first = loaded.required[0][1]
    assert first.grant_year == 2020
    assert first.declared_on == date(2019, 12, 10)
    assert loaded.origins[id(first)] == f"{path}:2"
    assert loaded.count() == 3


def test_the_examples_read_with_every_category_and_grant_for_both_entities():
    loaded = load_files([EXAMPLES / "expenditure.csv", EXAMPLES / "required.csv"])
    assert {(lg, e.fiscal_year) for lg, e in loaded.expenditures} == {
        (lg, year) for lg in (SHINJUKU, YOKOHAMA) for year in (2019, 2020)
    }
    for _, expenditure in loaded.expenditures:
        assert set(expenditure.spending_yen) == set(CATEGORIES)
        assert "synthetic example" in expenditure.source
    assert {(lg, r.grant) for lg, r in loaded.required} == {
        (lg, grant) for lg in (SHINJUKU, YOKOHAMA) for grant in GRANTS
    }
    assert all("synthetic example" in r.source for _, r in loaded.required)


def test_other_files_keep_their_lists_of_spending_and_required_amounts_empty():
    loaded = load_files([EXAMPLES / "insured.csv"])
    assert loaded.expenditures == []
    assert loaded.required == []
    assert loaded.count() == 2
    assert isinstance(loaded, Loaded)


SPENDING_CASES = {
    "negative spending": (_spending_row(amount="-5"), "spending_yen must be a whole"),
    "fractional spending": (_spending_row(amount="1000.5"), "whole number"),
    "float-looking spending": (_spending_row(amount="1000.0"), "whole number"),
    "non-number spending": (_spending_row(amount="lots"), "whole number"),
    "empty spending": (_spending_row(amount=""), "whole number"),
    "full-width digits": (_spending_row(amount="１０００"), "whole number"),
    "misplaced comma": (_spending_row(amount='"1,00"'), "whole number"),
    "bad category": (_spending_row(category="Prevention!"), "spending_yen"),
    "bad year": (_spending_row(year="1999"), "fiscal_year"),
    "bad date": (_spending_row(as_of="2019-02-30"), "as_of"),
    "bad LG check digit": (_spending_row(lg_code="131040"), "lg_code"),
}


@pytest.mark.parametrize("case", SPENDING_CASES, ids=list(SPENDING_CASES))
def test_a_bad_spending_row_is_refused_naming_its_file_and_line(tmp_path, case):
    row, message = SPENDING_CASES[case]
    path = _write(
        tmp_path, "spending.csv", EXPENDITURE_HEADER, _spending_row(YOKOHAMA), row
    )
    with pytest.raises(InvalidInput) as caught:
        load_files([path])
    assert caught.value.field == f"{path}:3"
    assert message in caught.value.message


def test_a_category_named_twice_for_an_entity_and_year_is_refused_at_the_second_line(
    tmp_path,
):
    path = _write(
        tmp_path,
        "spending.csv",
        EXPENDITURE_HEADER,
        _spending_row(),
        _spending_row(category="comprehensive_support_enhanced"),
        _spending_row(year="2019", as_of="2019-03-31"),
        _spending_row(amount="2000"),
    )
    with pytest.raises(InvalidInput) as caught:
        load_files([path])
    assert caught.value.field == f"{path}:5"
    assert "comprehensive_program twice" in caught.value.message
    assert "line 2" in caught.value.message


def test_one_entity_and_year_with_two_dates_is_refused_rather_than_split(tmp_path):
    path = _write(
        tmp_path,
        "spending.csv",
        EXPENDITURE_HEADER,
        _spending_row(),
        _spending_row(category="comprehensive_support_enhanced", as_of="2019-11-01"),
    )
    with pytest.raises(InvalidInput) as caught:
        load_files([path])
    assert caught.value.field == f"{path}:3"
    assert "one record per entity and fiscal year" in caught.value.message


REQUIRED_CASES = {
    "unknown grant": (_required_row(grant="bonus"), "grant"),
    "negative amount": (_required_row(amount="-1000"), "required_yen must be a whole"),
    "float amount": (_required_row(amount="1000.0"), "whole number"),
    "non-number amount": (_required_row(amount="n/a"), "whole number"),
    "bad LG check digit": (_required_row(lg_code="141000"), "lg_code"),
    "declared twice": (_required_row(YOKOHAMA), "declared twice (first: line 2)"),
}


@pytest.mark.parametrize("case", REQUIRED_CASES, ids=list(REQUIRED_CASES))
def test_a_bad_required_amount_row_is_refused_naming_its_file_and_line(tmp_path, case):
    row, message = REQUIRED_CASES[case]
    path = _write(
        tmp_path, "required.csv", REQUIRED_HEADER, _required_row(YOKOHAMA), row
    )
    with pytest.raises(InvalidInput) as caught:
        load_files([path])
    assert caught.value.field == f"{path}:3"
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("lg_code,fiscal_year,category,source,as_of", "spending_yen"),
        ("lg_code,fiscal_year,spending_yen,source,as_of", "category"),
        ("lg_code,grant_year,required_yen,source,declared_on", "grant"),
        ("lg_code,grant_year,grant,required_yen,source", "declared_on"),
    ],
)
def test_a_missing_column_is_refused_at_the_header_naming_the_column(
    tmp_path, header, missing
):
    path = _write(tmp_path, "partial.csv", header, ",".join(["x"] * 5))
    with pytest.raises(InvalidInput) as caught:
        load_files([path])
    assert caught.value.field == f"{path}:1"
    assert "unknown CSV layout" in caught.value.message
    assert caught.value.message.endswith(f"also needs {missing}")


# ------------------------------------------------------------------ synthetic


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
def insured(reference: Loaded) -> dict[int, dict[str, int]]:
    nation = synthesise_nation(
        reference.entities, reference.wards, [BASE_YEAR, GRANT_YEAR], SEED
    )
    by_year: dict[int, dict[str, int]] = {}
    for lg_code, count in nation.insured:
        by_year.setdefault(count.fiscal_year, {})[lg_code] = count.count
    return by_year


def _finances(reference: Loaded, insured: dict[int, dict[str, int]], seed: int):
    return synthesise_finances(
        reference.entities, insured, GRANT_YEAR, GRANTS, CATEGORIES, seed
    )


@pytest.fixture(scope="module")
def finances(reference: Loaded, insured: dict[int, dict[str, int]]) -> Finances:
    return _finances(reference, insured, SEED)


def _totals(finances: Finances) -> dict[tuple[str, int], int]:
    return {
        (lg, e.fiscal_year): sum(e.spending_yen.values())
        for lg, e in finances.expenditures
    }


def test_same_seed_gives_the_same_finances_and_another_seed_differs(
    reference, insured, finances
):
    assert _finances(reference, insured, SEED) == finances
    other = _finances(reference, insured, SEED + 1)
    assert _totals(other) != _totals(finances)
    assert {lg for lg, _ in other.required} != {lg for lg, _ in finances.required}


def test_every_entity_has_spending_in_both_years_in_whole_yen_by_the_given_categories(
    reference, finances
):
    keys = [(lg, e.fiscal_year) for lg, e in finances.expenditures]
    assert len(keys) == len(set(keys))
    assert set(keys) == {
        (e.lg_code, year)
        for e in reference.entities
        for year in (BASE_YEAR, GRANT_YEAR)
    }
    for _, expenditure in finances.expenditures:
        assert list(expenditure.spending_yen) == list(CATEGORIES)
        assert all(type(v) is int and v > 0 for v in expenditure.spending_yen.values())
        assert SYNTHETIC in expenditure.source
        assert expenditure.as_of < date(GRANT_YEAR - 1, 11, 1)


def test_base_year_spending_is_three_to_twelve_thousand_yen_per_insured_and_category(
    finances, insured
):
    for lg_code, expenditure in finances.expenditures:
        if expenditure.fiscal_year != BASE_YEAR:
            continue
        people = insured[BASE_YEAR][lg_code]
        for amount in expenditure.spending_yen.values():
            assert 3_000 * people - 1 <= amount <= 12_000 * people + 1


def test_about_85_percent_of_entities_spend_more_than_in_the_base_year(finances):
    totals = _totals(finances)
    entities = {lg for lg, _ in totals}
    rising = [lg for lg in entities if totals[lg, GRANT_YEAR] > totals[lg, BASE_YEAR]]
    assert 0.80 <= len(rising) / len(entities) <= 0.90


def test_some_entities_with_fewer_insured_spend_less_in_total_but_more_per_person(
    finances, insured
):
    totals = _totals(finances)
    fell = [
        lg
        for lg in insured[GRANT_YEAR]
        if insured[GRANT_YEAR][lg] < insured[BASE_YEAR][lg]
    ]
    adjusted = [
        lg
        for lg in fell
        if totals[lg, GRANT_YEAR] < totals[lg, BASE_YEAR]
        and totals[lg, GRANT_YEAR] * insured[BASE_YEAR][lg]
        > totals[lg, BASE_YEAR] * insured[GRANT_YEAR][lg]
    ]
    assert len(adjusted) >= 50
    assert len(adjusted) < len(fell)


def test_the_demographic_adjustment_changes_the_verdict_for_some_entities(
    finances, insured
):
    totals = {(lg, e.fiscal_year): e.spending_yen for lg, e in finances.expenditures}
    inputs = [
        EligibilityInput(
            entity=lg,
            year=GRANT_YEAR,
            base_year=BASE_YEAR,
            spending_yen=totals[lg, GRANT_YEAR],
            base_spending_yen=totals[lg, BASE_YEAR],
            elderly=insured[GRANT_YEAR][lg],
            base_elderly=insured[BASE_YEAR][lg],
        )
        for lg in insured[GRANT_YEAR]
    ]
    found = determine_eligibility(load_rule("effort_support_eligibility@1"), inputs)
    saved_by_adjustment = [
        d
        for d in found
        if d.adjusted and d.eligible and d.spending_yen < d.base_spending_yen
    ]
    assert len(saved_by_adjustment) >= 50
    assert 0.80 <= sum(d.eligible for d in found) / len(found) <= 0.97


def test_twenty_to_thirty_municipalities_declare_a_small_required_amount_per_grant(
    reference, finances
):
    kinds = {e.lg_code: e.kind for e in reference.entities}
    declaring = {lg for lg, _ in finances.required}
    assert 20 <= len(declaring) <= 30
    assert {kinds[lg] for lg in declaring} == {"municipality"}
    pairs = [(lg, r.grant) for lg, r in finances.required]
    assert sorted(pairs) == sorted((lg, g) for lg in declaring for g in GRANTS)
    for _, required in finances.required:
        assert 50_000 <= required.required_yen <= 3_000_000
        assert required.required_yen % 1_000 == 0
        assert required.grant_year == GRANT_YEAR
        assert SYNTHETIC in required.source


def test_required_amounts_are_declared_between_the_reference_and_expected_phases(
    finances,
):
    reference_day, expected_day = date(2023, 11, 30), date(2023, 12, 27)  # fy2024.yaml
    for _, required in finances.required:
        assert reference_day < required.declared_on < expected_day


def test_required_amounts_lie_well_below_an_even_share_of_the_budget(finances, insured):
    # FY2024 promotion municipal budget 95億円 over ≈36M insured: ≈ 265 yen a head.
    for lg, required in finances.required:
        assert required.required_yen <= max(50_000, 150 * insured[GRANT_YEAR][lg])
        assert required.required_yen < 265 * insured[GRANT_YEAR][lg] * 0.6


def test_a_missing_insured_count_or_no_category_is_an_error(reference, insured):
    partial = {BASE_YEAR: insured[BASE_YEAR]}
    with pytest.raises(ValueError, match=f"no FY{GRANT_YEAR}"):
        synthesise_finances(
            reference.entities, partial, GRANT_YEAR, GRANTS, CATEGORIES, SEED
        )
    with pytest.raises(ValueError, match="at least one category"):
        synthesise_finances(reference.entities, insured, GRANT_YEAR, GRANTS, (), SEED)


def test_a_one_prefecture_subset_still_has_a_required_amount_and_every_entity_spends(
    reference, insured
):
    entities = [e for e in reference.entities if e.prefecture_code == "14"]
    subset = synthesise_finances(
        entities, insured, GRANT_YEAR, GRANTS, CATEGORIES, SEED
    )
    assert len(subset.expenditures) == 2 * len(entities)
    assert len({lg for lg, _ in subset.required}) >= 1
