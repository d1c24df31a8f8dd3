"""Commands over HTTP: idempotency keys, errors that name the field, publication."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.http.app import create_app
from tests.conftest import SHINJUKU, UNPUBLISHED_RUN, Api


def correction(**overrides: Any) -> dict[str, Any]:
    return {
        "entity": SHINJUKU,
        "grant_year": 2020,
        "item": "II-12-b",
        "value": "37.3",
        "reason": "資料確認",
        "basis": "老認発第2号",
    } | overrides


def test_a_repeated_key_with_the_same_content_records_nothing_and_answers_alike(
    api: Api,
) -> None:
    key = {"Idempotency-Key": "correct-once-1"}
    first = api.call("ministry", "POST", "/api/corrections", correction(), **key)
    assert first.status_code == 201, first.text
    assert first.json()["events"] >= 1
    assert first.json()["actor"] == "ministry:yamada"
    after_first = api.events()
    again = api.call("ministry", "POST", "/api/corrections", correction(), **key)
    assert again.status_code == 200
    assert again.json()["noop"] is True
    assert again.json()["command"] == first.json()["command"]
    assert api.events() == after_first
    other = api.call(
        "ministry", "POST", "/api/corrections", correction(value="37.4"), **key
    )
    assert other.status_code == 409
    assert other.json()["field"] == "idempotency_key"
    assert api.events() == after_first


def test_a_second_submission_inside_the_window_is_a_revision_by_the_token_holder(
    api: Api,
) -> None:
    body = {
        "entity": "131016",
        "grant_year": 2024,
        "tier": "municipal",
        "answers": {"P1-A1-a": "0.5"},
    }
    for value, key in (("0.5", "sub-1"), ("0.9", "rev-1")):
        body["answers"] = {"P1-A1-a": value}
        response = api.call(
            "other_insurer",
            "POST",
            "/api/submissions",
            body,
            **{"Idempotency-Key": key},
        )
        assert response.status_code == 201, response.text
    trail = api.call(
        "ministry", "GET", "/api/audit?entity=131016&fiscal_year=2024&limit=10000"
    ).json()["items"]
    assert trail[-1]["event"] == "SelfEvaluation.Revised"
    assert trail[-1]["actor"] == "insurer:131016"


BAD = [
    ("float answer", "/api/corrections", correction(value=1.5), 422, "value"),
    ("unknown field", "/api/corrections", correction(colour="red"), 422, "colour"),
    ("bad LG code", "/api/corrections", correction(entity="12"), 422, "entity"),
    ("no reason", "/api/corrections", correction(reason="  "), 422, "reason"),
    ("NUL in reason", "/api/corrections", correction(reason="a\x00b"), 422, "reason"),
    ("unknown entity", "/api/corrections", correction(entity="999999"), 422, "entity"),
    ("unknown item", "/api/corrections", correction(item="Z-9-z"), 422, "Z-9-z"),
    (
        "a date of its own",
        "/api/corrections",
        correction(received_on="2019-11-20"),
        422,
        "received_on",
    ),
    (
        "bad year",
        "/api/allocations",
        {"grant_year": 1900, "phase": "x"},
        422,
        "grant_year",
    ),
    ("bad phase", "/api/allocations", {"grant_year": 2020, "phase": "x"}, 422, "phase"),
    ("no such run", "/api/runs/FY1999-x/publish", None, 422, "run"),
]


@pytest.mark.parametrize(
    ("case", "path", "body", "status", "field"), BAD, ids=[b[0] for b in BAD]
)
def test_bad_input_is_refused_naming_the_field_without_a_traceback(
    api: Api, case: str, path: str, body: object, status: int, field: str
) -> None:
    before = api.events()
    response = api.call("ministry", "POST", path, body)
    assert response.status_code == status, (case, response.text)
    error = response.json()
    assert set(error) == {"error", "field"}
    assert field in (error["field"] or ""), error
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    assert api.events() == before


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("fiscal_year=2020&as_of=yesterday", "as_of"),
        ("fiscal_year=2020&limit=0", "limit"),
        ("fiscal_year=twenty", "fiscal_year"),
        ("grant=promotion", "fiscal_year"),
        ("fiscal_year=2020&tier=national", "tier"),
    ],
)
def test_bad_queries_name_the_parameter(api: Api, query: str, field: str) -> None:
    response = api.call("ministry", "GET", f"/api/allocations?{query}")
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_a_malformed_json_body_is_422_not_a_crash(api: Api) -> None:
    response = api.client.post(
        "/api/corrections",
        content=b'{"entity": ',
        headers=api.headers("ministry", **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 422
    assert "error" in response.json()


def test_publishing_is_recorded_once_with_the_ministry_actor(api: Api) -> None:
    run = "FY2020-effort_support-prefectural-expected-1"
    first = api.call("ministry", "POST", f"/api/runs/{run}/publish")
    assert first.status_code == 201
    after = api.events()
    again = api.call("ministry", "POST", f"/api/runs/{run}/publish")
    assert again.status_code == 200
    assert again.json()["noop"] is True
    assert api.events() == after
    shown = api.call("reader", "GET", f"/api/runs/{run}").json()
    assert shown["published"] is True
    assert shown["published_by"] == "ministry:yamada"
    assert api.call("reader", "GET", f"/api/runs/{UNPUBLISHED_RUN}").status_code == 404


def test_a_decision_no_witness_quorum_cosigned_is_409_and_writes_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain.cosignature import WitnessSigner

    witness = WitnessSigner.generate("pref13.example").verifier()
    monkeypatch.setenv("KOFU_WITNESS_KEYS", str(witness))
    monkeypatch.setenv("KOFU_WITNESS_QUORUM", "1")
    before = api.events()
    run = "FY2020-promotion-prefectural-decision-1"
    response = api.call("ministry", "POST", f"/api/runs/{run}/publish")
    assert response.status_code == 409, response.text
    assert "cosigned by 0 of the 1 witnesses required" in response.text
    assert api.events() == before


def test_storage_unavailable_is_503_with_a_json_body() -> None:
    app = create_app("postgresql://postgres@127.0.0.1:1/nowhere")
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/me", headers={"Authorization": "Bearer x"})
    assert response.status_code == 503
    assert response.json()["error"].startswith("storage unavailable")


def test_commands_and_reads_in_parallel_threads_record_every_command_once(
    api: Api,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    values = [f"{n}.5" for n in range(50, 56)]

    def correct(value: str) -> int:
        body = correction(entity="131059", value=value, reason=f"並行 {value}")
        return api.call("ministry", "POST", "/api/corrections", body).status_code

    def read(_: int) -> int:
        path = "/api/audit?entity=131059&fiscal_year=2020&limit=5"
        return api.call("auditor", "GET", path).status_code

    before = api.events()
    with ThreadPoolExecutor(max_workers=8) as pool:
        written = [pool.submit(correct, value) for value in values]
        read_back = [pool.submit(read, n) for n in range(12)]
        writes = [f.result() for f in written]
        reads = [f.result() for f in read_back]
    assert writes == [201] * len(values)
    assert reads == [200] * 12
    assert api.events() == before + len(values)
    trail = api.call(
        "ministry", "GET", "/api/audit?entity=131059&fiscal_year=2020&limit=10000"
    ).json()["items"]
    reasons = [r["reason"] for r in trail if r["event"] == "SelfEvaluation.Corrected"]
    assert sorted(r for r in reasons if r.startswith("並行")) == sorted(
        f"並行 {v}" for v in values
    )
