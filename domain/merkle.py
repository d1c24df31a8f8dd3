"""The ledger's Merkle log: RFC 6962 hashing, proofs, and the leaf of a stored event.

Pure functions, no I/O (docs/INTEGRITY.md has the formats).

* Hashing (RFC 6962 §2.1, RFC 9162 §2.1.1): a leaf is SHA-256(0x00 ‖ data), an
  interior node SHA-256(0x01 ‖ left ‖ right); the Merkle Tree Hash (MTH) of n > 1
  leaves splits them at k, the largest power of two below n. The empty tree's root
  is SHA-256 of nothing.
* Nodes: a *complete subtree* is named by `(level, index)` and covers the leaves
  `index·2^level … (index+1)·2^level − 1`; level 0 holds the leaf hashes. Every
  range the MTH recursion meets is a complete subtree or splits into O(log n) of
  them, so a proof reads O(log n) stored nodes through a `NodeSource` and never
  re-hashes the log. `append` computes the nodes that new leaves complete.
* Proofs: inclusion (audit path) and consistency, generated as RFC 6962 §2.1.1–2
  defines them and verified with the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2.
* The leaf (kofu's own encoding, version 1): one canonical byte string per stored
  event, `encode_leaf`.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Protocol

Key = tuple[int, int]
"""A complete subtree: (level, index)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
LEAF_VERSION = 1
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """The RFC 6962 hash of one leaf: SHA-256(0x00 ‖ data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 6962 hash of an interior node: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than `n` (k < n ≤ 2k), for n ≥ 2."""
    return 1 << ((n - 1).bit_length() - 1)


class NodeSource(Protocol):
    """Where the hashes of complete subtrees are read from."""

    def hashes(self, keys: Collection[Key]) -> Mapping[Key, bytes]:
        """The hash of every complete subtree named (all of them, or raise)."""
        ...


# --- ranges: which complete subtrees a hash, a path or a proof needs ------------


def range_keys(start: int, end: int) -> list[Key]:
    """The complete subtrees whose hashes give MTH(D[start:end]), left to right."""
    keys: list[Key] = []
    _collect(start, end, keys)
    return keys


