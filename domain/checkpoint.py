"""Signed checkpoints: the C2SP checkpoint in a signed note, with Ed25519 keys.

Pure (no I/O; `cryptography` computes Ed25519, which is arithmetic): the formats,
signing and verifying live here, next to one another, so that the writer that
signs and every reader that verifies share one definition; reading a key from a
file or the environment is the adapters' (`adapters/inputs/keys.py`).

* A checkpoint (C2SP tlog-checkpoint) is three lines of text, each ending in a
  newline: the origin, the tree size in decimal and the root hash in base64;
  optionally followed by extension lines.
* A signed note (C2SP signed-note, golang.org/x/mod/sumdb/note): the text, a blank
  line, then one line per signature, `— <key name> <b64(key ID ‖ signature)>`. The
  key ID is the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key), 0x01
  naming Ed25519; the signature covers the text (its final newline included).
* Key strings: a verifier key is `<name>+<8 hex digits of the key ID>+<b64(0x01 ‖
  public key)>`; a signer key `PRIVATE+KEY+<name>+<key ID>+<b64(0x01 ‖ seed)>`.
* Opening a note ignores signatures by keys it does not know, rejects the note if
  a known key's signature fails, and rejects it when no known key signed it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from typing import Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 1
MAX_SIGNATURES = 100
_DASH = "— "  # U+2014, U+0020
_HEX8 = re.compile(r"^[0-9a-f]{8}$")
_SIZE = re.compile(r"^(0|[1-9][0-9]*)$")


class NoteError(ValueError):
    """A note, checkpoint or key that cannot be accepted (the message says why)."""


class MalformedNoteError(NoteError):
    """Not a well-formed signed note, checkpoint or key string."""


class InvalidSignatureError(NoteError):
    """A key the reader trusts did not make the signature that names it."""


class UnverifiedNoteError(NoteError):
    """No key the reader trusts signed the note."""


def valid_name(name: str) -> bool:
    """A key name: non-empty, with no Unicode space and no `+`."""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name: str, typed_key: bytes) -> int:
    """The key ID: SHA-256(name ‖ 0x0A ‖ type ‖ key)'s first 4 bytes, big-endian."""
    digest = hashlib.sha256(name.encode() + b"\n" + typed_key).digest()
    return int.from_bytes(digest[:4], "big")


def b64decode(text: str, what: str) -> bytes:
    """Standard base64 (RFC 4648 §4), canonical only.

    Raises:
        MalformedNoteError: not canonical base64.
    """
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        msg = f"{what} is not base64"
        raise MalformedNoteError(msg) from None
    if base64.b64encode(data).decode() != text:
        msg = f"{what} is not canonical base64"
        raise MalformedNoteError(msg)
    return data


def b64encode(data: bytes) -> str:
    """Standard base64."""
    return base64.b64encode(data).decode()


def parse_key(text: str, what: str, kind: int = ED25519) -> tuple[str, int, bytes]:
    """`<name>+<key ID>+<b64(kind ‖ 32 bytes)>`: the name, the key ID, the bytes.

    The key ID is not checked against the key here (the caller knows which).

    Raises:
        MalformedNoteError: not such a string, or a key of another type.
    """
    name, _, rest = text.partition("+")
    hex_id, _, data = rest.partition("+")
    if not valid_name(name) or not _HEX8.match(hex_id):
        msg = f"malformed {what}"
        raise MalformedNoteError(msg)
    typed = b64decode(data, what)
    if len(typed) != 33 or typed[0] != kind:  # noqa: PLR2004 - type ‖ 32 bytes
        label = "an Ed25519 key" if kind == ED25519 else f"a type 0x{kind:02x} key"
        msg = f"{what} is not {label}"
        raise MalformedNoteError(msg)
    return name, int(hex_id, 16), typed[1:]


def parse_private(text: str, what: str, kind: int = ED25519) -> tuple[str, int, bytes]:
    """`PRIVATE+KEY+<name>+<key ID>+<b64(kind ‖ seed)>`: name, key ID, seed.

    Raises:
        MalformedNoteError: not such a string, or a key of another type.
    """
    prefix, _, rest = text.strip().partition("+")
    key, _, rest = rest.partition("+")
    if (prefix, key) != ("PRIVATE", "KEY"):
        msg = f"malformed {what} (it starts PRIVATE+KEY+)"
        raise MalformedNoteError(msg)
    return parse_key(rest, what, kind)


