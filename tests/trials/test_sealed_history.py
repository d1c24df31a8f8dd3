"""Only sealed events are trusted: an unsealed correction is flagged in history.

Issue 15 part 4, the second attack of its "why": a forged `Corrected` event,
appended with a plain INSERT, shows in `kofu history`, the audit trail over HTTP
and the audit pages. It is shown, never silently trusted: `sealed` false in
`kofu history` (and 未封印 in its title), in `/api/audit`, and a 未封印 mark on
the entity's page. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.http.app import create_app
from adapters.storage.bootstrap import open_ledger
from domain.clock import SimulatedClock
from domain.self_evaluation import SelfEvaluation
from tests.conftest import SHINJUKU, Kofu, correction
from tests.support.tamper import insert_event


@pytest.fixture
def corrected(world: Kofu, tmp_path: Path, clock: SimulatedClock) -> Kofu:
    """新宿区 submitted in the window and corrected by the ministry after it."""
    answers = tmp_path / "a.json"
    answers.write_text(
        json.dumps(
            [
                {
                    "entity": SHINJUKU,
                    "grant_year": 2020,
                    "tier": "municipal",
                    "answers": {"I-1-a": True},
                }
            ]
        ),
        encoding="utf-8",
    )
    assert world("submit", answers)[0] == 0
    clock.set_day(date(2019, 11, 15))
    code, output = world(*correction())
    assert code == 0, output
    return world


def _forge_correction(url: str) -> int:
    """A copy of the stored correction as the evaluation's next event; its position."""
    ledger = open_ledger(url)
    try:
        evaluation = ledger.self_evaluation(SHINJUKU, 2020, "municipal")
        aggregate_id = SelfEvaluation.id_for(SHINJUKU, 2020, "municipal")
        stored = ledger.recorder.select_events(aggregate_id)
        last = stored[-1]
        assert "Corrected" in last.topic
        version = evaluation.version
    finally:
        ledger.close()
    return insert_event(url, replace(last, originator_version=version + 1))


def _history(kofu: Kofu, fmt: str = "json") -> tuple[int, str]:
    return kofu(
        "history", "--entity", SHINJUKU, "--fiscal-year", "2020", "--format", fmt
    )


def test_history_of_a_sealed_ledger_is_all_sealed(corrected: Kofu) -> None:
    code, output = _history(corrected)
    assert code == 0, output
    rows = json.loads(output)
    assert [r["event"] for r in rows][-1] == "Corrected"
    assert all(r["sealed"] is True for r in rows)
    assert "未封印" not in _history(corrected, "table")[1]


def test_a_forged_correction_is_flagged_in_history(corrected: Kofu) -> None:
    position = _forge_correction(corrected.url)
    code, output = _history(corrected)
    assert code == 0, output
    rows = json.loads(output)
    assert [r["event"] for r in rows][-2:] == ["Corrected", "Corrected"]
    assert [r["sealed"] for r in rows][-2:] == [True, False]
    assert all(r["sealed"] for r in rows[:-1])
    code, table = _history(corrected, "table")
    assert code == 0
    assert "未封印 1 件" in table
    # `kofu audit` (the audit-trail read model) flags the same event.
    code, output = corrected(
        "audit", "--entity", SHINJUKU, "--fiscal-year", "2020", "--format", "json"
    )
    assert code == 0, output
    trail = {r["position"]: r["sealed"] for r in json.loads(output)}
    assert trail[position] is False
    assert all(v for p, v in trail.items() if p != position)


def _auditor(kofu: Kofu) -> str:
    code, output = kofu("tokens", "issue", "--role", "auditor", "--name", "boa")
    assert code == 0, output
    return output.strip().splitlines()[-1]


def _audit(client: TestClient, secret: str) -> list[dict[str, Any]]:
    response = client.get(
        "/api/audit",
        params={"entity": SHINJUKU, "fiscal_year": 2020},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_a_forged_correction_is_flagged_in_the_audit_trail_and_the_page(
    corrected: Kofu,
) -> None:
    secret = _auditor(corrected)
    with TestClient(create_app(corrected.url), raise_server_exceptions=False) as c:
        rows = _audit(c, secret)
        assert rows
        assert all(r["sealed"] is True for r in rows)
        page = c.get(f"/pages/entities/{SHINJUKU}/2020", cookies={"kofu_token": secret})
        assert page.status_code == 200, page.text
        assert "未封印" not in page.text
        position = _forge_correction(corrected.url)
        rows = _audit(c, secret)
        flagged = {r["position"]: r["sealed"] for r in rows}
        assert flagged[position] is False
        assert all(v for p, v in flagged.items() if p != position)
        page = c.get(f"/pages/entities/{SHINJUKU}/2020", cookies={"kofu_token": secret})
        assert page.status_code == 200, page.text
        assert "未封印 1 件" in page.text
        assert page.text.count("未封印 unsealed") == 1
