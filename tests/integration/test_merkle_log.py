"""The writer seals: every event the recorders store is a leaf of the Merkle log.

On SQLite and PostgreSQL: the stored tree's root is the Merkle Tree Hash of the
events' leaves recomputed from the events; proofs read from the stored nodes
verify; an event stored around the recorder (a plain INSERT) is named as unsealed
and stays so after later writes (the writer never seals what it did not insert);
a seal that cannot be made writes nothing; and a check that finds damage never
repairs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.storage.bootstrap import open_ledger
from adapters.storage.merkle_log import MerkleLog, SealError, find_unsealed
from domain import merkle
from domain.bundle import BundleError, verify_bundle
from domain.checkpoint import SignerKey, open_checkpoint
from tests.conftest import Kofu
from tests.support.merkle import assert_sealed_whole, event_leaves
from tests.support.tamper import tamper


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


@pytest.fixture
def recorded(world: Kofu, tmp_path: Path) -> Kofu:
    code, output = world("submit", _answers(tmp_path, ("131016", "131024", "131032")))
    assert code == 0, output
    return world


def test_every_event_is_sealed_with_the_root_of_the_events(recorded: Kofu) -> None:
    ledger = open_ledger(recorded.url)
    try:
        assert_sealed_whole(ledger)
    finally:
        ledger.close()


def test_a_plain_insert_stays_an_unsealed_event(recorded: Kofu, tmp_path: Path) -> None:
    tamper(
        recorded.url,
        [
            "INSERT INTO EVENTS (originator_id, originator_version, topic, state) "
            "SELECT originator_id, 999, topic, state FROM EVENTS WHERE ID = 5"
        ],
    )
    ledger = open_ledger(recorded.url)
    try:
        forged = ledger.recorder.max_notification_id()
        assert forged is not None
        found = find_unsealed(ledger)
        assert [(f.position, f.detail) for f in found] == [
            (forged, f"unsealed event at position {forged}")
        ]
        size = MerkleLog(ledger).size()
    finally:
        ledger.close()
    # A later write seals its own events, never the forged one.
    code, output = recorded("submit", _answers(tmp_path, ("131041", "131059")))
    assert code == 0, output
    ledger = open_ledger(recorded.url)
    try:
        log = MerkleLog(ledger)
        assert [f.position for f in find_unsealed(ledger)] == [forged]
        leaves = [(p, h) for p, h in event_leaves(ledger) if p != forged]
        assert log.size() == len(leaves) > size
        assert log.root() == merkle.mth([h for _, h in leaves])
        assert log.leaf(forged) is None
        with pytest.raises(LookupError, match=f"no sealed event at position {forged}"):
            log.prove_inclusion(forged)
    finally:
        ledger.close()


@pytest.mark.parametrize(
    ("statements", "kinds"),
    [
        (["UPDATE EVENTS SET topic = topic || '#' WHERE ID = 7"], {"modified"}),
        (["DELETE FROM kofu_log_leaves WHERE leaf_index = 9"], {"unsealed", "log"}),
        (["UPDATE kofu_log_nodes SET hash = hash || hash WHERE level = 2"], {"log"}),
    ],
)
def test_a_scan_names_what_differs_and_repairs_nothing(
    recorded: Kofu, statements: list[str], kinds: set[str]
) -> None:
    ledger = open_ledger(recorded.url)
    try:
        before = MerkleLog(ledger).size()
    finally:
        ledger.close()
    tamper(recorded.url, statements)
    ledger = open_ledger(recorded.url)
    try:
        log = MerkleLog(ledger)
        first = log.scan()
        assert first.findings
        assert {f.kind for f in first.findings} == kinds
        again = log.scan()
        assert again.findings == first.findings
        assert log.size() == before
    finally:
        ledger.close()


def test_a_seal_that_cannot_be_made_writes_nothing(
    recorded: Kofu, tmp_path: Path
) -> None:
    events = recorded.events()
    tamper(recorded.url, ["DELETE FROM kofu_log_nodes"])
    with pytest.raises(SealError, match="right edge"):
        recorded("submit", _answers(tmp_path, ("131041",)))
    assert recorded.events() == events
    ledger = open_ledger(recorded.url)
    try:
        assert MerkleLog(ledger).size() == events
    finally:
        ledger.close()


def test_a_signed_checkpoint_of_the_log(recorded: Kofu) -> None:
    signer = SignerKey.generate("kofu.test/ledger")
    ledger = open_ledger(recorded.url)
    try:
        log = MerkleLog(ledger)
        writers = log.checkpoints()[-1]  # the writer signed after each write
        note = log.sign_checkpoint(signer)
        checkpoint = open_checkpoint(note, [signer.verifier()], "kofu.test/ledger")
        assert (checkpoint.size, checkpoint.root) == (log.size(), log.root())
        assert writers[0] == checkpoint.size
        # A second note at the same size is not stored: rows are never deleted or
        # updated (kofu init protects them); the first stays (issue 15 part 4).
        assert log.checkpoints()[-1] == writers
        assert writers[1] != note
        assert signer.seed not in note.encode()
    finally:
        ledger.close()


def test_a_bundle_from_the_stored_log_verifies_offline(
    recorded: Kofu, tmp_path: Path
) -> None:
    signer = SignerKey.generate("kofu.test/ledger")
    ledger = open_ledger(recorded.url)
    try:
        old = MerkleLog(ledger).sign_checkpoint(signer)
    finally:
        ledger.close()
    code, output = recorded("submit", _answers(tmp_path, ("131041", "131059")))
    assert code == 0, output
    ledger = open_ledger(recorded.url)
    try:
        log = MerkleLog(ledger)
        new = log.sign_checkpoint(signer)
        last = ledger.recorder.max_notification_id()
        assert last is not None
        positions = [1, last // 2, last]
        bundle = log.bundle(new, positions, [old])
        assert verify_bundle(bundle, [signer.verifier()]).positions == tuple(positions)
    finally:
        ledger.close()
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    assert _offline(signer, path)[0] == 0
    # The event at the middle position rewritten in the database: a bundle made
    # from it now fails against the checkpoint the writer signed before.
    tamper(
        recorded.url,
        [f"UPDATE EVENTS SET topic = topic || '#' WHERE ID = {positions[1]}"],
    )
    ledger = open_ledger(recorded.url)
    try:
        forged = MerkleLog(ledger).bundle(new, positions, [old])
    finally:
        ledger.close()
    with pytest.raises(BundleError, match=f"position {positions[1]}"):
        verify_bundle(forged, [signer.verifier()])
    path.write_text(json.dumps(forged), encoding="utf-8")
    code, out = _offline(signer, path)
    assert code == 1
    assert f"(position {positions[1]})" in out


def _offline(signer: SignerKey, bundle: Path) -> tuple[int, str]:
    script = Path(__file__).parents[2] / "scripts" / "kofu_verify_offline.py"
    done = subprocess.run(
        [sys.executable, script, "--key", str(signer.verifier()), bundle],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return done.returncode, done.stdout