def check_seed(name: str, seed: bytes) -> None:
    """A private key's name and Ed25519 seed, as a signer key needs them.

    Raises:
        MalformedNoteError: not a key name, or not a 32-byte seed.
    """
    if not valid_name(name):
        msg = f"not a key name: {name!r}"
        raise MalformedNoteError(msg)
    if len(seed) != 32:  # noqa: PLR2004 - an Ed25519 seed
        msg = "an Ed25519 seed is 32 bytes"
        raise MalformedNoteError(msg)


def public_key(seed: bytes) -> bytes:
    """The Ed25519 public key of a seed (32 bytes)."""
    return (
        Ed25519PrivateKey.from_private_bytes(seed)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )


@dataclass(frozen=True)
class VerifierKey:
    """A public key that verifies one name's signatures."""

    name: str
    key_id: int
    public: bytes = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> Self:
        """From `<name>+<key ID>+<b64(0x01 ‖ public key)>`.

        Raises:
            MalformedNoteError: not such a string, or its key ID is wrong.
        """
        name, found_id, public = parse_key(text.strip(), "verifier key")
        if key_id(name, bytes([ED25519]) + public) != found_id:
            msg = f"verifier key {name}: the key ID does not match the key"
            raise MalformedNoteError(msg)
        return cls(name, found_id, public)

    def __str__(self) -> str:
        typed = bytes([ED25519]) + self.public
        return f"{self.name}+{self.key_id:08x}+{b64encode(typed)}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether `signature` is this key's Ed25519 signature of `message`."""
        return ed25519_signed(self.public, message, signature)


def ed25519_signed(public: bytes, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is the Ed25519 signature of `message` by `public`."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class SignerKey:
    """A private key that signs notes under a name (keep it out of the database)."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_seed(self.name, self.seed)

    @classmethod
    def generate(cls, name: str) -> Self:
        """A new random key."""
        private = Ed25519PrivateKey.generate()
        return cls(name, private.private_bytes_raw())

    @classmethod
    def parse(cls, text: str) -> Self:
        """From `PRIVATE+KEY+<name>+<key ID>+<b64(0x01 ‖ seed)>`.

        Raises:
            MalformedNoteError: not such a string, or its key ID is wrong.
        """
        name, found_id, seed = parse_private(text, "signer key")
        signer = cls(name, seed)
        if signer.verifier().key_id != found_id:
            msg = f"signer key {name}: the key ID does not match the key"
            raise MalformedNoteError(msg)
        return signer

    def __str__(self) -> str:
        typed = bytes([ED25519]) + self.seed
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{b64encode(typed)}"

    @property
    def key_id(self) -> int:
        """The key ID of its public key."""
        return self.verifier().key_id

    def verifier(self) -> VerifierKey:
        """The matching verifier key."""
        public = public_key(self.seed)
        return VerifierKey(
            self.name, key_id(self.name, bytes([ED25519]) + public), public
        )

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature of `message`."""
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


@dataclass(frozen=True)
class Signature:
    """One signature line of a note."""

    name: str
    key_id: int
    signature: bytes = field(repr=False)

    def line(self) -> str:
        """`— <name> <b64(key ID ‖ signature)>` with its newline."""
        data = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_DASH}{self.name} {b64encode(data)}\n"


@dataclass(frozen=True)
class Note:
    """A note's text and its signatures, split into verified and unknown."""

    text: str
    verified: tuple[Signature, ...]
    unverified: tuple[Signature, ...]


def sign_note(text: str, *signers: SignerKey) -> str:
    """The signed note of `text` (which ends in a newline).

    Raises:
        MalformedNoteError: the text cannot be a note's.
    """
    _check_text(text)
    if not signers:
        msg = "a note needs a signature"
        raise MalformedNoteError(msg)
    lines = [Signature(s.name, s.key_id, s.sign(text.encode())).line() for s in signers]
    return text + "\n" + "".join(lines)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        msg = "a note's text ends in a newline"
        raise MalformedNoteError(msg)
    if any(ord(c) < 0x20 and c != "\n" for c in text):  # noqa: PLR2004
        msg = "a note holds no control character but newline"
        raise MalformedNoteError(msg)


