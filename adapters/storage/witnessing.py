"""Witnesses of the Merkle log: cosigning, and checking what they cosigned.

A witness (C2SP tlog-witness, run here from the command line) keeps its own key
and the last tree it cosigned in its state file (`adapters/inputs/witness.py`),
never in the ledger. `cosign` takes the ledger's newest signed checkpoint, opens
it with the ledger's verifier keys (configuration), and checks the consistency
proof from the tree it cosigned before: the proof's hashes come from the ledger,
the old root from its own state, the new root from the signed checkpoint. On a
mismatch it refuses (nothing recorded, its state unchanged). Else it records its
new state (atomically), then appends its cosignature line to
`kofu_log_cosignatures` beside the checkpoint: the one write, append-only, that
changes no leaf, node or checkpoint.

`check_cosignatures` and `witnessed` are the readers': every stored cosignature
by a configured witness must verify (else a finding); a witness counts up to the
largest tree size it validly cosigned of a checkpoint the log still agrees with.
`against_witness`: the log must hold the very tree a witness's state says it
cosigned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from adapters.inputs.witness import WitnessState, locked, read_state, save_state
from adapters.storage.log_scan import LogFinding
from adapters.storage.merkle_log import MerkleLog
from domain import merkle
from domain.checkpoint import (
    Checkpoint,
    NoteError,
    Signature,
    VerifierKey,
    b64encode,
    open_checkpoint,
    parse_note,
)
from domain.errors import Refused

if TYPE_CHECKING:
    from pathlib import Path

    from domain.cosignature import WitnessKey
    from domain.ledger import Ledger


@dataclass(frozen=True)
class Cosigned:
    """A cosignature made: by whom, of which tree, when, and the cosigned note."""

    witness: str
    size: int
    root: bytes
    timestamp: int
    note: str


def _short(root: bytes) -> str:
    return b64encode(root)


def cosign(
    ledger: Ledger,
    state_path: Path,
    trusted: Sequence[VerifierKey],
    now: Callable[[], float] = time.time,
) -> Cosigned:
    """Cosign the ledger's newest signed checkpoint if it extends what was cosigned.

    `now` is the witness's own clock: a cosignature is the witness's statement.

    Raises:
        InvalidInput: the state file cannot be read or written.
        Refused: no trusted signed checkpoint, or it is not consistent with the
            tree this witness cosigned (both sizes and roots named); nothing is
            recorded and the state is unchanged.
    """
    with locked(state_path):
        state = read_state(state_path)
        log = MerkleLog(ledger)
        stored = log.checkpoints()
        if not stored:
            msg = "the ledger has no signed checkpoint to cosign"
            raise Refused(msg, field="witness cosign")
        size, note = stored[-1]
        where = f"the ledger's newest checkpoint (tree size {size})"
        try:
            point = open_checkpoint(note, tuple(trusted), state.origin)
        except NoteError as exc:
            msg = f"{where}: {exc}; nothing cosigned"
            raise Refused(msg, field="witness cosign") from None
        if point.size != size:
            msg = f"{where} says tree size {point.size}; nothing cosigned"
            raise Refused(msg, field="witness cosign")
        _check_consistent(log, state, point)
        text = parse_note(note)[0]
        signature = state.key.cosign(text, int(now()))
        save_state(state_path, WitnessState(state.key, point.origin, size, point.root))
        witness = str(state.key.verifier())
        log.add_cosignature(size, witness, _timestamp(signature), signature.line())
    return Cosigned(
        witness, size, point.root, _timestamp(signature), note + signature.line()
    )


def _timestamp(signature: Signature) -> int:
    return int.from_bytes(signature.signature[:8], "big")


def _check_consistent(log: MerkleLog, state: WitnessState, point: Checkpoint) -> None:
    old = f"tree size {state.size} (root {_short(state.root)}) it cosigned"
    new = f"tree size {point.size} (root {_short(point.root)})"
    if point.size < state.size:
        msg = (
            f"the ledger's newest signed checkpoint, {new}, is smaller than the "
            f"{old}: a rolled-back or forked log; nothing cosigned"
        )
        raise Refused(msg, field="witness cosign")
    try:
        proof = log.prove_consistency(state.size, point.size)
    except LookupError as exc:
        msg = f"no consistency proof from the {old} to {new}: {exc}; nothing cosigned"
        raise Refused(msg, field="witness cosign") from None
    if not merkle.verify_consistency(
        state.size, point.size, state.root, point.root, proof
    ):
        msg = (
            f"SPLIT VIEW: the ledger's checkpoint at {new} is not consistent with "
            f"the {old} (the ledger's consistency proof does not verify): its "
            "history was rewritten or forked; nothing cosigned"
        )
        raise Refused(msg, field="witness cosign")


@dataclass
class Witnessed:
    """What the stored cosignatures show: per configured witness, how far."""

    sizes: dict[str, int] = field(default_factory=dict)
    """A configured witness's name → the largest tree size it validly cosigned."""
    findings: list[LogFinding] = field(default_factory=list)
    unknown: int = 0
    """Cosignatures by keys not configured (not counted, not checked)."""


