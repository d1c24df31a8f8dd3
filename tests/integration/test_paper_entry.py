"""Paper submissions: the ministry keys them in; the stated date is not the record's.

The window is checked against the date the paper states; the ledger records its own
time beside it, with who keyed the answers in, why and on what basis.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from domain.clock import SimulatedClock
from tests.conftest import SHINJUKU, Kofu

PAPER = ("--reason", "郵送で期限内に到着（消印確認）", "--basis", "老認発第9号")


def _answers(folder: Path, value: str = "true") -> Path:
    path = folder / "paper.json"
    answers = {"I-1-a": value == "true", "II-12-b": "48.5"}
    record = {"entity": SHINJUKU, "grant_year": 2020, "tier": "municipal"}
    path.write_text(json.dumps(record | {"answers": answers}), encoding="utf-8")
    return path


def test_a_paper_submission_keeps_the_stated_date_beside_the_recording_time(
    world: Kofu, tmp_path: Path, clock: SimulatedClock
) -> None:
    clock.set_day(date(2019, 11, 5))  # after the window closed
    paper = _answers(tmp_path)
    code, output = world("submit", paper)
    assert code == 1
    assert "outside the FY2020 submission window" in output
    code, output = world(
        "enter-paper", paper, "--stated-on", "2019-10-30", *PAPER,
        "--actor", "ministry:yamada",
    )  # fmt: skip
    assert code == 0, output
    code, output = world(
        "history", "--entity", SHINJUKU, "--fiscal-year", "2020", "--format", "json"
    )
    events = json.loads(output)
    assert [e["event"] for e in events] == ["Opened", "Submitted", "PaperEntered"]
    submitted, entered = events[1], events[2]
    assert (submitted["actor"], submitted["received_on"]) == (
        f"insurer:{SHINJUKU}",
        "2019-10-30",
    )
    assert entered["actor"] == "ministry:yamada"
    assert entered["received_on"] == "2019-11-05"  # the ledger's day
    assert entered["reason"] == PAPER[1]
    assert entered["basis"] == PAPER[3]
    assert "stated_on=2019-10-30" in entered["details"]
    assert entered["recorded_at"].startswith("2019-11-05")
    code, output = world(
        "audit", "--entity", SHINJUKU, "--fiscal-year", "2020", "--format", "json"
    )
    assert code == 0, output
    trail = [r for r in json.loads(output) if r["event"].startswith("SelfEvaluation")]
    assert trail[-1]["event"] == "SelfEvaluation.PaperEntered"
    assert trail[-1]["actor"] == "ministry:yamada"


@pytest.mark.parametrize(
    ("stated_on", "actor", "code", "says"),
    [
        ("2019-11-01", "ministry:yamada", 1, "outside the FY2020 submission window"),
        ("2019-09-30", "ministry:yamada", 1, "outside the FY2020 submission window"),
        ("2019-11-06", "ministry:yamada", 2, "stated_on"),  # after the ledger's today
        ("2019-10-30", f"insurer:{SHINJUKU}", 1, "only ministry staff"),
        ("2019-02-30", "ministry:yamada", 2, "stated_on"),
    ],
)
def test_paper_entries_that_break_a_rule_write_nothing(
    world: Kofu,
    tmp_path: Path,
    clock: SimulatedClock,
    stated_on: str,
    actor: str,
    code: int,
    says: str,
) -> None:
    clock.set_day(date(2019, 11, 5))
    before = world.events()
    found, output = world(
        "enter-paper", _answers(tmp_path), "--stated-on", stated_on, *PAPER,
        "--actor", actor,
    )  # fmt: skip
    assert found == code, output
    assert says in output
    assert "Traceback" not in output
    assert world.events() == before
