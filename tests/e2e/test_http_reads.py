"""Reads over HTTP: the CLI's rows, paged without loss, and as they stood."""

from __future__ import annotations

import json

from tests.conftest import PUBLISHED_RUN, SHINJUKU, Api, Kofu


def test_pages_put_together_are_the_whole_list_in_order(api: Api) -> None:
    path = "/api/allocations?fiscal_year=2020&grant=promotion&tier=municipal"
    whole = api.call("ministry", "GET", f"{path}&limit=10000").json()
    rows, offset = [], 0
    while offset is not None:
        page = api.call("ministry", "GET", f"{path}&limit=7&offset={offset}").json()
        assert page["total"] == whole["total"]
        rows += page["items"]
        offset = page["next_offset"]
    assert rows == whole["items"]
    assert len(rows) == whole["total"] > 7


def test_allocation_rows_are_those_of_the_command_line(api: Api) -> None:
    code, output = Kofu(api.url)(
        "allocations",
        "-y",
        "2020",
        "--grant",
        "promotion",
        "--tier",
        "municipal",
        "--format",
        "json",
    )
    assert code == 0
    cli = json.loads(output)
    http = api.call(
        "ministry",
        "GET",
        "/api/allocations?fiscal_year=2020&grant=promotion&tier=municipal&limit=10000",
    ).json()["items"]
    assert http == cli
    assert all(isinstance(r["amount_yen"], int) for r in http)


def test_reads_as_of_a_position_show_the_ledger_as_it_stood(api: Api) -> None:
    trail = api.call(
        "ministry", "GET", f"/api/audit?entity={SHINJUKU}&fiscal_year=2020&limit=10000"
    ).json()["items"]
    middle = trail[len(trail) // 2]["position"]
    earlier = api.call(
        "ministry",
        "GET",
        f"/api/audit?entity={SHINJUKU}&fiscal_year=2020&limit=10000&as_of={middle}",
    ).json()["items"]
    assert earlier == [row for row in trail if row["position"] <= middle]
    nothing = api.call("ministry", "GET", "/api/allocations?fiscal_year=2020&as_of=1")
    assert nothing.json()["total"] == 0
    past = api.call(
        "ministry", "GET", "/api/allocations?fiscal_year=2020&as_of=2019-01-01T00:00Z"
    )
    assert past.status_code == 200
    assert past.json()["total"] == 0


def test_a_run_shows_its_replay_receipt_and_replays_to_the_same_hash(api: Api) -> None:
    run = api.call("auditor", "GET", f"/api/runs/{PUBLISHED_RUN}").json()
    assert len(run["receipt"]["output_sha256"]) == 64
    assert run["published"] is True
    replayed = api.call("auditor", "GET", f"/api/runs/{PUBLISHED_RUN}/replay").json()
    assert replayed["same"] is True
    assert replayed["replayed_output_sha256"] == run["receipt"]["output_sha256"]


def test_explain_labels_the_hypothesis_behind_the_amount(api: Api) -> None:
    found = api.call(
        "insurer", "GET", f"/api/explain?entity={SHINJUKU}&fiscal_year=2020"
    ).json()
    assert found["entity"] == SHINJUKU
    assert found["hypothesis"] is True
    assert any("HYPOTHESIS" in note for note in found["notes"])
    assert sum(item["points"] for item in found["items"]) >= found["score"]


def test_an_unknown_run_is_404_naming_the_run(api: Api) -> None:
    response = api.call("ministry", "GET", "/api/runs/FY2020-nothing-1")
    assert response.status_code == 404
    assert response.json() == {
        "error": "no allocation run FY2020-nothing-1",
        "field": "run_id",
    }
