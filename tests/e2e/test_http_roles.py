"""Every role against every endpoint: forbidden cells are 403 (401 without a valid
token) and write nothing; allowed reads succeed, allowed commands record events;
scopes narrow what is seen."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.conftest import PUBLISHED_RUN, SHINJUKU, UNPUBLISHED_RUN, Api

HOLDERS = (
    "insurer",
    "other_insurer",
    "prefecture",
    "other_prefecture",
    "ministry",
    "auditor",
    "reader",
)
EVERYONE = frozenset(HOLDERS)
SCOPED_TO_SHINJUKU = frozenset({"insurer", "prefecture", "ministry", "auditor"})
NOT_READER = EVERYONE - {"reader"}
OVERSEERS = frozenset({"ministry", "auditor"})
OTHER_RUN = "FY2020-effort_support-municipal-settlement-1"

READS: list[tuple[str, str, frozenset[str]]] = [
    ("me", "/api/me", EVERYONE),
    ("allocations", "/api/allocations?fiscal_year=2020", EVERYONE),
    ("runs", "/api/runs?fiscal_year=2020", EVERYONE),
    ("run", f"/api/runs/{PUBLISHED_RUN}", EVERYONE),
    ("diff", f"/api/diff?run_a={PUBLISHED_RUN}&run_b={PUBLISHED_RUN}", EVERYONE),
    (
        "explain",
        f"/api/explain?entity={SHINJUKU}&fiscal_year=2020",
        SCOPED_TO_SHINJUKU | {"reader"},
    ),
    ("audit", f"/api/audit?entity={SHINJUKU}&fiscal_year=2020", SCOPED_TO_SHINJUKU),
    ("scores", "/api/scores?fiscal_year=2020", NOT_READER),
    ("submissions", "/api/submissions?fiscal_year=2020", NOT_READER),
    ("replay", f"/api/runs/{PUBLISHED_RUN}/replay", OVERSEERS),
    ("verify", "/api/verify", OVERSEERS),
    ("checkpoint", "/api/checkpoint", EVERYONE),
    (
        "proofs by entity",
        f"/api/proofs?entity={SHINJUKU}&fiscal_year=2020",
        SCOPED_TO_SHINJUKU,
    ),
    ("proofs by position", "/api/proofs?position=1", OVERSEERS),
    # An insurer's or a prefecture's /pages/ leads on to its own entity or board.
    ("home page", "/pages/", NOT_READER),
    ("overview page", "/pages/years/2020", OVERSEERS),
    ("entity page", f"/pages/entities/{SHINJUKU}/2020", SCOPED_TO_SHINJUKU),
    (
        "workbook page",
        f"/pages/entities/{SHINJUKU}/2020/workbook.xlsx",
        SCOPED_TO_SHINJUKU,
    ),
    ("prefecture board", "/pages/prefectures/13/2020", OVERSEERS | {"prefecture"}),
    ("run page", f"/pages/runs/{PUBLISHED_RUN}", OVERSEERS),
]

COMMANDS: list[tuple[str, str, dict[str, Any] | None, frozenset[str]]] = [
    (
        "submit",
        "/api/submissions",
        {
            "entity": SHINJUKU,
            # FY2024: its window is open on the `api` ledger's clock (FY2020's
            # closed in 2019); each holder's call sends a value never sent before
            "grant_year": 2024,
            "tier": "municipal",
            "answers": {"P1-A1-a": "1.275"},
        },
        frozenset({"insurer"}),
    ),
    (
        "confirm",
        "/api/confirmations",
        {"entity": SHINJUKU, "grant_year": 2024},
        frozenset({"prefecture"}),
    ),
    (
        "correct",
        "/api/corrections",
        {
            "entity": SHINJUKU,
            "grant_year": 2020,
            "item": "I-1-a",
            "value": False,
            "reason": "根拠資料なし",
            "basis": "老認発第1号",
        },
        frozenset({"ministry"}),
    ),
    (
        "ministry-values",
        "/api/ministry-values",
        {
            "entity": SHINJUKU,
            "grant_year": 2020,
            "values": {"II-25-a": "66.5"},
            "source": "介護DB",
        },
        frozenset({"ministry"}),
    ),
    (
        "enter-paper",
        "/api/paper-submissions",
        {
            # 中央区: no other cell answers it (an older paper never replaces newer
            # answers, whichever order the cells run in)
            "entity": "131024",
            "grant_year": 2024,
            "tier": "municipal",
            "answers": {"P1-A2-a": "0.77"},
            "stated_on": "2023-10-05",
            "reason": "郵送で到着",
            "basis": "老認発第9号",
        },
        frozenset({"ministry"}),
    ),
    (
        "allocate",
        "/api/allocations",
        {"grant_year": 2020, "phase": "reference"},
        frozenset({"ministry"}),
    ),
    ("publish", f"/api/runs/{OTHER_RUN}/publish", None, frozenset({"ministry"})),
]


def _revise_shinjuku(api: Api) -> None:
    """New answers to confirm, whichever cells ran before (a worker's own ledger)."""
    body = {
        "entity": SHINJUKU,
        "grant_year": 2024,
        "tier": "municipal",
        "answers": {"P1-A1-a": f"0.{next(_REVISIONS)}"},
    }
    response = api.call("insurer", "POST", "/api/submissions", body)
    assert response.status_code == 201, response.text


_REVISIONS = itertools.count(101)


def _shinjuku_true_first(api: Api) -> None:
    """I-1-a true, so that correcting it to false records something (the synthetic
    answers, whatever they are, decide nothing here)."""
    service = api.client.app.state.service  # type: ignore[attr-defined]
    evaluation = service.ledger.self_evaluation(SHINJUKU, 2020, "municipal")
    answer = evaluation.answers.get("I-1-a")
    if answer is not None and answer.checked is False:
        body = {
            "entity": SHINJUKU,
            "grant_year": 2020,
            "item": "I-1-a",
            "value": True,
            "reason": "再確認",
            "basis": "老認発第1号",
        }
        response = api.call("ministry", "POST", "/api/corrections", body)
        assert response.status_code == 201, response.text


PREPARE = {"confirm": _revise_shinjuku, "correct": _shinjuku_true_first}
"""What an allowed cell needs first so that it has something to record."""

CELLS = [
    (name, "GET", path, None, holder, holder in allowed)
    for name, path, allowed in READS
    for holder in HOLDERS
] + [
    (name, "POST", path, body, holder, holder in allowed)
    for name, path, body, allowed in COMMANDS
    for holder in HOLDERS
]


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "holder", "allowed"),
    CELLS,
    ids=[f"{c[0]}-{c[4]}" for c in CELLS],
)
def test_each_role_is_admitted_or_refused_and_a_refusal_writes_nothing(
    api: Api,
    name: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    holder: str,
    allowed: bool,
) -> None:
    if allowed and name in PREPARE:
        PREPARE[name](api)
    before = api.events()
    response = api.call(holder, method, path, body)
    if allowed and method == "GET":
        assert response.status_code == 200, (name, response.text)
        return
    if allowed:
        # an allowed command is carried out: recorded, not answered as a no-op
        assert response.status_code == 201, (name, response.text)
        assert response.json()["events"] > 0, (name, response.text)
        assert api.events() > before, (name, response.text)
        return
    assert response.status_code == 403, (name, holder, response.text)
    if path.startswith("/pages/"):
        # a person sees the 403 page, not the API's JSON
        assert "このページは表示できません" in response.text, (name, holder)
    else:
        assert response.json()["field"] in {"Authorization", "entity", "position"}
    assert api.events() == before


