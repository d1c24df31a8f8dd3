"""`Kofu`: the application facade over one ledger and its read store.

The entry points (CLI, HTTP API, web pages) go through it, the queries
(`adapters/queries/`) and the output layer (`adapters/reports/`, `adapters/common/`)
and nothing else of `adapters` (an import-linter contract). It owns the steps that
cut across them (docs/ARCHITECTURE.md, "Application facade"):

* opening and closing the ledger (opened on first use, shared by threads);
* writes: a command model in, a typed result out (`execute`, or the batch methods
  for files of commands); each write runs alone in this process and then extends
  the tamper-evidence chain over what it recorded;
* allocation, a command like the others (`AllocatePhase` in, `Allocated` out): the
  chain is extended first so the runs record the hash of the prefix they read;
* the workflows behind whole commands: loading reference files, the demo, token
  secrets, reading answer files and workbooks, the Excel files, verifying and
  sealing the chain, setting up the storage;
* reads: `store()` is the read store caught up with the ledger, `reading()` the
  read models now or as they stood; rebuilding and following them.

A session (`with Kofu(url) as kofu:`) that ends without an error extends the chain
over whatever was recorded through `kofu.ledger` directly (reference data, tokens).

Over 300 lines (STYLE): it is the one facade, a short method for each step an
entry point takes; splitting it would give the entry points two doors.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from io import BytesIO
from typing import TYPE_CHECKING, Any, NamedTuple, Self, TypeVar, overload

from eventsourcing.persistence import IntegrityError

from adapters.common.writing import check_target
from adapters.inputs.files import read_answers
from adapters.inputs.tokens import Issued, authenticate, issue
from adapters.queries.asof import position_as_of
from adapters.storage import projecting
from adapters.storage.bootstrap import open_ledger, storage_unavailable
from adapters.storage.integrity import (
    Chain,
    Finding,
    export_checkpoints,
    protect,
    read_checkpoints,
)
from adapters.storage.read_store import ReadStore
from adapters.storage.settings import database
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
from domain.tokens import DEFAULT_TOKEN_DAYS

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType

    from rich.console import Console

    from adapters.demo.demo import Tally
    from domain.allocation_run import AllocationRun
    from domain.base import Grant
    from domain.tokens import AccessToken, Role

T = TypeVar("T")

ReadModels = ReadStore
"""The read models a named query reads, as `store()` and `reading()` hand them out.

The entry points pass them on to the queries (`adapters/queries/`) and name them
in type hints; reading them is the queries' work."""


@dataclass(frozen=True)
class Allocated(Result):
    """What an allocation recorded: a `Result`, and the runs of the phase."""

    runs: list[AllocationRun] = field(default_factory=list)

    @property
    def run_ids(self) -> list[str]:
        """The ids of the runs (recorded now, or in force for a repeat)."""
        return [r.calculated.run_id for r in self.runs]


@dataclass(frozen=True)
class Verification:
    """What `verify` found: the first tampered position (or None) and how far."""

    finding: Finding | None
    checked: int
    head: int | None = None
    """The position the chain is sealed to now (an intact check that seals)."""
    digest: str | None = None
    """The SHA-256 of the exported checkpoint file, to keep apart."""

    @property
    def intact(self) -> bool:
        """Whether no event was modified, deleted, inserted or swapped."""
        return self.finding is None


