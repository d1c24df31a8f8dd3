"""The pages that write, as each role and as an attacker (issue 20).

An insurer downloads its workbook from its page, fills it in and uploads it; its
prefecture confirms the answers from its board. Both are forms posted with the login
cookie, so each is also tried as another site would: without the form's CSRF token,
with another session's, from another origin, from a cross-site page, and as the
wrong role. Every refusal writes nothing. On both backends (the `api` ledger, whose
FY2024 window is open on its clock and FY2020's closed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from tests.conftest import SHINJUKU, Api
from tests.integration.test_excel_workbook import fill

CHIYODA = "131016"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]*)"')


@contextmanager
def signed_in(api: Api, holder: str) -> Iterator[None]:
    """The browser of `holder`, logged in through the form (the cookie set)."""
    api.client.cookies.clear()
    login = api.client.post(
        "/login", data={"token": api.secrets[holder]}, follow_redirects=False
    )
    assert login.status_code == 303, login.text
    try:
        yield
    finally:
        api.client.cookies.clear()


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def filled_workbook(api: Api, entity: str, year: int, tmp_path: Path) -> bytes:
    """The entity's workbook from its page, every row answered."""
    answer = api.client.get(f"/pages/entities/{entity}/{year}/workbook.xlsx")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    blank = tmp_path / f"{entity}-blank.xlsx"
    blank.write_bytes(answer.content)
    fill(blank, tmp_path / f"{entity}.xlsx")
    return (tmp_path / f"{entity}.xlsx").read_bytes()


def upload(
    api: Api, entity: str, year: int, content: bytes, csrf: str | None, **headers: str
) -> httpx.Response:
    data = {} if csrf is None else {"csrf": csrf}
    return api.client.post(
        f"/pages/entities/{entity}/{year}/workbook",
        data=data,
        files={"workbook": ("any-name.xlsx", content, XLSX)},
        headers=headers,
        follow_redirects=False,
    )


def status_on_board(api: Api, entity: str, year: int) -> str:
    board = api.client.get(f"/pages/prefectures/13/{year}")
    assert board.status_code == 200, board.text
    found = re.search(rf'data-entity="{entity}" data-status="([a-z]+)"', board.text)
    assert found, f"{entity} is not on the board"
    return found.group(1)


def test_an_insurer_uploads_its_workbook_and_its_prefecture_confirms_it(
    api: Api, tmp_path: Path
) -> None:
    with signed_in(api, "insurer"):
        home = api.client.get("/pages/", follow_redirects=False)
        assert home.status_code == 303
        # to its own entity, in the latest year with runs, which links every year
        assert home.headers["location"] == f"/pages/entities/{SHINJUKU}/2020"
        latest = api.client.get(home.headers["location"])
        assert f'href="/pages/entities/{SHINJUKU}/2024"' in latest.text
        page = api.client.get(f"/pages/entities/{SHINJUKU}/2024")
        assert "受付中 open" in page.text
        content = filled_workbook(api, SHINJUKU, 2024, tmp_path)
        before = api.events()
        sent = upload(api, SHINJUKU, 2024, content, csrf_of(page))
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"].endswith("?done=submitted")
        assert api.events() > before
        shown = api.client.get(sent.headers["location"])
        assert "回答を提出しました" in shown.text
        # the same file again records nothing, and says so
        again = upload(api, SHINJUKU, 2024, content, csrf_of(page))
        assert again.headers["location"].endswith("?done=nothing")
    service = api.client.app.state.service  # type: ignore[attr-defined]
    evaluation = service.ledger.self_evaluation(SHINJUKU, 2024, "municipal")
    book = load_workbook(BytesIO(content))
    answered = sum(
        1 for row in range(5, book["回答"].max_row + 1) if book["回答"][f"C{row}"].value
    )
    assert len(evaluation.answers) == answered
    with signed_in(api, "prefecture"):
        assert status_on_board(api, SHINJUKU, 2024) in {"submitted", "revised"}
        board = api.client.get("/pages/prefectures/13/2024")
        before = api.events()
        confirmed = api.client.post(
            "/pages/prefectures/13/2024/confirmations",
            data={"csrf": csrf_of(board), "entity": SHINJUKU},
            follow_redirects=False,
        )
        assert confirmed.status_code == 303, confirmed.text
        assert confirmed.headers["location"].endswith(f"?done=confirmed-{SHINJUKU}")
        assert api.events() > before
        assert status_on_board(api, SHINJUKU, 2024) == "confirmed"
    assert service.ledger.self_evaluation(SHINJUKU, 2024, "municipal").confirmed


@pytest.mark.parametrize(
    ("case", "csrf", "headers"),
    [
        ("no token", None, {}),
        ("an empty token", "", {}),
        ("a made-up token", "0" * 64, {}),
        ("another session's token", "other", {}),
        ("another origin", "own", {"Origin": "https://evil.example"}),
        ("a cross-site page", "own", {"Sec-Fetch-Site": "cross-site"}),
    ],
)
def test_a_form_without_this_sessions_token_or_from_elsewhere_writes_nothing(
    api: Api,
    tmp_path: Path,
    case: str,
    csrf: str | None,
    headers: dict[str, str],
) -> None:
    with signed_in(api, "other_insurer"):
        other = csrf_of(api.client.get(f"/pages/entities/{CHIYODA}/2024"))
    with signed_in(api, "insurer"):
        page = api.client.get(f"/pages/entities/{SHINJUKU}/2024")
        content = filled_workbook(api, SHINJUKU, 2024, tmp_path)
        token = {"own": csrf_of(page), "other": other}.get(csrf or "", csrf)
        assert token != csrf_of(page) or headers, case
        before = api.events()
        sent = upload(api, SHINJUKU, 2024, content, token, **headers)
        assert sent.status_code == 403, (case, sent.text)
        assert api.events() == before, case
        board_before = api.events()
    with signed_in(api, "prefecture"):
        token = {"own": _session_token(api), "other": other}.get(csrf or "", csrf)
        data = {"entity": SHINJUKU} | ({} if token is None else {"csrf": token})
        refused = api.client.post(
            "/pages/prefectures/13/2024/confirmations",
            data=data,
            headers=headers,
            follow_redirects=False,
        )
        assert refused.status_code == 403, (case, refused.text)
        assert api.events() == board_before, case


