"""Witness cosignatures: C2SP tlog-cosignature (cosignature/v1, Ed25519).

Pure (no I/O), beside `domain.checkpoint`, whose note format it extends:

* a witness key is an Ed25519 key of type 0x04: its key ID is the first 4 bytes of
  SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key); its verifier key string is
  `<name>+<key ID>+<b64(0x04 ‖ public key)>` and its signer key string
  `PRIVATE+KEY+<name>+<key ID>+<b64(0x04 ‖ seed)>`;
* the signed message is the line "cosignature/v1", the line "time <seconds>",
  then the whole checkpoint text (its final newline and extension lines included);
* the signature line is `— <name> <b64(key ID ‖ timestamp (8 bytes, big-endian)
  ‖ Ed25519 signature)>`, one more line after the log's signature.

A cosignature says: as of that time, the largest tree the witness saw for the
origin, consistent with all it saw before, has this root.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)

from domain.checkpoint import (
    MalformedNoteError,
    Signature,
    b64encode,
    check_seed,
    ed25519_signed,
    key_id,
    parse_key,
    parse_private,
    public_key,
)

COSIGNATURE_V1 = 4
"""The key type of an Ed25519 cosignature (C2SP tlog-cosignature)."""
MAX_TIME = 2**63 - 1


def message(text: str, timestamp: int) -> bytes:
    """The bytes a cosignature signs: header, time line, the checkpoint text."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def _checked(name: str, found_id: int, public: bytes, what: str) -> int:
    if key_id(name, bytes([COSIGNATURE_V1]) + public) != found_id:
        msg = f"{what} {name}: the key ID does not match the key"
        raise MalformedNoteError(msg)
    return found_id


@dataclass(frozen=True)
class WitnessKey:
    """A witness's public key: it verifies that witness's cosignatures."""

    name: str
    key_id: int
    public: bytes = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> Self:
        """From `<name>+<key ID>+<b64(0x04 ‖ public key)>`.

        Raises:
            MalformedNoteError: not such a string, or its key ID is wrong.
        """
        name, found_id, public = parse_key(text.strip(), "witness key", COSIGNATURE_V1)
        return cls(name, _checked(name, found_id, public, "witness key"), public)

    def __str__(self) -> str:
        typed = bytes([COSIGNATURE_V1]) + self.public
        return f"{self.name}+{self.key_id:08x}+{b64encode(typed)}"

    def timestamp(self, text: str, signature: Signature) -> int | None:
        """The time a valid cosignature of `text` by this key names (None: invalid)."""
        data = signature.signature
        if (signature.name, signature.key_id) != (self.name, self.key_id):
            return None
        if len(data) != 72:  # noqa: PLR2004 - timestamp (8) ‖ signature (64)
            return None
        timestamp = int.from_bytes(data[:8], "big")
        if timestamp > MAX_TIME:
            return None
        if not ed25519_signed(self.public, message(text, timestamp), data[8:]):
            return None
        return timestamp


@dataclass(frozen=True)
class WitnessSigner:
    """A witness's private key (kept with the witness, never in the ledger)."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_seed(self.name, self.seed)

    @classmethod
    def generate(cls, name: str) -> Self:
        """A new random witness key."""
        return cls(name, Ed25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def parse(cls, text: str) -> Self:
        """From `PRIVATE+KEY+<name>+<key ID>+<b64(0x04 ‖ seed)>`.

        Raises:
            MalformedNoteError: not such a string, or its key ID is wrong.
        """
        what = "witness signer key"
        name, found_id, seed = parse_private(text, what, COSIGNATURE_V1)
        signer = cls(name, seed)
        _checked(name, found_id, signer.verifier().public, what)
        return signer

    def __str__(self) -> str:
        typed = bytes([COSIGNATURE_V1]) + self.seed
        key = self.verifier().key_id
        return f"PRIVATE+KEY+{self.name}+{key:08x}+{b64encode(typed)}"

    def verifier(self) -> WitnessKey:
        """The matching witness (verifier) key."""
        public = public_key(self.seed)
        typed = bytes([COSIGNATURE_V1]) + public
        return WitnessKey(self.name, key_id(self.name, typed), public)

    def cosign(self, text: str, timestamp: int) -> Signature:
        """The cosignature of a checkpoint's text at `timestamp` (POSIX seconds).

        Raises:
            MalformedNoteError: a timestamp out of range (0 is not a time).
        """
        if not 0 < timestamp <= MAX_TIME:
            msg = f"a cosignature's time is 1..2^63-1 seconds, not {timestamp}"
            raise MalformedNoteError(msg)
        signed = Ed25519PrivateKey.from_private_bytes(self.seed).sign(
            message(text, timestamp)
        )
        return Signature(
            self.name,
            self.verifier().key_id,
            timestamp.to_bytes(8, "big") + signed,
        )
