"""Read models that cannot lie: `kofu verify --read-models` and the dossier (issue 16).

An attacker with the database's keys rewrites, deletes or inserts a row of each
read model, on SQLite and PostgreSQL; `kofu verify --read-models` recomputes every
read model from the events, exits 1 and names the row (table and key); a rebuild
(the writer's fix) makes it pass again. The attack of the issue end to end: the
ministry's corrections attributed to the insurer show in `kofu audit`, are named
by verify, and the dossier of that trail does not say verified.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from adapters.http.app import create_app
from adapters.inputs.tokens import issue
from adapters.kofu import Kofu as Facade
from adapters.storage.read_store import table_name
from domain.clock import SimulatedClock, installed
from domain.commands import PublishRun
from projections.read_models import TABLES
from projections.schema import Table
from tests.conftest import SHINJUKU, Kofu, backend_url
from tests.support.tamper import tamper
from tests.support.timeline import jst

WORLD = {"13", "14"}
PUBLISHED = "FY2020-promotion-municipal-settlement-1"
VERIFY = ("verify", "--read-models")

REWRITES = {
    "allocations": "amount_yen = amount_yen + 1",
    "audit_trail": "actor = 'insurer:131041'",
    "submission_status": "revisions = revisions + 1",
    "item_scores": "points = points + 1",
    "scores": "total = total + 1",
    "run_publications": "actor = 'insurer:131041'",
}
"""What each table's first row is rewritten to (a value the events never made)."""
AUDITOR: dict[str, str] = {}
"""An auditor's token secret per demo ledger (for `GET /api/verify`)."""
FORGED = {"run_publications": ("run_id", "'FY2020-forged'")}
"""The key column a forged row changes (default: the entity, 999999)."""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Kofu]:
    folder = tmp_path_factory.mktemp("read-models")
    with backend_url(request.param, folder, "kofu_rmcheck") as url:
        with Facade(url) as facade:
            facade.demo(2020, 7, Console(quiet=True), WORLD)
            with installed(SimulatedClock(jst(date(2021, 7, 1)))):
                facade.execute(PublishRun(run_id=PUBLISHED, actor="ministry:yamada"))
                AUDITOR[url] = issue(
                    facade.ledger, "auditor", (), "boa", "system:test", days=3650
                ).secret
                facade.checkpoint()  # the writer signs what it wrote directly
            facade.store()  # projected, as a read command leaves it
        yield Kofu(url)


def _first(url: str, table: Table) -> dict[str, Any]:
    with Facade(url) as facade:
        rows = facade.store(catch_up_first=False).rows(
            table.name, {}, list(table.key_index or table.key)
        )
    assert rows, f"the demo fills {table.name}"
    return rows[0]


def _physical(url: str, table: Table) -> str:
    with Facade(url) as facade:
        return table_name(table, facade.store(catch_up_first=False).generation)


def _literal(value: object) -> str:
    return str(value) if isinstance(value, int) else "'" + str(value) + "'"


def _where(table: Table, row: dict[str, Any]) -> str:
    return " AND ".join(f'"{k}" = {_literal(row[k])}' for k in table.key)


def _named(table: Table, row: dict[str, Any], kind: str) -> str:
    key = ", ".join(f"{k}={row[k]}" for k in table.key)
    return f"{table.name} ({key}): {kind}"


def _rebuilt(kofu: Kofu) -> None:
    code, output = kofu("projections", "rebuild")
    assert code == 0, output
    code, output = kofu(*VERIFY)
    assert code == 0, output


