"""The project's base aggregate and event, and the values every event shares.

Events are pydantic models (validated on creation and again on load) with explicit,
stable topics (`TOPIC`), so that moving or renaming a class never breaks replay.
Schema changes bump `class_version` and add `upcast_vN_vN1` static methods; the
mapper in adapters/ applies them on load (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, CanInitAggregate, CanMutateAggregate
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from domain import clock

KOFU_NAMESPACE = uuid5(NAMESPACE_URL, "https://kofu.invalid/")

Grant = Literal["promotion", "effort_support"]
"""推進交付金 (promotion) or 支援交付金 (effort_support)."""

GRANTS: tuple[Grant, ...] = ("promotion", "effort_support")

Tier = Literal["municipal", "prefectural"]
"""市町村分 (municipal) or 都道府県分 (prefectural)."""

TIERS: tuple[Tier, ...] = ("municipal", "prefectural")

FiscalYear = Annotated[int, Field(ge=2018, le=2100)]
"""A Japanese fiscal year (April to March), named by the year it starts in."""

Yen = Annotated[int, Field(ge=0, strict=True)]
"""An amount of money in integer yen; never a float."""


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and the read models are text.
    if "\x00" in value:
        msg = (
            f"contains the control character U+0000 at character "
            f"{value.index(chr(0)) + 1}; PostgreSQL text cannot hold it"
        )
        raise ValueError(msg)
    return value


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_no_nul),
]
"""Free text that must say something (a reason, a title)."""

HIDDEN_CHARACTERS = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # category Cc but tab and line feed
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi controls (Cf)
    "\u2028\u2029"  # line and paragraph separators
)
"""The one rule for text typed in (CLI, files, HTTP, workbooks): these are refused.

Every control character of Unicode category Cc except tab (U+0009) and line feed
(U+000A), which a multi-line reason may hold; every bidirectional control of
category Cf (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), which can hide
or reorder text on screen; and U+2028/U+2029, which break lines where JavaScript and
some viewers do not expect it."""

_HIDDEN = re.compile(f"[{HIDDEN_CHARACTERS}]")


def printable(value: str) -> str:
    """`value`, if it holds no hidden character (`HIDDEN_CHARACTERS`).

    Raises:
        ValueError: it does (the message names it and its place).
    """
    found = _HIDDEN.search(value)
    if found:
        msg = (
            f"contains the control character U+{ord(found.group()):04X} at "
            f"character {found.start() + 1}; only printable text, tabs and newlines"
        )
        raise ValueError(msg)
    return value


InputText = Annotated[Text, AfterValidator(printable)]
"""Free text typed into a command: no control characters or bidirectional overrides
(terminal escapes, NUL, hidden right-to-left text). Stored events keep `Text`."""

ACTOR_ROLES = ("insurer", "prefecture", "ministry", "system")
_ACTOR = re.compile(r"^(insurer|prefecture|ministry|system):[A-Za-z0-9_.@-]{1,64}$")


def _actor(value: str) -> str:
    if not _ACTOR.fullmatch(value):
        msg = (
            f"actor must be ROLE:ID with ROLE one of {', '.join(ACTOR_ROLES)} "
            f"and ID of ASCII letters/digits, got {value!r}"
        )
        raise ValueError(msg)
    return value


Actor = Annotated[str, AfterValidator(_actor)]
"""Who issued a command: `insurer:<LG code>`, `prefecture:<LG code>`,
`ministry:<staff id>` or `system:<job>`."""


def actor_role(actor: str) -> str:
    """Return the role part of an actor (`ministry` of `ministry:yamada`)."""
    return actor.split(":", 1)[0]


def actor_id(actor: str) -> str:
    """Return the id part of an actor (`yamada` of `ministry:yamada`)."""
    return actor.split(":", 1)[1]


@lru_cache(maxsize=65_536)
def stable_id(*parts: object) -> UUID:
    """Derive an aggregate id from its natural key, the same on every machine."""
    return uuid5(KOFU_NAMESPACE, "/".join(str(p) for p in parts))


class Value(BaseModel):
    """An immutable value object carried inside events."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class DomainEvent(BaseModel):
    """Fields every stored event has; the rest come from the event class."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    originator_id: UUID
    originator_version: int
    timestamp: datetime


class LedgerAggregate(Aggregate):
    """Base of kofu's aggregates.

    Subclasses declare `TOPIC`, a nested `Event(LedgerAggregate.Event)`, and their
    events as subclasses of that `Event` (the creation event also of
    `LedgerAggregate.Created`, aliased as `Created`), each with its own `TOPIC`.
    Commands guard, then `trigger_event`; `when` applies an event and must stay
    deterministic because it runs again on every replay.
    """

    class Event(DomainEvent, CanMutateAggregate[UUID]):
        """Base event: applying it hands it to the aggregate's `when`."""

        def apply(self, aggregate: Any) -> None:
            """Mutate the aggregate through its `when` method."""
            aggregate.when(self)

        @staticmethod
        def create_timestamp() -> datetime:
            """The recording time: the ledger's clock, never the caller's."""
            return clock.now()

    class Created(Event, CanInitAggregate[UUID]):
        """Base creation event."""

        originator_topic: str

    def when(self, event: LedgerAggregate.Event) -> None:
        """Apply one event to this aggregate's state."""
        raise NotImplementedError