def _collect(start: int, end: int, keys: list[Key]) -> None:
    while True:
        width = end - start
        if width & (width - 1) == 0 and start % width == 0:
            keys.append((width.bit_length() - 1, start // width))
            return
        k = split(width)
        _collect(start, start + k, keys)
        start += k


def range_hash(start: int, end: int, hashes: Mapping[Key, bytes]) -> bytes:
    """MTH(D[start:end]) from the hashes of its complete subtrees."""
    width = end - start
    if width & (width - 1) == 0 and start % width == 0:
        return hashes[(width.bit_length() - 1, start // width)]
    k = split(width)
    return node_hash(
        range_hash(start, start + k, hashes), range_hash(start + k, end, hashes)
    )


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose MTH form PATH(index, D[0:size]), nearest the leaf first.

    Raises:
        ValueError: the index is not a leaf of a tree of that size.
    """
    if not 0 <= index < size:
        msg = f"leaf {index} is not in a tree of {size}"
        raise ValueError(msg)
    ranges: list[tuple[int, int]] = []
    low, high = 0, size
    while high - low > 1:
        k = split(high - low)
        if index - low < k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low += k
    return ranges[::-1]


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """The ranges whose MTH form PROOF(old, D[0:new]) (RFC 6962 §2.1.2).

    Empty when `old` is 0 or equal to `new` (C2SP tlog-witness).

    Raises:
        ValueError: not 0 ≤ old ≤ new.
    """
    if not 0 <= old <= new:
        msg = f"no consistency proof from size {old} to size {new}"
        raise ValueError(msg)
    if old in {0, new}:
        return []
    ranges: list[tuple[int, int]] = []
    low, high, m, whole = 0, new, old, True
    while m != high - low:
        k = split(high - low)
        if m <= k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low, m, whole = low + k, m - k, False
    if not whole:
        ranges.append((low, high))
    return ranges[::-1]


def _hash_ranges(ranges: Sequence[tuple[int, int]], source: NodeSource) -> list[bytes]:
    keys = {key for start, end in ranges for key in range_keys(start, end)}
    found = source.hashes(keys)
    return [range_hash(start, end, found) for start, end in ranges]


def root(size: int, source: NodeSource) -> bytes:
    """MTH of the first `size` leaves."""
    if size == 0:
        return EMPTY_ROOT
    return _hash_ranges([(0, size)], source)[0]


def inclusion_proof(index: int, size: int, source: NodeSource) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `size` leaves."""
    return _hash_ranges(inclusion_ranges(index, size), source)


def consistency_proof(old: int, new: int, source: NodeSource) -> list[bytes]:
    """The consistency proof from the tree of `old` leaves to that of `new`."""
    return _hash_ranges(consistency_ranges(old, new), source)


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ------------------------------


def root_from_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes]
) -> bytes | None:
    """The root that `path` leads to from leaf `index` (None: no such path)."""
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


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], expected: bytes
) -> bool:
    """Whether `path` proves `leaf` is leaf `index` of the tree with root `expected`."""
    return root_from_inclusion(index, size, leaf, path) == expected


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether `proof` shows the tree (new, new_root) extends (old, old_root)."""
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


# --- appending ------------------------------------------------------------------


def frontier_keys(size: int) -> list[Key]:
    """The complete subtrees along the right edge of a tree of `size` leaves.

    One per bit set in `size`: the nodes a new leaf may be hashed with.
    """
    return [
        (level, (size >> level) - 1)
        for level in range(size.bit_length())
        if size >> level & 1
    ]


def append(
    size: int, frontier: Mapping[Key, bytes], leaves: Iterable[bytes]
) -> list[tuple[int, int, bytes]]:
    """The nodes (level ≥ 1, index, hash) that `leaves` complete after `size`.

    `frontier` holds the hashes of `frontier_keys(size)`. The leaves themselves
    (level 0) are the caller's.
    """
    right = {level: frontier[level, index] for level, index in frontier_keys(size)}
    made: list[tuple[int, int, bytes]] = []
    for position, leaf in enumerate(leaves, start=size):
        digest, level, index = leaf, 0, position
        while index & 1:
            digest = node_hash(right[level], digest)
            level, index = level + 1, index >> 1
            made.append((level, index, digest))
        right[level] = digest
    return made


def root_from_frontier(size: int, frontier: Mapping[Key, bytes]) -> bytes:
    """MTH of a tree of `size` leaves from the hashes of `frontier_keys(size)`."""
    keys = frontier_keys(size)
    if not keys:
        return EMPTY_ROOT
    digest = frontier[keys[0]]
    for key in keys[1:]:
        digest = node_hash(frontier[key], digest)
    return digest


class MemoryTree:
    """Every complete subtree of a list of leaf hashes, in memory (a NodeSource)."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        self.extend(leaves)

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self.levels[0])

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append leaf hashes."""
        new = list(leaves)
        frontier = self.hashes(frontier_keys(self.size))
        made = append(self.size, frontier, new)
        self.levels[0].extend(new)
        for level, index, digest in made:
            while len(self.levels) <= level:
                self.levels.append([])
            assert len(self.levels[level]) == index  # noqa: S101 - append's order
            self.levels[level].append(digest)

    def hashes(self, keys: Collection[Key]) -> dict[Key, bytes]:
        """The hashes of the complete subtrees named."""
        return {(level, index): self.levels[level][index] for level, index in keys}

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first `size` leaves (all of them by default)."""
        return root(self.size if size is None else size, self)


def mth(leaves: Sequence[bytes]) -> bytes:
    """MTH of leaf hashes, straight from the definition (recursive; for checks)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


# --- the leaf of a stored event (kofu's encoding, versioned) --------------------


_HEAD = struct.Struct(">BIQI")  # version, 8, position, length of the id
_MIDDLE = struct.Struct(">IQI")  # 8, originator version, length of the topic
_LENGTH = struct.Struct(">I")


def encode_leaf(
    position: int,
    originator_id: str,
    originator_version: int,
    topic: str,
    state: bytes,
) -> bytes:
    """The leaf of one stored event: version 1 of kofu's canonical encoding.

    One byte, the encoding's version (1), then five fields, each its length as a
    4-byte big-endian number followed by its bytes: the position (notification
    id) as an 8-byte big-endian number, the originator id (its canonical text, a
    UUID as `str(uuid)`) in UTF-8, the originator version as an 8-byte
    big-endian number, the topic in UTF-8, and the state exactly as stored. A new
    encoding gets a new version byte.

    Raises:
        ValueError: a number is negative or too large, or a field is too long.
    """
    identity, name = originator_id.encode(), topic.encode()
    try:
        return b"".join(
            (
                _HEAD.pack(LEAF_VERSION, 8, position, len(identity)),
                identity,
                _MIDDLE.pack(8, originator_version, len(name)),
                name,
                _LENGTH.pack(len(state)),
                state,
            )
        )
    except struct.error as exc:
        msg = f"the event at position {position} does not fit the leaf: {exc}"
        raise ValueError(msg) from None


def event_leaf_hash(
    position: int,
    originator_id: str,
    originator_version: int,
    topic: str,
    state: bytes,
) -> bytes:
    """The leaf hash of one stored event."""
    return leaf_hash(
        encode_leaf(position, originator_id, originator_version, topic, state)
    )
