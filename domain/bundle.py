"""The proof bundle: what an auditor needs to check events offline, and its check.

A bundle (JSON, format `kofu-proof-bundle/v1`, docs/INTEGRITY.md) carries a signed
checkpoint, stored events with their inclusion proofs in that checkpoint's tree,
and consistency proofs from older signed checkpoints to it. It carries no key: the
verifier keys come from the auditor's own configuration. `verify_bundle` is kofu's
check; `scripts/kofu_verify_offline.py` is the same check in one file that imports
nothing of kofu, and both agree on the vectors in `tests/vectors/`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from domain import merkle
from domain.checkpoint import Checkpoint, NoteError, VerifierKey, open_checkpoint

FORMAT = "kofu-proof-bundle/v1"
MAX_EVENTS = 100_000
MAX_PATH = 64


class BundleError(ValueError):
    """The bundle does not verify (the message says where and why)."""


@dataclass(frozen=True)
class Verified:
    """What a bundle proved: its checkpoint, the events in it, the older trees."""

    checkpoint: Checkpoint
    positions: tuple[int, ...]
    extends: tuple[int, ...]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def event_entry(
    position: int,
    originator_id: str,
    originator_version: int,
    topic: str,
    state: bytes,
    leaf_index: int,
    path: Sequence[bytes],
) -> dict[str, Any]:
    """One event of a bundle: its stored fields, leaf index and inclusion path."""
    return {
        "position": position,
        "originator_id": originator_id,
        "originator_version": originator_version,
        "topic": topic,
        "state_b64": _b64(state),
        "leaf_index": leaf_index,
        "inclusion_path": [_b64(p) for p in path],
    }


def consistency_entry(old_note: str, proof: Sequence[bytes]) -> dict[str, Any]:
    """An older signed checkpoint and the proof that the bundle's tree extends it."""
    return {"checkpoint": old_note, "proof": [_b64(p) for p in proof]}


