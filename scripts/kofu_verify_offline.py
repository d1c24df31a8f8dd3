#!/usr/bin/env python3
"""kofu's standalone verifier: check a proof bundle offline, trusting only your keys.

One file, Python 3.11+ and the standard library plus `cryptography` (Ed25519). It
imports nothing of kofu, so an auditor can read all of it. Give it the verifier
keys you trust (obtained outside the ledger's database: from the ledger's
operator, a publication, a witness) and a proof bundle; it checks

* the signed checkpoint (C2SP signed note, Ed25519): signatures by keys you do not
  trust are ignored, one failing signature by a trusted key rejects, and at least
  one trusted key must have signed;
* each event: its leaf is rebuilt from the stored fields (kofu leaf encoding v1:
  docs/INTEGRITY.md), hashed (RFC 6962) and led by its inclusion path to the
  checkpoint's root (RFC 9162 §2.1.3.2);
* each older signed checkpoint: the checkpoint's tree extends it (consistency
  proof, RFC 9162 §2.1.4.2), so nothing it covered was changed or removed.

    python3 kofu_verify_offline.py --key 'NAME+KEYID+KEY' [--keys FILE] BUNDLE.json
    python3 kofu_verify_offline.py --key ... --checkpoint NOTE.txt
    python3 kofu_verify_offline.py --key ... --dossier FOLDER

A dossier (`kofu dossier`) is checked whole: every file against the SHA-256 its
manifest names; its proof bundle (proofs.json) as above; every event of its trail
proved; each run's receipt against the run's proved stored event (the output
re-hashed from the event, the tree it read a signed tree of the bundle).

Exit 0: valid. Exit 1: it does not verify (the reason is printed). Exit 2: the
input could not be read (a missing file, not JSON, a malformed key).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import struct
import sys
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "kofu-proof-bundle/v1"
MAX_BYTES = 64 * 1024 * 1024
MAX_SIGNATURES = 100
MAX_PATH = 64
MAX_EVENTS = 100_000
DASH = "\u2014 "


class Invalid(Exception):  # noqa: N818 - a verdict
    """The input does not verify."""


class Unreadable(Exception):  # noqa: N818
    """The input cannot be read."""


# --- RFC 6962 hashing and RFC 9162 proof verification -------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def root_from_inclusion(
    index: int, size: int, leaf: bytes, path: list[bytes]
) -> bytes | None:
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn != 0 and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def consistent(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> bool:
    if old < 0 or new < old:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn != 0 and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0


# --- kofu's leaf encoding, version 1 ------------------------------------------


def encode_leaf(
    position: int, originator_id: str, version: int, topic: str, state: bytes
) -> bytes:
    """0x01, then five fields, each a 4-byte big-endian length and its bytes."""
    identity, name = originator_id.encode(), topic.encode()
    try:
        return b"".join(
            (
                struct.pack(">BIQI", 1, 8, position, len(identity)),
                identity,
                struct.pack(">IQI", 8, version, len(name)),
                name,
                struct.pack(">I", len(state)),
                state,
            )
        )
    except struct.error as exc:
        msg = f"the event at position {position} does not fit the leaf: {exc}"
        raise Invalid(msg) from None


# --- signed notes and checkpoints (C2SP) --------------------------------------


def b64(text: str, what: str, *, canonical: bool = True) -> bytes:
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        msg = f"{what} is not base64"
        raise Invalid(msg) from None
    if canonical and base64.b64encode(data).decode() != text:
        msg = f"{what} is not canonical base64"
        raise Invalid(msg)
    return data


def valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name: str, typed_key: bytes) -> int:
    digest = hashlib.sha256(name.encode() + b"\n" + typed_key).digest()
    return int.from_bytes(digest[:4], "big")


def parse_verifier_key(text: str) -> tuple[str, int, bytes]:
    """`<name>+<8 hex key ID>+<b64(0x01 || 32-byte Ed25519 public key)>`."""
    name, _, rest = text.strip().partition("+")
    hex_id, _, data = rest.partition("+")
    if not valid_name(name) or not re.fullmatch(r"[0-9a-f]{8}", hex_id):
        msg = f"malformed verifier key {text!r}"
        raise Unreadable(msg)
    try:
        typed = b64(data, "the verifier key")
    except Invalid as exc:
        raise Unreadable(str(exc)) from None
    if len(typed) != 33 or typed[0] != 1:
        msg = f"verifier key {name} is not an Ed25519 key"
        raise Unreadable(msg)
    if key_id(name, typed) != int(hex_id, 16):
        msg = f"verifier key {name}: the key ID does not match the key"
        raise Unreadable(msg)
    return name, int(hex_id, 16), typed[1:]


def open_note(note: str, keys: list[tuple[str, int, bytes]]) -> str:
    """The text of a signed note that the trusted `keys` verify."""
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        msg = "the note holds a control character"
        raise Invalid(msg)
    split = note.rfind("\n\n")
    if split < 0:
        msg = "the note has no blank line before its signatures"
        raise Invalid(msg)
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        msg = "the note's signature lines do not end in a newline"
        raise Invalid(msg)
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        msg = "the note carries too many signatures"
        raise Invalid(msg)
    trusted: dict[tuple[str, int], set[bytes]] = {}
    for name, kid, public in keys:
        trusted.setdefault((name, kid), set()).add(public)
    verified: set[tuple[str, int]] = set()
    for line in lines:
        if not line.startswith(DASH):
            msg = "a signature line does not start with an em dash"
            raise Invalid(msg)
        name, _, encoded = line[len(DASH) :].partition(" ")
        data = b64(encoded, f"the signature of {name!r}") if encoded else b""
        if not valid_name(name) or len(data) < 5:
            msg = "malformed signature line"
            raise Invalid(msg)
        kid = int.from_bytes(data[:4], "big")
        publics = trusted.get((name, kid))
        if publics is None or (name, kid) in verified:
            continue  # a key not trusted: ignored
        if len(publics) > 1:
            msg = f"two trusted keys are named {name}+{kid:08x}"
            raise Invalid(msg)
        try:
            Ed25519PublicKey.from_public_bytes(next(iter(publics))).verify(
                data[4:], text.encode()
            )
        except (InvalidSignature, ValueError):
            msg = f"the signature of {name}+{kid:08x} does not verify"
            raise Invalid(msg) from None
        verified.add((name, kid))
    if not verified:
        msg = "no trusted key signed the checkpoint"
        raise Invalid(msg)
    return text


def open_checkpoint(
    note: Any, keys: list[tuple[str, int, bytes]], where: str
) -> tuple[str, int, bytes]:
    """(origin, size, root) of a signed checkpoint."""
    if not isinstance(note, str):
        msg = f"{where}: not a signed checkpoint"
        raise Invalid(msg)
    try:
        return parse_checkpoint(open_note(note, keys))
    except Invalid as exc:
        msg = f"{where}: {exc}"
        raise Invalid(msg) from None


def parse_checkpoint(text: str) -> tuple[str, int, bytes]:
    """(origin, size, root) of a checkpoint's text."""
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not all(lines):
        msg = "a checkpoint has three or more non-empty lines"
        raise Invalid(msg)
    origin, size, encoded = lines[:3]
    if not re.fullmatch(r"0|[1-9][0-9]*", size):
        msg = f"the tree size {size!r} is not a decimal number"
        raise Invalid(msg)
    root = b64(encoded, "the root hash")
    if len(root) != 32:
        msg = "the root hash is not 32 bytes"
        raise Invalid(msg)
    return origin, int(size), root