def test_untampered_read_models_verify(demo: Kofu) -> None:
    code, output = demo(*VERIFY)
    assert code == 0, output
    assert "read models intact:" in output
    rows = int(output.split("read models intact: ")[1].split(" rows")[0])
    assert rows > 10_000  # every table recomputed, item scores the most


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
@pytest.mark.parametrize("how", ["rewritten", "deleted", "inserted"])
def test_a_tampered_row_is_named(demo: Kofu, table: Table, how: str) -> None:
    row = _first(demo.url, table)
    name = f'"{_physical(demo.url, table)}"'
    if how == "rewritten":
        statement = (
            f"UPDATE {name} SET {REWRITES[table.name]} WHERE {_where(table, row)}"
        )
        expected = _named(table, row, "changed")
    elif how == "deleted":
        statement = f"DELETE FROM {name} WHERE {_where(table, row)}"
        expected = _named(table, row, "missing")
    else:
        column, forged = FORGED.get(table.name, ("entity", "'999999'"))
        columns = [c.name for c in table.columns]
        chosen = ", ".join(forged if c == column else f'"{c}"' for c in columns)
        statement = (
            f"INSERT INTO {name} ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in columns)}) "
            f"SELECT {chosen} FROM {name} WHERE {_where(table, row)}"
        )
        expected = _named(table, row | {column: forged.strip("'")}, "extra")
    tamper(demo.url, [statement])
    try:
        code, output = demo(*VERIFY)
        assert code == 1, output
        assert "read models TAMPERED" in output
        assert expected in output
        assert "kofu projections rebuild" in output  # the fix, not done by verify
    finally:
        _rebuilt(demo)


def test_verify_repairs_nothing(demo: Kofu) -> None:
    table = next(t for t in TABLES if t.name == "scores")
    row = _first(demo.url, table)
    name = f'"{_physical(demo.url, table)}"'
    tamper(demo.url, [f"DELETE FROM {name} WHERE {_where(table, row)}"])
    try:
        for _ in range(2):  # the second run finds the same row: nothing repaired
            code, output = demo(*VERIFY)
            assert code == 1
            assert _named(table, row, "missing") in output
    finally:
        _rebuilt(demo)


def test_the_audit_trail_attack_of_the_issue(demo: Kofu, tmp_path: Path) -> None:
    """The ministry's corrections attributed to the insurer: shown, named, unverified."""
    table = next(t for t in TABLES if t.name == "audit_trail")
    audit = ("audit", "-e", SHINJUKU, "-y", "2020", "--format", "json")
    code, output = demo(*audit)
    assert code == 0, output
    corrected = [
        r for r in json.loads(output) if r["event"] == "SelfEvaluation.Corrected"
    ]
    assert corrected
    assert all(r["actor"].startswith("ministry:") for r in corrected)
    tamper(
        demo.url,
        [
            f'UPDATE "{_physical(demo.url, table)}" SET actor = '
            f"'insurer:{SHINJUKU}' WHERE event = 'SelfEvaluation.Corrected'"
        ],
    )
    try:
        # the lie shows where readers look
        code, output = demo(*audit)
        lied = [
            r for r in json.loads(output) if r["event"] == "SelfEvaluation.Corrected"
        ]
        assert {r["actor"] for r in lied} == {f"insurer:{SHINJUKU}"}
        # verify names every rewritten row
        code, output = demo(*VERIFY)
        assert code == 1, output
        for r in corrected:
            assert (
                f"audit_trail (position={r['position']}, entity={SHINJUKU}): changed: "
                f"actor 'insurer:{SHINJUKU}', recomputed '{r['actor']}'"
            ) in output
        # the dossier of that trail does not say verified
        folder = tmp_path / "tampered"
        code, output = demo("dossier", "-e", SHINJUKU, "-y", "2020", "--out", folder)
        assert code == 0, output
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["verified"] is False
        assert manifest["verification"].startswith("NOT VERIFIED")
        checked = manifest["checked"]["read_models"]["audit_trail"]
        assert checked["differing"] == len(corrected)
        assert any(
            str(r["position"]) in d for r in corrected for d in checked["differences"]
        )
        page = (folder / "index.html").read_text(encoding="utf-8")
        assert "NOT VERIFIED" in page
    finally:
        _rebuilt(demo)
    # rebuilt from the events: the same dossier says verified, naming what it checked
    folder = tmp_path / "rebuilt"
    code, output = demo("dossier", "-e", SHINJUKU, "-y", "2020", "--out", folder)
    assert code == 0, output
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["verified"] is True
    checked = manifest["checked"]["read_models"]["audit_trail"]
    assert checked["where"] == {"entity": SHINJUKU, "grant_year": 2020}
    assert checked["differing"] == 0
    assert checked["rows"] == len(json.loads((folder / "trail.json").read_bytes()))


