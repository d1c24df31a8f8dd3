"""Witness cosignatures (C2SP tlog-cosignature, Ed25519 cosignature/v1), by the spec.

The expected bytes are built here from the spec's words (key ID, message, line
layout) and checked with `cryptography` directly, not with the code under test.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from domain.checkpoint import (
    Checkpoint,
    MalformedNoteError,
    SignerKey,
    open_checkpoint,
    parse_note,
)
from domain.cosignature import WitnessKey, WitnessSigner

SEED = bytes(range(32))
TEXT = Checkpoint("example.com/log", 7, bytes(32)).text()


def test_the_witness_key_is_type_4_with_the_spec_s_key_id() -> None:
    signer = WitnessSigner("witness.example", SEED)
    key = signer.verifier()
    expected = hashlib.sha256(b"witness.example\n\x04" + key.public).digest()[:4]
    assert key.key_id == int.from_bytes(expected, "big")
    typed = base64.b64encode(b"\x04" + key.public).decode()
    assert str(key) == f"witness.example+{expected.hex()}+{typed}"
    assert WitnessKey.parse(str(key)) == key
    assert WitnessSigner.parse(str(signer)) == signer
    wrong = str(key).replace(expected.hex(), f"{int(expected.hex(), 16) ^ 1:08x}")
    with pytest.raises(MalformedNoteError, match="key ID does not match"):
        WitnessKey.parse(wrong)
    # A note-signing key (type 0x01) is not a witness key, nor the reverse.
    log_key = SignerKey("witness.example", SEED)
    with pytest.raises(MalformedNoteError, match="type 0x04 key"):
        WitnessKey.parse(str(log_key.verifier()))
    with pytest.raises(MalformedNoteError, match="type 0x04 key"):
        WitnessSigner.parse(str(log_key))


def test_the_cosignature_line_signs_the_spec_s_message() -> None:
    signer = WitnessSigner("witness.example", SEED)
    line = signer.cosign(TEXT, 1_700_000_000).line()
    name, _, encoded = line.removeprefix("— ").removesuffix("\n").partition(" ")
    data = base64.b64decode(encoded)
    assert name == "witness.example"
    assert len(data) == 76  # key ID (4) ‖ timestamp (8) ‖ signature (64)
    assert data[:4] == signer.verifier().key_id.to_bytes(4, "big")
    assert int.from_bytes(data[4:12], "big") == 1_700_000_000
    message = b"cosignature/v1\ntime 1700000000\n" + TEXT.encode()
    Ed25519PublicKey.from_public_bytes(signer.verifier().public).verify(
        data[12:], message
    )
    _, signatures = parse_note(f"{TEXT}\n{line}")
    assert signer.verifier().timestamp(TEXT, signatures[0]) == 1_700_000_000


def test_a_forged_or_misplaced_cosignature_does_not_verify() -> None:
    signer = WitnessSigner("witness.example", SEED)
    signature = signer.cosign(TEXT, 1_700_000_000)
    key = signer.verifier()
    flipped = bytes([signature.signature[-1] ^ 1])
    forged = type(signature)(
        signature.name, signature.key_id, signature.signature[:-1] + flipped
    )
    assert key.timestamp(TEXT, forged) is None
    other = Checkpoint("example.com/log", 8, bytes(32)).text()
    assert key.timestamp(other, signature) is None  # another checkpoint
    later = (1_700_000_001).to_bytes(8, "big") + signature.signature[8:]
    moved = type(signature)(signature.name, signature.key_id, later)
    assert key.timestamp(TEXT, moved) is None  # the time is signed
    stranger = WitnessSigner("witness.example", bytes(32)).verifier()
    assert stranger.timestamp(TEXT, signature) is None  # an unknown key
    with pytest.raises(MalformedNoteError, match="time"):
        signer.cosign(TEXT, 0)


def test_a_cosigned_note_still_opens_with_the_log_s_key() -> None:
    log_key = SignerKey("example.com/log", bytes(range(1, 33)))
    note = Checkpoint("example.com/log", 7, bytes(32)).sign(log_key)
    cosigned = note + WitnessSigner("w.example", SEED).cosign(TEXT, 5).line()
    assert open_checkpoint(cosigned, (log_key.verifier(),)).size == 7
