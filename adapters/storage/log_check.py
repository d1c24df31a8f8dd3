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
  no unsigned span once its writes have finished;
* every stored cosignature by a **configured witness** (`KOFU_WITNESS_KEYS`)
  verifies (else a finding), and `witnesses` says up to which tree size each one
  cosigned a checkpoint the log agrees with; with a witness's state file, the log
  must hold the tree that witness cosigned (`adapters/storage/witnessing.py`).

All of it in one pass over one read-only snapshot (`log_scan.scan`), with the old
chain riding along: each checkpoint's root is taken from the rebuilt tree's right
edge as the scan passes its size, so the checkpoints cost O(#checkpoints · log n).
From a verifier's state (`verifier_state`, kept outside the database) only what
came after it is read. Nothing here writes: no leaf, node, checkpoint or chain row.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adapters.inputs.keys import is_demo
from adapters.storage.integrity import GENESIS, Chain, Finding
from adapters.storage.log_scan import LogCheck, LogFinding, Start, scan, snapshot
from adapters.storage.merkle_log import MerkleLog
from adapters.storage.verifier_state import VerifiedState
from adapters.storage.witnessing import against_witness, check_cosignatures
from domain import merkle
from domain.checkpoint import Checkpoint, NoteError, VerifierKey, open_checkpoint

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from adapters.inputs.witness import WitnessState
    from domain.cosignature import WitnessKey
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
    root: bytes = b""
    """The root recomputed over every leaf."""
    frontier: dict[merkle.Key, bytes] = field(default_factory=dict)
    """The right edge of the tree at `leaves` (for the verifier's state)."""
    note: str | None = None
    """The newest stored signed checkpoint that checked out."""
    chain: tuple[Finding | None, int] = (None, 0)
    """The old chain's first finding and the events it checked (given a chain)."""
    chain_head: tuple[int, str] = (0, GENESIS)
    """The chain's last position checked and its hash."""
    position: int = 0
    """The position of the last leaf."""
    since: int = 0
    """The tree size a verifier's state let the check start from (0: in full)."""
    witnesses: dict[str, int] = field(default_factory=dict)
    """A configured witness's name → the largest tree size it validly cosigned."""
    unknown_cosignatures: int = 0
    """Cosignatures stored by keys not configured (not counted)."""

    def state(self) -> VerifiedState:
        """What this check verified, for the verifier's state file."""
        return VerifiedState(
            self.leaves,
            self.root,
            self.frontier,
            self.position,
            self.chain_head,
            self.note,
        )

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


@dataclass
class Pass:
    """The one pass's shared state: the notes due at a size, the findings so far."""

    log: MerkleLog
    keys: tuple[VerifierKey, ...]
    report: LogReport
    due: deque[tuple[int, str, str, bytes]] = field(default_factory=deque)
    rewritten: list[tuple[int, str, str, LogFinding]] = field(default_factory=list)
    good: int = 0
    note: str | None = None
    """The newest stored signed checkpoint that checked out."""
    agreed: dict[int, str] = field(default_factory=dict)
    """The stored signed checkpoints that checked out, by tree size."""

    def opened(
        self, rows: Iterator[tuple[Any, ...]], exported: str | None
    ) -> Iterator[int]:
        """The tree sizes of the notes that open with a trusted key, ascending."""
        stored = ((int(size), str(note), "stored") for size, note in rows)
        extra = []
        outside = self._open(-1, exported, "exported") if exported else None
        if exported is not None and outside is not None:
            extra.append((outside.size, exported, "exported"))
        for size, note, where in heapq.merge(stored, extra):
            point = outside
            if where == "stored":
                self.report.checkpoints += 1
                point = self._open(size, note, where)
            if point is None:
                continue
            self.due.append((size, note, where, point.root))
            yield size

    def _open(self, size: int, note: str, where: str) -> Checkpoint | None:
        """The note's checkpoint, its signature checked once (None: a finding)."""
        label = _label(where, size)
        try:
            point = open_checkpoint(note, self.keys)
        except NoteError as exc:
            self.report.findings.append(
                LogFinding(
                    _position(self.log, size - 1), "checkpoint", f"{label}: {exc}"
                )
            )
            return None
        if size >= 0 and point.size != size:
            self.report.findings.append(
                LogFinding(
                    _position(self.log, size - 1),
                    "checkpoint",
                    f"{label} says tree size {point.size}",
                )
            )
            return None
        return point

    def at_size(self, size: int, root: bytes) -> None:
        """Compare the root recomputed at `size` with each note signed there."""
        while self.due and self.due[0][0] == size:
            _, note, where, signed = self.due.popleft()
            if size and signed != root:
                first = _position(self.log, min(self.good, size - 1))
                last = _position(self.log, size - 1)
                self.rewritten.append(
                    (
                        size,
                        note,
                        where,
                        LogFinding(
                            first,
                            "rewritten",
                            f"the log's root at tree size {size} differs from "
                            f"{_label(where, size)}: history in positions "
                            f"{first}..{last} was rewritten",
                        ),
                    )
                )
                continue
            self.good_at(size, note, where)

    def good_at(self, size: int, note: str, where: str) -> None:
        """A note that checked out at `size`: the signed span reaches it."""
        demo = [k for k in self.keys if is_demo(k)]  # the published key's only
        self.report.demo = self.report.demo or any(_signed(k, note) for k in demo)
        self.good = max(self.good, size)
        if where == "stored":
            self.note = note
            self.agreed[size] = note

    def beyond(self, leaves: int, rest: Iterator[int]) -> None:
        """The notes the scan never reached: they cover events that are gone."""
        for _ in rest:
            pass
        while self.due:
            size, _, where, _ = self.due.popleft()
            last = _position(self.log, leaves - 1)
            self.report.findings.append(
                LogFinding(
                    last + 1,
                    "deleted",
                    f"{_label(where, size)} covers {size} events but the log has "
                    f"{leaves}: the events after position {last} are gone",
                )
            )


def _label(where: str, size: int) -> str:
    return f"the {where} checkpoint" + (f" at tree size {size}" if size >= 0 else "")


def check_log(
    ledger: Ledger,
    keys: Sequence[VerifierKey],
    exported: str | None = None,
    *,
    chain: Chain | None = None,
    expected: dict[int, str] | None = None,
    state: VerifiedState | None = None,
    witnesses: Sequence[WitnessKey] = (),
    witness: WitnessState | None = None,
) -> LogReport:
    """Check the log and its checkpoints (and an exported signed checkpoint).

    One pass in one snapshot (`log_scan.scan`): the events, the leaves, the
    nodes, the signed checkpoints and, given `chain`, the old chain (against
    `expected`, an export's chain hashes). From a `state` a verifier kept, only
    what came after it is read: its right edge is read from the log and must
    give its root (else history below it was rewritten). The cosignatures by
    `witnesses` (configured) are checked; `witness` is a witness's state, whose
    cosigned tree the log must hold.
    """
    log = MerkleLog(ledger)
    report = LogReport()
    check = LogCheck()
    run = Pass(log, tuple(keys), report)
    with snapshot(log.datastore) as reader:
        start = Start()
        if state is not None:
            found = state.check(log, reader)
            if found is not None:
                report.findings.append(found)
                report.chain = (None, 0)
                return report
            start = Start(state.size, state.frontier, state.position)
            report.since = state.size
            run.good, run.note = state.size, state.note
        chained = (
            chain.check(reader, expected, state.chain if state else (0, GENESIS))
            if chain is not None
            else None
        )
        sizes = run.opened(
            reader.rows(
                f"SELECT tree_size, note FROM {log.tables.checkpoints} "  # noqa: S608
                f"WHERE tree_size > {log.tables.p} ORDER BY tree_size",
                (start.size if state else -1,),
            ),
            exported,
        )
        report.frontier = scan(
            log,
            reader,
            check,
            start=start,
            sizes=sizes,
            at_size=run.at_size,
            chain=chained,
        )
        run.beyond(check.leaves, sizes)
        if chained is not None:
            report.chain = chained.finish()
            report.chain_head = chained.head
    report.events, report.leaves, report.root = check.events, check.leaves, check.root
    report.position = check.position
    report.findings[:0] = check.findings
    if any(f.kind == "log" for f in check.findings):
        for size, note, where, _ in run.rewritten:  # the scan named the damage
            run.good_at(size, note, where)
    else:
        report.findings.extend(found for *_, found in run.rewritten)
    report.signed, report.note = run.good, run.note
    _witnessed(log, report, run, witnesses, witness)
    if report.leaves > run.good:
        first, last = _position(log, run.good), _position(log, report.leaves - 1)
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


def _witnessed(
    log: MerkleLog,
    report: LogReport,
    run: Pass,
    witnesses: Sequence[WitnessKey],
    witness: WitnessState | None,
) -> None:
    """The cosignatures checked and counted; the log against a witness's tree."""
    agreed = dict(run.agreed)
    if report.since:  # checked before, up to the verifier's state: open them again
        agreed |= {
            size: note
            for size, note in log.checkpoints()
            if size <= report.since and _opens(note, run.keys, size)
        }
    cosigned = check_cosignatures(
        log, witnesses, agreed, lambda size: _position(log, size - 1)
    )
    report.findings.extend(cosigned.findings)
    report.witnesses, report.unknown_cosignatures = cosigned.sizes, cosigned.unknown
    if witness is not None and not any(f.kind == "log" for f in report.findings):
        split = against_witness(log, witness, report.leaves)
        if split is not None:
            report.findings.append(split)


def _opens(note: str, keys: tuple[VerifierKey, ...], size: int) -> bool:
    try:
        return open_checkpoint(note, keys).size == size
    except NoteError:
        return False


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
