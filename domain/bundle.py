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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
