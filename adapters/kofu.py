"""`Kofu`: the application facade over one ledger and its read store.

The entry points (CLI, HTTP API, web pages) go through it, the queries
(`adapters/queries/`) and the output layer (`adapters/reports/`, `adapters/common/`)
and nothing else of `adapters` (an import-linter contract). It owns the steps that
cut across them (docs/ARCHITECTURE.md, "Application facade"):

* opening and closing the ledger (opened on first use, shared by threads);
* writes: a command model in, a typed result out (`execute`, or the batch methods
  for files of commands); each write runs alone in this process, then extends the
  hash chain and **signs a checkpoint** of the Merkle log (the recorder sealed its
  events in their transaction) with the writer's key (`KOFU_SIGNING_KEY_FILE` or
  `KOFU_SIGNING_KEY`; none configured: recorded unsigned, and `verify` reports the
  unsigned span); inside a long batch write, every `CHECKPOINT_EVERY` events;
* allocation, a command like the others (`AllocatePhase` in, `Allocated` out): the
  chain is extended first so the runs record the hash of the prefix they read;
* the workflows behind whole commands: loading reference files, the demo, token
  secrets, reading answer files and workbooks, the Excel files, verifying and
  sealing the chain, setting up the storage;
* reads: `store()` is the read store caught up with the ledger, `reading()` the
  read models now or as they stood; rebuilding and following them.

A session (`with Kofu(url) as kofu:`) that ends without an error signs a checkpoint
if this process sealed events through `kofu.ledger` directly (reference data,
tokens). **Readers never seal, extend or sign**: a session that only read, `verify`
and every read leave the database as it was (issue 15).

Over 300 lines (STYLE): it is the one facade, a short method for each step an
entry point takes; splitting it would give the entry points two doors.
"""

from __future__ import annotations

import base64
import csv
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from io import BytesIO
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Self, TypeVar, overload

from eventsourcing.persistence import IntegrityError

from adapters.common.writing import check_target
from adapters.inputs.files import evidence_of, read_answers
from adapters.inputs.keys import (
    configured_signer,
    demo_key,
    generate,
    is_demo,
    reader_keys,
    trusted_keys,
    write_key,
)
from adapters.inputs.tokens import Issued, authenticate, issue
from adapters.inputs.witness import init_state, quorum, witness_keys
from adapters.inputs.witness import read_state as read_witness
from adapters.queries.asof import position_as_of
from adapters.storage import projecting, rebuilding
from adapters.storage.bootstrap import open_ledger, storage_unavailable
from adapters.storage.integrity import (
    Chain,
    Finding,
    export_checkpoints,
    protect,
    read_checkpoints,
    read_log_checkpoint,
)
from adapters.storage.log_check import LogReport, check_log
from adapters.storage.log_scan import LogFinding
from adapters.storage.merkle_log import MerkleLog
from adapters.storage.read_check import (
    ReadModelReport,
    ReadModelsMovedError,
    check_read_models,
)
from adapters.storage.read_store import ReadStore
from adapters.storage.roles import grant_app_role, owner_only_file
from adapters.storage.sealed import SealedEvents, token_record
from adapters.storage.settings import database
from adapters.storage.verifier_state import read_state, write_state
from adapters.storage.witnessing import Cosigned, cosign, witnessed
from domain.checkpoint import SignerKey, VerifierKey, parse_note
from domain.commands import (
    AllocatePhase,
    ApplyForGrant,
    CancelGrant,
    Command,
    ConfirmGrantAmount,
    ConfirmSelfEvaluation,
    CorrectAnswer,
    DecideGrant,
    DeclareRequiredAmounts,
    DefineProgramme,
    EnterPaperSubmission,
    ImportMinistryValues,
    IssueToken,
    OrderRefund,
    PublishCatalogue,
    PublishRules,
    PublishRun,
    RecordExpenditures,
    RecordGrantPayment,
    RecordInsuredCounts,
    RecordRefundPayment,
    RegisterEntities,
    RegisterInsurers,
    ReportSpending,
    ReturnApplication,
    RevokeToken,
    SubmitSelfEvaluation,
    WithdrawGrant,
)
from domain.errors import InvalidInput, Refused
from domain.ledger import Ledger, Progress, Result
from domain.roles import DEFAULT_TOKEN_DAYS

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path
    from types import TracebackType

    from rich.console import Console

    from adapters.demo.demo import Tally
    from domain.allocation_run import AllocationRun
    from domain.base import Grant
    from domain.roles import Role
    from domain.tokens import AccessToken