class Projected(NamedTuple):
    """How far the read models stand: the ledger position and their generation."""

    position: int
    generation: int


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

    @staticmethod
    def database_url(url: str | None = None) -> str:
        """The URL of the database a facade on `url` opens (KOFU_DATABASE_URL)."""
        return database(url).url

    @staticmethod
    def unavailable(error: BaseException) -> bool:
        """Whether `error` means the database cannot be reached (exit 3, HTTP 503)."""
        return storage_unavailable(error)

    @property
    def ledger(self) -> Ledger:
        """The ledger (opened now if it was not; StorageUnavailableError if down)."""
        if self._ledger is None:
            with self._opening:
                if self._ledger is None:
                    self._ledger = open_ledger(self.url)
        return self._ledger

    def describe(self) -> str:
        """Where the ledger lives (without a password)."""
        return database(self.url).describe()

    def init(self) -> bool:
        """Create or upgrade the storage (opening it does; safe twice); protect it.

        Returns whether the event rows are protected from UPDATE, DELETE and
        TRUNCATE (PostgreSQL's triggers; SQLite has none).
        """
        return protect(self.ledger)

    def close(self) -> None:
        """Close the ledger if this facade opened it."""
        if self._owned and self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        self._store = None

    def __enter__(self) -> Self:
        """A session: the ledger opens on first use (input is read before it)."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """After a session that succeeded, chain what it recorded; then close."""
        try:
            if error is None and self._ledger is not None:
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

    def issue_token(
        self,
        role: Role,
        scope: tuple[str, ...],
        name: str,
        actor: str,
        days: int = DEFAULT_TOKEN_DAYS,
    ) -> Issued:
        """Issue a token with a fresh secret, shown once; the ledger keeps its hash.

        Raises:
            InvalidInput: a role, scope or name that does not fit, or a bad lifetime.
        """
        return self._write(lambda ledger: issue(ledger, role, scope, name, actor, days))

    def load(self, files: list[Path], actor: str, console: Console) -> Iterator[str]:
        """Load reference files (every one read first); a line per kind recorded.

        Recorded through the ledger directly: the session chains it when it ends.
        """
        from adapters.inputs.loading import load_reference  # noqa: PLC0415 - light CLI

        return load_reference(self.ledger, files, actor, console)

    def demo(
        self,
        grant_year: int,
        seed: int,
        console: Console,
        prefectures: set[str] | None = None,
    ) -> Tally:
        """Record the reference data and a synthetic national year (`record_demo`).

        Its allocations go through `allocate` (runs with their receipts); the rest
        through the ledger directly, which the session chains when it ends.
        """
        from adapters.demo.demo import record_demo  # noqa: PLC0415 - light CLI

        return record_demo(
            self.ledger,
            grant_year,
            seed,
            console,
            lambda command: self.allocate(command).runs,
            prefectures,
        )

    # ------------------------------------------------------------------ inputs

    @staticmethod
    def read_answers(
        files: list[Path], actor: str | None
    ) -> list[SubmitSelfEvaluation]:
        """The self-evaluations in JSON or CSV answer files (each names its origin).

        `actor` is the default for records that name none (None: the entity).
        """
        return read_answers(files, {"actor": actor})

    def read_submissions(
        self, files: list[Path], actor: str | None
    ) -> list[SubmitSelfEvaluation]:
        """The self-evaluations in JSON, CSV or XLSX (kofu workbook) files.

        Every file is read before the ledger is opened; workbooks are then checked
        against the catalogue in force (every workbook's problems listed).
        """
        from adapters.excel.workbook_import import read_submissions  # noqa: PLC0415

        pending = read_submissions(files, {"actor": actor})
        return pending.commands(self.ledger)

    # ------------------------------------------------------------------- files

    def workbook(self, entity: str, grant_year: int, tier: str | None) -> bytes:
        """The self-evaluation workbook (該当状況調査票) of an entity, as XLSX bytes."""
        from adapters.excel.workbook import build_workbook  # noqa: PLC0415

        book = build_workbook(self.ledger, entity, grant_year, tier)
        buffer = BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    def results_file(
        self, grant_year: int, tier: str, grant: Grant, *, csv: bool = False
    ) -> bytes:
        """評価結果, the national results table, as XLSX (or CSV) bytes."""
        from adapters.excel.national_files import table_file  # noqa: PLC0415
        from adapters.excel.national_tables import results_table  # noqa: PLC0415

        table = results_table(self.ledger, self.store(), grant_year, tier, grant)
        return table_file(table, "評価結果", csv=csv)

    def allocations_file(
        self,
        grant_year: int,
        tier: str,
        grant: Grant,
        phase: str | None,
        *,
        csv: bool = False,
    ) -> bytes:
        """交付額, the run in force per entity in 千円, as XLSX (or CSV) bytes."""
        from adapters.excel.national_files import table_file  # noqa: PLC0415
        from adapters.excel.national_tables import allocation_table  # noqa: PLC0415

        table = allocation_table(self.ledger, grant_year, grant, tier, phase)
        return table_file(table, "交付額", csv=csv)

    # -------------------------------------------------------- tamper evidence

    def verify(
        self,
        against: Path | None = None,
        export: Path | None = None,
        *,
        force: bool = False,
        seal: bool = True,
    ) -> Verification:
        """Check the stored history against its chain (and an exported copy).

        `against` is read first, and the `export` target checked, before anything
        is read or sealed. If intact and `seal`, the chain is extended to the head
        (a checkpoint there when exporting) and the checkpoints are written to
        `export`.
        """
        expected = read_checkpoints(against) if against else None
        if export:
            check_target(
                export, force=force
            )  # before the seal: a bad path writes nothing
        chain = Chain(self.ledger)
        finding, checked = chain.verify(expected)
        if finding is not None or not seal:
            return Verification(finding, checked)
        head = chain.extend(sealed_for="export" if export else None)
        digest = export_checkpoints(chain, export, force=force) if export else None
        return Verification(None, checked, head, digest)

    def authenticate(self, secret: str) -> AccessToken | None:
        """The live token whose secret this is, or None (`inputs.tokens`)."""
        return authenticate(self.ledger, secret)

    # ------------------------------------------------------------------- reads

    def store(self, *, catch_up_first: bool = True) -> ReadModels:
        """The read store, opened once and caught up with the ledger before a read.

        One thread catches up at a time. SQLite cannot follow live, so reads catch
        up on demand; a follower in another process projecting at the same moment
        makes the library refuse the duplicate position, and its rows are then
        read as they are. `catch_up_first=False` reads it as it stands.
        """
        ledger = self.ledger
        with self._projecting:
            if self._store is None:
                self._store = projecting.open_store(ledger)
            if catch_up_first:
                with suppress(IntegrityError):
                    projecting.catch_up(ledger, self._store)
            return self._store

    @contextmanager
    def reading(
        self, as_of_text: str | None, name: str = "--as-of"
    ) -> Iterator[ReadModels]:
        """The read models caught up, or as they stood at a past position.

        `as_of_text` names the position (a whole number or an ISO time); `name` is
        the option or field it came in.
        """
        if as_of_text is None:
            yield self.store()
            return
        with self.stood_at(position_as_of(self.ledger, as_of_text, name)) as store:
            yield store

    @contextmanager
    def stood_at(self, position: int) -> Iterator[ReadModels]:
        """Every read model as it stood at a past position, built aside.

        The copy is deleted afterwards; the live read models are not touched.
        """
        with projecting.as_of(self.ledger, position) as store:
            yield store

    def projected(self) -> Projected:
        """How far the read models have projected the ledger (no catch-up)."""
        store = self.store(catch_up_first=False)
        return Projected(store.position(), store.generation)

    def rebuild(self, batch: int, progress: Progress | None = None) -> Projected:
        """Rebuild every read model from position 0 beside the live one, then switch."""
        with self._projecting:
            self._store = projecting.rebuild(
                self.ledger, batch=batch, progress=progress
            )
            return Projected(self._store.position(), self._store.generation)

    def follow(self, interval: float, on_batch: Callable[[int, int], None]) -> None:
        """Keep the read models projecting new events as they are recorded.

        `on_batch(events, position)` after each batch; it returns only on an
        interruption (Ctrl-C: KeyboardInterrupt).
        """
        store = self.store(catch_up_first=False)
        projecting.follow(
            self.ledger,
            store,
            interval=interval,
            on_batch=lambda n: on_batch(n, store.position()),
        )


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


def run_demo(
    ledger: Ledger,
    grant_year: int,
    seed: int,
    console: Console,
    prefectures: set[str] | None = None,
) -> Tally:
    """`Kofu.demo` on a ledger the caller holds open (tests, benchmarks)."""
    return Kofu(ledger=ledger).demo(grant_year, seed, console, prefectures)


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
    from domain.phase_run import run_phase  # noqa: PLC0415 - keeps imports light

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
