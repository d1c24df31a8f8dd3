"""The README's main job: `kofu demo` records a whole synthetic year, once."""

from __future__ import annotations

import json

from tests.conftest import Kofu


def test_demo_records_a_national_year_and_a_rerun_records_nothing(kofu: Kofu) -> None:
    code, output = kofu("demo", "--fiscal-year", "2020", "--seed", "1")
    assert code == 0, output
    assert "SYNTHETIC" in output
    events = kofu.events()
    assert events > 15_000
    code, output = kofu("submissions", "--fiscal-year", "2020", "--format", "json")
    rows = json.loads(output)
    assert len(rows) == 1741 + 47
    statuses = {r["status"] for r in rows}
    assert {"submitted", "confirmed", "corrected"} <= statuses
    code, output = kofu("insurers", "--format", "json")
    insurers = json.loads(output)
    assert len(insurers) == 1571
    assert sum(i["synthetic"] for i in insurers) == 35
    code, output = kofu("demo", "--fiscal-year", "2020", "--seed", "1")
    assert code == 0, output
    assert kofu.events() == events


def test_demo_refuses_a_year_that_is_not_shipped(kofu: Kofu) -> None:
    code, output = kofu("demo", "--fiscal-year", "2031")
    assert code == 2
    assert (
        "no shipped programme and catalogues for FY2031; shipped: 2020, 2024" in output
    )
    assert kofu.events() == 0
