"""Identifiers: LG codes and insurer numbers, each with its own check digit."""

from __future__ import annotations

import csv

import pytest

from adapters.inputs.paths import data_dir
from domain.codes import insurer_number, insurer_number_for, lg_code
from domain.errors import InvalidInput


def test_insurer_numbers_match_the_documented_examples() -> None:
    assert insurer_number_for("12219") == "122192"
    assert insurer_number_for("07522") == "075226"


@pytest.mark.parametrize(
    "name", ["prefectures.csv", "municipalities.csv", "designated_city_wards.csv"]
)
def test_every_shipped_lg_code_passes_its_check_digit(name: str) -> None:
    with (data_dir() / "reference" / name).open(encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    assert rows
    assert all(lg_code(r["lg_code"]) == r["lg_code"] for r in rows)


def test_shipped_reference_data_has_the_published_counts() -> None:
    reference = data_dir() / "reference"
    counts = {
        name: sum(1 for _ in csv.DictReader((reference / name).open(encoding="utf-8")))
        for name in (
            "prefectures.csv",
            "municipalities.csv",
            "designated_city_wards.csv",
        )
    }
    assert counts == {
        "prefectures.csv": 47,
        "municipalities.csv": 1741,
        "designated_city_wards.csv": 175,
    }


@pytest.mark.parametrize(
    "value", ["131040", "13104", "1310411", "13104a", "１３１０４１", ""]
)
def test_a_malformed_lg_code_is_refused(value: str) -> None:
    with pytest.raises(InvalidInput):
        lg_code(value)


def test_an_lg_code_is_not_accepted_as_an_insurer_number() -> None:
    assert lg_code("131041") == "131041"
    with pytest.raises(
        InvalidInput, match="insurer number 131041 fails its check digit"
    ):
        insurer_number("131041")
    assert insurer_number(insurer_number_for("13104")) == "131045"
