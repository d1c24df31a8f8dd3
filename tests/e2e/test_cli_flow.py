"""The must-show flow: init, load, submit, correct, and the history afterwards."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from domain import clock as ledger_clock
from domain.clock import SimulatedClock
from tests.conftest import Kofu

SHINJUKU = "131041"
YOKOHAMA = "141003"
TOKYO = "130001"


def _answers(path: Path, entity: str, day: str, **answers: object) -> Path:
    """An answer file, sent on `day`: the ledger's (simulated) clock moves there."""
    simulated = ledger_clock.current()
    assert isinstance(simulated, SimulatedClock)
    simulated.set_day(date.fromisoformat(day))
    path.write_text(
        json.dumps(
            {
                "entity": entity,
                "grant_year": 2020,
                "tier": "municipal",
                "answers": answers,
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


def test_history_shows_submission_revision_confirmation_and_correction(
    world: Kofu, tmp_path: Path, clock: SimulatedClock
) -> None:
    # Given a submission and a revision inside the window
    first = _answers(
        tmp_path / "a.json",
        SHINJUKU,
        "2019-10-10",
        **{"I-1-a": True, "II-12-b": "55.5"},
    )
    assert world("submit", first)[0] == 0
    second = _answers(
        tmp_path / "b.json", SHINJUKU, "2019-10-20", **{"I-1-a": True, "II-12-b": "70"}
    )
    assert world("submit", second)[0] == 0
    clock.set_day(date(2019, 10, 25))
    assert (
        world(
            "confirm",
            "--entity",
            SHINJUKU,
            "--fiscal-year",
            "2020",
            "--actor",
            f"prefecture:{TOKYO}",
        )[0]
        == 0
    )
    # When ministry staff correct an answer after the deadline
    clock.set_day(date(2019, 11, 15))
    code, output = world(
        "correct",
        "--entity",
        SHINJUKU,
        "--fiscal-year",
        "2020",
        "--item",
        "I-1-a",
        "--value",
        "false",
        "--reason",
        "根拠資料に記載なし",
        "--basis",
        "老認発1001第1号",
        "--actor",
        "ministry:yamada",
    )
    # Then the history holds every step, in order, with the values before and after
    assert code == 0, output
    code, output = world(
        "history", "--entity", SHINJUKU, "--fiscal-year", "2020", "--format", "json"
    )
    assert code == 0, output
    events = json.loads(output)
    assert [e["event"] for e in events] == [
        "Opened",
        "Submitted",
        "Revised",
        "Confirmed",
        "Corrected",
    ]
    assert events[2]["details"] == "II-12-b: 55.5 → 70"
    assert events[4]["details"] == "I-1-a: true → false"
    assert events[4]["basis"] == "老認発1001第1号"
    assert events[4]["actor"] == "ministry:yamada"
    assert events[4]["reason"] == "根拠資料に記載なし"


def test_submissions_list_the_status_of_each_entity(
    world: Kofu, tmp_path: Path
) -> None:
    assert (
        world(
            "submit",
            _answers(tmp_path / "a.json", SHINJUKU, "2019-10-10", **{"I-1-a": True}),
        )[0]
        == 0
    )
    assert (
        world(
            "submit",
            _answers(tmp_path / "b.json", YOKOHAMA, "2019-10-11", **{"I-1-a": False}),
        )[0]
        == 0
    )
    code, output = world("submissions", "--fiscal-year", "2020", "--format", "json")
    assert code == 0, output
    rows = {r["entity"]: r for r in json.loads(output)}
    assert set(rows) == {SHINJUKU, YOKOHAMA}
    assert rows[YOKOHAMA]["name"] == "横浜市"
    assert rows[SHINJUKU]["status"] == "submitted"


def test_loading_the_same_files_twice_records_nothing_new(
    world: Kofu, tmp_path: Path
) -> None:
    from tests.conftest import write_world

    before = world.events()
    code, output = world("load", *write_world(tmp_path / "again"))
    assert code == 0, output
    assert world.events() == before
    assert "nothing new" in output


def test_designated_cities_are_one_insurer_with_a_number_per_ward(world: Kofu) -> None:
    code, output = world("insurers", "--format", "json")
    assert code == 0, output
    yokohama = next(i for i in json.loads(output) if i["name"] == "横浜市")
    assert yokohama["kind"] == "designated_city"
    assert yokohama["wards"] == 18
    assert yokohama["members"] == YOKOHAMA


def test_read_commands_render_html_tables_with_escaped_cells(world: Kofu) -> None:
    code, output = world("entities", "--prefecture", "13", "--format", "html")
    assert code == 0, output
    assert output.lstrip().startswith("<!DOCTYPE html>")
    assert "<td>新宿区</td>" in output
    assert output.count("<tr>") == 1 + 63