T = TypeVar("T")
CHECKPOINT_EVERY = 1000
"""Inside a long batch write, the writer signs a checkpoint every this many events."""
PROVE_OPTIONS: Mapping[str, str] = {
    "position": "--position",
    "from": "--from-size",
    "to": "--to-size",
}
"""The names `Kofu.prove`'s errors give (the CLI's options; HTTP passes its fields)."""
NO_KEY = (
    "no signing key: make one with `kofu keys init --key-file PATH --origin NAME` "
    "and set KOFU_SIGNING_KEY_FILE=PATH (or KOFU_SIGNING_KEY)"
)

ReadModels = ReadStore
Cosignature = Cosigned
"""A witness's cosignature made (`witness cosign`): whom, which tree, when, note."""
RowsChecked = ReadModelReport
"""What `verify --read-models` found: the read-model rows that differ (named)."""
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
    """The position the chain stands at (verify never extends it)."""
    digest: str | None = None
    """The SHA-256 of the exported checkpoint file, to keep apart."""
    log: LogReport | None = None
    """What the Merkle log and its signed checkpoints showed (`check_log`)."""
    read_models: ReadModelReport | None = None
    """The read models recomputed from the events and compared (if asked)."""

    @property
    def intact(self) -> bool:
        """Whether no event was touched (nor, if checked, any read-model row)."""
        return self.finding is None and (
            self.read_models is None or self.read_models.intact
        )


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
        self._signer: SignerKey | None = None
        self._signer_read = False
        self._signed_mark = 0
        self._seals: SealedEvents | None = None

    # ---------------------------------------------------------------- lifetime

    @staticmethod
    def database_url(url: str | None = None) -> str:
        """The URL of the database a facade on `url` opens (KOFU_DATABASE_URL)."""
        return database(url).url

    @staticmethod
    def prefecture_codes() -> dict[str, str]:
        """Prefecture name (and English name, lower case) → 2-digit code.

        From the shipped reference file: the command line takes a prefecture by
        its name before any ledger is opened.
        """
        from adapters.inputs.paths import data_dir  # noqa: PLC0415

        path = data_dir() / "reference" / "prefectures.csv"
        with path.open(encoding="utf-8") as source:
            rows = list(csv.DictReader(source))
        names = {row["name"]: row["prefecture_code"] for row in rows}
        return names | {row["name_en"].lower(): row["prefecture_code"] for row in rows}

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

        A ledger recorded before the Merkle log existed (events, no leaves) is
        upgraded: its old hash chain must verify over every event, then the log is
        built over them and the writer signs a checkpoint (if it has a key).
        Returns whether the event rows are protected from UPDATE, DELETE and
        TRUNCATE (PostgreSQL's triggers; SQLite has none).

        Raises:
            InvalidInput: the old chain does not verify, or does not cover every
                event (nothing is built).
        """
        ledger = self.ledger
        log = MerkleLog(ledger)
        if log.size() == 0 and (events := ledger.count_events()):
            finding, checked = Chain(ledger).verify()
            if finding is not None or checked != events:
                where = finding.detail if finding else f"{checked} of {events} chained"
                msg = f"the old chain does not verify ({where}): the log is not built"
                raise InvalidInput(msg, field="kofu init")
            with self._writing:
                log.build()
                if self.signer() is not None:
                    self.checkpoint()
        return protect(ledger)

    def owner_only_file(self) -> list[Path]:
        """SQLite: make the ledger's file owner-only (0600); the files changed."""
        return owner_only_file(self.ledger)

    def grant_app_role(self, role: str) -> list[str]:
        """Make `role` the running application's: it records, never changes (PG).

        Run by the tables' owner after `init` (`storage.roles`); the statements.

        Raises:
            InvalidInput: not PostgreSQL, or not a role name.
        """
        return grant_app_role(self.ledger, role)

    def close(self) -> None:
        """Close the ledger if this facade opened it."""
        if self._owned and self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        self._store = None
        self._seals = None

    def __enter__(self) -> Self:
        """A session: the ledger opens on first use (input is read before it)."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """After a session that succeeded, sign what it recorded; then close."""
        try:
            if error is None and self._ledger is not None:
                self._sign_written()
        finally:
            self.close()

    # ------------------------------------------------------------------ writes

    def extend_chain(self, sealed_for: str | None = None) -> int:
        """Chain every event recorded since the chain's head (the writer's step)."""
        return Chain(self.ledger).extend(sealed_for)

    def _write(self, step: Callable[[Ledger], T]) -> T:
        """Run a write alone in this process, then chain and sign what it recorded."""
        ledger = self.ledger
        with self._writing:
            done = step(ledger)
            Chain(ledger).extend()
            self._sign_written()
        return done

    def signer(self) -> SignerKey | None:
        """The writer's signing key (configured outside the database), or None."""
        if not self._signer_read:
            self._signer, self._signer_read = configured_signer(), True
        return self._signer

    def _sealed_here(self) -> int:
        return int(getattr(self.ledger.recorder, "sealed_events", 0))

    def _sign_written(self, every: int = 1) -> str | None:
        """Sign a checkpoint if this process sealed `every` events since the last."""
        if self._ledger is None or self._sealed_here() - self._signed_mark < every:
            return None
        key = self.signer()
        if key is None:
            return None  # recorded unsigned: `verify` reports the span
        return self.checkpoint()

    def checkpoint(self) -> str:
        """Sign the Merkle log's checkpoint at its size now and store it (writer).

        The old hash chain is extended first (run receipts name its hashes).

        Raises:
            InvalidInput: no signing key is configured (how to make one is said).
        """
        key = self.signer()
        if key is None:
            raise InvalidInput(NO_KEY, field="KOFU_SIGNING_KEY_FILE")
        mark = self._sealed_here()
        Chain(self.ledger).extend()
        log = MerkleLog(self.ledger)
        try:
            note = log.sign_checkpoint(key)
        except IntegrityError:
            # Another writer signed the same tree size at the same moment: one
            # checkpoint per size is kept; sign again at the size now.
            note = log.sign_checkpoint(key)
        self._signed_mark = mark
        return note

    def _sign_receipts(self, runs: Sequence[AllocationRun]) -> None:
        """Sign the log's checkpoint at each run's tree size (the writer's step).

        A run's receipt names the tree of the events it read (`log_size`,
        `log_root`); the writer signs that tree now, unless a checkpoint of that
        size is stored already, and only if the log's root there is still the
        receipt's (else `kofu replay` and `kofu verify` report it).
        """
        key = self.signer()
        if key is None:
            return  # recorded unsigned: `verify` reports the span
        log = MerkleLog(self.ledger)
        for inputs in {
            run.calculated.inputs.log_size: run.calculated.inputs for run in runs
        }.values():
            size, root = inputs.log_size, inputs.log_root
            if size is None or log.signed_at(size) is not None:
                continue
            if base64.b64encode(log.root(size)).decode() != root:
                continue
            with suppress(IntegrityError):  # another writer signed it meanwhile
                log.sign_checkpoint(key, size=size)

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
        if isinstance(command, PublishRun):
            self._check_quorum(command)
        return self._write(lambda ledger: step(ledger, command))

    def submit(
        self,
        commands: Sequence[SubmitSelfEvaluation],
        batch_size: int = 200,
        progress: Progress | None = None,
    ) -> Result:
        """Submit (or revise) self-evaluations (`Ledger.submit`).

        Every `CHECKPOINT_EVERY` events recorded, the writer signs a checkpoint.
        """

        def tick(done: int) -> None:
            self._sign_written(every=CHECKPOINT_EVERY)
            if progress is not None:
                progress(done)

        return self._write(lambda ledger: ledger.submit(commands, batch_size, tick))

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
            self._sign_receipts(runs)
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

        Recorded through the ledger directly; signed when the last line is read.
        """
        from adapters.inputs.loading import load_reference  # noqa: PLC0415 - light CLI

        def lines() -> Iterator[str]:
            yield from load_reference(self.ledger, files, actor, console)
            self._sign_written()

        return lines()

    def demo(
        self,
        grant_year: int | Literal["all"],
        seed: int,
        console: Console,
        prefectures: set[str] | None = None,
    ) -> Tally:
        """Record the reference data and a synthetic national year (`record_demo`).

        `"all"`: every shipped year, FY2018-FY2026, on this ledger in calendar
        order (`record_all_years`). Its allocations go through `allocate` (runs
        with their receipts); the rest through the ledger directly. Signed with the
        published DEMO key (labelled DEMO; docs/INTEGRITY.md), never the ledger's
        own.
        """
        from adapters.demo.demo import (  # noqa: PLC0415 - light CLI
            record_all_years,
            record_demo,
        )

        self._signer, self._signer_read = demo_key(), True

        def allocate(command: AllocatePhase) -> list[AllocationRun]:
            return self.allocate(command).runs

        if grant_year == "all":
            tally = record_all_years(self.ledger, seed, console, allocate, prefectures)
        else:
            tally = record_demo(
                self.ledger, grant_year, seed, console, allocate, prefectures
            )
        self._sign_written()
        return tally

    # ------------------------------------------------------------------ inputs

    @staticmethod
    def evidence(documents: Sequence[tuple[Path, str]]) -> list[dict[str, str]]:
        """A report's evidence: each file's name and SHA-256, checked as stated.

        Raises:
            InvalidInput: a file is unreadable or too large, or its SHA-256 is not
                the one stated (the file is named).
        """
        return evidence_of(documents)

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

    def workbook(
        self, entity: str, grant_year: int, tier: str | None, *, blank: bool = False
    ) -> bytes:
        """The self-evaluation workbook (該当状況調査票) of an entity, as XLSX bytes.

        Pre-filled with the entity's answers as they stand, unless `blank`.
        """
        from adapters.excel.workbook import build_workbook  # noqa: PLC0415

        book = build_workbook(self.ledger, entity, grant_year, tier, blank=blank)
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
        keys: Sequence[VerifierKey] | None = None,
        read_models: bool = False,
        witness: Path | None = None,
        state: Path | None = None,
    ) -> Verification:
        """Check the history, the Merkle log and its signed checkpoints (read-only).

        `keys` are the verifier keys trusted (default `KOFU_VERIFIER_KEYS`), never
        read from the database. `against` (an export) is read first and the
        `export` target checked before anything is read. Nothing is sealed,
        extended or signed; if intact, the chain's checkpoints and the latest
        signed log checkpoint are written to `export`. With `read_models`, once
        the events verify, every read model is recomputed from them and compared
        row by row (`check_read_models`); nothing is repaired. `state` is the
        verifier's own file (`verifier_state`): when it exists only what came
        after it is checked; when all is intact it is replaced by what was
        verified now. Cosignatures are checked with the witness keys configured
        (`KOFU_WITNESS_KEYS`); with `witness` (a witness's state file), the log
        must hold the tree it cosigned.

        Raises:
            InvalidInput: a file is not what it should be, or `state` is given
                with `against` (an export is checked by a full verify).
        """
        if state is not None and against is not None:
            msg = "--state and --against do not go together: check an export in full"
            raise InvalidInput(msg, field="--state")
        expected = read_checkpoints(against) if against else None
        exported = read_log_checkpoint(against) if against else None
        verified = read_state(state) if state else None
        seen = read_witness(witness) if witness else None
        if export:
            check_target(export, force=force)  # a bad path: nothing read or written
        trusted = list(keys) if keys is not None else trusted_keys()
        chain = Chain(self.ledger)
        report = check_log(
            self.ledger,
            trusted,
            exported,
            chain=chain,
            expected=expected,
            state=verified,
            witnesses=witness_keys(),
            witness=seen,
        )
        finding, checked = report.chain
        if not trusted and report.leaves:
            report.findings.append(_NO_VERIFIER)
        first = report.first
        if first is not None and (finding is None or first.position < finding.position):
            finding = Finding(first.position, first.kind, first.detail)
        head = chain.head()[0]
        if finding is not None:
            return Verification(finding, checked, head, log=report)
        if state is not None:
            write_state(state, report.state())
        rows = self.check_read_models() if read_models else None
        if not export:
            return Verification(finding, checked, head, log=report, read_models=rows)
        log = MerkleLog(self.ledger)
        stored = log.checkpoints()
        note = stored[-1][1] if stored else None
        notes = dict(stored)
        cosigned: dict[int, str] = {}
        for size, _, line in log.cosignatures():
            if size in notes:
                cosigned[size] = cosigned.get(size, notes[size]) + line
        digest = export_checkpoints(
            chain, export, force=force, log_checkpoint=note, cosigned=cosigned
        )
        return Verification(None, checked, head, digest, report, rows)

    def check_read_models(self) -> ReadModelReport:
        """Every read model recomputed from the events and compared, row by row.

        Read-only (`verify --read-models` runs it after the events verify).

        Raises:
            InvalidInput: the read models were rebuilt during the check.
        """
        try:
            return check_read_models(self.ledger)
        except ReadModelsMovedError as exc:
            msg = f"{exc} during the check (a rebuild): check again"
            raise InvalidInput(msg, field="--read-models") from None

    @staticmethod
    def trusted_keys(
        texts: Sequence[str] = (), path: Path | None = None
    ) -> list[VerifierKey]:
        """The verifier keys to trust: `--key` texts, a keys file, else the env."""
        return trusted_keys(texts, path)

    @staticmethod
    def new_key(path: Path, origin: str) -> str:
        """Write a new signing key file (O_EXCL, 0600); its verifier key."""
        key = generate(origin)
        write_key(path, key)
        return str(key.verifier())

    def verifier_key(self, *, demo: bool = False) -> tuple[str, bool]:
        """The writer's verifier key (or the DEMO's) and whether it is the DEMO's.

        Raises:
            InvalidInput: no signing key is configured.
        """
        key = demo_key() if demo else self.signer()
        if key is None:
            raise InvalidInput(NO_KEY, field="KOFU_SIGNING_KEY_FILE")
        return str(key.verifier()), is_demo(key)

    def prove(
        self,
        positions: Sequence[int],
        from_size: int | None = None,
        to_size: int | None = None,
        names: Mapping[str, str] = PROVE_OPTIONS,
    ) -> dict[str, Any]:
        """A proof bundle (`domain.bundle`) against a signed checkpoint.

        The bundle's checkpoint is the signed one at `to_size` (default: the
        newest); each position's event comes with its inclusion proof in that tree,
        and with `from_size`, the signed checkpoint at exactly that size comes with
        the consistency proof to it. Read-only: nothing is signed. `names` are the
        options' (or fields') names the errors give.

        Raises:
            InvalidInput: no signed checkpoint (at a size given), a size out of
                range, nothing to prove, or a position the tree does not cover.
        """
        log = MerkleLog(self.ledger)
        stored = log.checkpoints()
        if not stored:
            msg = "no signed checkpoint yet (the writer signs one: `kofu checkpoint`)"
            raise InvalidInput(msg, field=names["position"])
        if not positions and from_size is None:
            msg = "no event to prove (name a position, an entity and year, or a size)"
            raise InvalidInput(msg, field=names["position"])
        note = stored[-1][1] if to_size is None else _signed(log, to_size, names["to"])
        newest = stored[-1][0] if to_size is None else to_size
        older = []
        if from_size is not None:
            if from_size > newest:
                msg = f"{from_size} is above the tree size proved to ({newest})"
                raise InvalidInput(msg, field=names["from"])
            older.append(_signed(log, from_size, names["from"]))
            origins = {parse_note(n)[0].split("\n", 1)[0] for n in (note, *older)}
            if len(origins) > 1:
                msg = (
                    f"the signed checkpoint at {from_size} is of another log "
                    f"(origins {', '.join(sorted(origins))}): no consistency proof"
                )
                raise InvalidInput(msg, field=names["from"])
        try:
            return log.bundle(note, positions, older)
        except LookupError as exc:
            raise InvalidInput(str(exc), field=names["position"]) from None

    # ---------------------------------------------------------------- witnesses

    @staticmethod
    def witness_init(path: Path, name: str) -> str:
        """Make a witness's key and state file (O_EXCL, 0600); its verifier key."""
        return str(init_state(path, name).key.verifier())

    def witness_cosign(
        self, path: Path, keys: Sequence[VerifierKey] | None = None
    ) -> Cosignature:
        """The witness of `path` cosigns the newest checkpoint, if consistent.

        The ledger's verifier keys are `keys` (default `KOFU_VERIFIER_KEYS`).

        Raises:
            Refused: not consistent with what it cosigned (nothing recorded).
        """
        trusted = list(keys) if keys is not None else trusted_keys()
        if not trusted:
            msg = _NO_VERIFIER.detail
            raise InvalidInput(msg, field="KOFU_VERIFIER_KEYS")
        return cosign(self.ledger, path, trusted)

    def _check_quorum(self, command: PublishRun) -> None:
        """Refuse to publish a decision run no quorum of witnesses cosigned.

        `KOFU_WITNESS_QUORUM` (default 0) configured witnesses (`KOFU_WITNESS_KEYS`)
        must each have cosigned a checkpoint whose tree covers the run's position.

        Raises:
            Refused: too few witnesses cosigned it (nothing written).
        """
        needed = quorum()
        if not needed:
            return
        ledger = self.ledger
        run = ledger.run(command.run_id)
        calculated = run.calculated
        if calculated.phase != "decision":
            return
        witnesses = witness_keys()
        if len(witnesses) < needed:
            msg = (
                f"a quorum of {needed} witnesses is required but KOFU_WITNESS_KEYS "
                f"names {len(witnesses)}"
            )
            raise Refused(msg, field="KOFU_WITNESS_QUORUM")
        from domain.allocation_run import PhaseRuns  # noqa: PLC0415

        phase = ledger.get(
            PhaseRuns.id_for(
                calculated.grant_year, calculated.grant, calculated.tier, "decision"
            ),
            PhaseRuns,
        )
        positions = ledger.run_positions([phase] if phase else [])
        position = dict(positions.get(phase.id, []) if phase else []).get(
            command.run_id
        )
        if position is None:
            msg = f"no recorded position for run {command.run_id}"
            raise Refused(msg, field="run_id")
        leaf = MerkleLog(ledger).leaf(position)
        if leaf is None:
            msg = f"run {command.run_id}'s event (position {position}) is not sealed"
            raise Refused(msg, field="run_id")
        size = leaf[0] + 1
        sizes = witnessed(ledger, trusted_keys(), witnesses)
        covering = sorted(name for name, at in sizes.items() if at >= size)
        if len(covering) < needed:
            msg = (
                f"the decision run {command.run_id} (position {position}, tree size "
                f"{size}) is cosigned by {len(covering)} of the {needed} witnesses "
                f"required ({', '.join(covering) or 'none'}): "
                "`kofu witness cosign` by each witness first"
            )
            raise Refused(msg, field="KOFU_WITNESS_QUORUM")

    def signed_checkpoints(self) -> list[tuple[int, str]]:
        """The checkpoints the writer signed, (tree size, note), oldest first."""
        return MerkleLog(self.ledger).checkpoints()

    def entity_positions(self, entity: str, grant_year: int) -> list[int]:
        """The positions of an entity's events of a grant year (its audit trail)."""
        rows = self.store().rows(
            "audit_trail", {"entity": entity, "grant_year": grant_year}, ["position"]
        )
        return sorted({int(row["position"]) for row in rows})

    def seals(self) -> SealedEvents:
        """What checks that events are sealed and signed (trusted keys read once)."""
        if self._seals is None:
            self._seals = SealedEvents(self.ledger, reader_keys())
        return self._seals

    def unsigned(self, positions: Sequence[int]) -> set[int]:
        """Which of these positions no trusted signed checkpoint covers (未封印).

        Read-only; history and the audit trail flag them, never trust them.
        """
        return self.seals().unsigned_positions(positions)

    def authenticate(
        self, secret: str, at: datetime | None = None
    ) -> AccessToken | None:
        """The live token whose secret this is, or None (`inputs.tokens`).

        Only a token that a trusted signed checkpoint covers authenticates (the
        keys of `reader_keys`, read once; the opened checkpoints are kept).
        `at` is the ledger's clock by default (tests ask about later).

        Raises:
            UnsignedTokenError: the secret matches a token no signature covers.
        """
        seals = self.seals()

        def lookup(token_id: str) -> tuple[AccessToken | None, tuple[int, ...]]:
            record = token_record(seals, token_id)
            return record.token, record.unsigned

        return authenticate(lookup, secret, at)

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
                self._store = rebuilding.open_store(ledger)
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
            self._store = rebuilding.rebuild(
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


_NO_VERIFIER = LogFinding(
    0,
    "keys",
    "no verifier key is configured (KOFU_VERIFIER_KEYS, --key or --keys-file): "
    "no signed checkpoint can be trusted",
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
    ApplyForGrant: lambda ledger, cmd: ledger.apply_for_grant(cmd),
    ReturnApplication: lambda ledger, cmd: ledger.return_application(cmd),
    DecideGrant: lambda ledger, cmd: ledger.decide_grant(cmd),
    WithdrawGrant: lambda ledger, cmd: ledger.withdraw_grant(cmd),
    RecordGrantPayment: lambda ledger, cmd: ledger.record_grant_payment(cmd),
    ReportSpending: lambda ledger, cmd: ledger.report_spending(cmd),
    ConfirmGrantAmount: lambda ledger, cmd: ledger.confirm_grant_amount(cmd),
    OrderRefund: lambda ledger, cmd: ledger.order_refund(cmd),
    RecordRefundPayment: lambda ledger, cmd: ledger.record_refund_payment(cmd),
    CancelGrant: lambda ledger, cmd: ledger.cancel_grant(cmd),
}


def run_demo(
    ledger: Ledger,
    grant_year: int | Literal["all"],
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

    log = MerkleLog(ledger)

    def prefix_log(position: int) -> tuple[int, str]:
        # The leaves up to the position read: committed, so they never change.
        size = log.size_at(position)
        return size, base64.b64encode(log.root(size)).decode()

    runs = run_phase(ledger, command, prefix_hash, reading, prefix_log)
    if command.phase in {"decision", "settlement"}:
        chain.extend(sealed_for=f"FY{command.grant_year} {command.phase}")
    return runs


def _signed(log: MerkleLog, size: int, name: str) -> str:
    """The signed checkpoint at exactly `size` (InvalidInput naming `name` if none)."""
    note = log.signed_at(size)
    if note is None:
        sizes = [s for s, _ in log.checkpoints()]
        msg = (
            f"no signed checkpoint at tree size {size} (the signed sizes run "
            f"from {sizes[0]} to {sizes[-1]}; {len(sizes)} of them)"
        )
        raise InvalidInput(msg, field=name)
    return note
