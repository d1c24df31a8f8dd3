"""`Kofu`: the application facade over one ledger and its read store.

The entry points (CLI, HTTP API, web pages) go through it; it owns the steps that
cut across them (docs/ARCHITECTURE.md, "Application facade"):

* opening and closing the ledger (opened on first use, shared by threads);
* writes: a command model in, a typed result out (`execute`, or the batch methods
  for files of commands); each write runs alone in this process and then extends
  the tamper-evidence chain over what it recorded;
* allocation, a command like the others (`AllocatePhase` in, `Allocated` out): the
  chain is extended first so the runs record the hash of the prefix they read;
* caught-up reads: `store()` is the read store caught up with the ledger.

A session (`with Kofu(url) as kofu:`) that ends without an error extends the chain
over whatever was recorded through `kofu.ledger` directly (reference data, tokens).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self, TypeVar, overload

from eventsourcing.persistence import IntegrityError

from adapters.storage.bootstrap import open_ledger
from adapters.storage.integrity import Chain
from adapters.storage.projecting import catch_up, open_store
from domain.commands import (
    AllocatePhase,
    Command,
    ConfirmSelfEvaluation,
    CorrectAnswer,
    DeclareRequiredAmounts,
    DefineProgramme,
    EnterPaperSubmission,
    ImportMinistryValues,
    IssueToken,
    PublishCatalogue,
    PublishRules,
    PublishRun,
    RecordExpenditures,
    RecordInsuredCounts,
    RegisterEntities,
    RegisterInsurers,
    RevokeToken,
    SubmitSelfEvaluation,
)
from domain.ledger import Ledger, Progress, Result

if TYPE_CHECKING:
    from types import TracebackType

    from adapters.storage.read_store import ReadStore
    from domain.runs import AllocationRun

T = TypeVar("T")


@dataclass(frozen=True)
class Allocated(Result):
    """What an allocation recorded: a `Result`, and the runs of the phase."""

    runs: list[AllocationRun] = field(default_factory=list)

    @property
    def run_ids(self) -> list[str]:
        """The ids of the runs (recorded now, or in force for a repeat)."""
        return [r.calculated.run_id for r in self.runs]


def allocate_phase(
    grant_year: int, phase: str, actor: str, idempotency_key: str | None = None
) -> AllocatePhase:
    """The allocation command; a field it refuses is named (InvalidInput)."""
    return AllocatePhase.checked(
        {
            "grant_year": grant_year,
            "phase": phase,
            "actor": actor,
            "idempotency_key": idempotency_key,
        }
    )


class Kofu:
    """One ledger, its read store and the chain, for every entry point."""

    def __init__(self, url: str | None = None, *, ledger: Ledger | None = None) -> None:
        """On the database at `url` (default `KOFU_DATABASE_URL`), or an open ledger.

        A ledger given here stays its owner's: `close` leaves it open.
        """
        self.url = url
        self._ledger = ledger
        self._owned = ledger is None
        self._opening = threading.Lock()
        self._writing = threading.Lock()
        self._projecting = threading.Lock()
        self._store: ReadStore | None = None

    # ---------------------------------------------------------------- lifetime

    @property
    def ledger(self) -> Ledger:
        """The ledger (opened now if it was not; StorageUnavailableError if down)."""
        if self._ledger is None:
            with self._opening:
                if self._ledger is None:
                    self._ledger = open_ledger(self.url)
        return self._ledger

    def close(self) -> None:
        """Close the ledger if this facade opened it."""
        if self._owned and self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        self._store = None

    def __enter__(self) -> Self:
        """Open the ledger now (a session)."""
        _ = self.ledger
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """After a session that succeeded, chain what it recorded; then close."""
        try:
            if error is None:
                self.extend_chain()
        finally:
            self.close()

    # ------------------------------------------------------------------ writes

    def extend_chain(self, sealed_for: str | None = None) -> int:
        """Chain every event recorded since the chain's head (`Chain.extend`)."""
        return Chain(self.ledger).extend(sealed_for)

    def _write(self, step: Callable[[Ledger], T]) -> T:
        """Run a write alone in this process, then chain what it recorded."""
        ledger = self.ledger
        with self._writing:
            done = step(ledger)
            Chain(ledger).extend()
        return done

    @overload
    def execute(self, command: AllocatePhase) -> Allocated: ...

    @overload
    def execute(self, command: Command) -> Result: ...

    def execute(self, command: Command) -> Result:
        """Run one command (see the batch methods for files of them); what it did.

        Raises:
            TypeError: not a command of the ledger.
        """
        if isinstance(command, AllocatePhase):
            return self.allocate(command)
        step = _STEPS.get(type(command))
        if step is None:
            msg = f"not a ledger command: {type(command).__name__}"
            raise TypeError(msg)
        return self._write(lambda ledger: step(ledger, command))

    def submit(
        self,
        commands: Sequence[SubmitSelfEvaluation],
        batch_size: int = 200,
        progress: Progress | None = None,
    ) -> Result:
        """Submit (or revise) self-evaluations (`Ledger.submit`)."""
        return self._write(lambda ledger: ledger.submit(commands, batch_size, progress))

    def enter_paper(self, commands: Sequence[EnterPaperSubmission]) -> Result:
        """Key in answers sent on paper (`Ledger.enter_paper`)."""
        return self._write(lambda ledger: ledger.enter_paper(commands))

    def import_ministry_values(
        self, commands: Sequence[ImportMinistryValues]
    ) -> Result:
        """Record ministry-computed values (`Ledger.import_ministry_values`)."""
        return self._write(lambda ledger: ledger.import_ministry_values(commands))

    def allocate(
        self, command: AllocatePhase, reading: Callable[[int], None] | None = None
    ) -> Allocated:
        """Score and allocate a phase with its receipt; the runs and what was recorded.

        `reading` is passed to `run_phase` (tests commit a change during the read).
        """

        def step(ledger: Ledger) -> Allocated:
            before = ledger.count_events()
            runs = _recorded(ledger, command, reading)
            after = ledger.count_events()
            return Allocated(
                "allocate",
                events=after - before,
                position=after,
                detail="" if after > before else "repeat of an idempotent command",
                runs=runs,
            )

        return self._write(step)

    # ------------------------------------------------------------------- reads

    def store(self) -> ReadStore:
        """The read store, opened once and caught up with the ledger before a read.

        One thread catches up at a time. SQLite cannot follow live, so reads catch
        up on demand; a follower in another process projecting at the same moment
        makes the library refuse the duplicate position, and its rows are then
        read as they are.
        """
        ledger = self.ledger
        with self._projecting:
            if self._store is None:
                self._store = open_store(ledger)
            with suppress(IntegrityError):
                catch_up(ledger, self._store)
            return self._store


