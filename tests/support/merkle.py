"""Checks of the Merkle log against the stored events (tests of sealing share them)."""

from __future__ import annotations

from adapters.storage.merkle_log import MerkleLog
from domain import merkle
from domain.ledger import Ledger


def event_leaves(ledger: Ledger) -> list[tuple[int, bytes]]:
    """Every stored event's position and leaf hash, recomputed from the events."""
    found: list[tuple[int, bytes]] = []
    start = 0
    while notes := ledger.recorder.select_notifications(
        start=start, limit=500, inclusive_of_start=False
    ):
        found.extend(
            (
                n.id,
                merkle.event_leaf_hash(
                    n.id, str(n.originator_id), n.originator_version, n.topic, n.state
                ),
            )
            for n in notes
        )
        start = notes[-1].id
    return found


def assert_sealed_whole(ledger: Ledger, *, step: int = 1) -> None:
    """The log covers every event; its root and proofs agree with the events."""
    log = MerkleLog(ledger)
    leaves = event_leaves(ledger)
    hashes = [h for _, h in leaves]
    size = log.size()
    assert size == len(leaves) > 0
    root = log.root()
    assert root == merkle.mth(hashes)
    check = log.scan()
    assert check.findings == []
    assert (check.events, check.leaves, check.root) == (size, size, root)
    for index, (position, digest) in enumerate(leaves):
        if index % step and index != size - 1:
            continue
        proof = log.prove_inclusion(position)
        assert (proof.leaf_index, proof.size, proof.leaf_hash) == (index, size, digest)
        assert merkle.verify_inclusion(index, size, digest, proof.path, root)
    for old in [*range(0, size, max(step, size // 40)), size]:
        old_root = merkle.mth(hashes[:old])
        assert log.root(old) == old_root
        proof = log.prove_consistency(old, size)
        assert merkle.verify_consistency(old, size, old_root, root, proof)
