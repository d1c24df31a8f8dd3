"""Commands: what a caller asks the ledger to do, validated before anything is read.

Each command may carry an idempotency key (a repeat by the same actor with the same
content is a no-op, with other content refused) and an `origin` (file and line) used
only to name the place of an error; neither is part of the command's content. The
commands recording reference data, rules and tokens (`Unkeyed`) take no key: the same
content again records nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from domain.base import Actor, FiscalYear, Grant, InputText, Tier, printable
from domain.catalogue import CatalogueSpec
from domain.codes import InsurerNumber, LgCode, insurer_number, lg_code
from domain.entities import (
    Entity,
    Expenditure,
    InsuredCount,
    InsurerDetails,
    RequiredAmount,
)
from domain.errors import InvalidInput
from domain.grant_award import Evidence
from domain.programme import ProgrammeSpec
from domain.roles import Role
from domain.rule import RuleSpec

SERVER_TIME_FIELDS = ("received_on", "published_on", "recorded_at", "timestamp")
"""Fields naming the time an action is recorded at: the ledger's, never a caller's."""


def refuse_server_time(fields: object, where: str = "") -> None:
    """Refuse a caller's attempt to choose the time its own action is recorded at.

    Raises:
        InvalidInput: `fields` (a mapping or a list of names) holds such a field.
    """
    for name in SERVER_TIME_FIELDS:
        if name in fields:  # type: ignore[operator]
            raise InvalidInput(where + server_time_message(name), field=name)


def server_time_message(name: str) -> str:
    """Why a caller may not give `name` (a field of the recording time)."""
    return (
        f"{name} cannot be given: kofu records every action at the ledger's own "
        "time (the server owns time); a paper submission's stated date is entered "
        "by the ministry (kofu enter-paper), a publication's announced date is "
        "announced_on"
    )


def _no_float(value: object) -> object:
    if isinstance(value, float):
        msg = f"{value!r} is a binary float; give exact decimals as text"
        raise ValueError(msg)  # noqa: TRY004 - pydantic wants ValueError
    return value


RawValue = Annotated[bool | int | Decimal | str, BeforeValidator(_no_float)]
"""An answer as it came from a file; the catalogue item's kind decides its meaning."""

IdempotencyKey = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$"),
    AfterValidator(printable),
]
"""A key is shown back (receipts, the audit trail): the one rule for text applies."""


