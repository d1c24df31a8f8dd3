"""Trust II over HTTP (issue 12), on SQLite and PostgreSQL: every attack is answered
with its status and the field it concerns, and records nothing."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.http.app import create_app
from adapters.http.config import Limits
from tests.conftest import SHINJUKU, Api


def correction(**overrides: object) -> dict[str, object]:
    return {
        "entity": SHINJUKU,
        "grant_year": 2020,
        "item": "I-1-a",
        "value": False,
        "reason": "根拠資料なし",
        "basis": "老認発第1号",
        "received_on": "2019-11-15",
    } | overrides


DUPLICATE = (
    '{"entity": "131041", "grant_year": 2020, "item": "I-1-a", "value": false, '
    '"reason": "根拠資料なし", "reason": "上書き", "basis": "老認発第1号", '
    '"received_on": "2019-11-15"}'
).encode()


# Each attack: its name, the caller, method, path, body (a dict is sent as JSON,
# bytes as they are), more headers, the status and the field named.
ATTACKS: list[tuple[str, str | None, str, str, Any, dict[str, str], int, str]] = [
    *(
        (
            f"U+{ord(ch):04X} in a reason",
            "ministry",
            "POST",
            "/api/corrections",
            correction(reason=f"根拠{ch}資料なし"),
            {},
            422,
            "reason",
        )
        for ch in "\u200e\u200f\u2028\u2029\u061c\u202e\u2066\x1b\x7f\x85"
    ),
    (
        "U+200E in an answer's key",
        "insurer",
        "POST",
        "/api/submissions",
        {
            "entity": SHINJUKU,
            "grant_year": 2020,
            "tier": "municipal",
            "answers": {"I-1-a\u200e": True},
            "received_on": "2019-10-15",
        },
        {},
        422,
        "answers",
    ),
    (
        "a key given twice",
        "ministry",
        "POST",
        "/api/corrections",
        DUPLICATE,
        {"Content-Type": "application/json"},
        422,
        "body",
    ),
    (
        "NaN",
        "ministry",
        "POST",
        "/api/corrections",
        b'{"value": NaN}',
        {"Content-Type": "application/json"},
        422,
        "body",
    ),
    (
        "a body without a token",
        None,
        "POST",
        "/api/corrections",
        correction(),
        {},
        401,
        "Authorization",
    ),
    (
        "a body with the cookie only",
        None,
        "POST",
        "/api/corrections",
        correction(),
        {"Cookie": "kofu_token=COOKIE"},
        401,
        "Authorization",
    ),
    (
        "a body with a wrong secret",
        None,
        "POST",
        "/api/corrections",
        correction(),
        {"Authorization": "Bearer kofu_000000000000_" + "A" * 43},
        401,
        "Authorization",
    ),
    (
        "a body over the limit",
        "ministry",
        "POST",
        "/api/corrections",
        correction(reason="理" * 700_000),
        {},
        413,
        "body",
    ),
    (
        "as_of that is neither",
        "ministry",
        "GET",
        "/api/scores?fiscal_year=2020&as_of=yesterday",
        None,
        {},
        422,
        "as_of",
    ),
    (
        "as_of without a zone",
        "ministry",
        "GET",
        "/api/submissions?fiscal_year=2020&as_of=2019-12-27T18:00",
        None,
        {},
        422,
        "as_of",
    ),
]


@pytest.mark.parametrize(
    ("name", "who", "method", "path", "body", "headers", "status", "field"),
    ATTACKS,
    ids=[a[0] for a in ATTACKS],
)
def test_an_attack_is_answered_with_its_status_and_field_and_records_nothing(
    api: Api,
    name: str,
    who: str | None,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    status: int,
    field: str,
) -> None:
    before = api.events()
    more = dict(headers)
    if more.get("Cookie") == "kofu_token=COOKIE":
        more["Cookie"] = f"kofu_token={api.secrets['ministry']}"
    sent = api.headers(who, **more)
    if isinstance(body, bytes):
        response = api.client.request(method, path, content=body, headers=sent)
    else:
        response = api.client.request(method, path, json=body, headers=sent)
    assert response.status_code == status, (name, response.text[:300])
    error = response.json()
    assert set(error) == {"error", "field"}
    assert field in (error["field"] or "") or field in error["error"], error
    assert "--" not in error["error"], error  # the API's words, not the CLI's
    assert api.events() == before


def test_a_chunked_body_over_the_limit_is_413_and_records_nothing(api: Api) -> None:
    before = api.events()

    def chunks() -> Iterator[bytes]:
        yield b'{"reason": "'
        for _ in range(40):  # 40 x 64 KiB: past the 1 MiB default
            yield b"x" * 65_536
        yield b'"}'

    response = api.client.post(
        "/api/corrections",
        content=chunks(),
        headers=api.headers("ministry", **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 413
    assert response.json()["field"] == "body"
    assert api.events() == before


@pytest.mark.parametrize("raw", ["-0", "-0.0", " -0 ", -0])
def test_negative_zero_is_read_as_zero(api: Api, raw: object) -> None:
    ledger = api.client.app.state.service.ledger  # type: ignore[attr-defined]
    spec = ledger.catalogue(2020, "municipal").spec
    item = next(s for s, _ in spec.sub_items().values() if s.kind == "number")
    number = item.parse(raw).number
    assert number is not None
    assert not number.is_signed()
    assert str(number) in {"0", "0.0"}


def test_every_answer_carries_the_security_headers(api: Api) -> None:
    for who, path in [
        ("ministry", "/api/me"),
        (None, "/api/me"),
        ("ministry", "/pages/"),
        (None, "/login"),
        (None, "/nowhere"),
    ]:
        response = api.call(who, "GET", path)
        headers = response.headers
        assert headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
        policy = headers["content-security-policy"]
        assert "script-src" not in policy, path  # default-src 'none': no script
        assert "default-src 'none'" in policy, path
        assert "frame-ancestors 'none'" in policy, path


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_documentation_allows_exactly_its_own_scripts(
    api: Api, path: str
) -> None:
    response = api.call(None, "GET", path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    script_src = next(p for p in policy.split("; ") if p.startswith("script-src"))
    allowed = set(script_src.split()[1:])
    page = response.text
    # kofu serves the scripts itself; the policy names them by host and path.
    sources = re.findall(r'<script src="([^"]+)"', page)
    assert sources
    assert all(source.startswith("/docs-assets/") for source in sources)
    expected = {f"testserver{source}" for source in sources}
    for inline in re.findall(r"<script>(.*?)</script>", page, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        expected.add(f"'sha256-{digest}'")
    assert allowed == expected
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src


def test_a_forged_host_never_enters_the_documentation_policy(api: Api) -> None:
    response = api.client.get("/docs", headers={"Host": "evil; script-src *"})
    policy = response.headers["content-security-policy"]
    script_src = next(p for p in policy.split("; ") if p.startswith("script-src"))
    assert "evil" not in policy
    assert "*" not in script_src
    assert "'self'" in script_src


def _login(client: TestClient, secret: str) -> Any:
    return client.post("/login", data={"token": secret}, follow_redirects=False)


def test_a_role_without_pages_cannot_log_in(api: Api) -> None:
    response = _login(api.client, api.secrets["reader"])
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert "no pages" in response.text


@pytest.mark.parametrize(
    ("holder", "goes_to"),
    [
        (None, "/login"),
        ("auditor", "/pages/"),
        ("ministry", "/pages/"),
        ("insurer", "/pages/"),
        ("prefecture", "/pages/"),
    ],
)
def test_the_root_leads_to_the_pages_or_to_the_login_form(
    api: Api, holder: str | None, goes_to: str
) -> None:
    api.client.cookies.clear()
    if holder is not None:
        assert _login(api.client, api.secrets[holder]).status_code == 303
    try:
        response = api.client.get("/", follow_redirects=False)
    finally:
        api.client.cookies.clear()
    assert response.status_code == 303
    assert response.headers["location"] == goes_to


def test_the_root_sends_a_bad_or_pageless_cookie_to_the_login_form(api: Api) -> None:
    for cookie in ("kofu_nope_nope", api.secrets["reader"]):
        api.client.cookies.set("kofu_token", cookie)
        try:
            response = api.client.get("/", follow_redirects=False)
        finally:
            api.client.cookies.clear()
        assert response.headers["location"] == "/login", cookie


def test_the_login_cookie_expires_and_is_secure_only_over_tls(api: Api) -> None:
    response = _login(api.client, api.secrets["auditor"])
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "Max-Age=28800" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie
    # A client's X-Forwarded-Proto is not believed unless kofu serve trusts a proxy.
    forged = api.client.post(
        "/login",
        data={"token": api.secrets["auditor"]},
        headers={"X-Forwarded-Proto": "https"},
        follow_redirects=False,
    )
    assert "Secure" not in forged.headers["set-cookie"]
    with TestClient(
        api.client.app, base_url="https://testserver", raise_server_exceptions=False
    ) as tls:
        assert "Secure" in _login(tls, api.secrets["auditor"]).headers["set-cookie"]


def test_logout_removes_the_cookie(api: Api) -> None:
    response = api.client.post("/logout", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("kofu_token=")
    assert "Max-Age=0" in cookie


def test_an_expired_token_is_refused_by_the_servers_clock(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.inputs import tokens

    assert api.call("ministry", "GET", "/api/me").status_code == 200
    later = tokens.now() + timedelta(days=tokens.MAX_TOKEN_DAYS + 1)  # past any
    monkeypatch.setattr(tokens, "now", lambda: later)
    response = api.call("ministry", "GET", "/api/me")
    assert response.status_code == 401
    assert response.json()["field"] == "Authorization"
    assert _login(api.client, api.secrets["ministry"]).status_code == 401


@contextmanager
def _held(monkeypatch: pytest.MonkeyPatch, target: Any, name: str) -> Iterator[Any]:
    """Make `target.name` block until released; yield (entered, release) events."""
    entered, release = threading.Event(), threading.Event()
    original = getattr(target, name)

    def blocked(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(60), "never released"
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, blocked)
    try:
        yield entered, release
    finally:
        release.set()


def _app(api: Api, **limits: Any) -> TestClient:
    return TestClient(
        create_app(api.url, Limits(**limits)), raise_server_exceptions=False
    )


def test_requests_beyond_the_per_token_cap_are_refused_at_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.http.service import Service

    with _app(api, requests_per_token=2) as client:
        headers = api.headers("ministry")
        path = f"/api/audit?entity={SHINJUKU}&fiscal_year=2020"
        answers: list[int] = []
        with _held(monkeypatch, Service, "store") as (entered, _):
            slow = [
                threading.Thread(
                    target=lambda: answers.append(
                        client.get(path, headers=headers).status_code
                    )
                )
                for _ in range(2)
            ]
            for thread in slow:
                thread.start()
            assert entered.wait(30)
            # Both held requests are in flight (the second may still be queued
            # behind the first in `store`, but the Guard counted it): the third
            # is refused while they are blocked.
            refused = _third_refused(client, headers, slow)
            other = client.get("/api/me", headers=api.headers("auditor"))
        for thread in slow:
            thread.join(60)
        assert refused.status_code == 429
        assert refused.json()["field"] == "Authorization"
        assert refused.headers["retry-after"] == "1"
        assert other.status_code == 200  # another token is not held up
        assert answers == [200, 200]


def _third_refused(client: TestClient, headers: dict[str, str], slow: list[Any]) -> Any:
    # The two held requests reach the Guard in their own threads; ask until the
    # third is refused (or both have finished, which would fail the test).
    for _ in range(200):
        response = client.get("/api/me", headers=headers)
        if response.status_code == 429 or not any(t.is_alive() for t in slow):
            return response
        threading.Event().wait(0.05)
    return response


def test_as_of_reads_beyond_the_cap_are_refused_at_once_and_cached(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.storage import projecting

    with _app(api, as_of_slots=1, as_of_cache=2) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        headers = api.headers("ministry")
        first: list[Any] = []
        with _held(monkeypatch, projecting, "as_of") as (entered, release):
            held = threading.Thread(
                target=lambda: first.append(
                    client.get(
                        "/api/scores?fiscal_year=2020&as_of=500", headers=headers
                    )
                )
            )
            held.start()
            assert entered.wait(30)
            refused = client.get(
                "/api/submissions?fiscal_year=2020&as_of=400", headers=headers
            )
            assert held.is_alive()  # refused while the slot is still held
            release.set()
            held.join(60)
        assert refused.status_code == 429
        assert refused.json()["field"] == "as_of"
        assert first[0].status_code == 200
        builds = service.as_of.builds
        again = client.get(
            "/api/submissions?fiscal_year=2020&as_of=500", headers=headers
        )
        assert again.status_code == 200
        assert service.as_of.builds == builds  # the same position: from the cache
