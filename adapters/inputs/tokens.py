"""Token secrets: made here, shown once, kept in the ledger only as a SHA-256.

A token reads `kofu_<id>_<secret>`: the id finds the token's aggregate without a
scan, and the SHA-256 of the whole text is compared in constant time. A token whose
id is unknown takes the same path: its hash is compared with a dummy one, so an
unknown id and a wrong secret both cost one lookup and one comparison.

A token expires (`expires_at`, recorded when it is issued); the server's clock
decides, never anything the client sends.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain import clock
from domain.commands import IssueToken
from domain.roles import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS
from domain.tokens import UnsignedTokenError

if TYPE_CHECKING:
    from domain.ledger import Ledger
    from domain.roles import Role
    from domain.tokens import AccessToken

_TOKEN = re.compile(r"^kofu_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")
_DUMMY_SHA256 = hashlib.sha256(b"kofu: no token has this id").hexdigest()


@dataclass(frozen=True)
class Issued:
    """A token just issued: its id, the secret shown this once, its expiry."""

    token_id: str
    secret: str
    expires_at: datetime


def digest(secret: str) -> str:
    """The SHA-256 of a token's text, as stored in the ledger."""
    return hashlib.sha256(secret.encode()).hexdigest()


def now() -> datetime:
    """The ledger's clock (domain/clock.py), the only one that decides expiry."""
    return clock.now()


def issue(
    ledger: Ledger,
    role: Role,
    scope: tuple[str, ...],
    name: str,
    actor: str,
    days: int = DEFAULT_TOKEN_DAYS,
) -> Issued:
    """Issue a token with a fresh random secret lasting `days`; only its hash is kept.

    Raises:
        InvalidInput: `days` is not 1 to MAX_TOKEN_DAYS.
    """
    from domain.errors import InvalidInput  # noqa: PLC0415

    if not 1 <= days <= MAX_TOKEN_DAYS:
        msg = f"a token lasts 1 to {MAX_TOKEN_DAYS} days, got {days}"
        raise InvalidInput(msg, field="--expires-in")
    token_id = secrets.token_hex(6)
    secret = f"kofu_{token_id}_{secrets.token_urlsafe(32)}"
    expires_at = now().replace(microsecond=0) + timedelta(days=days)
    ledger.issue_token(
        IssueToken(
            token_id=token_id,
            secret_sha256=digest(secret),
            role=role,
            scope=scope,
            name=name,
            actor=actor,
            expires_at=expires_at,
        )
    )
    return Issued(token_id, secret, expires_at)


TokenLookup = Callable[[str], tuple["AccessToken | None", tuple[int, ...]]]
"""A token by its id, folded from its stored events, and the positions of those no
trusted signed checkpoint covers (`adapters.storage.sealed.token_record`)."""


def authenticate(
    lookup: TokenLookup, secret: str, at: datetime | None = None
) -> AccessToken | None:
    """The live token whose secret this is, or None (unknown, wrong, revoked, expired).

    A malformed text is refused from its shape alone (that is public). Otherwise an
    unknown id is compared with a dummy hash, exactly as a known id is compared with
    its own: one `hmac.compare_digest` either way.

    Only sealed events are trusted: `lookup` folds the token from its own stored
    events and names those no trusted signed checkpoint covers; one of them is
    enough to refuse. A revocation counts even unsigned (failing closed): a
    revoked token is None before anything else is said.

    Raises:
        UnsignedTokenError: the secret matches a live token that no trusted
            signed checkpoint covers (the positions named).
    """
    match = _TOKEN.fullmatch(secret)
    if match is None:
        return None
    token, unsigned = lookup(match.group(1))
    expected = token.secret_sha256 if token is not None else _DUMMY_SHA256
    same = hmac.compare_digest(expected, digest(secret))
    if token is None or not same or token.revoked:
        return None
    if token.expired(at or now()):
        return None
    if unsigned:
        where = ", ".join(str(p) for p in unsigned)
        msg = (
            f"token {token.token_id} is not sealed (未封印): no trusted signed "
            f"checkpoint covers its event at position {where} (stored around the "
            "writer, or the writer has no signing key)"
        )
        raise UnsignedTokenError(msg)
    return token
