"""The verifier's own state, kept outside the database: `kofu verify --state FILE`.

After a verify that found nothing, the verifier writes (atomically, mode 0600) what
it verified: the tree size, its root, the right edge of the tree there (the
hashes of `merkle.frontier_keys(size)`), the position of the last leaf, the old
chain's head, and the newest signed checkpoint it checked. The next verify with the
same file reads only what came after:

* the right edge at the old size is read **from the log** and must give the old
  root, the last leaf must still sit at the old position, and the chain's row at
  the old head must still hold the old hash; otherwise history below the state
  was rewritten (or the log cut back): a finding naming the size;
* the leaves and events after it are compared and hashed, the tree extended from
  that right edge (so every new root is consistent with the old one by
  construction) and each newer signed checkpoint compared with its root.

What it does not re-read: the events below the old size. A row changed there with
its log rows left alone is found by a full verify (without `--state`); one changed
with the log recomputed moves the right edge, and so the incremental verify fails.
The file is the verifier's: nothing here writes into the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from adapters.common.parsing import read_bytes
from adapters.common.writing import write_file
from adapters.storage.log_scan import LogFinding, Reader
from domain import merkle
from domain.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path

FORMAT = "kofu verifier state v1"


@dataclass(frozen=True)
class VerifiedState:
    """What a verify checked: the log's size, root and right edge, the chain's head."""

    size: int
    root: bytes
    frontier: dict[merkle.Key, bytes]
    position: int
    chain: tuple[int, str]
    note: str | None

    def check(self, log: Any, reader: Reader) -> LogFinding | None:
        """Whether the log still holds this state (None) or where it does not."""
        if self.size == 0:
            return None
        tables, p = log.tables, log.tables.p
        last = reader.one(
            f"SELECT position, {tables.hash} FROM {tables.leaves} "  # noqa: S608
            f"WHERE leaf_index = {p}",
            (self.size - 1,),
        )
        keys = merkle.frontier_keys(self.size)
        found: dict[merkle.Key, bytes] = {}
        nodes = [key for key in keys if key[0] > 0]
        if nodes:
            rows = reader.rows(
                tables.select_nodes(len(nodes)), tuple(v for key in nodes for v in key)
            )
            found = {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}
        if last is not None:
            found[0, self.size - 1] = bytes(last[1])
        root = (
            merkle.root_from_frontier(self.size, found)
            if all(key in found for key in keys)
            else None
        )
        if last is None or int(last[0]) != self.position or root != self.root:
            return LogFinding(
                self.position,
                "rewritten",
                f"the log at tree size {self.size} no longer matches the verified "
                f"state (its root or right edge differs, or it is shorter): history "
                f"up to position {self.position} was rewritten",
            )
        return None

    def to_json(self) -> bytes:
        """The file's bytes."""
        return orjson.dumps(
            {
                "format": FORMAT,
                "tree_size": self.size,
                "root": self.root.hex(),
                "frontier": [
                    [level, index, self.frontier[level, index].hex()]
                    for level, index in merkle.frontier_keys(self.size)
                ],
                "position": self.position,
                "chain": {"position": self.chain[0], "hash": self.chain[1]},
                "checkpoint": self.note,
            },
            option=orjson.OPT_INDENT_2,
        )


def read_state(path: Path) -> VerifiedState | None:
    """The state in `path` (None: no file there yet, the first verify).

    Raises:
        InvalidInput: the file is not a verifier state (names the file and why).
    """
    if not path.exists():
        return None
    try:
        return _parse(orjson.loads(read_bytes(path)))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        msg = f"not a kofu verifier state: {exc}"
        raise InvalidInput(msg, field=str(path)) from None


def _parse(data: Any) -> VerifiedState:
    if data.get("format") != FORMAT:
        msg = f"format is not {FORMAT!r}"
        raise ValueError(msg)
    size = int(data["tree_size"])
    frontier = {
        (int(level), int(index)): bytes.fromhex(digest)
        for level, index, digest in data["frontier"]
    }
    if size < 0 or sorted(frontier) != sorted(merkle.frontier_keys(size)):
        msg = "the frontier does not fit the tree size"
        raise ValueError(msg)
    note = data["checkpoint"]
    return VerifiedState(
        size,
        bytes.fromhex(data["root"]),
        frontier,
        int(data["position"]),
        (int(data["chain"]["position"]), str(data["chain"]["hash"])),
        str(note) if note is not None else None,
    )


def write_state(path: Path, state: VerifiedState) -> None:
    """Replace the state file atomically (a new file renamed over it, mode 0600).

    Raises:
        InvalidInput: it cannot be written.
    """
    write_file(path, state.to_json(), force=True, mode=0o600)
