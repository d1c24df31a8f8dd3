"""`kofu verify --state FILE`: the verifier's own state, incremental verify (issue 15).

On SQLite and PostgreSQL: after appends the incremental verify passes and reads
only the new events; a history rewritten below the state's size (the log rows
recomputed, with or without a checkpoint re-signed under another key) or a log cut
back below it is a finding naming the size; the state file is the verifier's
(0600, replaced atomically, nothing written into the database); a bad state file
is refused by name. And the full verify's checkpoints: each opened once, its root
compared with the scan's, never recomputed from stored nodes.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from adapters.kofu import Kofu as Facade
from adapters.storage import log_check
from adapters.storage.bootstrap import open_ledger
from adapters.storage.merkle_log import MerkleLog
from domain.checkpoint import Checkpoint, SignerKey, VerifierKey
from tests.conftest import SIGNING_KEY, Kofu
from tests.support.tamper import tamper
from tests.trials import test_merkle_tamper as table
from tests.trials.test_merkle_tamper import (
    TARGET,
    _last,
    _query,
    _rebuild_log,
    _snapshot,
)

recorded = table.recorded  # the tamper table's ledger: a world, written, verified


def _more(kofu: Kofu) -> None:
    code, output = kofu("tokens", "issue", "--role", "ministry", "--name", "sato")
    assert code == 0, output


def _state(path: Path) -> dict[str, object]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def test_incremental_after_appends_reads_only_the_new(
    recorded: Kofu, tmp_path: Path
) -> None:
    state = tmp_path / "verifier.json"
    code, output = recorded("verify", "--state", state)
    assert code == 0, output
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    first = _state(state)
    assert (
        first["tree_size"]
        == _query(recorded.url, "SELECT COUNT(*) FROM kofu_log_leaves")[0][0]
    )
    _more(recorded)
    before = _snapshot(recorded.url)
    with Facade(recorded.url) as facade:
        found = facade.verify(state=state)
    assert found.finding is None
    assert found.log is not None
    new = found.log.leaves - int(str(first["tree_size"]))
    assert new > 0
    assert found.log.events == new  # only what came after the state was read
    assert found.log.since == first["tree_size"]
    assert _snapshot(recorded.url) == before  # a reader writes nothing
    assert _state(state)["tree_size"] == found.log.leaves
    code, output = recorded("verify", "--state", state)
    assert code == 0, output
    assert f"since tree size {found.log.leaves}" in output


def _incremental_fails(kofu: Kofu, state: Path) -> str:
    code, output = kofu("verify", "--state", state)
    assert code == 1, output
    return output


def test_a_history_rewritten_below_the_state_with_the_log_recomputed(
    recorded: Kofu, tmp_path: Path
) -> None:
    state = tmp_path / "verifier.json"
    assert recorded("verify", "--state", state)[0] == 0
    size = _state(state)["tree_size"]
    kept = state.read_bytes()
    tamper(
        recorded.url,
        [f"UPDATE EVENTS SET originator_version = 77 WHERE ID = {TARGET}"],
    )
    _rebuild_log(recorded.url)
    output = _incremental_fails(recorded, state)
    assert f"tree size {size} no longer matches the verified state" in output
    assert state.read_bytes() == kept  # a failed verify leaves the state alone


def test_a_history_rewritten_and_re_signed_with_another_key(
    recorded: Kofu, tmp_path: Path
) -> None:
    state = tmp_path / "verifier.json"
    assert recorded("verify", "--state", state)[0] == 0
    size = _state(state)["tree_size"]
    _more(recorded)
    tamper(
        recorded.url, [f"UPDATE EVENTS SET topic = topic || '#' WHERE ID = {TARGET}"]
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
    output = _incremental_fails(recorded, state)
    assert f"tree size {size} no longer matches the verified state" in output


def test_a_log_cut_back_below_the_state(recorded: Kofu, tmp_path: Path) -> None:
    state = tmp_path / "verifier.json"
    assert recorded("verify", "--state", state)[0] == 0
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
            f"DELETE FROM kofu_log_checkpoints WHERE tree_size > {index}",
        ],
    )
    output = _incremental_fails(recorded, state)
    found = re.search(r"TAMPERED at position (\d+)", output)
    assert found, output
    assert int(found.group(1)) == last
    assert "no longer matches the verified state" in output


def test_an_unsigned_append_after_the_state_is_found(
    recorded: Kofu, tmp_path: Path
) -> None:
    state = tmp_path / "verifier.json"
    assert recorded("verify", "--state", state)[0] == 0
    ledger = open_ledger(recorded.url)
    try:  # through kofu's own recorder: sealed, but never signed
        from eventsourcing.persistence import StoredEvent

        note = ledger.recorder.select_notifications(start=_last(recorded.url), limit=1)
        ledger.recorder.insert_events(
            [StoredEvent(note[0].originator_id, 999, note[0].topic, note[0].state)]
        )
    finally:
        ledger.close()
    output = _incremental_fails(recorded, state)
    assert "no signed checkpoint covers them" in output


def test_a_bad_state_file_is_refused_by_name(recorded: Kofu, tmp_path: Path) -> None:
    state = tmp_path / "verifier.json"
    state.write_text('{"format": "something else"}', encoding="utf-8")
    code, output = recorded("verify", "--state", state)
    assert code not in {0, 1}, output
    assert str(state) in output
    assert "not a kofu verifier state" in output
    assert "Traceback" not in output
    assert state.read_text(encoding="utf-8") == '{"format": "something else"}'
    export = tmp_path / "c.json"
    assert recorded("verify", "--export", export)[0] == 0
    code, output = recorded(
        "verify", "--state", tmp_path / "s.json", "--against", export
    )
    assert code not in {0, 1}, output
    assert "--state and --against" in output
    assert not (tmp_path / "s.json").exists()


def test_checkpoints_cost_one_signature_check_and_no_node_reads(
    recorded: Kofu, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Several signed checkpoints: each is opened once and compared with the root
    # the scan recomputes as it passes its size, never re-read from stored nodes.
    for _ in range(3):
        _more(recorded)
    opened: list[str] = []
    real = log_check.open_checkpoint

    def counting(note: str, keys: Sequence[VerifierKey]) -> Checkpoint:
        opened.append(note)
        return real(note, keys)

    def no_nodes(*_: object) -> dict[object, bytes]:
        msg = "a checkpoint's root read from stored nodes"
        raise AssertionError(msg)

    monkeypatch.setattr(log_check, "open_checkpoint", counting)
    monkeypatch.setattr(MerkleLog, "hashes", no_nodes)
    ledger = open_ledger(recorded.url)
    try:
        stored = len(MerkleLog(ledger).checkpoints())
        report = log_check.check_log(ledger, [SIGNING_KEY.verifier()])
    finally:
        ledger.close()
    assert stored >= 4
    assert report.checkpoints == stored
    assert report.findings == []
    assert report.signed == report.leaves
    assert len(opened) == stored
