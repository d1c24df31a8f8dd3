"""Only sealed events are trusted: a token no signed checkpoint covers gets 401.

Issue 15 part 4, the attack of its "why": someone with the database (not the
ledger's signing key) forges a ministry `AccessToken.Issued` whose secret they
know. A plain INSERT at the tail; the same through kofu's own recorder (leaf and
nodes correct); the same under a checkpoint re-signed with another key under the
ledger's name; a forged later event on a real token; the stored event rewritten.
Each: 401 naming why, on SQLite and PostgreSQL. A revocation INSERTed by hand
counts (failing closed); a token the writer issued works at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from eventsourcing.persistence import StoredEvent
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from adapters.cli.main import app
from adapters.http.app import create_app
from adapters.inputs.tokens import digest
from adapters.kofu import Kofu as Facade
from adapters.storage.bootstrap import open_ledger
from adapters.storage.merkle_log import MerkleLog
from domain import clock as ledger_clock
from domain.checkpoint import SignerKey
from domain.tokens import AccessToken, UnsignedTokenError
from tests.conftest import SIGNING_KEY, Kofu
from tests.support.tamper import insert_event, tamper

FORGED_ID = "f0f0f0f0f0f0"
FORGED_SECRET = f"kofu_{FORGED_ID}_{'F' * 43}"


@pytest.fixture
def issued(world: Kofu) -> tuple[Kofu, str]:
    """A ledger with the world and a reader token the writer issued (and signed)."""
    code, output = world("tokens", "issue", "--role", "reader", "--name", "press")
    assert code == 0, output
    return world, output.strip().splitlines()[-1]


@pytest.fixture
def client(issued: tuple[Kofu, str]) -> Iterator[TestClient]:
    with TestClient(create_app(issued[0].url), raise_server_exceptions=False) as c:
        yield c


def _forged(url: str, token_id: str = FORGED_ID, version: int = 1) -> StoredEvent:
    """A ministry token's `Issued`, stored as kofu's mapper would store it."""
    token = AccessToken.issue(
        token_id,
        digest(f"kofu_{token_id}_{'F' * 43}"),
        "ministry",
        (),
        "mallory",
        "ministry:mallory",
        ledger_clock.now() + timedelta(days=30),
    )
    ledger = open_ledger(url)
    try:
        (event,) = token.collect_events()
        stored = ledger.mapper.to_stored_event(event)
    finally:
        ledger.close()
    return replace(stored, originator_version=version)


def _me(client: TestClient, secret: str = FORGED_SECRET) -> tuple[int, str]:
    response = client.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    return response.status_code, response.text


def test_a_token_the_writer_issued_works_at_once(
    issued: tuple[Kofu, str], client: TestClient
) -> None:
    status, text = _me(client, issued[1])
    assert status == 200, text
    assert '"reader"' in text


def test_a_forged_token_inserted_at_the_tail_gets_401(
    issued: tuple[Kofu, str], client: TestClient
) -> None:
    position = insert_event(issued[0].url, _forged(issued[0].url))
    status, text = _me(client)
    assert status == 401, text
    assert f"token {FORGED_ID} is not sealed" in text
    assert f"position {position}" in text
    # A command (with a body) is refused from its headers, with the same reason.
    response = client.post(
        "/api/corrections",
        headers={"Authorization": f"Bearer {FORGED_SECRET}"},
        json={"entity": "131041"},
    )
    assert response.status_code == 401
    assert "is not sealed" in response.text


def test_a_forged_token_with_its_log_rows_gets_401(
    issued: tuple[Kofu, str], client: TestClient
) -> None:
    # Through kofu's own recorder: the leaf and the nodes are right; no checkpoint
    # signed with a trusted key covers the event.
    ledger = open_ledger(issued[0].url)
    try:
        (position,) = ledger.recorder.insert_events([_forged(issued[0].url)]) or [0]
        assert MerkleLog(ledger).leaf(position) is not None
    finally:
        ledger.close()
    status, text = _me(client)
    assert status == 401, text
    assert f"position {position}" in text


def test_a_forged_token_under_a_checkpoint_re_signed_with_another_key_gets_401(
    issued: tuple[Kofu, str], client: TestClient
) -> None:
    ledger = open_ledger(issued[0].url)
    try:
        ledger.recorder.insert_events([_forged(issued[0].url)])
        # The attacker's own key, under the ledger's name: the note does not open.
        MerkleLog(ledger).sign_checkpoint(SignerKey.generate(SIGNING_KEY.name))
    finally:
        ledger.close()
    status, text = _me(client)
    assert status == 401, text
    assert "is not sealed" in text


def test_a_forged_later_event_on_a_real_token_gets_401(
    issued: tuple[Kofu, str], client: TestClient
) -> None:
    # A second `Issued` on the press's (sealed) token: role ministry, the
    # attacker's secret.
    kofu, secret = issued
    url = kofu.url
    token_id = secret.split("_")[1]
    forged = replace(_forged(url, token_id), originator_id=AccessToken.id_for(token_id))
    insert_event(url, replace(forged, originator_version=2))
    # The library refuses to fold a second creation: no token at all (before:
    # a 500 from the repository), neither the attacker's secret nor the real one.
    for attempt in (f"kofu_{token_id}_{'F' * 43}", secret):
        status, text = _me(client, attempt)
        assert status == 401, text
        assert "unknown, revoked or expired token" in text


def test_a_real_token_rewritten_in_place_gets_401(
    issued: tuple[Kofu, str], client: TestClient
) -> None:
    kofu, secret = issued
    url = kofu.url
    tamper(
        url,
        [
            "UPDATE EVENTS SET state = CAST(REPLACE(CAST(state AS TEXT), "
            "'\"reader\"', '\"auditor\"') AS BLOB) "
            "WHERE topic = 'kofu.AccessToken.Issued'"
            if url.startswith("sqlite")
            else "UPDATE EVENTS SET state = convert_to(replace(convert_from(state, "
            "'UTF8'), '\"reader\"', '\"auditor\"'), 'UTF8') "
            "WHERE topic = 'kofu.AccessToken.Issued'"
        ],
    )
    status, text = _me(client, secret)
    assert status == 401, text
    assert "is not sealed" in text


def test_a_revocation_inserted_by_hand_counts(
    issued: tuple[Kofu, str], client: TestClient
) -> None:
    # Failing closed: an unsealed revocation still revokes.
    kofu, secret = issued
    url = kofu.url
    token_id = secret.split("_")[1]
    assert _me(client, secret)[0] == 200
    ledger = open_ledger(url)
    try:
        token = ledger.access_token(token_id)
        assert token is not None
        token.revoke("ministry:someone")
        (event,) = token.collect_events()
        stored = ledger.mapper.to_stored_event(event)
    finally:
        ledger.close()
    insert_event(url, stored)
    status, text = _me(client, secret)
    assert status == 401, text
    assert "unknown, revoked or expired token" in text


def test_the_login_form_says_unsealed(
    issued: tuple[Kofu, str], client: TestClient
) -> None:
    insert_event(issued[0].url, _forged(issued[0].url))
    response = client.post("/login", data={"token": FORGED_SECRET})
    assert response.status_code == 401
    assert "封印されていません" in response.text
    assert "kofu_token" not in response.headers.get("set-cookie", "")


def test_a_token_issued_without_a_signing_key_opens_once_a_key_signs(
    world: Kofu,
) -> None:
    result = CliRunner().invoke(
        app,
        ["tokens", "issue", "--role", "auditor", "--name", "boa"],
        env={"KOFU_DATABASE_URL": world.url, "KOFU_SIGNING_KEY": ""},
    )
    assert result.exit_code == 0, result.output
    assert "no signing key" in result.output
    secret = result.output.strip().splitlines()[-1]
    ledger = open_ledger(world.url)
    try:
        with pytest.raises(UnsignedTokenError, match="is not sealed"):
            Facade(ledger=ledger).authenticate(secret)
    finally:
        ledger.close()
    assert world("checkpoint")[0] == 0  # the writer, with its key, signs
    ledger = open_ledger(world.url)
    try:
        token = Facade(ledger=ledger).authenticate(secret)
        assert token is not None
        assert token.role == "auditor"
    finally:
        ledger.close()