ENDPOINTS = [(m, p, b) for *_, m, p, b, _h, _a in CELLS if _h == "ministry"]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
@pytest.mark.parametrize("credentials", ["none", "revoked", "forged", "malformed"])
def test_no_valid_token_is_401_and_writes_nothing(
    api: Api, method: str, path: str, body: object, credentials: str
) -> None:
    headers = {
        "none": {},
        "revoked": api.headers("revoked"),
        "forged": {"Authorization": "Bearer " + api.secrets["ministry"][:-4] + "AAAA"},
        "malformed": {"Authorization": "Bearer not-a-kofu-token"},
    }[credentials]
    before = api.events()
    response = api.client.request(method, path, json=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["field"] == "Authorization"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert api.events() == before


def test_the_cookie_opens_the_api_as_the_header_does(api: Api) -> None:
    api.client.cookies.set("kofu_token", api.secrets["auditor"])
    try:
        response = api.client.get("/api/me")
    finally:
        api.client.cookies.clear()
    assert response.status_code == 200
    assert response.json()["role"] == "auditor"


def test_the_cookie_cannot_issue_commands(api: Api) -> None:
    # A page on another site can make a browser post with the cookie: refused
    api.client.cookies.set("kofu_token", api.secrets["ministry"])
    before = api.events()
    try:
        response = api.client.post(
            "/api/allocations", json={"grant_year": 2020, "phase": "reference"}
        )
    finally:
        api.client.cookies.clear()
    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]
    assert api.events() == before


