"""The ledger's signing key: made, written, read; never stored in the database.

The key that signs the Merkle log's checkpoints (`domain.checkpoint.SignerKey`)
lives in a key file (`PRIVATE+KEY+<name>+<key ID>+<b64>`, one line, mode 0600,
created with O_EXCL so an existing file is never overwritten) or in the
environment (`KOFU_SIGNING_KEY` holding the same text). Whoever holds it can sign
a rewritten history, so it is kept apart from the database it vouches for; the
database holds only signed checkpoints. Readers trust verifier keys
(`<name>+<key ID>+<b64>`) configured outside the database: `read_verifier_keys`.

The DEMO key: a fixed seed published in docs/INTEGRITY.md so that anyone can
reproduce the demo's signatures. It signs only under the name `DEMO_NAME`, and
must never sign a real ledger.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from adapters.common.parsing import read_bytes
from domain.checkpoint import NoteError, SignerKey, VerifierKey
from domain.errors import InvalidInput

ENVIRONMENT = "KOFU_SIGNING_KEY"
MAX_KEY_BYTES = 4096
DEMO_NAME = "DEMO.kofu.invalid/demo-ledger"
"""The demo key's name: the origin of a demo ledger's checkpoints (DEMO)."""
DEMO_SEED = hashlib.sha256(
    b"kofu DEMO signing key: published, for the demo only, never for a real ledger"
).digest()
"""The demo key's seed, published: every signature it makes is the DEMO's."""


def demo_key() -> SignerKey:
    """The DEMO signing key (its private half is public: docs/INTEGRITY.md)."""
    return SignerKey(DEMO_NAME, DEMO_SEED)


def is_demo(key: SignerKey | VerifierKey) -> bool:
    """Whether a key is the published DEMO key."""
    public = key.verifier().public if isinstance(key, SignerKey) else key.public
    return public == demo_key().verifier().public


def generate(name: str) -> SignerKey:
    """A new signing key for the log named `name`.

    Raises:
        InvalidInput: not a key name (non-empty, no space, no `+`).
    """
    try:
        return SignerKey.generate(name)
    except NoteError as exc:
        raise InvalidInput(str(exc), field="name") from None


def create_private(path: Path, content: bytes, what: str = "key file") -> None:
    """Create a file readable by its owner only (0600, O_EXCL), flushed to disk.

    Raises:
        InvalidInput: the file exists (it is never overwritten) or cannot be made.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        msg = f"a file is already there; a {what} is never overwritten"
        raise InvalidInput(msg, field=str(path)) from None
    except OSError as exc:
        msg = f"cannot create the {what}: {exc.strerror}"
        raise InvalidInput(msg, field=str(path)) from None
    with os.fdopen(descriptor, "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())


def read_private(path: Path, what: str = "key file") -> bytes:
    """A file only its owner may read (else refused), read bounded.

    Raises:
        InvalidInput: missing, or readable by others.
    """
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        msg = f"cannot read the {what}: {exc.strerror}"
        raise InvalidInput(msg, field=str(path)) from None
    if stat.S_ISREG(mode) and mode & 0o077:
        msg = (
            f"the {what} can be read by others (mode {stat.S_IMODE(mode):04o}); "
            "make it 0600"
        )
        raise InvalidInput(msg, field=str(path))
    return read_bytes(path)


def write_key(path: Path, key: SignerKey) -> None:
    """Write a key file readable by its owner only; never overwrite one.

    Raises:
        InvalidInput: the file exists or cannot be made.
    """
    create_private(path, f"{key}\n".encode("ascii"))


def read_key(path: Path) -> SignerKey:
    """The signing key in a key file (owner-only permissions required).

    Raises:
        InvalidInput: missing, readable by others, too large, or not a key.
    """
    data = read_private(path)
    if len(data) > MAX_KEY_BYTES:
        msg = "too large for a key file"
        raise InvalidInput(msg, field=str(path))
    return _parse(data, str(path))


def _parse(data: bytes, where: str) -> SignerKey:
    try:
        return SignerKey.parse(data.decode("ascii"))
    except UnicodeDecodeError:
        msg = "not a signing key (PRIVATE+KEY+<name>+<key ID>+<base64>)"
        raise InvalidInput(msg, field=where) from None
    except NoteError as exc:
        raise InvalidInput(str(exc), field=where) from None


def signing_key(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> SignerKey | None:
    """The key from `path`, else from `KOFU_SIGNING_KEY`, else None.

    Raises:
        InvalidInput: the file or the variable does not hold a signing key.
    """
    if path is not None:
        return read_key(path)
    text = (os.environ if environ is None else environ).get(ENVIRONMENT)
    if not text:
        return None
    if len(text) > MAX_KEY_BYTES:
        msg = "too large for a signing key"
        raise InvalidInput(msg, field=ENVIRONMENT)
    return _parse(text.encode("utf-8", "replace"), ENVIRONMENT)


def read_verifier_keys(path: Path) -> list[VerifierKey]:
    """The verifier keys a reader trusts: one per line, `#` starts a comment.

    Raises:
        InvalidInput: a line that is not a verifier key (file:line named), or none.
    """
    data = read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        msg = "not UTF-8"
        raise InvalidInput(msg, field=str(path)) from None
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        try:
            keys.append(VerifierKey.parse(content))
        except NoteError as exc:
            raise InvalidInput(str(exc), field=f"{path}:{number}") from None
    if not keys:
        msg = "no verifier key in the file"
        raise InvalidInput(msg, field=str(path))
    return keys


VERIFIERS = "KOFU_VERIFIER_KEYS"
"""The environment variable of the verifier keys a reader trusts (space-separated)."""
KEY_FILE = "KOFU_SIGNING_KEY_FILE"
"""The environment variable naming the writer's key file (else `KOFU_SIGNING_KEY`)."""


def configured_signer(environ: Mapping[str, str] | None = None) -> SignerKey | None:
    """The writer's key: the file `KOFU_SIGNING_KEY_FILE`, else `KOFU_SIGNING_KEY`.

    Raises:
        InvalidInput: the file or the variable does not hold a signing key.
    """
    env = os.environ if environ is None else environ
    path = env.get(KEY_FILE)
    return signing_key(Path(path) if path else None, env)


def trusted_keys(
    texts: Sequence[str] = (),
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[VerifierKey]:
    """The verifier keys a reader trusts; never anything the database holds.

    `texts` (`--key`) and a keys file; neither given: `KOFU_VERIFIER_KEYS`.

    Raises:
        InvalidInput: a key that does not parse (where it came from named).
    """
    keys = read_verifier_keys(path) if path is not None else []
    given = list(texts)
    if not given and path is None:
        env = os.environ if environ is None else environ
        given = env.get(VERIFIERS, "").split()
        where = VERIFIERS
    else:
        where = "--key"
    for text in given:
        try:
            keys.append(VerifierKey.parse(text))
        except NoteError as exc:
            raise InvalidInput(str(exc), field=where) from None
    return keys


def reader_keys(environ: Mapping[str, str] | None = None) -> list[VerifierKey]:
    """The verifier keys a server trusts: `KOFU_VERIFIER_KEYS` and its own key's.

    The verifier half of the writer's configured signing key is trusted too: a
    server that signs what it writes trusts its own signatures.

    Raises:
        InvalidInput: a configured key that does not parse.
    """
    keys = trusted_keys(environ=environ)
    signer = configured_signer(environ)
    if signer is not None:
        keys.append(signer.verifier())
    return keys