def check_cosignatures(
    log: MerkleLog,
    witnesses: Sequence[WitnessKey],
    agreed: dict[int, str],
    position: Callable[[int], int],
) -> Witnessed:
    """Check every stored cosignature; `agreed` are the checkpoints the log agrees with.

    `agreed` maps a tree size to its signed note (opened with a trusted key, the
    log's root there the signed one); `position(size)` names the position of a
    finding. Read-only.
    """
    found = Witnessed()
    stored = dict(log.checkpoints())
    keys = {(k.name, k.key_id): k for k in witnesses}
    for size, _witness, line in log.cosignatures():
        try:
            signature = parse_note(f"-\n\n{line}")[1][0]
        except (NoteError, IndexError):
            found.findings.append(
                LogFinding(
                    position(size),
                    "cosignature",
                    f"a stored cosignature of tree size {size} is not a signature line",
                )
            )
            continue
        key = keys.get((signature.name, signature.key_id))
        if key is None:
            found.unknown += 1
            continue
        label = f"the cosignature by witness {key.name} of tree size {size}"
        note = stored.get(size)
        if note is None:
            found.findings.append(
                LogFinding(
                    position(size),
                    "cosignature",
                    f"{label} names no stored signed checkpoint",
                )
            )
            continue
        if key.timestamp(parse_note(note)[0], signature) is None:
            found.findings.append(
                LogFinding(
                    position(size), "cosignature", f"{label} does not verify (forged)"
                )
            )
            continue
        if size in agreed:
            found.sizes[key.name] = max(found.sizes.get(key.name, 0), size)
    return found


def witnessed(
    ledger: Ledger, trusted: Sequence[VerifierKey], witnesses: Sequence[WitnessKey]
) -> dict[str, int]:
    """Per configured witness, the largest tree size it validly cosigned.

    Counted only where the checkpoint opens with a trusted key and the log's
    root at its size is the signed one (no full scan: the quorum's check).
    """
    log = MerkleLog(ledger)
    cosigned = {size for size, _, _ in log.cosignatures()}
    agreed = {}
    for size, note in log.checkpoints():
        if size not in cosigned or size > log.size():
            continue
        try:
            point = open_checkpoint(note, tuple(trusted))
        except NoteError:
            continue
        if point.size == size and log.root(size) == point.root:
            agreed[size] = note
    return check_cosignatures(log, witnesses, agreed, lambda size: size).sizes


def against_witness(
    log: MerkleLog, state: WitnessState, leaves: int
) -> LogFinding | None:
    """A finding ("witness") if the log does not hold the tree the witness cosigned."""
    name = state.key.name
    if state.size > leaves:
        return LogFinding(
            leaves,
            "witness",
            f"witness {name} cosigned tree size {state.size} but the log has "
            f"{leaves} leaves: events were removed after it cosigned",
        )
    root = log.root(state.size)
    if root == state.root:
        return None
    return LogFinding(
        log.position_of(0) or 0,
        "witness",
        f"SPLIT VIEW: witness {name} cosigned tree size {state.size} with root "
        f"{_short(state.root)}; this log's root at that size is {_short(root)}: "
        "the ledger shows another history than the one the witness saw",
    )
