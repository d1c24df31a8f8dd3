"""Witnesses: cosigning only a consistent log, a split view caught, a quorum for decisions.

On SQLite and PostgreSQL. A witness keeps its key and the last tree it cosigned in
its own file (0600, never overwritten); `kofu witness cosign` checks the
consistency proof from that tree to the ledger's newest signed checkpoint and
refuses a rewritten history (nothing recorded, its state unchanged); `kofu verify
--against-witness` fails on a ledger that no longer holds what the witness saw;
a tampered stored cosignature is a finding; publishing a decision needs
KOFU_WITNESS_QUORUM witnesses to have cosigned a tree covering it.
"""

from __future__ import annotations

import json
import re
import sqlite3
import stat
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from rich.console import Console

from adapters.inputs.keys import demo_key
from adapters.inputs.witness import read_state
from adapters.kofu import run_demo
from adapters.storage.bootstrap import open_ledger
from adapters.storage.merkle_log import MerkleLog
from domain.allocation_run import PhaseRuns
from domain.checkpoint import Signature, open_checkpoint, parse_note
from domain.clock import SimulatedClock
from domain.cosignature import WitnessKey
from tests.conftest import SIGNING_KEY, Kofu
from tests.support.tamper import tamper

DECISION = "FY2020-promotion-municipal-decision-1"


def _answers(folder: Path, codes: tuple[str, ...]) -> Path:
    path = folder / f"answers-{codes[0]}.json"
    path.write_text(
        json.dumps(
            [
                {
                    "entity": code,
                    "grant_year": 2020,
                    "tier": "municipal",
                    "answers": {"I-1-a": True},
                }
                for code in codes
            ]
        ),
        encoding="utf-8",
    )
    return path


def _witness(kofu: Kofu, path: Path, name: str) -> WitnessKey:
    code, output = kofu("witness", "init", "--state", path, "--name", name)
    assert code == 0, output
    found = re.search(r"witness key \(.*\): (\S+)", output)
    assert found, output
    return WitnessKey.parse(found.group(1))


def _cosign(kofu: Kofu, path: Path) -> tuple[int, str]:
    return kofu("witness", "cosign", "--state", path)


