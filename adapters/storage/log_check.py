"""Checking the Merkle log against the signed checkpoints, read-only.

`check_log` is what `kofu verify` (and `GET /api/verify`) runs on the log:

* `MerkleLog.scan`: every stored event is covered by its leaf ("unsealed event at
  position P"), every leaf and interior node follows from the events;
* every stored checkpoint opens with a **trusted verifier key** (configured outside
  the database: `KOFU_VERIFIER_KEYS`, a keys file, `--key`), its tree size is
  within the log (else the events it covered were deleted) and the log's root at
  that size is the root it signed (else history inside was rewritten, between the
  previous good checkpoint and it);
* the span after the largest signed checkpoint is reported as unsigned: "events
  P..Q are sealed but no signed checkpoint covers them". That is a finding too
  (strict): the writer signs after every write it makes, so an honest ledger has
  no unsigned span once its writes have finished.

Nothing here writes: no leaf, node, checkpoint or chain row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from adapters.inputs.keys import is_demo
from adapters.storage.log_scan import LogFinding
from adapters.storage.merkle_log import MerkleLog
from domain.checkpoint import Checkpoint, NoteError, VerifierKey, open_checkpoint

if TYPE_CHECKING:
    from collections.abc import Sequence

    from domain.ledger import Ledger


_EVENT_KINDS = frozenset({"unsealed", "deleted", "modified"})


@dataclass
class LogReport:
    """What `check_log` found (findings first-position first) and what it read."""

    findings: list[LogFinding] = field(default_factory=list)
    events: int = 0
    leaves: int = 0
    signed: int = 0
    """The largest tree size a trusted signed checkpoint covers (and the log agrees)."""
    checkpoints: int = 0
    demo: bool = False
    """Whether a checkpoint is signed with the published DEMO key (no real seal)."""
    unsigned: tuple[int, int] | None = None
    """The first and last positions no signed checkpoint covers (None: none)."""

    @property
    def first(self) -> LogFinding | None:
        """The finding to name (None: the log is intact and signed).

        An event's own finding (unsealed, deleted, modified) at the lowest
        position, else the lowest other one: a node that no longer matches its
        leaves is the consequence of a leaf that no longer matches its event.
        """
        return min(
            self.findings,
            key=lambda f: (f.kind not in _EVENT_KINDS, f.position),
            default=None,
        )


def check_log(
    ledger: Ledger,
    keys: Sequence[VerifierKey],
    exported: str | None = None,
) -> LogReport:
    """Check the log and its checkpoints (and an exported signed checkpoint)."""
    log = MerkleLog(ledger)
    scan = log.scan()
    keys = tuple(keys)
    report = LogReport(list(scan.findings), scan.events, scan.leaves)
    log_intact = not any(f.kind == "log" for f in scan.findings)
    stored = log.checkpoints()
    report.checkpoints = len(stored)
    notes = [(size, note, "stored") for size, note in stored]
    if exported is not None:
        notes.append((-1, exported, "exported"))
    good = 0
    for size, note, where in notes:
        label = f"the {where} checkpoint" + (
            f" at tree size {size}" if size >= 0 else ""
        )
        try:
            point = open_checkpoint(note, keys)
        except NoteError as exc:
            report.findings.append(
                LogFinding(_position(log, size - 1), "checkpoint", f"{label}: {exc}")
            )
            continue
        if size >= 0 and point.size != size:
            report.findings.append(
                LogFinding(
                    _position(log, size - 1),
                    "checkpoint",
                    f"{label} says tree size {point.size}",
                )
            )
            continue
        found = _against(log, point, label, scan.leaves, good, log_intact=log_intact)
        if found is not None:
            report.findings.append(found)
            continue
        report.demo = report.demo or any(is_demo(k) for k in keys if _signed(k, note))
        good = max(good, point.size)
    report.signed = good
    if report.leaves > good:
        first, last = _position(log, good), _position(log, report.leaves - 1)
        report.unsigned = (first, last)
        report.findings.append(
            LogFinding(
                first,
                "unsigned",
                f"events {first}..{last} are sealed but no signed checkpoint "
                "covers them (the tail is unverified)",
            )
        )
    return report


def _against(
    log: MerkleLog,
    point: Checkpoint,
    label: str,
    leaves: int,
    good: int,
    *,
    log_intact: bool,
) -> LogFinding | None:
    if point.size > leaves:
        last = _position(log, leaves - 1)
        return LogFinding(
            last + 1,
            "deleted",
            f"{label} covers {point.size} events but the log has {leaves}: "
            f"the events after position {last} are gone",
        )
    if not log_intact or point.size == 0:
        return None  # the scan's findings name the damage already
    if log.root(point.size) != point.root:
        first = _position(log, min(good, point.size - 1))
        last = _position(log, point.size - 1)
        return LogFinding(
            first,
            "rewritten",
            f"the log's root at tree size {point.size} differs from {label}: "
            f"history in positions {first}..{last} was rewritten",
        )
    return None


def _signed(key: VerifierKey, note: str) -> bool:
    try:
        open_checkpoint(note, [key])
    except NoteError:
        return False
    return True


def _position(log: MerkleLog, leaf_index: int) -> int:
    """The position of the event at a leaf (0 before the first)."""
    if leaf_index < 0:
        return 0
    position = log.position_of(leaf_index)
    return position if position is not None else leaf_index + 1
