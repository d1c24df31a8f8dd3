"""Commands: what a caller asks the ledger to do, validated before anything is read.

Each command may carry an idempotency key (a repeat by the same actor with the same
content is a no-op, with other content refused) and an `origin` (file and line) used
only to name the place of an error; neither is part of the command's content.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from typing import Annotated

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from domain.base import Actor, FiscalYear, InputText, Tier
from domain.codes import LgCode


def _no_float(value: object) -> object:
    if isinstance(value, float):
        msg = f"{value!r} is a binary float; give exact decimals as text"
        raise ValueError(msg)  # noqa: TRY004 - pydantic wants ValueError
    return value


RawValue = Annotated[bool | int | Decimal | str, BeforeValidator(_no_float)]
"""An answer as it came from a file; the catalogue item's kind decides its meaning."""

IdempotencyKey = Annotated[
    str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")
]


FILLED_BY_RECEIVER = frozenset({"received_on", "published_on"})
"""Fields the receiver fills in (today, in Japan) when the caller gives none: a
keyed retry after midnight is the same command, so they are not in its fingerprint."""


class Command(BaseModel):
    """Base of every command."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    idempotency_key: IdempotencyKey | None = None
    origin: str | None = Field(default=None, exclude=True)

    def fingerprint(self, *, with_receiver_fields: bool = False) -> str:
        """A hash of the command's content.

        Without its key, its origin and the fields the receiver fills in; with
        them (`with_receiver_fields`) as receipts recorded before had it.
        """
        left_out = {"idempotency_key", "origin"}
        if not with_receiver_fields:
            left_out |= FILLED_BY_RECEIVER
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
    received_on: date


class ConfirmSelfEvaluation(Command):
    """A prefecture confirms one of its municipalities' answers."""

    entity: LgCode
    grant_year: FiscalYear
    tier: Tier = "municipal"
    actor: Actor
    received_on: date


class ImportMinistryValues(Command):
    """The ministry records values it computes itself for an entity."""

    entity: LgCode
    grant_year: FiscalYear
    tier: Tier
    values: dict[str, RawValue] = Field(min_length=1)
    source: InputText
    actor: Actor
    received_on: date


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
    received_on: date


class AllocatePhase(Command):
    """Score and allocate a phase of a grant year (both grants, both tiers)."""

    grant_year: FiscalYear
    phase: str
    actor: Actor


class PublishRun(Command):
    """The ministry publishes a recorded allocation run (公表)."""

    run_id: Annotated[str, Field(min_length=1, max_length=200)]
    actor: Actor
    published_on: date