def test_a_key_rewritten_to_another_type_is_named(demo: Kofu) -> None:
    # SQLite keeps text in an integer column; PostgreSQL refuses it (another year).
    table = next(t for t in TABLES if t.name == "submission_status")
    row = _first(demo.url, table)
    forged = "'2020x'" if demo.url.startswith("sqlite") else "1999"
    name = f'"{_physical(demo.url, table)}"'
    tamper(
        demo.url,
        [f"UPDATE {name} SET grant_year = {forged} WHERE {_where(table, row)}"],
    )
    try:
        code, output = demo(*VERIFY)
        assert code == 1, output
        assert _named(table, row, "missing") in output
        moved = row | {"grant_year": forged.strip("'")}
        assert _named(table, moved, "extra") in output
    finally:
        _rebuilt(demo)


def test_a_position_beyond_the_log_is_named(demo: Kofu) -> None:
    with Facade(demo.url) as facade:
        store = facade.store(catch_up_first=False)
        position, generation = store.position(), store.generation
    tracking = (
        "tracking"
        if demo.url.startswith("sqlite")
        else ("kofu_read_models_v1_tracking")
    )
    tamper(
        demo.url,
        [
            f"UPDATE {tracking} SET notification_id = {position + 10} "
            f"WHERE application_name = 'kofu:read_models_v1_g{generation}'"
        ],
    )
    try:
        code, output = demo(*VERIFY)
        assert code == 1, output
        assert f"tracking (position={position + 10}): extra" in output
    finally:
        _rebuilt(demo)


def test_tables_of_another_shape_are_not_compared(demo: Kofu) -> None:
    tamper(demo.url, ["UPDATE kofu_read_model_generation SET shape = 'another'"])
    try:
        code, output = demo(*VERIFY)
        assert code == 1, output
        assert "built by another version of kofu: not compared" in output
    finally:
        _rebuilt(demo)


def test_the_api_names_the_rows_too(demo: Kofu) -> None:
    table = next(t for t in TABLES if t.name == "allocations")
    row = _first(demo.url, table)
    auth = {"Authorization": f"Bearer {AUDITOR[demo.url]}"}
    with TestClient(create_app(demo.url)) as client:
        plain = client.get("/api/verify", headers=auth).json()
        assert plain["intact"] is True
        assert "read_models" not in plain  # only when asked
        asked = client.get("/api/verify?read_models=true", headers=auth).json()
        assert asked["intact"] is True
        assert asked["read_models"]["differing"] == 0
        assert asked["read_models"]["rows"]["allocations"] > 0
        name = f'"{_physical(demo.url, table)}"'
        tamper(demo.url, [f"DELETE FROM {name} WHERE {_where(table, row)}"])
        try:
            found = client.get("/api/verify?read_models=true", headers=auth).json()
            assert found["intact"] is False
            assert found["read_models"]["differing"] == 1
            assert found["read_models"]["differences"] == [
                _named(table, row, "missing")
            ]
        finally:
            _rebuilt(demo)


def test_read_models_are_not_compared_when_the_events_do_not_verify(
    world: Kofu,
) -> None:
    code, output = world("audit", "-e", SHINJUKU, "-y", "2020")  # projected
    assert code == 0, output
    code, output = world(*VERIFY)
    assert code == 0, output
    assert "read models intact" in output
    with Facade(world.url) as facade:
        last = facade.ledger.recorder.max_notification_id()
    tamper(
        world.url,
        [
            f"UPDATE EVENTS SET originator_version = originator_version + 100 WHERE ID = {last}"
        ],
    )
    code, output = world(*VERIFY)
    assert code == 1, output
    assert f"TAMPERED at position {last}" in output
    assert "read models" not in output  # rows from events that fail prove nothing