class Command(BaseModel):
    """Base of every command."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    idempotency_key: IdempotencyKey | None = None
    origin: str | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _no_server_time(cls, data: object) -> object:
        if isinstance(data, dict):
            refuse_server_time(data)
        return data

    @classmethod
    def checked(cls, data: Mapping[str, object], where: str | None = None) -> Self:
        """The command made of `data`; the first field it refuses is named.

        `where` (a file and line, or the command line's command) is named before
        the field, as the error's origin.

        Raises:
            InvalidInput: a field is missing or refused (its path as the field).
        """
        try:
            return cls.model_validate(dict(data))
        except ValidationError as error:
            problem = error.errors()[0]
            field = ".".join(str(p) for p in problem["loc"]) or None
            message = str(problem["msg"]).removeprefix("Value error, ")
            refused = InvalidInput(message, field=field)
        except InvalidInput as error:
            refused = error
        if where and refused.origin is None:
            refused.origin = where
        raise refused from None

    def fingerprint(self) -> str:
        """A hash of the command's content (without its key and origin).

        No command holds the time it is recorded at (the ledger's), so a keyed
        retry after midnight has the same fingerprint: a no-op.
        """
        left_out = {"idempotency_key", "origin"}
        content = {
            name: getattr(self, name)
            for name in type(self).model_fields
            if name not in left_out
        }
        # Same bytes as model_dump(mode="json"): decimals as text, dates ISO.
        data = orjson.dumps(
            {"command": type(self).__name__, **content},
            default=str,
            option=orjson.OPT_SORT_KEYS,
        )
        return hashlib.sha256(data).hexdigest()


class SubmitSelfEvaluation(Command):
    """Submit (or, once submitted, revise) an entity's answers."""

    entity: LgCode
    grant_year: FiscalYear
    tier: Tier
    answers: dict[str, RawValue] = Field(min_length=1)
    actor: Actor


class ConfirmSelfEvaluation(Command):
    """A prefecture confirms one of its municipalities' answers."""

    entity: LgCode
    grant_year: FiscalYear
    tier: Tier = "municipal"
    actor: Actor


class ImportMinistryValues(Command):
    """The ministry records values it computes itself for an entity."""

    entity: LgCode
    grant_year: FiscalYear
    tier: Tier
    values: dict[str, RawValue] = Field(min_length=1)
    source: InputText
    actor: Actor


class CorrectAnswer(Command):
    """Ministry staff correct one answer after the deadline."""

    entity: LgCode
    grant_year: FiscalYear
    tier: Tier
    item: str
    value: RawValue
    reason: InputText
    basis: InputText
    actor: Actor


class AllocatePhase(Command):
    """Score and allocate a phase of a grant year (both grants, both tiers)."""

    grant_year: FiscalYear
    phase: str
    actor: Actor


class EnterPaperSubmission(Command):
    """The ministry keys in answers an entity sent on paper (or late by other means).

    The submission window is checked against `stated_on`, the date the paper states
    it was received; the ledger records its own time beside it, with who keyed it
    in, why, and on what basis.
    """

    entity: LgCode
    grant_year: FiscalYear
    tier: Tier
    answers: dict[str, RawValue] = Field(min_length=1)
    stated_on: date
    reason: InputText
    basis: InputText
    actor: Actor


class PublishRun(Command):
    """The ministry publishes a recorded allocation run (公表).

    `announced_on` is the publication's announced date (default: the day the
    ledger records the publication); it may not lie after that day.
    """

    run_id: Annotated[str, Field(min_length=1, max_length=200)]
    actor: Actor
    announced_on: date | None = None


class Unkeyed(Command):
    """Base of the commands that record reference data, rules and access tokens.

    They take no idempotency key and record no receipt: recording the same content
    again records nothing (or is refused where it differs from what is recorded),
    and a token's id is new each time. A key given to one is refused, never
    silently ignored.
    """

    @field_validator("idempotency_key")
    @classmethod
    def _no_key(cls, value: str | None) -> str | None:
        if value is not None:
            msg = (
                f"{cls.__name__} takes no idempotency key: the same content again "
                "records nothing"
            )
            raise ValueError(msg)
        return value


class RegisterEntities(Unkeyed):
    """Register prefectures and municipalities; known ones must match exactly."""

    entities: tuple[Entity.Details, ...]


class RegisterInsurers(Unkeyed):
    """Register insurers; their member municipalities must be registered."""

    insurers: tuple[InsurerDetails, ...]


class EndMembership(Unkeyed):
    """A member municipality leaves an insurer: its membership ends on `valid_to`."""

    insurer_number: InsurerNumber
    lg_code: LgCode
    valid_to: date
    actor: Actor


class RecordInsuredCounts(Unkeyed):
    """Record 第1号被保険者数: (LG code, count) pairs."""

    counts: tuple[tuple[str, InsuredCount], ...]
    actor: str


class RecordExpenditures(Unkeyed):
    """Record 事業費: (LG code, spending of a fiscal year) pairs."""

    expenditures: tuple[tuple[str, Expenditure], ...]
    actor: str


class DeclareRequiredAmounts(Unkeyed):
    """Record 所要見込額: (LG code, amount of a grant year and grant) pairs."""

    amounts: tuple[tuple[str, RequiredAmount], ...]
    actor: str


class PublishRules(Unkeyed):
    """Record rule versions (a rule version never changes)."""

    rules: tuple[RuleSpec, ...]
    actor: str


class PublishCatalogue(Unkeyed):
    """Publish a catalogue version; an erratum (a later version) needs a reason."""

    spec: CatalogueSpec
    reason: str | None = None


class DefineProgramme(Unkeyed):
    """Define a grant year's programme, or amend it (with a reason)."""

    spec: ProgrammeSpec
    actor: str
    reason: str | None = None


class IssueToken(Unkeyed):
    """Record an access token: its secret's SHA-256, role, scope, name and expiry.

    The secret itself is made and shown by the caller (adapters/inputs/tokens.py);
    the ledger never sees it.
    """

    token_id: str
    secret_sha256: str
    role: Role
    scope: tuple[str, ...] = ()
    name: str
    actor: str
    expires_at: datetime


class RevokeToken(Unkeyed):
    """Revoke an access token (revoking it again changes nothing)."""

    token_id: str
    actor: str


# ------------------------------------------------ the money chain (issue 17)


UseCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
"""A use (充当先) code of a permitted-uses rule (data/rules/*_uses@*.yaml)."""
AmountsByUse = Annotated[
    dict[UseCode, Annotated[int, Field(ge=0, le=10**13, strict=True)]],
    Field(min_length=1, max_length=100),
]
"""Integer yen per use: never negative, never a float."""
Amount = Annotated[int, Field(ge=1, le=10**13, strict=True)]
"""A payment in integer yen (more than 0)."""


class AwardCommand(Command):
    """A step of one recipient's chain: 保険者番号 (municipal), prefecture (LG code)."""

    recipient: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    grant_year: FiscalYear
    grant: Grant
    tier: Tier
    actor: Actor

    @model_validator(mode="after")
    def _recipient_fits_tier(self) -> Self:
        try:
            if self.tier == "municipal":
                insurer_number(self.recipient)
            else:
                lg_code(self.recipient)
        except InvalidInput as error:
            what = "an insurer number" if self.tier == "municipal" else "a prefecture"
            msg = f"the recipient of the {self.tier} tier is {what}: {error.message}"
            raise ValueError(msg) from None
        return self


class ApplyForGrant(AwardCommand):
    """交付申請: the recipient applies for an amount per permitted use."""

    uses: AmountsByUse


class ReturnApplication(AwardCommand):
    """差戻し: the ministry returns an application for correction."""

    reason: InputText


class DecideGrant(AwardCommand):
    """交付決定: as applied for (no `uses`), or amended with a reason."""

    uses: AmountsByUse | None = None
    reason: InputText | None = None


class WithdrawGrant(AwardCommand):
    """取下げ: the recipient withdraws a decided application (L§9)."""

    reason: InputText


class RecordGrantPayment(AwardCommand):
    """交付: a payment of the grant, on the date the bank record states."""

    paid_on: date
    amount_yen: Amount
    reference: InputText


class ReportSpending(AwardCommand):
    """実績報告: actual spending per use, with evidence documents (SHA-256)."""

    spending: Annotated[
        dict[UseCode, Annotated[int, Field(ge=0, le=10**13, strict=True)]],
        Field(min_length=1, max_length=100),
    ]
    evidence: tuple[Evidence, ...] = Field(min_length=1, max_length=100)


class ConfirmGrantAmount(AwardCommand):
    """額の確定: the ministry fixes the amount from the report."""


class OrderRefund(AwardCommand):
    """返還命令 of what was paid above the confirmed amount (deadline: default rule)."""

    deadline: date | None = None


class RecordRefundPayment(AwardCommand):
    """A payment against a refund order, on the date the bank record states."""

    order: Annotated[int, Field(ge=1, le=1000, strict=True)]
    paid_on: date
    amount_yen: Amount
    reference: InputText


class CancelGrant(AwardCommand):
    """取消 of part of the grant, with reason and legal basis (also after 確定)."""

    amount_yen: Amount
    cause: Literal["breach", "change_of_circumstances"]
    reason: InputText
    legal_basis: InputText
    deadline: date | None = None
