"""The money chain over HTTP (issue 17): roles, the actor, refusals, both backends.

The world of tests/support/money.py; tokens: 日の出町's insurer (its LG code
133051, a member of insurer 133058), 檜原村's (133078, a member of the union 139907),
東京都, the ministry, an auditor and a reader.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from adapters.http.app import create_app
from adapters.inputs.tokens import issue
from adapters.kofu import Kofu as KofuFacade
from adapters.storage.bootstrap import open_ledger
from domain.clock import SimulatedClock
from tests.conftest import Kofu
from tests.support.money import HINODE_INSURER, UNION, load_money_world

HOLDERS = {
    "hinode": ("insurer", ("133051",)),
    "hinohara": ("insurer", ("133078",)),
    "tokyo": ("prefecture", ("130001",)),
    "ministry": ("ministry", ()),
    "auditor": ("auditor", ()),
    "reader": ("reader", ()),
}


class Client:
    def __init__(self, client: TestClient, secrets: dict[str, str], kofu: Kofu):
        self.client, self.secrets, self.kofu = client, secrets, kofu

    def post(self, who: str, step: str, body: dict[str, Any]) -> httpx.Response:
        auth = {"Authorization": f"Bearer {self.secrets[who]}"}
        return self.client.post(f"/api/grants/{step}", json=body, headers=auth)

    def get(self, who: str, path: str) -> httpx.Response:
        auth = {"Authorization": f"Bearer {self.secrets[who]}"}
        return self.client.get(path, headers=auth)


@pytest.fixture
def api(kofu: Kofu, tmp_path: Path, clock: SimulatedClock) -> Iterator[Client]:
    load_money_world(kofu, tmp_path / "world")
    clock.set_day(date(2020, 5, 20))
    opened = open_ledger(kofu.url)
    try:
        secrets = {
            name: issue(opened, role, scope, name, "system:test").secret  # type: ignore[arg-type]
            for name, (role, scope) in HOLDERS.items()
        }
        # The writer signs what it issued: only sealed tokens authenticate.
        KofuFacade(ledger=opened).checkpoint()
    finally:
        opened.close()
    with TestClient(create_app(kofu.url), raise_server_exceptions=False) as client:
        yield Client(client, secrets, kofu)


def chain(recipient: str, **more: object) -> dict[str, object]:
    return {
        "recipient": recipient,
        "grant_year": 2020,
        "grant": "promotion",
        "tier": "municipal",
    } | more


def test_the_recipient_applies_as_its_member_and_the_ministry_decides(
    api: Client, clock: SimulatedClock
) -> None:
    uses = {"uses": {"comprehensive_program": 600_000}}
    reply = api.post("hinode", "applications", chain(HINODE_INSURER, **uses))
    assert reply.status_code == 201, reply.text
    assert reply.json()["actor"] == "insurer:133051"
    # The union's member applies for the union (300,000 + 500,000 provisional).
    reply = api.post("hinohara", "applications", chain(UNION, **uses))
    assert (reply.status_code, reply.json()["actor"]) == (201, "insurer:133078")
    clock.set_day(date(2020, 7, 31))
    assert api.post("ministry", "decisions", chain(HINODE_INSURER)).status_code == 201
    statement = api.get(
        "hinode", f"/api/grants/statement?recipient={HINODE_INSURER}&fiscal_year=2020"
    )
    assert statement.status_code == 200
    assert statement.json()["chains"][0]["decided_yen"] == 600_000
    assert "HYPOTHESIS" in statement.json()["notes"][0]
    totals = api.get("auditor", "/api/grants/totals?fiscal_year=2020").json()
    assert [t["applied_yen"] for t in totals["items"]] == [1_200_000]


@pytest.mark.parametrize(
    ("who", "step", "body", "status"),
    [
        # another insurer applies for 日の出町
        ("hinohara", "applications", chain(HINODE_INSURER, uses={"comprehensive_program": 1}), 403),
        # the ministry applies for a recipient
        ("ministry", "applications", chain(HINODE_INSURER, uses={"comprehensive_program": 1}), 403),
        # an insurer decides, a prefecture confirms, an auditor pays
        ("hinode", "decisions", chain(HINODE_INSURER), 403),
        ("tokyo", "confirmations", chain(HINODE_INSURER), 403),
        ("auditor", "payments", chain(HINODE_INSURER, paid_on="2020-05-20", amount_yen=1, reference="x"), 403),
        # the actor is never the body's
        ("hinode", "applications", chain(HINODE_INSURER, actor="insurer:133051", uses={"comprehensive_program": 1}), 422),
        # above the provisional amount, a negative amount, an unknown step
        ("hinode", "applications", chain(HINODE_INSURER, uses={"comprehensive_program": 1_000_001}), 409),
        ("hinode", "applications", chain(HINODE_INSURER, uses={"comprehensive_program": -1}), 422),
        ("ministry", "settlements", chain(HINODE_INSURER), 404),
    ],
)  # fmt: skip
def test_a_refused_step_writes_nothing(
    api: Client, who: str, step: str, body: dict[str, Any], status: int
) -> None:
    before = api.kofu.events()
    reply = api.post(who, step, body)
    assert reply.status_code == status, reply.text
    assert api.kofu.events() == before


def test_the_statement_is_read_by_the_recipients_side_only(api: Client) -> None:
    path = f"/api/grants/statement?recipient={UNION}&fiscal_year=2020"
    assert api.get("hinohara", path).status_code == 200
    assert api.get("tokyo", path).status_code == 200
    assert api.get("ministry", path).status_code == 200
    assert api.get("hinode", path).status_code == 403
    assert api.get("reader", path).status_code == 403
    assert api.get("reader", "/api/grants/totals?fiscal_year=2020").status_code == 403
