"""The proof-bundle test vectors in tests/vectors/: how each is made.

Eleven synthetic stored events (positions with gaps, as PostgreSQL leaves them) in
a Merkle log held in memory, checkpoints signed with fixed TEST keys (their seeds
are below: never a ledger's keys), and one bundle per case: valid ones and each
kind of invalid one; and dossiers (`dossier`: the files by name) that add a run
whose receipt names the tree it read, valid and each kind of invalid. Ed25519 signatures are deterministic, so the vectors are
rebuilt byte for byte; `tests/unit/test_offline_verifier.py` checks the shipped
files against this code. Rewrite them with

    .venv/bin/python -m tests.support.vectors
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from domain import merkle
from domain.bundle import bundle_document, consistency_entry, event_entry
from domain.checkpoint import Checkpoint, Signature, SignerKey, sign_note

FOLDER = Path(__file__).parents[1] / "vectors"
ORIGIN = "kofu.test/vectors"
LEDGER = SignerKey(
    ORIGIN, hashlib.sha256(b"kofu TEST vectors: the ledger key").digest()
)
OTHER = SignerKey(ORIGIN, hashlib.sha256(b"kofu TEST vectors: another key").digest())
WITNESS = SignerKey(
    "witness.test/one", hashlib.sha256(b"kofu TEST vectors: a witness").digest()
)
POSITIONS = (1, 2, 3, 5, 6, 7, 8, 9, 12, 13, 14)
TOPICS = (
    "kofu.Entity.Registered",
    "kofu.SelfEvaluation.Opened",
    "kofu.SelfEvaluation.Submitted",
    "kofu.CommandReceipt.Recorded",
)


def events(fork: bool = False) -> list[tuple[int, str, int, str, bytes]]:
    """The stored events (with `fork`, a history whose third event differs)."""
    found = []
    for number, position in enumerate(POSITIONS):
        originator = str(uuid.uuid5(uuid.NAMESPACE_URL, f"vectors/{number % 4}"))
        state = json.dumps(
            {"name": "新宿区", "number": number, "value": number * 1000},
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        if fork and number == 2:
            state = state.replace(b"2000", b"2001")
        found.append((position, originator, number // 4 + 1, TOPICS[number % 4], state))
    return found


def _tree(history: list[tuple[int, str, int, str, bytes]]) -> merkle.MemoryTree:
    return merkle.MemoryTree(merkle.event_leaf_hash(*e) for e in history)


def _entry(tree: merkle.MemoryTree, index: int, size: int) -> dict[str, Any]:
    event = events()[index]
    return event_entry(*event, index, merkle.inclusion_proof(index, size, tree))


def _signed(size: int, tree: merkle.MemoryTree, *signers: SignerKey) -> str:
    return Checkpoint(ORIGIN, size, tree.root(size)).sign(*signers)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def build() -> dict[str, dict[str, Any]]:
    """Every vector: name → {description, expect, trusted_keys, bundle or dossier}."""
    tree, size = _tree(events()), len(POSITIONS)
    note = _signed(size, tree, LEDGER)
    good_events = [_entry(tree, i, size) for i in (0, 4, 10)]
    good_older = [
        consistency_entry(
            _signed(old, tree, LEDGER), merkle.consistency_proof(old, size, tree)
        )
        for old in (6, 8)
    ]
    cases: dict[str, tuple[str, str, dict[str, Any]]] = {}

    def case(name: str, expect: str, description: str, bundle: dict[str, Any]) -> None:
        cases[name] = (expect, description, bundle)

    case(
        "valid-events-and-consistency",
        "valid",
        "three events included in the tree of 11; it extends the signed trees of 6 and 8",
        bundle_document(note, good_events, good_older),
    )
    case(
        "valid-checkpoint-only",
        "valid",
        "a signed checkpoint alone",
        bundle_document(note),
    )
    cosigned = _signed(size, tree, LEDGER, WITNESS)
    case(
        "valid-unknown-cosignature",
        "valid",
        "signed by the ledger and by a witness the reader does not know (ignored)",
        bundle_document(cosigned, [_entry(tree, 3, size)]),
    )
    empty = Checkpoint(ORIGIN, 0, merkle.EMPTY_ROOT).sign(LEDGER)
    case(
        "valid-from-the-empty-tree",
        "valid",
        "the tree of 11 extends the signed empty tree (empty proof)",
        bundle_document(note, [], [consistency_entry(empty, [])]),
    )
    text, signatures = note.split("\n\n")
    case(
        "invalid-bad-signature",
        "invalid",
        "the checkpoint's text altered (tree size 11 → 12) under the ledger's signature",
        bundle_document(text.replace("\n11\n", "\n12\n") + "\n\n" + signatures),
    )
    forged = OTHER.sign((text + "\n").encode())
    line = Signature(LEDGER.name, LEDGER.key_id, forged).line()
    case(
        "invalid-wrong-key",
        "invalid",
        "signed by another key presented under the ledger key's name and key ID",
        bundle_document(text + "\n\n" + line),
    )
    case(
        "invalid-unknown-key-only",
        "invalid",
        "signed only by a key the reader does not trust",
        bundle_document(_signed(size, tree, OTHER)),
    )
    wrong_root = Checkpoint(ORIGIN, size, tree.root(size - 1)).sign(LEDGER)
    case(
        "invalid-wrong-root",
        "invalid",
        "a validly signed checkpoint whose root is not the tree of the events",
        bundle_document(wrong_root, [_entry(tree, 4, size)]),
    )
    bent = _entry(tree, 4, size)
    bent["inclusion_path"][1] = _b64(hashlib.sha256(b"bent").digest())
    case(
        "invalid-wrong-path",
        "invalid",
        "an inclusion path with one node changed",
        bundle_document(note, [bent]),
    )
    altered = _entry(tree, 4, size)
    state = base64.b64decode(altered["state_b64"]).replace(b"4000", b"4001")
    altered["state_b64"] = _b64(state)
    case(
        "invalid-wrong-leaf-bytes",
        "invalid",
        "the event's stored state altered (value 4000 → 4001)",
        bundle_document(note, [altered]),
    )
    moved = _entry(tree, 4, size)
    moved["position"] = 7
    case(
        "invalid-wrong-position",
        "invalid",
        "the event claimed at another position (the position is in the leaf)",
        bundle_document(note, [moved]),
    )
    shifted = _entry(tree, 4, size)
    shifted["leaf_index"] = 5
    case(
        "invalid-wrong-leaf-index",
        "invalid",
        "the event claimed as another leaf",
        bundle_document(note, [shifted]),
    )
    fork = _tree(events(fork=True))
    forked = Checkpoint(ORIGIN, 6, fork.root(6)).sign(LEDGER)
    case(
        "invalid-inconsistent-checkpoints",
        "invalid",
        "an older signed checkpoint of a history whose third event differs (a fork)",
        bundle_document(
            note,
            [],
            [consistency_entry(forked, merkle.consistency_proof(6, size, tree))],
        ),
    )
    proof = merkle.consistency_proof(6, size, tree)
    proof[0] = hashlib.sha256(proof[0]).digest()
    case(
        "invalid-consistency-proof-altered",
        "invalid",
        "a consistency proof with one node changed",
        bundle_document(note, [], [consistency_entry(_signed(6, tree, LEDGER), proof)]),
    )
    other_origin = Checkpoint("kofu.test/another-log", 6, tree.root(6)).sign(LEDGER)
    case(
        "invalid-older-checkpoint-of-another-log",
        "invalid",
        "an older checkpoint, validly signed, of another origin",
        bundle_document(
            note,
            [],
            [consistency_entry(other_origin, merkle.consistency_proof(6, size, tree))],
        ),
    )
    bad_b64 = _entry(tree, 4, size)
    bad_b64["inclusion_path"][0] = "not base64!"
    case(
        "invalid-bad-base64",
        "invalid",
        "an inclusion path node that is not base64",
        bundle_document(note, [bad_b64]),
    )
    malformed = (
        Checkpoint(ORIGIN, size, tree.root(size)).text().replace("\n11\n", "\n011\n")
    )
    case(
        "invalid-malformed-checkpoint",
        "invalid",
        "a signed note whose tree size has a leading zero (not a checkpoint)",
        bundle_document(sign_note(malformed, LEDGER)),
    )
    built = {
        name: {
            "description": description,
            "expect": expect,
            "trusted_keys": [str(LEDGER.verifier())],
            "bundle": bundle,
        }
        for name, (expect, description, bundle) in cases.items()
    }
    return built | {
        name: {
            "description": description,
            "expect": expect,
            "trusted_keys": [str(LEDGER.verifier())],
            "dossier": files,
        }
        for name, (expect, description, files) in build_dossiers().items()
    }


RUN_POSITION = 15
RUN_ID = "FY2020-promotion-municipal-expected-1"


def _run_state(read_size: int, read_root: bytes) -> bytes:
    """A run's stored state: its output, its hash and the tree it read."""
    state: dict[str, Any] = {
        "run_id": RUN_ID,
        "results": [{"entity": "131041", "amount_yen": 1_234_000, "score": 70}],
        "totals": {"allocated_yen": 1_234_000, "remainder_yen": 766_000},
        "determinations": [],
        "inputs": {"log_size": read_size, "log_root": _b64(read_root)},
    }
    content = {k: state[k] for k in ("results", "totals", "determinations")}
    state["output_sha256"] = hashlib.sha256(
        json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return json.dumps(state, sort_keys=True, separators=(",", ":")).encode()


def _dossier_files(
    proofs: dict[str, Any], trail: list[dict[str, Any]], shown: list[dict[str, Any]]
) -> dict[str, str]:
    files = {
        "trail.json": json.dumps(trail, ensure_ascii=False, indent=2),
        "receipts.json": json.dumps(shown, indent=2),
        "proofs.json": json.dumps(proofs, ensure_ascii=False, indent=2),
    }
    digests = {
        name: hashlib.sha256(text.encode()).hexdigest() for name, text in files.items()
    }
    manifest = {"entity": "131041", "grant_year": 2020, "files": digests}
    return files | {"manifest.json": json.dumps(manifest, indent=2)}


def build_dossiers() -> dict[str, tuple[str, str, dict[str, str]]]:
    """The dossier vectors: name → (expect, description, the dossier's files).

    The eleven events, then a run (position 15) that read the tree of all eleven;
    the trail shows three events and the run; the newest checkpoint is the tree of
    12, the run's receipt names the signed tree of 11.
    """
    read = _tree(events())
    size = len(POSITIONS)
    run = (RUN_POSITION, str(uuid.uuid5(uuid.NAMESPACE_URL, "vectors/run")), 1)
    run_event = (*run, "kofu.AllocationRun.Calculated", _run_state(size, read.root()))
    history = [*events(), run_event]
    tree = _tree(history)
    note = _signed(size + 1, tree, LEDGER)
    older = consistency_entry(
        _signed(size, tree, LEDGER), merkle.consistency_proof(size, size + 1, tree)
    )

    def entry(index: int) -> dict[str, Any]:
        path = merkle.inclusion_proof(index, size + 1, tree)
        return event_entry(*history[index], index, path)

    shown = [0, 4, 10, size]
    trail = [{"position": history[i][0], "entity": "131041"} for i in shown]
    state = json.loads(run_event[4])
    receipt = {
        "run_id": RUN_ID,
        "position": RUN_POSITION,
        "log_size": size,
        "log_root": _b64(read.root()),
        "output_sha256": state["output_sha256"],
    }
    proofs = {
        "format": "kofu-dossier-proofs/v1",
        "bundle": bundle_document(note, [entry(i) for i in shown], [older]),
        "receipts": [receipt],
    }
    receipts = [{"run_id": RUN_ID, "output_sha256": state["output_sha256"]}]
    cases = {
        "valid-dossier": (
            "valid",
            "a dossier: three trail events and a run proved in the signed tree of "
            "12; the run's receipt names the signed tree of 11 it read",
            _dossier_files(proofs, trail, receipts),
        )
    }
    changed = _dossier_files(proofs, trail, receipts)
    changed["trail.json"] = changed["trail.json"].replace("131041", "131016")
    cases["invalid-dossier-file-changed"] = (
        "invalid",
        "a file changed after the manifest named its SHA-256",
        changed,
    )
    unproved = json.loads(json.dumps(proofs))
    del unproved["bundle"]["events"][1]
    cases["invalid-dossier-trail-unproved"] = (
        "invalid",
        "an event the trail shows is not in the bundle (manifest rewritten)",
        _dossier_files(unproved, trail, receipts),
    )
    other_output = json.loads(json.dumps(proofs))
    other_output["receipts"][0]["output_sha256"] = "0" * 64
    cases["invalid-dossier-receipt-output"] = (
        "invalid",
        "a receipt's output hash is not the re-hashed output of its proved run",
        _dossier_files(
            other_output, trail, [{"run_id": RUN_ID, "output_sha256": "0" * 64}]
        ),
    )
    unsigned_tree = json.loads(json.dumps(proofs))
    unsigned_tree["bundle"]["consistency"] = []
    cases["invalid-dossier-receipt-tree-unsigned"] = (
        "invalid",
        "the tree the run's receipt names has no signed checkpoint in the bundle",
        _dossier_files(unsigned_tree, trail, receipts),
    )
    cases["invalid-dossier-shown-receipt"] = (
        "invalid",
        "receipts.json shows another output hash than the proved run's",
        _dossier_files(proofs, trail, [{"run_id": RUN_ID, "output_sha256": "f" * 64}]),
    )
    return cases


def render(vector: dict[str, Any]) -> str:
    """A vector file's text."""
    return json.dumps(vector, ensure_ascii=False, indent=2) + "\n"


def main() -> None:
    FOLDER.mkdir(exist_ok=True)
    for old in FOLDER.glob("*.json"):
        old.unlink()
    for name, vector in build().items():
        (FOLDER / f"{name}.json").write_text(render(vector), encoding="utf-8")


if __name__ == "__main__":
    main()
