"""Access tokens: who may call the HTTP API, in which role, for which entities.

Only the SHA-256 of a token's secret is recorded, never the secret itself (it is
shown once, when issued). A token names its role and its scope: the LG codes of
the entities an insurer or a prefecture token acts for, and when it expires.
Revocation is an event too, so the ledger shows who could act when.

Tokens issued before expiry was recorded (`Issued` version 1) are read as expiring
`LEGACY_TOKEN_DAYS` after they were issued (`upcast_v1_v2`, from the event's own
time, so every replay reads the same expiry).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from domain.base import LedgerAggregate, stable_id
from domain.errors import InvalidInput
from domain.roles import ROLES, Role

_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
LEGACY_TOKEN_DAYS = 90
"""How long a token recorded without an expiry (version 1) lasts. Never change it:
it decides when the tokens already recorded stopped working."""


class UnsignedTokenError(Exception):
    """A token whose secret matches, but no trusted signed checkpoint covers it.

    Its `Issued` event (or a later one) was stored around the writer, or the
    writer has not signed since (no signing key configured): it does not
    authenticate. The message names the positions.
    """


def check_token_request(role: str, scope: tuple[str, ...], name: str) -> None:
    """Check a token's role, scope and name before anything is read.

    Raises:
        InvalidInput: an unknown role, a scope that does not fit it, a bad name.
    """
    if role not in ROLES:
        msg = f"role must be one of {', '.join(ROLES)}, got {role!r}"
        raise InvalidInput(msg, field="role")
    if not _NAME.fullmatch(name):
        msg = f"name must be 1-64 ASCII letters, digits or _.@-, got {name!r}"
        raise InvalidInput(msg, field="name")
    if role == "insurer" and not scope:
        msg = "an insurer token names at least one municipality (--entity)"
        raise InvalidInput(msg, field="entity")
    if role == "prefecture" and len(scope) != 1:
        msg = "a prefecture token names exactly one prefecture (--entity)"
        raise InvalidInput(msg, field="entity")
    if role not in {"insurer", "prefecture"} and scope:
        msg = f"a {role} token covers every entity; give no --entity"
        raise InvalidInput(msg, field="entity")


class AccessToken(LedgerAggregate):
    """One issued access token (its secret's hash, role and scope)."""

    TOPIC = "kofu.AccessToken"

    class Event(LedgerAggregate.Event):
        """Base of this aggregate's events."""

    class Issued(Event, LedgerAggregate.Created):
        """A token was issued; only the SHA-256 of its secret is kept."""

        TOPIC: ClassVar[str] = "kofu.AccessToken.Issued"
        class_version: ClassVar[int] = 2
        token_id: str
        name: str
        role: Role
        scope: tuple[str, ...]
        secret_sha256: str
        actor: str
        expires_at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 had no expiry: it expires `LEGACY_TOKEN_DAYS` after issue."""
            issued = datetime.fromisoformat(str(state["timestamp"]))
            expires = issued + timedelta(days=LEGACY_TOKEN_DAYS)
            state["expires_at"] = expires.isoformat()

    # The alias stops the library from deriving another creation event class.
    Created = Issued  # type: ignore[assignment]

    class Revoked(Event):
        """The token was revoked: it no longer opens anything."""

        TOPIC: ClassVar[str] = "kofu.AccessToken.Revoked"
        actor: str

    if (
        TYPE_CHECKING
    ):  # state, set by `when` (annotations here would make it an init arg)
        token_id: str
        name: str
        role: Role
        scope: tuple[str, ...]
        secret_sha256: str
        expires_at: datetime
        revoked: bool

    @staticmethod
    def id_for(token_id: str) -> UUID:
        """The aggregate id of a token."""
        return stable_id("access-token", token_id)

    @classmethod
    def issue(
        cls,
        token_id: str,
        secret_sha256: str,
        role: Role,
        scope: tuple[str, ...],
        name: str,
        actor: str,
        expires_at: datetime,
    ) -> AccessToken:
        """Issue a token (its role, scope and name checked first).

        Raises:
            InvalidInput: the request does not fit the role, the hash is not one, or
                the expiry has no time zone.
        """
        check_token_request(role, scope, name)
        if expires_at.tzinfo is None:
            msg = "a token's expiry needs a time zone"
            raise InvalidInput(msg, field="expires_at")
        if not _SHA256.fullmatch(secret_sha256):
            msg = "the secret's SHA-256 must be 64 lower-case hex digits"
            raise InvalidInput(msg, field="secret_sha256")
        return cls._create(
            cls.Issued,
            id=cls.id_for(token_id),
            token_id=token_id,
            name=name,
            role=role,
            scope=scope,
            secret_sha256=secret_sha256,
            actor=actor,
            expires_at=expires_at,
        )

    def revoke(self, actor: str) -> bool:
        """Revoke the token; False if it already was."""
        if self.revoked:
            return False
        self.trigger_event(self.Revoked, actor=actor)
        return True

    def expired(self, now: datetime) -> bool:
        """Whether the token has expired at `now` (the server's clock)."""
        return now >= self.expires_at

    def when(self, event: LedgerAggregate.Event) -> None:
        """Apply an event."""
        match event:
            case AccessToken.Issued():
                self.token_id = event.token_id
                self.name = event.name
                self.role = event.role
                self.scope = event.scope
                self.secret_sha256 = event.secret_sha256
                self.expires_at = event.expires_at
                self.revoked = False
            case AccessToken.Revoked():
                self.revoked = True
            case _:  # pragma: no cover
                raise NotImplementedError(type(event))
