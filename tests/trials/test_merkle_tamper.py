"""The tamper table of issue 15: each case found by `kofu verify` with no export.

An attacker with the database's keys (not the ledger's signing key) tampers with
the events, the Merkle log or the signed checkpoints, on SQLite and PostgreSQL;
`kofu verify` exits 1 and names the position. And the reads: every read command
leaves the events, the log, the checkpoints and the chain exactly as they were.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from adapters.kofu import Kofu as Facade
from adapters.storage.bootstrap import open_ledger
from adapters.storage.merkle_log import MerkleLog
from domain.checkpoint import SignerKey
from tests.conftest import SHINJUKU, Kofu
from tests.support.tamper import tamper

TARGET = 60
TABLES = (
    "EVENTS",
    "kofu_log_leaves",
    "kofu_log_nodes",
    "kofu_log_checkpoints",
    "kofu_chain",
    "kofu_chain_checkpoints",
)


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
                for code in ("131016", "131024", "131032", SHINJUKU)
            ]
        ),
        encoding="utf-8",
    )
    assert world("submit", answers)[0] == 0
    code, output = world("tokens", "issue", "--role", "ministry", "--name", "yamada")
    assert code == 0, output
    code, output = world("verify")
    assert code == 0, output
    return world


def _query(url: str, statement: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            table = statement.replace("EVENTS", "stored_events").replace("ID", "rowid")
            return [tuple(r) for r in con.execute(table).fetchall()]
        finally:
            con.close()
    base, schema = url.split("?schema=")
    with psycopg.connect(base) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        table = statement.replace("EVENTS", "kofu_events").replace(
            "ID", "notification_id"
        )
        return [tuple(r) for r in conn.execute(table).fetchall()]  # type: ignore[arg-type]


def _last(url: str) -> int:
    return int(_query(url, "SELECT MAX(ID) FROM EVENTS")[0][0])


def _tampered(kofu: Kofu) -> tuple[int, str]:
    code, output = kofu("verify")
    assert code == 1, output
    found = re.search(r"TAMPERED at position (\d+)", output)
    assert found, output
    return int(found.group(1)), output


def _copy_row(kofu: Kofu, topic_part: str) -> None:
    # A new aggregate's first event: a copy of a stored event of that topic.
    columns = "originator_id, originator_version, topic, state"
    if kofu.url.startswith("sqlite"):
        new_id = "lower(hex(randomblob(16)))"
    else:
        new_id = "gen_random_uuid()"
    tamper(
        kofu.url,
        [
            f"INSERT INTO EVENTS ({columns}) SELECT {new_id}, 1, topic, state "
            f"FROM EVENTS WHERE topic LIKE '%{topic_part}%' "
            "AND originator_version = 1 ORDER BY ID DESC LIMIT 1"
        ],
    )


def _rebuild_log(url: str) -> None:
    # The attacker recomputes every leaf and node from the events as they are now.
    tamper(url, ["DELETE FROM kofu_log_leaves", "DELETE FROM kofu_log_nodes"])
    ledger = open_ledger(url)
    try:
        assert MerkleLog(ledger).build() > 0
    finally:
        ledger.close()


def test_a_plain_tail_insert(recorded: Kofu) -> None:
    _copy_row(recorded, "SelfEvaluation")
    position, output = _tampered(recorded)
    assert position == _last(recorded.url)
    assert f"unsealed event at position {position}" in output


def test_a_tail_insert_of_a_token(recorded: Kofu) -> None:
    _copy_row(recorded, "AccessToken.Issued")
    assert (
        "AccessToken"
        in _query(recorded.url, "SELECT topic FROM EVENTS ORDER BY ID DESC LIMIT 1")[0][
            0
        ]
    )
    position, output = _tampered(recorded)
    assert position == _last(recorded.url)
    assert "unsealed" in output


def test_a_tail_insert_with_its_log_rows_recomputed(recorded: Kofu) -> None:
    # The attacker inserts through kofu's own recorder: leaves and nodes correct,
    # but no checkpoint signed with the ledger's key covers the new event.
    ledger = open_ledger(recorded.url)
    try:
        note = ledger.recorder.select_notifications(start=_last(recorded.url), limit=1)[
            0
        ]
        from eventsourcing.persistence import StoredEvent

        ledger.recorder.insert_events(
            [StoredEvent(uuid.uuid4(), 1, note.topic, note.state)]
        )
    finally:
        ledger.close()
    position, output = _tampered(recorded)
    assert position == _last(recorded.url)
    assert "no signed checkpoint covers them" in output


def test_a_tail_delete_with_its_log_rows(recorded: Kofu) -> None:
    last = _last(recorded.url)
    (index,) = _query(
        recorded.url, f"SELECT leaf_index FROM kofu_log_leaves WHERE position = {last}"
    )[0]
    tamper(
        recorded.url,
        [
            f"DELETE FROM EVENTS WHERE ID = {last}",
            f"DELETE FROM kofu_log_leaves WHERE leaf_index = {index}",
            f"DELETE FROM kofu_log_nodes WHERE idx = ({index} >> level)",
        ],
    )
    ledger = open_ledger(recorded.url)
    try:
        assert MerkleLog(ledger).scan().findings == []  # the log itself is whole
    finally:
        ledger.close()
    position, output = _tampered(recorded)
    assert position == last
    # Named by the signed checkpoint ("are gone") or by the old chain ("is gone").
    assert "are gone" in output or "is gone" in output


def test_an_update_inside_with_the_log_recomputed(recorded: Kofu) -> None:
    tamper(
        recorded.url,
        [
            f"UPDATE EVENTS SET originator_version = originator_version + 100 "
            f"WHERE ID = {TARGET}"
        ],
    )
    _rebuild_log(recorded.url)
    position, output = _tampered(recorded)
    found = re.search(r"positions (\d+)\.\.(\d+) was rewritten", output)
    assert found, output
    assert int(found.group(1)) == position <= TARGET <= int(found.group(2))


def test_a_leaf_rewritten(recorded: Kofu) -> None:
    tamper(
        recorded.url,
        [
            "UPDATE kofu_log_leaves SET hash = (SELECT hash FROM kofu_log_leaves "
            f"WHERE position = {TARGET + 1}) WHERE position = {TARGET}"
        ],
    )
    position, _ = _tampered(recorded)
    assert position == TARGET


def test_the_checkpoints_deleted(recorded: Kofu) -> None:
    tamper(recorded.url, ["DELETE FROM kofu_log_checkpoints"])
    position, output = _tampered(recorded)
    first = int(_query(recorded.url, "SELECT MIN(ID) FROM EVENTS")[0][0])
    assert position == first
    assert "no signed checkpoint covers them" in output


def test_a_checkpoint_rewritten(recorded: Kofu) -> None:
    tamper(
        recorded.url,
        [
            "UPDATE kofu_log_checkpoints SET note = "
            "REPLACE(note, '\n\n', '\nextension\n\n') "
            "WHERE tree_size = (SELECT MAX(tree_size) FROM kofu_log_checkpoints)"
        ],
    )
    _, output = _tampered(recorded)
    assert "does not verify" in output or "no signed checkpoint" in output


def test_a_checkpoint_re_signed_with_another_key(recorded: Kofu) -> None:
    tamper(
        recorded.url, [f"UPDATE EVENTS SET originator_version = 99 WHERE ID = {TARGET}"]
    )
    _rebuild_log(recorded.url)
    tamper(recorded.url, ["DELETE FROM kofu_log_checkpoints"])
    ledger = open_ledger(recorded.url)
    try:  # the attacker's own key, under the ledger's name
        MerkleLog(ledger).sign_checkpoint(
            SignerKey.generate("test.kofu.invalid/ledger")
        )
    finally:
        ledger.close()
    position, output = _tampered(recorded)
    assert position == 1
    assert (
        "no trusted key signed the note" in output or "no signed checkpoint" in output
    )


def _snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: sorted(_query(url, f"SELECT * FROM {table}"), key=repr)
        for table in TABLES
    }


def test_reads_change_nothing(recorded: Kofu, tmp_path: Path) -> None:
    # An unsealed forgery at the tail: a reader must not seal, chain or sign it.
    _copy_row(recorded, "SelfEvaluation")
    before = _snapshot(recorded.url)
    year = ["--fiscal-year", "2020"]
    reads = [
        ["verify"],
        ["verify", "--export", tmp_path / "c.json"],
        ["entities"],
        ["history", "--entity", SHINJUKU, *year],
        ["submissions", *year],
        ["status", *year],
        ["ledger"],
        ["prove", "--position", "5"],
        ["prove", "--entity", SHINJUKU, *year],
        ["dossier", "--entity", SHINJUKU, *year, "--out", tmp_path / "d"],
    ]
    for args in reads:
        recorded(*args)
    with Facade(recorded.url) as facade:
        facade.store()
        facade.verify()
    assert _snapshot(recorded.url) == before
    assert _tampered(recorded)[0] == _last(recorded.url)
