"""The application service: one method per command, each all-or-nothing.

Every command validates everything it was given before it writes anything; the
aggregates it changes (and the receipt of its idempotency key) are saved in one
transaction. A save that loses a race raises the library's IntegrityError; the
command then re-reads and re-applies (`_retrying`, jittered: domain/retry.py). Bulk
commands (registration, submissions) validate the whole batch in memory, against
the directory (domain/directory.py), then save it in chunks. The readers are in
domain/reading.py (`Reading`, this class's base); scans of the notification log in
domain/log.py.

One calling style: every command takes a command model (domain/commands.py) and
returns a `Result`; the bulk ones (`register_entities`, `submit`) also take execution
options (batch size, a progress callback), which are not part of the command.

Over 300 lines: it holds the ~17 commands and the checks they share (receipts,
tiers, answers, batches); each command is short, and they share those checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

import orjson
from eventsourcing.persistence import IntegrityError

from domain import awarding, clock, retry
from domain.base import LedgerAggregate, actor_id, actor_role
from domain.catalogue import (
    CHECKED,
    UNCHECKED,
    Answer,
    Catalogue,
    CatalogueSeries,
)
from domain.commands import (
    AllocatePhase,
    ApplyForGrant,
    AwardCommand,
    CancelGrant,
    Command,
    ConfirmGrantAmount,
    ConfirmSelfEvaluation,
    CorrectAnswer,
    DecideGrant,
    DeclareRequiredAmounts,
    DefineProgramme,
    EndMembership,
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
from domain.directory import Directory
from domain.entities import Entity, Insurer
from domain.errors import (
    Forbidden,
    InvalidInput,
    LedgerError,
    Refused,
)
from domain.grant_award import GrantAward
from domain.programme import ProgrammeYear
from domain.reading import Reading
from domain.receipts import CommandReceipt
from domain.retry import StaleReadError
from domain.rule import Rule
from domain.self_evaluation import SelfEvaluation
from domain.tokens import AccessToken

T = TypeVar("T")
A = TypeVar("A", bound=LedgerAggregate)
V = TypeVar("V")
C = TypeVar("C", bound=Command)
W = TypeVar("W", bound=AwardCommand)

Progress = Callable[[int], None]
Memo = dict[tuple[int, str], tuple[ProgrammeYear, Catalogue]]
"""What a bulk command read once: programme and catalogue per (year, tier)."""


@dataclass(frozen=True)
class Result:
    """What a command did: events written (0 for a no-op) and the last position."""

    command: str
    events: int = 0
    position: int | None = None
    detail: str = ""

    @property
    def noop(self) -> bool:
        """Whether the command changed nothing (a repeat, or nothing new)."""
        return self.events == 0


def _with_origin(error: LedgerError, origin: str | None) -> LedgerError:
    if origin and error.origin is None:
        error.origin = origin
    return error


class Ledger(Reading):
    """kofu's ledger of the incentive grants: its commands (readers: `Reading`)."""

    name = "kofu"

    # ------------------------------------------------------------ mechanics

    def retrying(self, attempt: Callable[[], T]) -> T:
        """Run a read-decide-save attempt, again on a lost race (IntegrityError).

        Unlike a command's attempt, this one is not pinned to one instant: its
        events are timed when they are made, after a read that may take seconds,
        so that writers committing during the read do not make it lose the race.
        """
        return self._retrying(attempt, pinned=False)

    def _retrying(self, attempt: Callable[[], T], *, pinned: bool = True) -> T:
        return retry.retrying(attempt, self.refresh, pinned=pinned)

    def _save(self, command: str, *aggregates: LedgerAggregate) -> Result:
        pending = [a for a in aggregates if a.pending_events] if aggregates else []
        if not pending:
            return Result(command)
        recordings = self.save(*pending)
        for aggregate in pending:
            self.directory.known.add(aggregate.id)
        return Result(
            command, events=len(recordings), position=recordings[-1].notification.id
        )

    def _receipt(self, cmd: Command) -> CommandReceipt | Result | None:
        """The new receipt to save with `cmd`, None without a key, or a no-op Result.

        The key is the command's actor's (see domain/receipts.py); save the receipt
        only with events: a command that changes nothing must not use up its key.

        Raises:
            Refused: the actor used the key for other content.
        """
        if cmd.idempotency_key is None:
            return None
        actor = getattr(cmd, "actor", "system:kofu")
        fingerprint = cmd.fingerprint()
        # The caller refreshed the directory; a receipt written since then makes
        # the save fail, and the retry reads it.
        existing = self._known_receipt(actor, cmd.idempotency_key)
        if existing is None:
            return CommandReceipt.record(
                cmd.idempotency_key, type(cmd).__name__, fingerprint, actor
            )
        # A receipt recorded while commands still carried a received date has it
        # in its fingerprint: repeating such a command is refused as other content
        # (docs/FAULTS.md, known limits).
        if (
            existing.command == type(cmd).__name__
            and existing.fingerprint == fingerprint
        ):
            return Result(type(cmd).__name__, detail="repeat of an idempotent command")
        msg = (
            f"idempotency key {cmd.idempotency_key!r} was already used for a "
            "different command; use a new key"
        )
        raise Refused(msg, field="idempotency_key")

    def _self_evaluation(
        self,
        lg_code: str,
        grant_year: int,
        tier: str,
        catalogue_version: int,
        touched: dict[UUID, LedgerAggregate] | None = None,
    ) -> SelfEvaluation:
        """The self-evaluation to change.

        One already changed in this batch (`touched`), else the stored one, else
        a new one.
        """
        aggregate_id = SelfEvaluation.id_for(lg_code, grant_year, tier)
        found = (touched or {}).get(aggregate_id)
        if isinstance(found, SelfEvaluation):
            return found
        stored = None
        if aggregate_id in self.directory.known:
            stored = self.get(aggregate_id, SelfEvaluation)
        return stored or SelfEvaluation.open(
            lg_code, grant_year, tier, catalogue_version
        )

    def _answers(
        self, catalogue: Catalogue, raw: dict[str, object], *, ministry: bool
    ) -> dict[str, Answer]:
        answers = {}
        items = catalogue.items
        for code, value in raw.items():
            found = items.get(code)
            sub_item, indicator = found or self._item(catalogue, code)
            if (indicator.source == "ministry") != ministry:
                _refuse_source(code, ministry=ministry)
            # Fast path for the commonest answer; everything else is parsed in full.
            if value is True and sub_item.kind == "checkbox":
                answers[code] = CHECKED
            elif value is False and sub_item.kind == "checkbox":
                answers[code] = UNCHECKED
            else:
                answers[code] = sub_item.parse(value)
        return answers

    def _item(self, catalogue: Catalogue, code: str) -> Any:
        try:
            return catalogue.item(code)
        except InvalidInput:
            spec = catalogue.spec
            for version in range(spec.version - 1, 0, -1):
                older = self.catalogue(spec.grant_year, spec.tier, version)
                if code in older.items:
                    msg = (
                        f"item {code} was retired in FY{spec.grant_year} {spec.tier} "
                        f"catalogue version {spec.version}"
                    )
                    raise Refused(msg, field=code) from None
            raise

    def _in_force(
        self, grant_year: int, tier: str, memo: Memo
    ) -> tuple[ProgrammeYear, Catalogue]:
        """The programme and the catalogue in force, read once per bulk command."""
        key = (grant_year, tier)
        if key not in memo:
            memo[key] = (self.programme(grant_year), self.catalogue(grant_year, tier))
        return memo[key]

    def _check_tier(self, details: Entity.Details, tier: str) -> None:
        expected = "municipal" if details.kind == "municipality" else "prefectural"
        if tier != expected:
            msg = (
                f"{details.lg_code} ({details.name}) is a {details.kind}: "
                f"tier is {expected}"
            )
            raise InvalidInput(msg, field="tier")

    # ------------------------------------------------------- reference data

    def register_entities(
        self,
        cmd: RegisterEntities,
        batch_size: int = 500,
        progress: Progress | None = None,
    ) -> Result:
        """Register prefectures and municipalities; known ones must match exactly."""
        self.refresh()
        new = []
        for details in cmd.entities:
            known = self.directory.entities.get(details.lg_code)
            if known is None:
                new.append(Entity.register(details))
            elif known != details:
                msg = f"{details.lg_code} is already registered with other details"
                raise Refused(msg, field="lg_code")
        return self._save_in_batches("register_entities", new, batch_size, progress)

    def _save_in_batches(
        self,
        command: str,
        aggregates: Sequence[LedgerAggregate],
        batch_size: int,
        progress: Progress | None,
    ) -> Result:
        if not aggregates:
            return Result(command, detail="nothing new: already recorded as given")
        total = Result(command)
        for start in range(0, len(aggregates), batch_size):
            batch = aggregates[start : start + batch_size]
            done = self._save(command, *batch)
            total = Result(
                command,
                events=total.events + done.events,
                position=done.position or total.position,
            )
            if progress:
                progress(len(batch))
        return total

    def record_insured_counts(self, cmd: RecordInsuredCounts) -> Result:
        """Record 第1号被保険者数 per entity and fiscal year (same record: no-op)."""
        return self._record_on_entities(
            "record_insured_counts",
            cmd,
            cmd.counts,
            lambda entity, item: entity.record_insured(item, cmd.actor),
        )

    def record_expenditures(self, cmd: RecordExpenditures) -> Result:
        """Record 事業費 per entity and fiscal year (same record: no-op)."""
        return self._record_on_entities(
            "record_expenditures",
            cmd,
            cmd.expenditures,
            lambda entity, item: entity.record_expenditure(item, cmd.actor),
        )

    def declare_required_amounts(self, cmd: DeclareRequiredAmounts) -> Result:
        """Record 所要見込額 per entity, grant year and grant (same record: no-op)."""
        return self._record_on_entities(
            "declare_required_amounts",
            cmd,
            cmd.amounts,
            lambda entity, item: entity.declare_required(item, cmd.actor),
        )

    def _record_on_entities(
        self,
        command: str,
        cmd: Command,
        items: Sequence[tuple[str, V]],
        record: Callable[[Entity, V], bool],
    ) -> Result:
        def attempt() -> Result:
            changed: dict[str, Entity] = {}
            for lg_code, item in items:
                entity = changed.get(lg_code) or self.entity_aggregate(lg_code)
                if record(entity, item):
                    changed[lg_code] = entity
            return self._save_in_batches(command, list(changed.values()), 500, None)

        return self._command(cmd, attempt)

    def publish_rules(self, cmd: PublishRules) -> Result:
        """Record rule versions (the same content again is a no-op)."""

        def attempt() -> Result:
            new = []
            for spec in cmd.rules:
                existing = self.get(Rule.id_for(spec.id), Rule)
                if existing is None:
                    new.append(Rule.publish(spec, cmd.actor))
                else:
                    existing.check_same(spec)
            return self._save("publish_rules", *new)

        return self._command(cmd, attempt)

    def publish(self, cmd: PublishRun) -> Result:
        """The ministry publishes a run so that readers may see it (idempotent)."""

        def attempt() -> Result:
            self.refresh()
            run = self._run(cmd.run_id)
            receipt = self._receipt(cmd)
            if isinstance(receipt, Result):
                return receipt
            today = clock.today()
            announced = cmd.announced_on or today
            if announced > today:
                msg = (
                    f"the announced date {announced} lies after today ({today} JST, "
                    "the ledger's date): publish on the day it is announced"
                )
                raise InvalidInput(msg, field="announced_on")
            calculated = clock.jst_date(run.calculated.timestamp)
            if announced < calculated:
                msg = (
                    f"the announced date {announced} lies before the run was "
                    f"calculated ({calculated} JST): a run is announced after it exists"
                )
                raise InvalidInput(msg, field="announced_on")
            if not run.publish(cmd.actor, announced):
                return Result("publish", detail=f"{cmd.run_id} is already published")
            return self._save("publish", run, *([receipt] if receipt else []))

        return self._command(cmd, attempt)

    def receipt_for(self, cmd: AllocatePhase) -> CommandReceipt | Result | None:
        """The receipt to save with an allocation (see `_receipt`)."""
        self.refresh()
        return self._receipt(cmd)

    def issue_token(self, cmd: IssueToken) -> Result:
        """Record an access token: hash, role, scope (entities must fit), expiry."""
        kind = {"insurer": "municipality", "prefecture": "prefecture"}.get(cmd.role)
        for lg_code in cmd.scope:
            if self.entity(lg_code).kind != kind:
                msg = f"{lg_code} is not a {kind}: a {cmd.role} token cannot act for it"
                raise InvalidInput(msg, field="entity")

        def attempt() -> Result:
            # Made inside the attempt: its event is timed at the attempt's instant,
            # and a clock behind the newest event is refused like any command's.
            token = AccessToken.issue(
                cmd.token_id,
                cmd.secret_sha256,
                cmd.role,
                cmd.scope,
                cmd.name,
                cmd.actor,
                cmd.expires_at,
            )
            return self._save("issue_token", token)

        return self._command(cmd, attempt)

    def revoke_token(self, cmd: RevokeToken) -> Result:
        """Revoke an access token (revoking it again changes nothing)."""
        msg = f"no access token {cmd.token_id}"

        def attempt() -> Result:
            token = self._require(
                AccessToken.id_for(cmd.token_id), AccessToken, msg, "token"
            )
            token.revoke(cmd.actor)
            return self._save("revoke_token", token)

        return self._command(cmd, attempt)

    def register_insurers(self, cmd: RegisterInsurers) -> Result:
        """Register insurers; their member municipalities must be registered."""

        def attempt() -> Result:
            self.refresh()
            new = []
            for details in cmd.insurers:
                for member in details.members:
                    member_details = self.entity(member.lg_code, field="members")
                    if member_details.kind != "municipality":
                        msg = f"insurer member {member.lg_code} is not a municipality"
                        raise InvalidInput(msg, field="members")
                if details.kind == "single":
                    jis = details.members[0].lg_code[:5]
                    if details.insurer_number[:5] != jis:
                        msg = (
                            f"a single-municipality insurer's number is built on its "
                            f"JIS code {jis}, not {details.insurer_number}"
                        )
                        raise InvalidInput(msg, field="insurer_number")
                existing_id = Insurer.id_for(details.insurer_number)
                if existing_id in self.directory.known:
                    existing = self.get(existing_id, Insurer)
                    # The registration repeated records nothing, whatever
                    # memberships ended since (the same fact, told again).
                    if existing and existing.registered != details:
                        msg = (
                            f"insurer {details.insurer_number} is registered "
                            "with other details"
                        )
                        raise Refused(msg, field="insurer_number")
                    continue
                new.append(Insurer.register(details))
            return self._save_in_batches("register_insurers", new, 500, None)

        return self._command(cmd, attempt)

    def end_membership(self, cmd: EndMembership) -> Result:
        """End a member's membership of an insurer (ended on that day: no-op)."""

        def attempt() -> Result:
            self.refresh()
            insurer_id = Insurer.id_for(cmd.insurer_number)
            insurer = (
                self.get(insurer_id, Insurer)
                if insurer_id in self.directory.known
                else None
            )
            if insurer is None:
                msg = f"no insurer {cmd.insurer_number} is registered"
                raise InvalidInput(msg, field="insurer_number")
            if insurer.ended_on(cmd.lg_code) == cmd.valid_to:
                return Result("end_membership", detail="already ended on that day")
            insurer.end_membership(cmd.lg_code, cmd.valid_to, cmd.actor)
            return self._save("end_membership", insurer)

        return self._command(cmd, attempt)

    def publish_catalogue(self, cmd: PublishCatalogue) -> Result:
        """Publish a catalogue version (the same content again is a no-op)."""
        spec = cmd.spec
        fingerprint = _fingerprint(spec.model_dump(mode="json"))

        def attempt() -> Result:
            series = self.get(
                CatalogueSeries.id_for(spec.grant_year, spec.tier), CatalogueSeries
            ) or CatalogueSeries.start(spec.grant_year, spec.tier)
            if not series.publish(spec, fingerprint, cmd.reason):
                return Result("publish_catalogue", detail="already published")
            return self._save("publish_catalogue", series, Catalogue.publish(spec))

        return self._command(cmd, attempt)

    def define_programme(self, cmd: DefineProgramme) -> Result:
        """Define (or amend, with a reason) a grant year's programme."""
        spec = cmd.spec

        def attempt() -> Result:
            existing = self.get(ProgrammeYear.id_for(spec.grant_year), ProgrammeYear)
            if existing is None:
                return self._save(
                    "define_programme", ProgrammeYear.define(spec, cmd.actor)
                )
            existing.amend(spec, cmd.reason, cmd.actor)
            return self._save("define_programme", existing)

        return self._command(cmd, attempt)

    # ------------------------------------------------------------ answers

    def submit(
        self,
        commands: Sequence[SubmitSelfEvaluation],
        batch_size: int = 200,
        progress: Progress | None = None,
    ) -> Result:
        """Submit (or revise) self-evaluations: all are checked before any is saved."""
        self.refresh()
        try:
            with clock.instant():
                prepared = self._prepare_submissions(commands)
                return self._save_in_batches("submit", prepared, batch_size, progress)
        except IntegrityError:
            # Another writer got there first: check everything again, then save.
            return self._retrying(
                lambda: self._save_in_batches(
                    "submit", self._prepare_submissions(commands), batch_size, progress
                )
            )

    def _prepare_submissions(
        self, commands: Iterable[SubmitSelfEvaluation]
    ) -> list[LedgerAggregate]:
        touched: dict[UUID, LedgerAggregate] = {}
        memo: Memo = {}
        for cmd in commands:
            try:
                for aggregate in self._prepare_submission(cmd, touched, memo):
                    touched[aggregate.id] = aggregate
            except LedgerError as error:
                raise _with_origin(error, cmd.origin) from None
        return list(touched.values())

    def _prepare_submission(
        self,
        cmd: SubmitSelfEvaluation,
        touched: dict[UUID, LedgerAggregate],
        memo: Memo,
    ) -> list[LedgerAggregate]:
        details = self.entity(cmd.entity)
        self._check_tier(details, cmd.tier)
        own = _own_actor(details)
        if cmd.actor != own:
            msg = (
                f"only the entity itself ({own}) may submit its "
                f"answers, not {cmd.actor}"
            )
            raise Refused(msg, field="actor")
        receipt = self._receipt(cmd)
        if isinstance(receipt, Result):
            return []
        programme, catalogue = self._in_force(cmd.grant_year, cmd.tier, memo)
        today = clock.today()
        programme.check_window(today, "a submission")
        answers = self._answers(catalogue, dict(cmd.answers), ministry=False)
        evaluation = self._self_evaluation(
            cmd.entity, cmd.grant_year, cmd.tier, catalogue.spec.version, touched
        )
        if not evaluation.submit(answers, cmd.actor, today):
            return []  # nothing new: no event, and no receipt using up the key
        return [evaluation] + ([receipt] if receipt else [])

    def enter_paper(self, commands: Sequence[EnterPaperSubmission]) -> Result:
        """Ministry staff key in answers entities sent on paper (all or nothing).

        The window is checked against the date each paper states, which may not
        lie after the ledger's today; the answers are recorded as the entity's,
        received on that date, beside who keyed them in, why and on what basis.
        """

        def attempt() -> Result:
            touched = self._prepared(commands, self._prepare_paper)
            if not touched:
                return Result("enter_paper", detail="nothing new: the same answers")
            return self._save("enter_paper", *touched.values())

        return self._retrying(attempt)

    def _prepared(
        self,
        commands: Sequence[C],
        prepare: Callable[[C, dict[UUID, LedgerAggregate], Memo], None],
    ) -> dict[UUID, LedgerAggregate]:
        """What a batch of commands changes, every command checked before a save.

        An error names the command's origin (file and line).
        """
        self.refresh()
        touched: dict[UUID, LedgerAggregate] = {}
        memo: Memo = {}
        for cmd in commands:
            try:
                prepare(cmd, touched, memo)
            except LedgerError as error:
                raise _with_origin(error, cmd.origin) from None
        return touched

    def _prepare_paper(
        self,
        cmd: EnterPaperSubmission,
        touched: dict[UUID, LedgerAggregate],
        memo: Memo,
    ) -> None:
        details = self.entity(cmd.entity)
        self._check_tier(details, cmd.tier)
        if actor_role(cmd.actor) != "ministry":
            msg = (
                f"only ministry staff enter paper submissions, not {cmd.actor}; "
                "an entity submits its own answers itself"
            )
            raise Forbidden(msg, field="actor")
        receipt = self._receipt(cmd)
        if isinstance(receipt, Result):
            return
        today = clock.today()
        if cmd.stated_on > today:
            msg = (
                f"the stated date {cmd.stated_on} lies after today ({today} JST, "
                "the ledger's date)"
            )
            raise InvalidInput(msg, field="stated_on")
        programme, catalogue = self._in_force(cmd.grant_year, cmd.tier, memo)
        programme.check_window(cmd.stated_on, "a paper submission stated")
        answers = self._answers(catalogue, dict(cmd.answers), ministry=False)
        evaluation = self._self_evaluation(
            cmd.entity, cmd.grant_year, cmd.tier, catalogue.spec.version, touched
        )
        entered = evaluation.enter_paper(
            answers,
            _own_actor(details),
            cmd.stated_on,
            cmd.reason,
            cmd.basis,
            cmd.actor,
            today,
        )
        if entered:
            touched[evaluation.id] = evaluation
            if receipt:
                touched[receipt.id] = receipt

    def confirm(self, cmd: ConfirmSelfEvaluation) -> Result:
        """A prefecture confirms a municipality's answers."""

        def attempt() -> Result:
            self.refresh()
            details = self.entity(cmd.entity)
            self._check_confirmer(details, cmd.actor)
            self._check_tier(details, cmd.tier)
            receipt = self._receipt(cmd)
            if isinstance(receipt, Result):
                return receipt
            evaluation = self.self_evaluation(cmd.entity, cmd.grant_year, cmd.tier)
            if not evaluation.confirm(cmd.actor, clock.today()):
                # Nothing to record: no event, and no receipt using up the key.
                msg = f"{cmd.entity}'s answers are already confirmed as they stand"
                return Result("confirm", detail=msg)
            return self._save("confirm", evaluation, *([receipt] if receipt else []))

        return self._command(cmd, attempt)

    def _check_confirmer(self, details: Entity.Details, actor: str) -> None:
        """Only the prefecture of a municipality confirms its answers.

        A prefecture's own (prefectural-tier) answers are confirmed by nobody here:
        which body would confirm them is the ministry's decision, not yet taken.

        Raises:
            Forbidden: `actor` is not the prefecture of this municipality.
        """
        if details.kind != "municipality":
            msg = (
                f"{details.lg_code} is a prefecture: its own answers are not "
                "confirmed through confirm, only municipalities' are (who confirms "
                f"a prefecture's answers is the ministry's decision); {actor} may not"
            )
            raise Forbidden(msg, field="entity")
        confirmer = self.directory.entities.get(actor_id(actor))
        if (
            actor_role(actor) != "prefecture"
            or confirmer is None
            or confirmer.kind != "prefecture"
            or confirmer.prefecture_code != details.prefecture_code
        ):
            msg = (
                f"only the prefecture of {details.lg_code} may confirm its answers, "
                f"not {actor}"
            )
            raise Forbidden(msg, field="entity")

    def import_ministry_values(
        self, commands: Sequence[ImportMinistryValues]
    ) -> Result:
        """Record ministry-computed values (outcome indicators) for entities."""

        def attempt() -> Result:
            touched = self._prepared(commands, self._prepare_ministry_values)
            return self._save_in_batches(
                "import_ministry_values", list(touched.values()), 200, None
            )

        return self._retrying(attempt)

    def _prepare_ministry_values(
        self,
        cmd: ImportMinistryValues,
        touched: dict[UUID, LedgerAggregate],
        memo: Memo,
    ) -> None:
        details = self.entity(cmd.entity)
        self._check_tier(details, cmd.tier)
        if actor_role(cmd.actor) != "ministry":
            msg = (
                f"only ministry staff import ministry-computed values, not {cmd.actor}"
            )
            raise Refused(msg, field="actor")
        receipt = self._receipt(cmd)
        if isinstance(receipt, Result):
            return
        _, catalogue = self._in_force(cmd.grant_year, cmd.tier, memo)
        values = self._answers(catalogue, dict(cmd.values), ministry=True)
        evaluation = self._self_evaluation(
            cmd.entity, cmd.grant_year, cmd.tier, catalogue.spec.version, touched
        )
        if not evaluation.import_ministry_values(
            values, cmd.source, cmd.actor, clock.today()
        ):
            return  # nothing new: no event, and no receipt using up the key
        touched[evaluation.id] = evaluation
        if receipt:
            touched[receipt.id] = receipt

    def correct(self, cmd: CorrectAnswer) -> Result:
        """Ministry staff correct one answer after the submission deadline."""

        def attempt() -> Result:
            self.refresh()
            details = self.entity(cmd.entity)
            self._check_tier(details, cmd.tier)
            if actor_role(cmd.actor) != "ministry":
                msg = (
                    f"only ministry staff correct answers, not {cmd.actor}; "
                    "before the deadline the entity revises its own answers"
                )
                raise Refused(msg, field="actor")
            receipt = self._receipt(cmd)
            if isinstance(receipt, Result):
                return receipt
            programme = self.programme(cmd.grant_year)
            closes = programme.spec.schedule.submission_closes
            today = clock.today()
            if today <= closes:
                msg = (
                    f"a correction on {today} (JST, the ledger's date) comes before "
                    f"the deadline {closes}; until then the entity revises its own "
                    "answers"
                )
                raise Refused(msg, field="date")
            evaluation = self.self_evaluation(cmd.entity, cmd.grant_year, cmd.tier)
            catalogue = self.catalogue(
                cmd.grant_year, cmd.tier, evaluation.catalogue_version
            )
            sub_item, _ = self._item(catalogue, cmd.item)
            after = sub_item.parse(cmd.value)
            evaluation.correct(cmd.item, after, cmd.reason, cmd.basis, cmd.actor, today)
            return self._save("correct", evaluation, *([receipt] if receipt else []))

        return self._command(cmd, attempt)

    # ------------------------------------------------ the money chain (issue 17)

    def apply_for_grant(self, cmd: ApplyForGrant) -> Result:
        """交付申請 (`domain.awarding.apply`)."""
        return self._award("apply_for_grant", cmd, awarding.apply)

    def return_application(self, cmd: ReturnApplication) -> Result:
        """差戻し (`domain.awarding.return_application`)."""
        return self._award("return_application", cmd, awarding.return_application)

    def decide_grant(self, cmd: DecideGrant) -> Result:
        """交付決定 (`domain.awarding.decide`)."""
        return self._award("decide_grant", cmd, awarding.decide)

    def withdraw_grant(self, cmd: WithdrawGrant) -> Result:
        """取下げ (`domain.awarding.withdraw`)."""
        return self._award("withdraw_grant", cmd, awarding.withdraw)

    def record_grant_payment(self, cmd: RecordGrantPayment) -> Result:
        """交付 (`domain.awarding.pay`)."""
        return self._award("record_grant_payment", cmd, awarding.pay)

    def report_spending(self, cmd: ReportSpending) -> Result:
        """実績報告 (`domain.awarding.report`)."""
        return self._award("report_spending", cmd, awarding.report)

    def confirm_grant_amount(self, cmd: ConfirmGrantAmount) -> Result:
        """額の確定 (`domain.awarding.confirm`)."""
        return self._award("confirm_grant_amount", cmd, awarding.confirm)

    def order_refund(self, cmd: OrderRefund) -> Result:
        """返還命令 (`domain.awarding.order_refund`)."""
        return self._award("order_refund", cmd, awarding.order_refund)

    def record_refund_payment(self, cmd: RecordRefundPayment) -> Result:
        """返還 (`domain.awarding.record_refund`)."""
        return self._award("record_refund_payment", cmd, awarding.record_refund)

    def cancel_grant(self, cmd: CancelGrant) -> Result:
        """取消 (`domain.awarding.cancel`)."""
        return self._award("cancel_grant", cmd, awarding.cancel)

    def _award(
        self,
        command: str,
        cmd: W,
        step: Callable[[Reading, W, date], GrantAward],
    ) -> Result:
        """One step of a recipient's chain, checked, then saved with its receipt."""

        def attempt() -> Result:
            self.refresh()
            receipt = self._receipt(cmd)
            if isinstance(receipt, Result):
                return receipt
            award = step(self, cmd, clock.today())
            return self._save(command, award, *([receipt] if receipt else []))

        return self._command(cmd, attempt)

    def _command(self, cmd: Command, attempt: Callable[[], Result]) -> Result:
        try:
            return self._retrying(attempt)
        except Refused as error:
            # The same keyed command may have been saved by another process after
            # this one read its directory but before it read the aggregate (which
            # then refuses, e.g. "already X"): a repeat, not a refusal.
            repeat = self._saved_meanwhile(cmd)
            if repeat is None:
                raise _with_origin(error, cmd.origin) from None
            return repeat
        except LedgerError as error:
            raise _with_origin(error, cmd.origin) from None

    def _saved_meanwhile(self, cmd: Command) -> Result | None:
        """A no-op Result if `cmd`'s key now has a receipt (read afresh), else None.

        Raises:
            Refused: the key's receipt is for other content.
        """
        if cmd.idempotency_key is None:
            return None
        self.refresh()
        found = self._receipt(cmd)
        return found if isinstance(found, Result) else None


def _own_actor(details: Entity.Details) -> str:
    """The actor an entity acts as: `insurer:<LG>` or `prefecture:<LG>`."""
    role = "insurer" if details.kind == "municipality" else "prefecture"
    return f"{role}:{details.lg_code}"


def _refuse_source(code: str, *, ministry: bool) -> None:
    if ministry:
        msg = f"item {code} is self-reported; the ministry corrects it instead"
    else:
        msg = (
            f"item {code} is computed by the ministry "
            "and cannot be answered or changed by the entity"
        )
    raise Refused(msg, field=code)


def _fingerprint(content: object) -> str:
    return hashlib.sha256(
        orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


__all__ = ["Directory", "Ledger", "Result", "StaleReadError"]
