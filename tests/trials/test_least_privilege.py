"""PostgreSQL least privilege: the application's role records, never changes.

`kofu init --app-role R`, run as the owner of the ledger's tables, protects the
events and the Merkle log's rows with triggers the owner owns and grants R what
the running application needs (docs/INTEGRITY.md, "Least privilege"). Then R
loads, submits, allocates (the library's `LOCK TABLE … IN EXCLUSIVE MODE`),
reads, rebuilds the read models and verifies; and every way R could change or
remove a stored event or a log row fails. Roles are cluster-wide: a unique name
per run, dropped afterwards. SQLite has no roles: what kofu enforces there is
tested in the SQLite half of the last test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from adapters.kofu import Kofu as Facade
from domain import clock as ledger_clock
from domain.clock import JST, SimulatedClock
from domain.errors import InvalidInput
from tests.conftest import PG_BASE, Kofu, backend_url
from tests.e2e.test_fy2019_confirmed_formula import ANSWERS, YEAR, reference_files

PROTECTED = (
    "kofu_events",
    "kofu_log_leaves",
    "kofu_log_nodes",
    "kofu_log_checkpoints",
    "kofu_log_cosignatures",
)


@pytest.fixture
def owned(tmp_path: Path) -> Iterator[tuple[Kofu, Kofu, str]]:
    """The CLI as the owner and as a fresh application role, on a fresh schema."""
    role = f"kofu_app_{uuid.uuid4().hex[:10]}"
    base = PG_BASE.split("?")[0]
    with backend_url("postgres", tmp_path, "kofu_priv") as url:
        schema = url.split("?schema=")[1]
        app_url = f"postgresql://{role}@{base.split('@', 1)[1]}?schema={schema}"
        try:
            yield Kofu(url), Kofu(app_url), role
        finally:
            with psycopg.connect(base, autocommit=True) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
                ).fetchone()
                if exists:
                    # Only this role's objects and grants (in this database).
                    conn.execute(
                        sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role))
                    )
                    conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _ok(kofu: Kofu, *args: str | Path) -> str:
    code, output = kofu(*args)
    assert code == 0, output
    return output


def _as(app: Kofu, statement: str) -> str:
    """Run one statement as the application's role; the error it raised."""
    base, schema = app.url.split("?schema=")
    with psycopg.connect(base) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        try:
            conn.execute(statement)  # type: ignore[arg-type]
        except psycopg.Error as exc:
            return str(exc)
    pytest.fail(f"the application's role could run: {statement}")


def _counts(owner: Kofu) -> dict[str, int]:
    base, schema = owner.url.split("?schema=")
    with psycopg.connect(base) as conn:
        return {
            table: int(
                conn.execute(  # type: ignore[index]
                    sql.SQL("SELECT COUNT(*) FROM {}").format(
                        sql.Identifier(schema, table)
                    )
                ).fetchone()[0]
            )
            for table in PROTECTED
        }