def _rows(url: str, statement: str) -> list[tuple[object, ...]]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
            return list(con.execute(statement))
    base, schema = url.split("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        return list(conn.execute(statement))  # type: ignore[call-overload]


def _set_line(url: str, line: str) -> None:
    # An attacker with the database rewrites a stored cosignature line.
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
            con.execute("UPDATE kofu_log_cosignatures SET line = ?", (line,))
        return
    base, schema = url.split("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        # A superuser can switch the append-only triggers off.
        conn.execute("SET session_replication_role = replica")
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        conn.execute("UPDATE kofu_log_cosignatures SET line = %s", (line,))


def _rewrite_and_resign(url: str) -> None:
    """The key holder rewrites answers, rebuilds the log from them and signs anew."""
    rewrite = (
        "UPDATE EVENTS SET state = CAST(replace(CAST(state AS TEXT), "
        "'\"checked\":true', '\"checked\":false') AS BLOB) "
        if url.startswith("sqlite")
        else "UPDATE EVENTS SET state = convert_to(replace(convert_from(state, "
        "'UTF8'), '\"checked\":true', '\"checked\":false'), 'UTF8') "
    )
    ledger = open_ledger(url)
    try:
        before = MerkleLog(ledger).root()
    finally:
        ledger.close()
    tamper(
        url,
        [
            # Every submission, those inside the first cosigned tree included.
            rewrite + "WHERE topic LIKE '%Submitted%'",
            "DELETE FROM kofu_log_leaves",
            "DELETE FROM kofu_log_nodes",
            "DELETE FROM kofu_log_checkpoints",
        ],
    )
    ledger = open_ledger(url)
    try:
        log = MerkleLog(ledger)
        assert log.build() > 0
        log.sign_checkpoint(SIGNING_KEY)
        assert log.root() != before  # rebuilt from the rewritten events
    finally:
        ledger.close()


@pytest.fixture
def recorded(world: Kofu, tmp_path: Path) -> Kofu:
    code, output = world("submit", _answers(tmp_path, ("131016", "131024", "131032")))
    assert code == 0, output
    return world


def test_a_split_view_is_caught_by_two_witnesses(
    recorded: Kofu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kofu, url = recorded, recorded.url
    a, b = tmp_path / "pref13.json", tmp_path / "auditor.json"
    keys = [_witness(kofu, a, "pref13.example"), _witness(kofu, b, "audit.example")]
    monkeypatch.setenv("KOFU_WITNESS_KEYS", " ".join(str(k) for k in keys))
    code, output = _cosign(kofu, b)  # B cosigns the first tree ...
    assert code == 0, output
    first = read_state(b).size
    code, output = kofu("submit", _answers(tmp_path, ("131041", "131059")))
    assert code == 0, output
    code, output = _cosign(kofu, a)  # ... A the grown one
    assert code == 0, output
    grown = read_state(a).size
    assert grown > first
    # The printed note carries the log's signature and a valid cosignature.
    note = output[output.index(SIGNING_KEY.name.split("/")[0]) :]
    text, signatures = parse_note(note)
    assert open_checkpoint(note, (SIGNING_KEY.verifier(),)).size == grown
    assert keys[0].timestamp(text, signatures[-1]) is not None
    code, output = kofu("verify")
    assert code == 0, output
    assert f"witness pref13.example cosigned up to tree size {grown}" in output
    assert f"witness audit.example cosigned up to tree size {first}" in output

    _rewrite_and_resign(url)
    states = {path: path.read_bytes() for path in (a, b)}
    stored = _rows(url, "SELECT COUNT(*) FROM kofu_log_cosignatures")[0][0]
    for path, size in ((a, grown), (b, first)):
        code, output = _cosign(kofu, path)
        assert code == 1, output
        assert "SPLIT VIEW" in output
        assert f"tree size {size} (root " in output  # both sizes and roots named
        assert path.read_bytes() == states[path]  # the witness's state unchanged
    assert _rows(url, "SELECT COUNT(*) FROM kofu_log_cosignatures")[0][0] == stored
    for path, name, size in ((a, "pref13.example", grown), (b, "audit.example", first)):
        code, output = kofu("verify", "--against-witness", path)
        assert code == 1, output
        assert (
            f"SPLIT VIEW: witness {name} cosigned tree size {size} with root" in output
        )


def test_a_tampered_or_unknown_cosignature_is_found_by_verify(
    recorded: Kofu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kofu, url = recorded, recorded.url
    key = _witness(kofu, tmp_path / "w.json", "pref14.example")
    code, output = _cosign(kofu, tmp_path / "w.json")
    assert code == 0, output
    # Not configured: the cosignature is not counted (and not a finding).
    monkeypatch.delenv("KOFU_WITNESS_KEYS", raising=False)
    code, output = kofu("verify")
    assert code == 0, output
    assert "1 cosignatures by witnesses not in KOFU_WITNESS_KEYS" in output
    monkeypatch.setenv("KOFU_WITNESS_KEYS", str(key))
    line = str(_rows(url, "SELECT line FROM kofu_log_cosignatures")[0][0])
    size = int(_rows(url, "SELECT tree_size FROM kofu_log_cosignatures")[0][0])
    # Exported with the checkpoints: the note with the witness's line after.
    code, output = kofu("verify", "--export", tmp_path / "export.json")
    assert code == 0, output
    assert f"witness pref14.example cosigned up to tree size {size}" in output
    exported = json.loads((tmp_path / "export.json").read_text(encoding="utf-8"))
    cosigned = exported["cosigned_checkpoints"][str(size)]
    assert cosigned.endswith(line)
    assert open_checkpoint(cosigned, (SIGNING_KEY.verifier(),)).size == size
    text, signatures = parse_note(cosigned)
    assert key.timestamp(text, signatures[-1]) is not None
    # One byte of the signature changed (the key ID and the time kept).
    _, signatures = parse_note(f"-\n\n{line}")
    forged = signatures[0].signature[:-1] + bytes([signatures[0].signature[-1] ^ 1])
    _set_line(url, Signature(key.name, key.key_id, forged).line())
    code, output = kofu("verify")
    assert code == 1, output
    assert (
        f"the cosignature by witness pref14.example of tree size {size} "
        "does not verify (forged)"
    ) in output


def test_the_witness_state_file_is_private_and_never_overwritten(
    kofu: Kofu, tmp_path: Path
) -> None:
    path = tmp_path / "w.json"
    _witness(kofu, path, "pref13.example")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    code, output = kofu("witness", "init", "--state", path, "--name", "other")
    assert code == 2, output
    assert "never overwritten" in output
    assert path.read_bytes() == before
    assert "PRIVATE+KEY+pref13.example+" in before.decode()
    path.chmod(0o644)
    code, output = _cosign(kofu, path)
    assert code == 2, output
    assert "can be read by others (mode 0644)" in output
    assert path.read_bytes() == before
    # A state someone edited (a negative size) or a huge file: bad input, named.
    edited = tmp_path / "edited.json"
    edited.write_bytes(before.replace(b'"size": 0', b'"size": -1'))
    edited.chmod(0o600)
    code, output = _cosign(kofu, edited)
    assert code == 2, output
    assert f"{edited}: not a witness state file: size is not a tree size" in output
    edited.write_bytes(b" " * 20_000)
    code, output = _cosign(kofu, edited)
    assert code == 2, output
    assert "too large for a witness state file" in output


@pytest.fixture
def decided(database_url: str, clock: SimulatedClock) -> Kofu:
    """A demo year of Tokyo (its decision runs recorded), the clock after it."""
    ledger = open_ledger(database_url)
    try:
        run_demo(ledger, 2020, 11, Console(quiet=True), prefectures={"13"})
    finally:
        ledger.close()
    clock.set_day(date(2021, 7, 1))  # after the demo's last event
    return Kofu(database_url)


def test_a_decision_is_published_only_once_a_quorum_cosigned(
    decided: Kofu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kofu, database_url = decided, decided.url
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    keys = [_witness(kofu, a, "pref13.example"), _witness(kofu, b, "audit.example")]
    monkeypatch.setenv("KOFU_WITNESS_KEYS", " ".join(str(k) for k in keys))
    monkeypatch.setenv("KOFU_WITNESS_QUORUM", "2")
    publish = ("publish", DECISION, "--actor", "ministry:yamada")
    for cosigned in ("none", "pref13.example"):
        events = kofu.events()
        code, output = kofu(*publish)
        assert code == 1, output
        assert f"is cosigned by {0 if cosigned == 'none' else 1} of the 2" in output
        assert f"({cosigned})" in output
        assert kofu.events() == events  # nothing written
        code, output = _cosign(kofu, a)
        assert code == 0, output
    code, output = _cosign(kofu, b)
    assert code == 0, output
    # One row per witness and tree: A's second cosign of the same tree adds none.
    stored = "SELECT COUNT(*) FROM kofu_log_cosignatures"
    assert _rows(database_url, stored)[0][0] == 2
    code, output = kofu(*publish)
    assert code == 0, output
    # A run of another phase needs no quorum; a bad quorum is named.
    code, output = kofu(
        "publish", "FY2020-promotion-municipal-expected-1", "--actor", "ministry:y"
    )
    assert code == 0, output
    monkeypatch.setenv("KOFU_WITNESS_QUORUM", "two")
    code, output = kofu(*publish)
    assert code == 2, output
    assert "KOFU_WITNESS_QUORUM" in output


def test_a_cosignature_of_a_tree_before_the_decision_does_not_count(
    decided: Kofu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kofu, database_url = decided, decided.url
    ledger = open_ledger(database_url)
    try:
        phase = ledger.get(
            PhaseRuns.id_for(2020, "promotion", "municipal", "decision"), PhaseRuns
        )
        assert phase is not None
        position = dict(ledger.run_positions([phase])[phase.id])[DECISION]
        leaf = MerkleLog(ledger).leaf(position)
        assert leaf is not None
        size = leaf[0] + 1
    finally:
        ledger.close()
    # The witness sees the ledger as it was signed just before the run: the
    # newer checkpoints are not there yet.
    tamper(
        database_url, [f"DELETE FROM kofu_log_checkpoints WHERE tree_size >= {size}"]
    )
    key = _witness(kofu, tmp_path / "w.json", "pref13.example")
    monkeypatch.setenv("KOFU_WITNESS_KEYS", str(key))
    monkeypatch.setenv("KOFU_WITNESS_QUORUM", "1")
    code, output = _cosign(kofu, tmp_path / "w.json")
    assert code == 0, output
    assert 0 < read_state(tmp_path / "w.json").size < size
    publish = ("publish", DECISION, "--actor", "ministry:yamada")
    code, output = kofu(*publish)
    assert code == 1, output
    assert (
        f"(position {position}, tree size {size}) is cosigned by 0 of the 1" in output
    )
    # The writer signs the tree that holds the run; the witness cosigns it.
    ledger = open_ledger(database_url)
    try:
        MerkleLog(ledger).sign_checkpoint(demo_key())
    finally:
        ledger.close()
    code, output = _cosign(kofu, tmp_path / "w.json")
    assert code == 0, output
    code, output = kofu(*publish)
    assert code == 0, output