def test_a_form_without_a_cookie_is_refused_before_its_body_is_read(
    api: Api, tmp_path: Path
) -> None:
    api.client.cookies.clear()
    before = api.events()
    sent = upload(api, SHINJUKU, 2024, b"PK not even a workbook", "0" * 64)
    assert sent.status_code == 401
    assert api.events() == before
    del tmp_path


@pytest.mark.parametrize(
    ("holder", "path", "data"),
    [
        # an insurer confirms nothing; a prefecture confirms only its own
        ("insurer", "/pages/prefectures/13/2024/confirmations", {"entity": SHINJUKU}),
        (
            "other_prefecture",
            "/pages/prefectures/13/2024/confirmations",
            {"entity": SHINJUKU},
        ),
        (
            "prefecture",
            "/pages/prefectures/13/2024/confirmations",
            {"entity": "141003"},
        ),
        ("ministry", "/pages/prefectures/13/2024/confirmations", {"entity": SHINJUKU}),
    ],
)
def test_a_confirmation_by_the_wrong_role_or_for_another_prefecture_is_refused(
    api: Api, holder: str, path: str, data: dict[str, str]
) -> None:
    with signed_in(api, holder):
        own = {
            "insurer": f"/pages/entities/{SHINJUKU}/2024",
            "other_prefecture": "/pages/prefectures/14/2024",
            "prefecture": "/pages/prefectures/13/2024",
            "ministry": f"/pages/entities/{SHINJUKU}/2024",
        }[holder]
        page = api.client.get(own)
        token = _CSRF.search(page.text)
        # the ministry's and an insurer's pages carry the token of their session
        # only where they have a form; any page's session token is the same value
        csrf = token.group(1) if token else _session_token(api)
        before = api.events()
        refused = api.client.post(
            path, data=data | {"csrf": csrf}, follow_redirects=False
        )
        assert refused.status_code == 403, (holder, refused.text)
        assert "このページは表示できません" in refused.text
        assert api.events() == before


@pytest.mark.parametrize(
    ("holder", "entity"),
    [("prefecture", SHINJUKU), ("other_insurer", SHINJUKU), ("ministry", SHINJUKU)],
)
def test_only_the_entity_itself_uploads_its_workbook(
    api: Api, tmp_path: Path, holder: str, entity: str
) -> None:
    with signed_in(api, "insurer"):
        content = filled_workbook(api, SHINJUKU, 2024, tmp_path)
    with signed_in(api, holder):
        before = api.events()
        sent = upload(api, entity, 2024, content, _session_token(api))
        assert sent.status_code == 403, (holder, sent.text)
        assert api.events() == before


def test_another_entitys_workbook_or_a_closed_window_writes_nothing(
    api: Api, tmp_path: Path
) -> None:
    with signed_in(api, "other_insurer"):
        chiyoda = filled_workbook(api, CHIYODA, 2024, tmp_path)
    with signed_in(api, "insurer"):
        csrf = _session_token(api)
        before = api.events()
        wrong = upload(api, SHINJUKU, 2024, chiyoda, csrf)
        assert wrong.status_code == 422, wrong.text
        assert CHIYODA in wrong.text
        # FY2020's window closed long ago: no form, and a post is refused
        page = api.client.get(f"/pages/entities/{SHINJUKU}/2020")
        assert "受付期間外" in page.text
        assert 'enctype="multipart/form-data"' not in page.text
        content = filled_workbook(api, SHINJUKU, 2020, tmp_path)
        late = upload(api, SHINJUKU, 2020, content, csrf)
        assert late.status_code == 409, late.text
        assert "window" in late.text
        broken = upload(api, SHINJUKU, 2024, b"PK\x03\x04 truncated", csrf)
        assert broken.status_code == 422, broken.text
        assert api.events() == before


def _session_token(api: Api) -> str:
    """This browser session's form token, from a page that has a form."""
    page = api.client.get(f"/pages/entities/{SHINJUKU}/2024")
    if page.status_code == 200 and _CSRF.search(page.text):
        return csrf_of(page)
    board = api.client.get("/pages/prefectures/13/2024")
    if board.status_code == 200 and _CSRF.search(board.text):
        return csrf_of(board)
    # A session whose pages have no form: the value is the same for any form.
    from adapters.http.pages import form_token_of

    return form_token_of(api.client.cookies["kofu_token"])


def test_an_upload_over_the_body_limit_is_refused_and_writes_nothing(api: Api) -> None:
    # The cookie opens a page form's body, but the body limit still holds (Guard):
    # a workbook over it is 413 before the form is read, and nothing is written.
    limit = api.client.app.state.service.limits.max_body_bytes  # type: ignore[attr-defined]
    with signed_in(api, "insurer"):
        csrf = _session_token(api)
        before = api.events()
        sent = upload(api, SHINJUKU, 2024, b"PK" + b"\0" * limit, csrf)
        assert sent.status_code == 413, sent.text
        assert api.events() == before