def test_the_application_role_records_but_cannot_change_what_is_stored(
    owned: tuple[Kofu, Kofu, str], tmp_path: Path
) -> None:
    owner, app, role = owned
    output = _ok(owner, "init", "--app-role", role)
    assert "protected from" in output
    assert f"role {role}" in output
    clock = SimulatedClock(datetime(2018, 9, 28, 9, tzinfo=JST))
    with ledger_clock.installed(clock):
        # Real writes as the application's role: each takes the table lock.
        _ok(app, "load", *reference_files(tmp_path))
        clock.set_day(date(2018, 10, 10))
        for entity, items in ANSWERS.items():
            path = tmp_path / f"answers-{entity}.json"
            body = {
                "entity": entity,
                "grant_year": int(YEAR),
                "tier": "municipal",
                "answers": dict.fromkeys(items, True),
            }
            path.write_text(json.dumps(body), encoding="utf-8")
            _ok(app, "submit", path)
        clock.set_day(date(2018, 11, 30))
        _ok(app, "allocate", "--fiscal-year", YEAR, "--phase", "reference")
        _ok(app, "tokens", "issue", "--role", "auditor", "--name", "boa")
        rows = json.loads(
            _ok(app, "allocations", "--fiscal-year", YEAR, "--format", "json")
        )
        assert {r["entity"] for r in rows} >= set(ANSWERS)
        _ok(app, "projections", "rebuild")
        _ok(app, "audit", "--entity", next(iter(ANSWERS)), "--fiscal-year", YEAR)
        assert "intact" in _ok(app, "verify").lower()
        # A witness cosigns through the application's role: an INSERT only.
        witness = tmp_path / "witness.json"
        _ok(app, "witness", "init", "--state", witness, "--name", "w.example")
        _ok(app, "witness", "cosign", "--state", witness)
    before = _counts(owner)
    assert before["kofu_log_cosignatures"] == 1
    assert before["kofu_events"] > 0
    assert before["kofu_log_checkpoints"] > 0
    refused = [
        *(
            f"UPDATE {t} SET {c} = {c}"
            for t, c in zip(
                PROTECTED, ("topic", "hash", "hash", "note", "line"), strict=True
            )
        ),
        *(f"DELETE FROM {t}" for t in PROTECTED),
        *(f"TRUNCATE {t}" for t in PROTECTED),
        "ALTER TABLE kofu_events DISABLE TRIGGER ALL",
        "ALTER TABLE kofu_log_leaves DISABLE TRIGGER kofu_log_leaves_immutable",
        "DROP TRIGGER kofu_events_immutable ON kofu_events",
        "DROP TABLE kofu_log_checkpoints",
        (
            "CREATE OR REPLACE FUNCTION kofu_forbid_change() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"
        ),
        "SET session_replication_role = replica",
        f"ALTER TABLE kofu_events OWNER TO {role}",
        "CREATE TRIGGER x BEFORE INSERT ON kofu_events "
        "FOR EACH ROW EXECUTE FUNCTION kofu_forbid_change()",
    ]
    for statement in refused:
        error = _as(app, statement)
        assert (
            "immutable" in error
            or "permission denied" in error
            or "must be owner" in error
        ), (statement, error)
    assert _counts(owner) == before
    # `kofu init` is the owner's: the application's role is told so, nothing changed.
    code, output = app("init")
    assert code == 2, output
    assert "runs as the owner" in output
    assert _counts(owner) == before
    # The owner's own triggers refuse it too (kofu init protects every ledger).
    base, schema = owner.url.split("?schema=")
    with psycopg.connect(base) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        with pytest.raises(psycopg.Error, match="immutable"):
            conn.execute("DELETE FROM kofu_log_leaves")


def test_an_app_role_is_refused_on_sqlite_and_for_a_bad_name(tmp_path: Path) -> None:
    with backend_url("sqlite", tmp_path, "x") as url:
        kofu = Kofu(url)
        code, output = kofu("init", "--app-role", "kofu_app")
        assert code == 2
        assert "--app-role is for PostgreSQL" in output
    with backend_url("postgres", tmp_path, "kofu_priv") as url:
        facade = Facade(url)
        try:
            with pytest.raises(InvalidInput, match="lower-case SQL identifier"):
                facade.grant_app_role('x"; DROP TABLE kofu_events; --')
        finally:
            facade.close()


def test_init_makes_a_sqlite_file_owner_only(tmp_path: Path) -> None:
    # SQLite has no roles: kofu keeps the file to its owner (the seal and the
    # signed checkpoints show what anyone who can still write it changed).
    with backend_url("sqlite", tmp_path, "x") as url:
        kofu = Kofu(url)
        _ok(kofu, "init")
        path = tmp_path / "kofu.db"
        path.chmod(0o644)
        output = _ok(kofu, "init")
        assert "owner-only" in output
        assert path.stat().st_mode & 0o777 == 0o600