# --- the proof bundle -----------------------------------------------------------


def field(entry: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = entry.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        msg = f"{where}: {name} is missing or not a {kind.__name__}"
        raise Invalid(msg)
    return value


def hashes(value: Any, where: str) -> list[bytes]:
    if not isinstance(value, list) or len(value) > MAX_PATH:
        msg = f"{where}: not a list of at most {MAX_PATH} hashes"
        raise Invalid(msg)
    found = []
    for item in value:
        if not isinstance(item, str):
            msg = f"{where}: not base64"
            raise Invalid(msg)
        digest = b64(item, where, canonical=False)
        if len(digest) != 32:
            msg = f"{where}: a hash is 32 bytes"
            raise Invalid(msg)
        found.append(digest)
    return found


def verify_bundle(document: Any, keys: list[tuple[str, int, bytes]]) -> str:
    """A summary of what the bundle proves, or Invalid."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        msg = f"not a proof bundle (format {FORMAT})"
        raise Invalid(msg)
    origin, size, root = open_checkpoint(document.get("checkpoint"), keys, "checkpoint")
    events = document.get("events", [])
    older = document.get("consistency", [])
    if not isinstance(events, list) or len(events) > MAX_EVENTS:
        msg = f"events: not a list of at most {MAX_EVENTS}"
        raise Invalid(msg)
    if not isinstance(older, list) or len(older) > MAX_EVENTS:
        msg = "consistency: not a list"
        raise Invalid(msg)
    for number, entry in enumerate(events):
        where = f"events[{number}]"
        if not isinstance(entry, dict):
            msg = f"{where}: not an object"
            raise Invalid(msg)
        position = field(entry, "position", int, where)
        where = f"{where} (position {position})"
        state = field(entry, "state_b64", str, where)
        leaf = leaf_hash(
            encode_leaf(
                position,
                field(entry, "originator_id", str, where),
                field(entry, "originator_version", int, where),
                field(entry, "topic", str, where),
                b64(state, where, canonical=False),
            )
        )
        index = field(entry, "leaf_index", int, where)
        path = hashes(entry.get("inclusion_path"), f"{where}: inclusion_path")
        if root_from_inclusion(index, size, leaf, path) != root:
            msg = (
                f"{where}: not leaf {index} of the checkpoint's tree of {size} "
                "(the event, its path or the root differ)"
            )
            raise Invalid(msg)
    for number, entry in enumerate(older):
        where = f"consistency[{number}]"
        if not isinstance(entry, dict):
            msg = f"{where}: not an object"
            raise Invalid(msg)
        old_origin, old_size, old_root = open_checkpoint(
            entry.get("checkpoint"), keys, where
        )
        if old_origin != origin:
            msg = f"{where}: a checkpoint of {old_origin!r}, not {origin!r}"
            raise Invalid(msg)
        proof = hashes(entry.get("proof"), f"{where}: proof")
        if not consistent(old_size, size, old_root, root, proof):
            msg = (
                f"{where}: the tree of {size} does not extend the signed tree of "
                f"{old_size} (inconsistent checkpoints)"
            )
            raise Invalid(msg)
    return (
        f"checkpoint {origin} at tree size {size}; {len(events)} events included; "
        f"{len(older)} older checkpoints extended"
    )


# --- a dossier (kofu dossier): its files, its proofs, its runs' receipts ---------

DOSSIER_PROOFS = "kofu-dossier-proofs/v1"
RUN_TOPIC = "kofu.AllocationRun.Calculated"


def read_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        msg = f"{path}: not JSON: {exc}"
        raise Unreadable(msg) from None


def output_sha256(state: dict[str, Any]) -> str:
    """The output hash of a run, as kofu computes it.

    SHA-256 of its results, totals and determinations as JSON: keys sorted, no
    spaces, UTF-8 (no float: amounts are integer yen).
    """
    content = {k: state.get(k) for k in ("results", "totals", "determinations")}
    text = json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode()).hexdigest()


def signed_trees(
    bundle: dict[str, Any], keys: list[tuple[str, int, bytes]]
) -> dict[int, str]:
    """The (already verified) signed trees of a bundle: size to base64 root."""
    notes = [bundle["checkpoint"]] + [e["checkpoint"] for e in bundle["consistency"]]
    trees = {}
    for note in notes:
        _, size, root = open_checkpoint(note, keys, "checkpoint")
        trees[size] = base64.b64encode(root).decode()
    return trees


def check_receipt(
    number: int, receipt: Any, proved: dict[int, dict[str, Any]], trees: dict[int, str]
) -> str:
    """One run's receipt against its proved stored event and the signed trees."""
    where = f"proofs.json receipts[{number}]"
    if not isinstance(receipt, dict):
        raise Invalid(f"{where}: not an object")
    run_id = field(receipt, "run_id", str, where)
    where = f"{where} ({run_id})"
    position = receipt.get("position")
    if not isinstance(position, int) or position not in proved:
        raise Invalid(f"{where}: its run's event is not proved in the bundle")
    event = proved[position]
    if event["topic"] != RUN_TOPIC:
        raise Invalid(f"{where}: the event at position {position} is not a run")
    try:
        state = json.loads(base64.b64decode(event["state_b64"]))
    except (ValueError, binascii.Error):
        raise Invalid(f"{where}: the run's stored state is not JSON") from None
    if not isinstance(state, dict) or state.get("run_id") != run_id:
        raise Invalid(f"{where}: the event at position {position} is another run")
    output = output_sha256(state)
    if output != state.get("output_sha256") or output != receipt.get("output_sha256"):
        raise Invalid(
            f"{where}: the run's output re-hashes to {output}, not the receipt's "
            f"{receipt.get('output_sha256')}"
        )
    inputs = state.get("inputs") if isinstance(state.get("inputs"), dict) else {}
    size, root = inputs.get("log_size"), inputs.get("log_root")
    if (size, root) != (receipt.get("log_size"), receipt.get("log_root")):
        raise Invalid(f"{where}: the tree it names is not the run's recorded tree")
    if size is None:
        return output
    if trees.get(size) != root:
        raise Invalid(
            f"{where}: the tree of {size} it read is not a signed tree of the bundle "
            "(no signed checkpoint of that size, or another root)"
        )
    return output


def verify_dossier(folder: Path, keys: list[tuple[str, int, bytes]]) -> str:
    """A summary of what a dossier proves, or Invalid."""
    manifest = read_json(folder / "manifest.json")
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or "proofs.json" not in files:
        msg = "manifest.json: no files with their SHA-256 (or no proofs.json)"
        raise Invalid(msg)
    for name, digest in sorted(files.items()):
        if (
            not isinstance(name, str)
            or "/" in name
            or "\\" in name
            or name.startswith(".")
        ):
            raise Invalid(f"manifest.json: {name!r} is not a file of the dossier")
        try:
            data = (folder / name).read_bytes()
        except OSError:
            raise Invalid(f"{name}: named by the manifest, missing") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise Invalid(f"{name}: its SHA-256 is not the manifest's (changed)")
    proofs = read_json(folder / "proofs.json")
    if not isinstance(proofs, dict) or proofs.get("format") != DOSSIER_PROOFS:
        raise Invalid(f"proofs.json: not {DOSSIER_PROOFS}")
    bundle = proofs.get("bundle")
    if bundle is None:
        reason = proofs.get("error") or "no signed checkpoint when it was made"
        raise Invalid(f"proofs.json: no proof bundle ({reason})")
    summary = verify_bundle(bundle, keys)
    proved = {e["position"]: e for e in bundle["events"]}
    trees = signed_trees(bundle, keys)
    trail = read_json(folder / "trail.json")
    if not isinstance(trail, list):
        msg = "trail.json: not a list of rows"
        raise Invalid(msg)
    for number, row in enumerate(trail):
        position = row.get("position") if isinstance(row, dict) else None
        if position not in proved:
            raise Invalid(f"trail.json row {number} (position {position}): not proved")
    receipts = proofs.get("receipts")
    if not isinstance(receipts, list) or len(receipts) > MAX_EVENTS:
        msg = "proofs.json: receipts is not a list"
        raise Invalid(msg)
    outputs = {}
    for number, receipt in enumerate(receipts):
        outputs[receipt["run_id"]] = check_receipt(number, receipt, proved, trees)
    shown = read_json(folder / "receipts.json")
    for number, row in enumerate(shown if isinstance(shown, list) else [None]):
        run_id = row.get("run_id") if isinstance(row, dict) else None
        if run_id not in outputs or row.get("output_sha256") != outputs[run_id]:
            raise Invalid(
                f"receipts.json row {number} ({run_id}): its output hash is not "
                "the proved run's"
            )
    return (
        f"dossier: {len(files)} files as the manifest names; {len(trail)} trail "
        f"events proved; {len(outputs)} runs re-hashed to their receipts; {summary}"
    )


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()[: MAX_BYTES + 1]
    except OSError as exc:
        msg = f"{path}: cannot read: {exc.strerror}"
        raise Unreadable(msg) from None
    if len(data) > MAX_BYTES:
        msg = f"{path}: larger than {MAX_BYTES} bytes"
        raise Unreadable(msg)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        msg = f"{path}: not UTF-8"
        raise Unreadable(msg) from None


def trusted_keys(given: list[str], files: list[Path]) -> list[tuple[str, int, bytes]]:
    texts = list(given)
    for path in files:
        for line in read_text(path).splitlines():
            content = line.split("#", 1)[0].strip()
            if content:
                texts.append(content)
    if not texts:
        msg = "give the verifier keys you trust (--key or --keys)"
        raise Unreadable(msg)
    return [parse_verifier_key(t) for t in texts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--key", action="append", default=[], help="a verifier key")
    parser.add_argument(
        "--keys", action="append", default=[], type=Path, help="a file of keys"
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("bundle", nargs="?", type=Path, help="a proof bundle (JSON)")
    what.add_argument("--checkpoint", type=Path, help="a signed checkpoint alone")
    what.add_argument("--dossier", type=Path, help="a dossier folder (kofu dossier)")
    args = parser.parse_args(argv)
    try:
        keys = trusted_keys(args.key, args.keys)
        if args.dossier is not None:
            summary = verify_dossier(args.dossier, keys)
        elif args.checkpoint is not None:
            origin, size, _ = open_checkpoint(
                read_text(args.checkpoint), keys, "checkpoint"
            )
            summary = f"checkpoint {origin} at tree size {size}"
        else:
            try:
                document = json.loads(read_text(args.bundle))
            except json.JSONDecodeError as exc:
                msg = f"{args.bundle}: not JSON: {exc}"
                raise Unreadable(msg) from None
            summary = verify_bundle(document, keys)
    except Unreadable as exc:
        print(f"kofu_verify_offline: cannot read: {exc}", file=sys.stderr)
        return 2
    except Invalid as exc:
        print(f"invalid: {exc}")
        return 1
    print(f"valid: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
