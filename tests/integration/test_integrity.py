"""Tamper evidence: `kofu verify` finds rows modified, deleted, inserted or swapped.

Each case tampers with the stored events directly in SQLite or PostgreSQL (as an
attacker with the database's keys would), then runs `kofu verify`: exit code 1 and
the first tampered position. An untouched ledger verifies with exit code 0.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.conftest import PG_BASE, Kofu, _drop_schema
from tests.support.tamper import tamper

TARGET = 60


def _shift_insert(url: str) -> list[str]:
    if url.startswith("sqlite"):
        return [
            "CREATE TABLE shifted AS SELECT rowid AS r, * FROM stored_events WHERE rowid >= 60",
            "DELETE FROM stored_events WHERE rowid >= 60",
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
            "SELECT r + 1, originator_id, originator_version, topic, state FROM shifted",
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
            "SELECT 60, originator_id, 999, topic, state FROM shifted WHERE r = 60",
        ]
    return [
        "UPDATE kofu_events SET notification_id = notification_id + 1000000 WHERE notification_id >= 60",
        "UPDATE kofu_events SET notification_id = notification_id - 999999 WHERE notification_id >= 1000000",
        "INSERT INTO kofu_events (originator_id, originator_version, topic, state, notification_id) "
        "SELECT originator_id, 999, topic, state, 60 FROM kofu_events WHERE notification_id = 61",
    ]


CASES: dict[str, tuple[Callable[[str], list[str]], str]] = {
    "modified": (
        lambda url: (
            [
                f"UPDATE EVENTS SET state = CAST(state || CAST(' ' AS BLOB) AS BLOB) WHERE ID = {TARGET}"
            ]
            if url.startswith("sqlite")
            else [
                f"UPDATE EVENTS SET state = state || '\\x20'::bytea WHERE ID = {TARGET}"
            ]
        ),
        "modified",
    ),
    "deleted": (lambda url: [f"DELETE FROM EVENTS WHERE ID = {TARGET}"], "deleted"),
    "swapped": (
        lambda url: [
            f"UPDATE EVENTS SET topic = (SELECT topic FROM EVENTS WHERE ID = {TARGET + 1}) || '#' WHERE ID = {TARGET}",
        ],
        "modified",
    ),
    "inserted": (_shift_insert, "inserted"),
}


@pytest.fixture
def recorded(world: Kofu, tmp_path: Path) -> Kofu:
    answers = tmp_path / "a.json"
    answers.write_text(
        json.dumps(
            [
                {
                    "entity": code,
                    "grant_year": 2020,
                    "tier": "municipal",
                    "answers": {"I-1-a": True},
                }
                for code in ("131016", "131024", "131032")
            ]
        ),
        encoding="utf-8",
    )
    code, output = world("submit", answers)
    assert code == 0, output
    assert world.events() > TARGET + 2
    return world


def test_an_untouched_ledger_verifies(recorded: Kofu, tmp_path: Path) -> None:
    code, output = recorded("verify", "--export", tmp_path / "checkpoints.json")
    assert code == 0, output
    assert f"intact: {recorded.events()} events verified" in output
    digest = re.search(r"SHA-256 apart: ([0-9a-f]{64})", output)
    assert digest
    code, output = recorded("verify", "--against", tmp_path / "checkpoints.json")
    assert code == 0, output


@pytest.mark.parametrize("case", list(CASES))
def test_tampering_is_found_at_its_position(recorded: Kofu, case: str) -> None:
    code, output = recorded("verify")
    assert code == 0, output
    statements, kind = CASES[case]
    tamper(recorded.url, statements(recorded.url))
    code, output = recorded("verify")
    assert code == 1, output
    assert f"TAMPERED at position {TARGET} ({kind})" in output


def test_an_exported_checkpoint_catches_a_rewritten_chain(
    recorded: Kofu, tmp_path: Path
) -> None:
    assert recorded("verify", "--export", tmp_path / "c.json")[0] == 0
    # The attacker rewrites an event AND recomputes the whole chain inside the database.
    statements, _ = CASES["modified"]
    tamper(
        recorded.url,
        [
            *statements(recorded.url),
            "DELETE FROM kofu_chain",
            "DELETE FROM kofu_chain_checkpoints",
        ],
    )
    # The Merkle log the writer sealed still holds the old leaf: the ledger alone
    # now tells (issue 15); before the log, only the export could.
    code, output = recorded("verify")
    assert code == 1, output
    assert "differs from what was sealed" in output
    code, output = recorded("verify", "--against", tmp_path / "c.json")
    assert code == 1, output
    assert "TAMPERED at position" in output


@pytest.fixture
def postgres_kofu() -> Iterator[Kofu]:
    """PostgreSQL only: SQLite has no triggers of this kind; `verify` covers it."""
    schema = f"kofu_test_{uuid.uuid4().hex[:12]}"
    yield Kofu(f"{PG_BASE.split('?')[0]}?schema={schema}")
    _drop_schema(schema)


def test_postgres_refuses_to_update_or_delete_event_rows(postgres_kofu: Kofu) -> None:
    kofu = postgres_kofu
    assert kofu("init")[0] == 0
    base, schema = kofu.url.split("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        for statement in (
            "UPDATE kofu_events SET topic = 'x'",
            "DELETE FROM kofu_events",
            "TRUNCATE kofu_events",
        ):
            conn.execute(
                "INSERT INTO kofu_events (originator_id, originator_version, topic, state) "
                "VALUES (gen_random_uuid(), 1, 't', 'x') ON CONFLICT DO NOTHING"
            )
            with pytest.raises(
                psycopg.errors.RaiseException, match="stored events are immutable"
            ):
                conn.execute(statement)  # type: ignore[arg-type]
