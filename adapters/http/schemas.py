"""Query parameters, request bodies and the page envelope of the API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Header, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo
from pydantic.json_schema import SkipJsonSchema

from adapters.http.errors import KofuJSON
from domain.base import FiscalYear, Grant, Text, Tier
from domain.commands import RawValue, server_time_message
from domain.programme import Phase

Year = Annotated[
    int,
    Query(alias="fiscal_year", ge=2018, le=2100, description="Grant year (交付年度)."),
]
"""A grant year (交付年度); its public query name is `fiscal_year` (docs/API.md)."""
EntityCode = Annotated[
    str, Query(pattern=r"^[0-9]{6}$", description="LG code (6 digits).")
]
Limit = Annotated[int, Query(ge=1, le=10_000, description="Rows per page.")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")]
AsOf = Annotated[
    str | None,
    Query(
        max_length=40,
        description="A ledger position or an ISO time with zone "
        "(the read model as it stood then).",
    ),
]
GrantQuery = Annotated[Grant | None, Query(description="promotion or effort_support")]
TierQuery = Annotated[Tier | None, Query(description="municipal or prefectural")]
PhaseQuery = Annotated[Phase | None, Query(description="Default: the latest phase.")]
IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="A repeat with the same key and content records nothing "
        "and answers as before; the same key with other content: 409.",
    ),
]


class Page(BaseModel):
    """A page of rows; `next_offset` is null on the last page."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int
    next_offset: int | None
    notes: list[str] = Field(
        default_factory=list, description="Hypotheses (仮説) behind the rows."
    )


def paged(
    rows: list[dict[str, Any]], limit: int, offset: int, notes: list[str] | None = None
) -> KofuJSON:
    """One page of `rows` as the API's JSON."""
    end = offset + limit
    return KofuJSON(
        {
            "items": rows[offset:end],
            "total": len(rows),
            "limit": limit,
            "offset": offset,
            "next_offset": end if end < len(rows) else None,
            "notes": notes or [],
        }
    )


def _server_time(value: object, info: ValidationInfo) -> object:
    if value is not None:
        raise ValueError(server_time_message(info.field_name or "this field"))
    return value


ServerTime = Annotated[
    SkipJsonSchema[object | None], BeforeValidator(_server_time), Field(exclude=True)
]
"""A field naming the recording time: refused, because the server owns time."""


class Body(BaseModel):
    """Base of request bodies: unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Submission(Body):
    """A self-evaluation (a repeat once submitted is a revision)."""

    entity: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    grant_year: FiscalYear
    tier: Tier
    answers: Annotated[dict[str, RawValue], Field(min_length=1)]
    received_on: ServerTime = None


class Confirmation(Body):
    """A prefecture confirms a municipality's answers."""

    entity: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    grant_year: FiscalYear
    tier: Tier = "municipal"
    received_on: ServerTime = None


class Correction(Body):
    """A ministry correction of one answer (after the deadline)."""

    entity: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    grant_year: FiscalYear
    tier: Tier = "municipal"
    item: Annotated[str, Field(min_length=1, max_length=100)]
    value: RawValue
    reason: Text
    basis: Text
    received_on: ServerTime = None


class MinistryValues(Body):
    """Values the ministry computes itself (outcome indicators) for one entity."""

    entity: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    grant_year: FiscalYear
    tier: Tier = "municipal"
    values: Annotated[dict[str, RawValue], Field(min_length=1)]
    source: Text
    received_on: ServerTime = None


class PaperSubmission(Body):
    """Answers an entity sent on paper, keyed in by ministry staff."""

    entity: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    grant_year: FiscalYear
    tier: Tier
    answers: Annotated[dict[str, RawValue], Field(min_length=1)]
    stated_on: date = Field(
        description="The date the paper states it was received: the window is "
        "checked against it (never after the ledger's today)."
    )
    reason: Text
    basis: Text
    received_on: ServerTime = None


class Allocation(Body):
    """Score and allocate one phase of a grant year."""

    grant_year: FiscalYear
    phase: Phase


class Publication(Body):
    """Publish a recorded run (公表)."""

    announced_on: date | None = Field(
        default=None,
        description="The publication's announced date (default: the day the ledger "
        "records it; never later).",
    )
    published_on: ServerTime = None


class Outcome(BaseModel):
    """What a command did."""

    command: str
    events: int
    position: int | None
    noop: bool
    detail: str
    actor: str
    runs: list[str] = Field(default_factory=list)