def parse_note(note: str | bytes) -> tuple[str, list[Signature]]:
    """A note's text and its signature lines, unverified.

    Raises:
        MalformedNoteError: not a signed note.
    """
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            msg = "a note is UTF-8"
            raise MalformedNoteError(msg) from None
    if any(ord(c) < 0x20 and c != "\n" for c in note):  # noqa: PLR2004
        msg = "a note holds no control character but newline"
        raise MalformedNoteError(msg)
    split = note.rfind("\n\n")
    if split < 0:
        msg = "a note ends with a blank line and its signatures"
        raise MalformedNoteError(msg)
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        msg = "a note's signature lines end in a newline"
        raise MalformedNoteError(msg)
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        msg = f"a note carries at most {MAX_SIGNATURES} signatures"
        raise MalformedNoteError(msg)
    signatures = []
    for line in lines:
        if not line.startswith(_DASH):
            msg = "a signature line starts with an em dash and a space"
            raise MalformedNoteError(msg)
        name, _, encoded = line[len(_DASH) :].partition(" ")
        data = b64decode(encoded, f"the signature of {name!r}") if encoded else b""
        if not valid_name(name) or len(data) < 5:  # noqa: PLR2004 - ID and a byte
            msg = "malformed signature line"
            raise MalformedNoteError(msg)
        signatures.append(Signature(name, int.from_bytes(data[:4], "big"), data[4:]))
    return text, signatures


def open_note(
    note: str | bytes, known: list[VerifierKey] | tuple[VerifierKey, ...]
) -> Note:
    """A note whose signatures by `known` keys all verify, and at least one does.

    Raises:
        MalformedNoteError: not a signed note.
        InvalidSignatureError: a known key's signature does not verify.
        UnverifiedNoteError: no known key signed it.
    """
    text, signatures = parse_note(note)
    keys: dict[tuple[str, int], list[VerifierKey]] = {}
    for key in known:
        keys.setdefault((key.name, key.key_id), []).append(key)
    verified: dict[tuple[str, int], Signature] = {}
    unverified: dict[Signature, None] = {}
    for signature in signatures:
        found = keys.get((signature.name, signature.key_id))
        if found is None:
            unverified[signature] = None
            continue
        if len({k.public for k in found}) > 1:
            msg = f"two verifier keys are named {signature.name}+{signature.key_id:08x}"
            raise InvalidSignatureError(msg)
        if (signature.name, signature.key_id) in verified:
            continue
        if not found[0].verify(text.encode(), signature.signature):
            msg = (
                f"the signature of {signature.name}+{signature.key_id:08x} "
                "does not verify"
            )
            raise InvalidSignatureError(msg)
        verified[signature.name, signature.key_id] = signature
    if not verified:
        msg = "no trusted key signed the note"
        raise UnverifiedNoteError(msg)
    return Note(text, tuple(verified.values()), tuple(unverified))


@dataclass(frozen=True)
class Checkpoint:
    """A log's state: its origin, its size and the root hash at that size."""

    origin: str
    size: int
    root: bytes = field(repr=False)
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        """The checkpoint's note text (C2SP tlog-checkpoint)."""
        lines = [self.origin, str(self.size), b64encode(self.root), *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Self:
        """From a checkpoint's note text.

        Raises:
            MalformedNoteError: not a checkpoint.
        """
        if not text.endswith("\n"):
            msg = "a checkpoint ends in a newline"
            raise MalformedNoteError(msg)
        lines = text[:-1].split("\n")
        if len(lines) < 3 or not all(lines):  # noqa: PLR2004 - origin, size, root
            msg = "a checkpoint has three or more non-empty lines"
            raise MalformedNoteError(msg)
        origin, size, encoded, *extensions = lines
        if not _SIZE.match(size):
            msg = f"a checkpoint's tree size is a decimal number, not {size!r}"
            raise MalformedNoteError(msg)
        digest = b64decode(encoded, "the checkpoint's root hash")
        if len(digest) != 32:  # noqa: PLR2004 - SHA-256
            msg = "a checkpoint's root hash is 32 bytes"
            raise MalformedNoteError(msg)
        return cls(origin, int(size), digest, tuple(extensions))

    def sign(self, *signers: SignerKey) -> str:
        """The signed note of this checkpoint."""
        return sign_note(self.text(), *signers)


def open_checkpoint(
    note: str | bytes,
    known: list[VerifierKey] | tuple[VerifierKey, ...],
    origin: str | None = None,
) -> Checkpoint:
    """The checkpoint of a signed note that `known` keys verify.

    Raises:
        NoteError: the note does not open (see `open_note`), its text is no
            checkpoint, or it is another log's (`origin`).
    """
    opened = open_note(note, known)
    checkpoint = Checkpoint.parse(opened.text)
    if origin is not None and checkpoint.origin != origin:
        msg = f"the checkpoint is of {checkpoint.origin!r}, not {origin!r}"
        raise MalformedNoteError(msg)
    return checkpoint