def test_a_browser_without_a_token_is_sent_to_the_login_form(api: Api) -> None:
    page = api.client.get(
        "/pages/", headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert page.status_code == 303
    assert page.headers["location"] == "/login"
    # an API client asking for JSON still gets the JSON 401
    assert api.client.get("/pages/").status_code == 401


def test_the_login_form_sets_the_cookie_that_opens_the_pages(api: Api) -> None:
    refused = api.client.post("/login", data={"token": "not-a-token"})
    assert refused.status_code == 401
    assert "kofu_token" not in refused.cookies
    response = api.client.post(
        "/login", data={"token": api.secrets["auditor"]}, follow_redirects=False
    )
    try:
        assert response.status_code == 303
        assert response.headers["location"] == "/pages/"
        assert "httponly" in response.headers["set-cookie"].lower()
        assert "samesite=strict" in response.headers["set-cookie"].lower()
        page = api.client.get("/pages/")
        assert page.status_code == 200
        assert "令和2年度" in page.text
    finally:
        api.client.cookies.clear()


def test_an_insurer_reads_only_its_own_rows(api: Api) -> None:
    for path in (
        "/api/allocations?fiscal_year=2020&limit=10000",
        "/api/scores?fiscal_year=2020&limit=10000",
        "/api/submissions?fiscal_year=2020&limit=10000",
    ):
        mine = api.call("insurer", "GET", path).json()["items"]
        everyone = api.call("ministry", "GET", path).json()["items"]
        assert mine, path
        assert {row["entity"] for row in mine} == {SHINJUKU}, path
        assert len(everyone) > len(mine)


def test_a_prefecture_reads_its_municipalities_and_not_the_neighbours(
    api: Api,
) -> None:
    rows = api.call(
        "prefecture", "GET", "/api/submissions?fiscal_year=2020&limit=10000"
    ).json()["items"]
    assert {row["entity"][:2] for row in rows} == {"13"}
    assert len(rows) > 50
    response = api.call(
        "other_prefecture", "GET", f"/api/audit?entity={SHINJUKU}&fiscal_year=2020"
    )
    assert response.status_code == 403


def test_an_insurer_cannot_submit_for_another_entity(api: Api) -> None:
    before = api.events()
    response = api.call(
        "insurer",
        "POST",
        "/api/submissions",
        {
            "entity": "131016",
            "grant_year": 2020,
            "tier": "municipal",
            "answers": {"I-1-a": True},
        },
    )
    assert response.status_code == 403
    assert response.json()["field"] == "entity"
    assert api.events() == before


def test_a_reader_sees_only_published_runs(api: Api) -> None:
    runs = api.call("reader", "GET", "/api/runs?fiscal_year=2020&limit=1000").json()
    assert runs["items"]
    assert all(r["published"] for r in runs["items"])
    assert PUBLISHED_RUN in {r["run_id"] for r in runs["items"]}
    assert UNPUBLISHED_RUN not in {r["run_id"] for r in runs["items"]}
    rows = api.call(
        "reader", "GET", "/api/allocations?fiscal_year=2020&limit=10000"
    ).json()
    assert {r["run_id"] for r in rows["items"]} <= {r["run_id"] for r in runs["items"]}
    assert rows["notes"]
    assert "HYPOTHESIS" in rows["notes"][0]
    hidden = api.call("reader", "GET", f"/api/runs/{UNPUBLISHED_RUN}")
    assert hidden.status_code == 404
    assert hidden.json()["field"] == "run_id"
    assert (
        api.call("ministry", "GET", f"/api/runs/{UNPUBLISHED_RUN}").status_code == 200
    )
