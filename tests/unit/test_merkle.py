"""The Merkle log's pure part: RFC 6962 hashing, proofs, appending, the leaf encoding.

Vectors from transparency-dev/merkle (testonly/constants.go and its happy-path
proofs), exhaustive checks of every proof up to 64 leaves against the recursive
definition of the Merkle Tree Hash, property tests, and the golden leaf vectors
that pin kofu's encoding (a change to it changes every leaf hash: a new version).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import merkle
from domain.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    consistency_proof,
    encode_leaf,
    event_leaf_hash,
    inclusion_proof,
    leaf_hash,
    mth,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

DATA = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
LEAVES = [leaf_hash(d) for d in DATA]
H4 = "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"
H5 = "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"
ROOT4 = "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"
ROOT6 = "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"
ROOT8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
H45 = "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"
H67 = "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


class Counting:
    """A node source that counts the nodes it is asked for."""

    def __init__(self, tree: MemoryTree) -> None:
        self.tree, self.read = tree, 0

    def hashes(self, keys: Collection[merkle.Key]) -> dict[merkle.Key, bytes]:
        self.read += len(keys)
        return self.tree.hashes(keys)


def test_the_published_hashes() -> None:
    assert EMPTY_ROOT.hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert LEAVES[4].hex() == H4
    assert LEAVES[5].hex() == H5
    assert node_hash(LEAVES[4], LEAVES[5]).hex() == H45
    assert node_hash(LEAVES[6], LEAVES[7]).hex() == H67
    tree = MemoryTree(LEAVES)
    for size, root in ((4, ROOT4), (6, ROOT6), (8, ROOT8)):
        assert tree.root(size).hex() == root
        assert mth(LEAVES[:size]).hex() == root


def test_the_published_inclusion_path_of_h5_in_8() -> None:
    tree = MemoryTree(LEAVES)
    path = inclusion_proof(5, 8, tree)
    assert [p.hex() for p in path] == [H4, H67, ROOT4]
    assert verify_inclusion(5, 8, LEAVES[5], path, bytes.fromhex(ROOT8))
    assert not verify_inclusion(4, 8, LEAVES[5], path, bytes.fromhex(ROOT8))
    assert not verify_inclusion(5, 6, LEAVES[5], path, bytes.fromhex(ROOT8))
    assert not verify_inclusion(5, 8, LEAVES[4], path, bytes.fromhex(ROOT8))
    assert not verify_inclusion(5, 8, LEAVES[5], path[:2], bytes.fromhex(ROOT8))
    assert not verify_inclusion(8, 8, LEAVES[5], path, bytes.fromhex(ROOT8))


def test_the_published_consistency_proof_from_6_to_8() -> None:
    tree = MemoryTree(LEAVES)
    proof = consistency_proof(6, 8, tree)
    assert [p.hex() for p in proof] == [H45, H67, ROOT4]
    root6, root8 = bytes.fromhex(ROOT6), bytes.fromhex(ROOT8)
    assert verify_consistency(6, 8, root6, root8, proof)
    assert not verify_consistency(6, 8, root8, root8, proof)
    assert not verify_consistency(6, 8, root6, root6, proof)
    assert not verify_consistency(5, 8, root6, root8, proof)
    assert not verify_consistency(6, 8, root6, root8, proof[:2])
    assert not verify_consistency(6, 8, root6, root8, [])


def test_every_inclusion_proof_up_to_64_leaves() -> None:
    leaves = _leaves(64)
    tree = MemoryTree(leaves)
    for size in range(1, 65):
        root = mth(leaves[:size])
        assert tree.root(size) == root
        for index in range(size):
            path = inclusion_proof(index, size, tree)
            assert len(path) <= (size - 1).bit_length()
            assert verify_inclusion(index, size, leaves[index], path, root)
            assert not verify_inclusion(index, size, leaves[index], path, EMPTY_ROOT)
            other = leaves[(index + 1) % 64]
            assert not verify_inclusion(index, size, other, path, root)
            if path:
                bent = [*path[:-1], bytes(32)]
                assert not verify_inclusion(index, size, leaves[index], bent, root)
                assert not verify_inclusion(
                    index, size, leaves[index], [*path, path[0]], root
                )


def test_every_consistency_proof_up_to_64_leaves() -> None:
    leaves = _leaves(64)
    tree = MemoryTree(leaves)
    for new in range(1, 65):
        new_root = mth(leaves[:new])
        for old in range(1, new):
            old_root = mth(leaves[:old])
            proof = consistency_proof(old, new, tree)
            assert 0 < len(proof) <= (new - 1).bit_length() + 1
            assert verify_consistency(old, new, old_root, new_root, proof)
            assert not verify_consistency(old, new, new_root, new_root, proof)
            assert not verify_consistency(old, new, old_root, old_root, proof)
            for i in range(len(proof)):
                bent = list(proof)
                bent[i] = hashlib.sha256(bent[i]).digest()
                assert not verify_consistency(old, new, old_root, new_root, bent)
        # The edges (C2SP tlog-witness): from nothing, and to the same size.
        assert consistency_proof(0, new, tree) == []
        assert verify_consistency(0, new, EMPTY_ROOT, new_root, [])
        assert consistency_proof(new, new, tree) == []
        assert verify_consistency(new, new, new_root, new_root, [])
        assert not verify_consistency(new, new, new_root, EMPTY_ROOT, [])


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=3000),
    st.data(),
)
def test_proofs_of_larger_trees_read_log_n_nodes(
    size: int, data: st.DataObject
) -> None:
    leaves = _leaves(size)
    tree = MemoryTree(leaves)
    counting = Counting(tree)
    root = mth(leaves)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    path = inclusion_proof(index, size, counting)
    assert verify_inclusion(index, size, leaves[index], path, root)
    bound = 2 * size.bit_length() + 2
    assert counting.read <= bound
    old = data.draw(st.integers(min_value=0, max_value=size))
    counting.read = 0
    proof = consistency_proof(old, size, counting)
    assert counting.read <= bound
    assert verify_consistency(old, size, mth(leaves[:old]), root, proof)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=8))
def test_appending_in_batches_makes_the_same_tree(batches: list[int]) -> None:
    leaves = _leaves(sum(batches))
    whole = MemoryTree(leaves)
    grown = MemoryTree()
    done = 0
    for count in batches:
        grown.extend(leaves[done : done + count])
        done += count
        assert grown.root() == mth(leaves[:done])
        frontier = grown.hashes(merkle.frontier_keys(done))
        assert merkle.root_from_frontier(done, frontier) == grown.root()
    assert grown.levels == whole.levels


def test_refusals() -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        merkle.inclusion_ranges(3, 3)
    with pytest.raises(ValueError, match="no consistency proof"):
        merkle.consistency_ranges(4, 3)
    assert not verify_consistency(4, 3, EMPTY_ROOT, EMPTY_ROOT, [])
    assert merkle.root(0, MemoryTree()) == EMPTY_ROOT


# --- the leaf encoding (version 1), pinned -----------------------------------

GOLDEN = [
    (
        (
            42,
            "6f1c3d2a-8b4e-5f6a-9c7d-0e1f2a3b4c5d",
            3,
            "kofu.SelfEvaluation.Submitted",
            b'{"answers":{"I-1-a":true},"timestamp":"2019-10-10T01:00:00+00:00"}',
        ),
        "01"  # the encoding's version
        "00000008"
        "000000000000002a"  # position 42
        "00000024"
        + b"6f1c3d2a-8b4e-5f6a-9c7d-0e1f2a3b4c5d".hex()  # originator id
        + "00000008"
        "0000000000000003"  # originator version 3
        + "0000001d"
        + b"kofu.SelfEvaluation.Submitted".hex()  # topic
        + "00000042"  # the state, as stored (66 bytes)
        + b'{"answers":{"I-1-a":true},"timestamp":"2019-10-10T01:00:00+00:00"}'.hex(),
        "c2872536fcd65ba267b82ed0108a3ca199b8e6d947796cfde09f9df69b6f52ee",
    ),
    (
        (
            1,
            "00000000-0000-0000-0000-000000000000",
            1,
            "kofu.Entity.Registered",
            '{"name":"新宿区"}'.encode(),
        ),
        "01"
        "00000008"
        "0000000000000001"
        "00000024" + b"00000000-0000-0000-0000-000000000000".hex() + "00000008"
        "0000000000000001"
        + "00000016"
        + b"kofu.Entity.Registered".hex()
        + "00000014"
        + "7b226e616d65223a22e696b0e5aebfe58cba227d",
        "e0f632fde7bc6ac0db20040d6a1bee05320f3c92329d3d9686a39e06c02def11",
    ),
]


@pytest.mark.parametrize(("event", "leaf", "digest"), GOLDEN)
def test_golden_leaves(event: tuple, leaf: str, digest: str) -> None:  # type: ignore[type-arg]
    assert encode_leaf(*event).hex() == leaf
    assert leaf_hash(bytes.fromhex(leaf)).hex() == digest
    assert event_leaf_hash(*event).hex() == digest


def test_every_field_changes_the_leaf() -> None:
    event = GOLDEN[0][0]
    base = event_leaf_hash(*event)
    changed = [
        (43, *event[1:]),
        (event[0], event[1].replace("6f", "7f", 1), *event[2:]),
        (*event[:2], 4, *event[3:]),
        (*event[:3], "kofu.SelfEvaluation.Revised", event[4]),
        (*event[:4], event[4] + b" "),
    ]
    assert len({event_leaf_hash(*c) for c in changed} | {base}) == 6
    # Length prefixes: moving a byte from the topic to the state is another leaf.
    assert encode_leaf(1, "a", 1, "tb", b"c") != encode_leaf(1, "a", 1, "t", b"bc")


def test_a_leaf_refuses_what_does_not_fit() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        encode_leaf(-1, "a", 1, "t", b"")
    with pytest.raises(ValueError, match="does not fit"):
        encode_leaf(1, "a", 1 << 64, "t", b"")
