"""The examples in docs/FORMATS.md load as documented, on both backends."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Kofu

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_documented_examples_load_and_submit(world: Kofu) -> None:
    code, output = world(
        "load",
        EXAMPLES / "insured.csv",
        EXAMPLES / "insurers.yaml",
        EXAMPLES / "expenditure.csv",
        EXAMPLES / "required.csv",
    )
    assert code == 0, output
    assert "insured counts (2)" in output
    assert "insurers (1)" in output
    assert "spending records (4): 4 events" in output
    assert "required amounts (4): 4 events" in output
    code, output = world("submit", EXAMPLES / "answers.json", EXAMPLES / "answers.csv")
    assert code == 0, output
    assert "3 self-evaluations" in output
    code, output = world("submissions", "--fiscal-year", "2020", "--format", "json")
    rows = {r["entity"]: r for r in json.loads(output)}
    assert rows["131041"]["answered"] == 5
    assert rows["141003"]["answered"] == 3
    assert rows["130001"]["tier"] == "prefectural"
    code, output = world(
        "entities", "--fiscal-year", "2020", "--prefecture", "14", "--format", "json"
    )
    yokohama = next(r for r in json.loads(output) if r["entity"] == "141003")
    assert yokohama["category1_insured"] == 927412
    assert yokohama["size_band"] == 5