_STEPS: dict[type[Command], Callable[[Ledger, Any], Result]] = {
    SubmitSelfEvaluation: lambda ledger, cmd: ledger.submit([cmd]),
    ConfirmSelfEvaluation: lambda ledger, cmd: ledger.confirm(cmd),
    CorrectAnswer: lambda ledger, cmd: ledger.correct(cmd),
    ImportMinistryValues: lambda ledger, cmd: ledger.import_ministry_values([cmd]),
    EnterPaperSubmission: lambda ledger, cmd: ledger.enter_paper([cmd]),
    PublishRun: lambda ledger, cmd: ledger.publish(cmd),
    RegisterEntities: lambda ledger, cmd: ledger.register_entities(cmd),
    RegisterInsurers: lambda ledger, cmd: ledger.register_insurers(cmd),
    RecordInsuredCounts: lambda ledger, cmd: ledger.record_insured_counts(cmd),
    RecordExpenditures: lambda ledger, cmd: ledger.record_expenditures(cmd),
    DeclareRequiredAmounts: lambda ledger, cmd: ledger.declare_required_amounts(cmd),
    PublishRules: lambda ledger, cmd: ledger.publish_rules(cmd),
    PublishCatalogue: lambda ledger, cmd: ledger.publish_catalogue(cmd),
    DefineProgramme: lambda ledger, cmd: ledger.define_programme(cmd),
    IssueToken: lambda ledger, cmd: ledger.issue_token(cmd),
    RevokeToken: lambda ledger, cmd: ledger.revoke_token(cmd),
}


def record_phase(
    ledger: Ledger,
    grant_year: int,
    phase: str,
    actor: str,
    idempotency_key: str | None = None,
    reading: Callable[[int], None] | None = None,
) -> list[AllocationRun]:
    """Run a phase with its receipt (the chain hash of the prefix it read).

    The chain is extended first, so the run records the hash of the exact ledger
    prefix it read; decisions and settlements are sealed with a checkpoint. This
    is `Kofu.allocate`'s step; call that (it also runs alone and chains after).
    """
    return _recorded(
        ledger, allocate_phase(grant_year, phase, actor, idempotency_key), reading
    )


def _recorded(
    ledger: Ledger,
    command: AllocatePhase,
    reading: Callable[[int], None] | None = None,
) -> list[AllocationRun]:
    from domain.allocating import run_phase  # noqa: PLC0415 - keeps imports light

    chain = Chain(ledger)
    chain.extend()

    def prefix_hash(position: int) -> str | None:
        # The run may read from a position recorded after the extension above.
        found = chain.hash_at(position)
        if found is None:
            chain.extend()
            found = chain.hash_at(position)
        return found

    runs = run_phase(ledger, command, prefix_hash, reading)
    if command.phase in {"decision", "settlement"}:
        chain.extend(sealed_for=f"FY{command.grant_year} {command.phase}")
    return runs