def bundle_document(
    note: str,
    events: Sequence[dict[str, Any]] = (),
    consistency: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A proof bundle."""
    return {
        "format": FORMAT,
        "checkpoint": note,
        "events": list(events),
        "consistency": list(consistency),
    }


def _field(entry: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = entry.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        msg = f"{where}: {name} is missing or not a {kind.__name__}"
        raise BundleError(msg)
    return value


def _hashes(value: Any, where: str) -> list[bytes]:
    if not isinstance(value, list) or len(value) > MAX_PATH:
        msg = f"{where}: not a list of at most {MAX_PATH} hashes"
        raise BundleError(msg)
    found = []
    for item in value:
        digest = _decode(item, where)
        if len(digest) != 32:  # noqa: PLR2004 - SHA-256
            msg = f"{where}: a hash is 32 bytes"
            raise BundleError(msg)
        found.append(digest)
    return found


def _decode(value: Any, where: str) -> bytes:
    msg = f"{where}: not base64"
    if not isinstance(value, str):
        raise BundleError(msg)
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise BundleError(msg) from None


def _open(note: Any, keys: Sequence[VerifierKey], where: str) -> Checkpoint:
    if not isinstance(note, str):
        msg = f"{where}: not a signed checkpoint"
        raise BundleError(msg)
    try:
        return open_checkpoint(note, tuple(keys))
    except NoteError as exc:
        msg = f"{where}: {exc}"
        raise BundleError(msg) from None


def verify_bundle(document: Any, keys: Sequence[VerifierKey]) -> Verified:
    """Check a bundle against the verifier keys the reader trusts.

    The checkpoint must open with `keys`; each event's leaf, rebuilt from its
    stored fields, must lead by its path to the checkpoint's root; each older
    checkpoint must open with `keys`, be of the same origin, and be extended by
    the checkpoint's tree.

    Raises:
        BundleError: the first thing that does not verify.
    """
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        msg = f"not a proof bundle (format {FORMAT})"
        raise BundleError(msg)
    checkpoint = _open(document.get("checkpoint"), keys, "checkpoint")
    events = document.get("events", [])
    older = document.get("consistency", [])
    if not isinstance(events, list) or len(events) > MAX_EVENTS:
        msg = f"events: not a list of at most {MAX_EVENTS}"
        raise BundleError(msg)
    if not isinstance(older, list) or len(older) > MAX_EVENTS:
        msg = "consistency: not a list"
        raise BundleError(msg)
    positions = []
    for number, entry in enumerate(events):
        where = f"events[{number}]"
        if not isinstance(entry, dict):
            msg = f"{where}: not an object"
            raise BundleError(msg)
        position = _field(entry, "position", int, where)
        where = f"{where} (position {position})"
        try:
            leaf = merkle.event_leaf_hash(
                position,
                _field(entry, "originator_id", str, where),
                _field(entry, "originator_version", int, where),
                _field(entry, "topic", str, where),
                _decode(_field(entry, "state_b64", str, where), where),
            )
        except ValueError as exc:
            if isinstance(exc, BundleError):
                raise
            msg = f"{where}: {exc}"
            raise BundleError(msg) from None
        index = _field(entry, "leaf_index", int, where)
        path = _hashes(entry.get("inclusion_path"), f"{where}: inclusion_path")
        if not merkle.verify_inclusion(
            index, checkpoint.size, leaf, path, checkpoint.root
        ):
            msg = (
                f"{where}: not leaf {index} of the checkpoint's tree "
                f"of {checkpoint.size} (the event, its path or the root differ)"
            )
            raise BundleError(msg)
        positions.append(position)
    extends = []
    for number, entry in enumerate(older):
        where = f"consistency[{number}]"
        if not isinstance(entry, dict):
            msg = f"{where}: not an object"
            raise BundleError(msg)
        old = _open(entry.get("checkpoint"), keys, where)
        if old.origin != checkpoint.origin:
            msg = f"{where}: a checkpoint of {old.origin!r}, not {checkpoint.origin!r}"
            raise BundleError(msg)
        proof = _hashes(entry.get("proof"), f"{where}: proof")
        if not merkle.verify_consistency(
            old.size, checkpoint.size, old.root, checkpoint.root, proof
        ):
            msg = (
                f"{where}: the tree of {checkpoint.size} does not extend the "
                f"signed tree of {old.size} (inconsistent checkpoints)"
            )
            raise BundleError(msg)
        extends.append(old.size)
    return Verified(checkpoint, tuple(positions), tuple(extends))


# --- a dossier: its files, the proofs it carries, its runs' receipts -------------

DOSSIER_PROOFS = "kofu-dossier-proofs/v1"
RUN_TOPIC = "kofu.AllocationRun.Calculated"


def _json(files: Mapping[str, bytes], name: str) -> Any:
    if name not in files:
        msg = f"{name}: missing"
        raise BundleError(msg)
    try:
        return orjson.loads(files[name])
    except orjson.JSONDecodeError:
        msg = f"{name}: not JSON"
        raise BundleError(msg) from None


def run_output_sha256(state: Mapping[str, Any]) -> str:
    """A run's output hash from its stored state (`allocation_run.output_hash`)."""
    content = {k: state.get(k) for k in ("results", "totals", "determinations")}
    return hashlib.sha256(
        orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


def _receipt(
    number: int,
    receipt: Any,
    proved: Mapping[int, Mapping[str, Any]],
    trees: Mapping[int, str],
) -> tuple[str, str]:
    where = f"proofs.json receipts[{number}]"
    if not isinstance(receipt, dict):
        msg = f"{where}: not an object"
        raise BundleError(msg)
    run_id = _field(receipt, "run_id", str, where)
    where = f"{where} ({run_id})"
    position = receipt.get("position")
    if not isinstance(position, int) or position not in proved:
        msg = f"{where}: its run's event is not proved in the bundle"
        raise BundleError(msg)
    event = proved[position]
    if event["topic"] != RUN_TOPIC:
        msg = f"{where}: the event at position {position} is not a run"
        raise BundleError(msg)
    try:
        state = orjson.loads(base64.b64decode(event["state_b64"]))
    except (orjson.JSONDecodeError, binascii.Error):
        msg = f"{where}: the run's stored state is not JSON"
        raise BundleError(msg) from None
    if not isinstance(state, dict) or state.get("run_id") != run_id:
        msg = f"{where}: the event at position {position} is another run"
        raise BundleError(msg)
    output = run_output_sha256(state)
    if output != state.get("output_sha256") or output != receipt.get("output_sha256"):
        msg = (
            f"{where}: the run's output re-hashes to {output}, not the receipt's "
            f"{receipt.get('output_sha256')}"
        )
        raise BundleError(msg)
    inputs = state.get("inputs")
    if not isinstance(inputs, dict):
        inputs = {}
    size, root = inputs.get("log_size"), inputs.get("log_root")
    if (size, root) != (receipt.get("log_size"), receipt.get("log_root")):
        msg = f"{where}: the tree it names is not the run's recorded tree"
        raise BundleError(msg)
    if size is not None and trees.get(size) != root:
        msg = (
            f"{where}: the tree of {size} it read is not a signed tree of the "
            "bundle (no signed checkpoint of that size, or another root)"
        )
        raise BundleError(msg)
    return run_id, output


def verify_dossier(files: Mapping[str, bytes], keys: Sequence[VerifierKey]) -> str:
    """Check a dossier (its files by name) against the reader's verifier keys.

    Every file the manifest names has its SHA-256; proofs.json's bundle verifies
    (`verify_bundle`); every event of trail.json is proved in it; each run's
    receipt matches its proved stored event (the output re-hashed from it, the
    tree it read one of the bundle's signed trees); receipts.json shows those
    outputs. `scripts/kofu_verify_offline.py --dossier` is the same check.

    Raises:
        BundleError: the first thing that does not verify.
    """
    manifest = _json(files, "manifest.json")
    named = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(named, dict) or "proofs.json" not in named:
        msg = "manifest.json: no files with their SHA-256 (or no proofs.json)"
        raise BundleError(msg)
    for name, digest in sorted(named.items()):
        if name not in files:
            msg = f"{name}: named by the manifest, missing"
            raise BundleError(msg)
        if hashlib.sha256(files[name]).hexdigest() != digest:
            msg = f"{name}: its SHA-256 is not the manifest's (changed)"
            raise BundleError(msg)
    proofs = _json(files, "proofs.json")
    if not isinstance(proofs, dict) or proofs.get("format") != DOSSIER_PROOFS:
        msg = f"proofs.json: not {DOSSIER_PROOFS}"
        raise BundleError(msg)
    bundle = proofs.get("bundle")
    if bundle is None:
        reason = proofs.get("error") or "no signed checkpoint when it was made"
        msg = f"proofs.json: no proof bundle ({reason})"
        raise BundleError(msg)
    verified = verify_bundle(bundle, keys)
    proved = {e["position"]: e for e in bundle["events"]}
    trees = {verified.checkpoint.size: _b64(verified.checkpoint.root)}
    for entry in bundle["consistency"]:
        old = _open(entry["checkpoint"], keys, "consistency")
        trees[old.size] = _b64(old.root)
    trail = _json(files, "trail.json")
    if not isinstance(trail, list):
        msg = "trail.json: not a list of rows"
        raise BundleError(msg)
    for number, row in enumerate(trail):
        position = row.get("position") if isinstance(row, dict) else None
        if position not in proved:
            msg = f"trail.json row {number} (position {position}): not proved"
            raise BundleError(msg)
    receipts = proofs.get("receipts")
    if not isinstance(receipts, list) or len(receipts) > MAX_EVENTS:
        msg = "proofs.json: receipts is not a list"
        raise BundleError(msg)
    outputs = dict(
        _receipt(number, receipt, proved, trees)
        for number, receipt in enumerate(receipts)
    )
    shown = _json(files, "receipts.json")
    for number, row in enumerate(shown if isinstance(shown, list) else [None]):
        run_id = row.get("run_id") if isinstance(row, dict) else None
        if run_id not in outputs or row.get("output_sha256") != outputs[run_id]:
            msg = (
                f"receipts.json row {number} ({run_id}): its output hash is not "
                "the proved run's"
            )
            raise BundleError(msg)
    return (
        f"dossier: {len(named)} files; {len(trail)} trail events proved; "
        f"{len(outputs)} runs re-hashed to their receipts"
    )
