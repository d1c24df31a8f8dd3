"""Trust II against a real server (issue 12): `kofu serve` in a child process on
loopback, on the module's demo ledger (SQLite and PostgreSQL). Nothing here is
timed: memory is the server's VmRSS, and "at once" is shown by order (the refused
request is answered while the one holding the slot is still being served)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Api
from tests.support.server_trials import (
    MB,
    Server,
    closed_by_server,
    half_open,
    send_body,
    serving,
)

pytestmark = pytest.mark.slow
BODY = 150 * MB


@pytest.fixture(scope="module")
def server(api: Api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("serve") / "server.log"
    with serving(
        api.url,
        log,
        KOFU_AS_OF_SLOTS="1",
        KOFU_AS_OF_CACHE="2",
        KOFU_HEADER_TIMEOUT="1",
    ) as running:
        yield running


def _warm(server: Server, api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.secrets['ministry']}"}
    for path in ("/api/me", "/api/scores?fiscal_year=2020", "/api/verify"):
        assert httpx.get(server.base + path, headers=headers, timeout=120).is_success


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_unauthenticated_150_mb_bodies_get_401_unread(
    server: Server, api: Api, chunked: bool
) -> None:
    _warm(server, api)
    before_events = api.events()
    before = server.rss()
    for token in (None, "kofu_000000000000_" + "A" * 43, api.secrets["revoked"]):
        answer = send_body(
            server.port, "/api/corrections", BODY, token=token, chunked=chunked
        )
        assert answer.status == 401, answer
        assert answer.body["field"] == "Authorization"
        assert answer.sent < BODY // 4  # answered long before the body was sent
    assert server.rss() - before < 50 * MB
    assert api.events() == before_events


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_an_authenticated_150_mb_body_gets_413(
    server: Server, api: Api, chunked: bool
) -> None:
    _warm(server, api)
    before_events = api.events()
    before = server.rss()
    answer = send_body(
        server.port,
        "/api/corrections",
        BODY,
        token=api.secrets["ministry"],
        chunked=chunked,
    )
    assert answer.status == 413, answer
    assert answer.body["field"] == "body"
    assert answer.sent < BODY // 4
    assert server.rss() - before < 50 * MB
    assert api.events() == before_events


def test_ten_as_of_reads_stay_within_300_mb(server: Server, api: Api) -> None:
    _warm(server, api)
    headers = {"Authorization": f"Bearer {api.secrets['ministry']}"}
    head = api.events()
    before = server.rss()
    for n in range(1, 11):
        position = head * n // 11
        response = httpx.get(
            f"{server.base}/api/scores?fiscal_year=2020&as_of={position}",
            headers=headers,
            timeout=300,
        )
        assert response.status_code == 200, response.text
    assert server.rss() - before < 300 * MB


def test_as_of_reads_beyond_the_cap_are_refused_while_one_is_built(
    server: Server, api: Api
) -> None:
    headers = {"Authorization": f"Bearer {api.secrets['auditor']}"}
    head = api.events()
    finished: list[tuple[int, int]] = []  # (position, status) in order of answer
    lock = threading.Lock()

    def read(position: int) -> None:
        response = httpx.get(
            f"{server.base}/api/submissions?fiscal_year=2020&as_of={position}",
            headers=headers,
            timeout=300,
        )
        with lock:
            finished.append((position, response.status_code))

    # Positions no earlier test asked for (the cache keeps two).
    threads = [threading.Thread(target=read, args=(head - 7 - n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    statuses = [status for _, status in finished]
    assert set(statuses) <= {200, 429}, finished
    assert 429 in statuses, finished  # one slot: the others were refused
    # Each refusal came back before the read holding the slot was answered.
    assert statuses.index(200) > statuses.index(429), finished
    assert len(finished) == 4


def test_connections_that_never_finish_their_headers_are_closed(
    server: Server,
) -> None:
    sockets = half_open(server.port, 20)
    try:
        assert all(closed_by_server(sock, timeout=30) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()
    assert httpx.get(f"{server.base}/login", timeout=10).status_code == 200
