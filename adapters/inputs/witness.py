"""A witness's own file: its key and what it last cosigned; never in the ledger.

A witness (a prefecture, an auditor) keeps one state file (JSON, mode 0600,
created with O_EXCL so that an existing file is never overwritten):

    {"format": "kofu-witness/v1", "key": "PRIVATE+KEY+<name>+<id>+<b64>",
     "origin": <the log's origin or null>, "size": <tree size>, "root": <b64>}

`size` and `root` are the last tree it cosigned (0 and the empty tree's root at
first). An update is atomic: the new state goes to a fresh file beside it, is
flushed, then renamed over the old one; a lock file beside it (`<file>.lock`)
makes two cosigns of one witness run one after the other.

Which witnesses a reader counts is configuration, not the database:
`KOFU_WITNESS_KEYS` (witness verifier keys, space-separated) and
`KOFU_WITNESS_QUORUM` (how many of them must cosign a decision before it is
published; default 0).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson

from adapters.inputs.keys import create_private, read_private
from domain import merkle
from domain.checkpoint import NoteError, b64decode, b64encode
from domain.cosignature import WitnessKey, WitnessSigner
from domain.errors import InvalidInput

FORMAT = "kofu-witness/v1"
MAX_STATE_BYTES = 16 * 1024
KEYS = "KOFU_WITNESS_KEYS"
QUORUM = "KOFU_WITNESS_QUORUM"
MAX_QUORUM = 100
WHAT = "witness state file"


@dataclass(frozen=True)
class WitnessState:
    """A witness's key and the last tree it cosigned."""

    key: WitnessSigner
    origin: str | None
    size: int
    root: bytes

    def document(self) -> bytes:
        """The state file's content."""
        return orjson.dumps(
            {
                "format": FORMAT,
                "key": str(self.key),
                "origin": self.origin,
                "size": self.size,
                "root": b64encode(self.root),
            },
            option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE,
        )


def init_state(path: Path, name: str) -> WitnessState:
    """A new witness: a fresh key, nothing cosigned yet, written to `path`.

    Raises:
        InvalidInput: not a key name, or the file exists or cannot be made.
    """
    try:
        key = WitnessSigner.generate(name)
    except NoteError as exc:
        raise InvalidInput(str(exc), field="--name") from None
    state = WitnessState(key, None, 0, merkle.EMPTY_ROOT)
    create_private(path, state.document(), WHAT)
    return state


def read_state(path: Path) -> WitnessState:
    """The witness state in `path` (owner-only permissions required).

    Raises:
        InvalidInput: missing, readable by others, too large, or malformed.
    """
    data = read_private(path, WHAT)
    if len(data) > MAX_STATE_BYTES:
        msg = "too large for a witness state file"
        raise InvalidInput(msg, field=str(path))
    try:
        document = orjson.loads(data)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            msg = f"not a {FORMAT} state file"
            raise ValueError(msg)  # noqa: TRY301 - one message for every shape
        origin, size = document["origin"], document["size"]
        if origin is not None and not isinstance(origin, str):
            msg = "origin is not text"
            raise ValueError(msg)  # noqa: TRY301
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            msg = "size is not a tree size"
            raise ValueError(msg)  # noqa: TRY301
        root = b64decode(str(document["root"]), "root")
        if len(root) != 32:  # noqa: PLR2004 - SHA-256
            msg = "root is not 32 bytes"
            raise ValueError(msg)  # noqa: TRY301
        key = WitnessSigner.parse(str(document["key"]))
    except (ValueError, KeyError, TypeError) as exc:
        msg = f"not a witness state file: {exc}"
        raise InvalidInput(msg, field=str(path)) from None
    return WitnessState(key, origin, size, root)


def save_state(path: Path, state: WitnessState) -> None:
    """Replace the state atomically (a fresh 0600 file renamed over the old)."""
    fresh = path.with_name(f".{path.name}.{os.getpid()}.new")
    fresh.unlink(missing_ok=True)
    create_private(fresh, state.document(), WHAT)
    try:
        fresh.replace(path)
    except OSError:
        fresh.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a crash
    finally:
        os.close(folder)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the witness's lock (`<file>.lock`, 0600): one cosign at a time."""
    lock = path.with_name(f"{path.name}.lock")
    try:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        msg = f"cannot open the witness's lock file: {exc.strerror}"
        raise InvalidInput(msg, field=str(lock)) from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def witness_keys(environ: Mapping[str, str] | None = None) -> list[WitnessKey]:
    """The witnesses a reader counts: `KOFU_WITNESS_KEYS` (never the database).

    Raises:
        InvalidInput: a key that does not parse.
    """
    env = os.environ if environ is None else environ
    keys = []
    for text in env.get(KEYS, "").split():
        try:
            keys.append(WitnessKey.parse(text))
        except NoteError as exc:
            raise InvalidInput(str(exc), field=KEYS) from None
    return keys


def quorum(environ: Mapping[str, str] | None = None) -> int:
    """How many configured witnesses must cosign a decision (`KOFU_WITNESS_QUORUM`).

    Raises:
        InvalidInput: not a whole number 0..100.
    """
    env = os.environ if environ is None else environ
    text = env.get(QUORUM, "").strip() or "0"
    if not text.isdigit() or int(text) > MAX_QUORUM:
        msg = f"a whole number of witnesses 0..{MAX_QUORUM}, not {text!r}"
        raise InvalidInput(msg, field=QUORUM)
    return int(text)
