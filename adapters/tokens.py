"""Token secrets: made here, shown once, kept in the ledger only as a SHA-256.

A token reads `kofu_<id>_<secret>`: the id finds the token's aggregate without a
scan, and the SHA-256 of the whole text is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.ledger import Ledger
    from domain.tokens import AccessToken, Role

_TOKEN = re.compile(r"^kofu_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class Issued:
    """A token just issued: its id, and the secret shown this once."""

    token_id: str
    secret: str


def digest(secret: str) -> str:
    """The SHA-256 of a token's text, as stored in the ledger."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(
    ledger: Ledger, role: Role, scope: tuple[str, ...], name: str, actor: str
) -> Issued:
    """Issue a token with a fresh random secret; only its hash is recorded."""
    token_id = secrets.token_hex(6)
    secret = f"kofu_{token_id}_{secrets.token_urlsafe(32)}"
    ledger.issue_token(token_id, digest(secret), role, scope, name, actor)
    return Issued(token_id, secret)


def authenticate(ledger: Ledger, secret: str) -> AccessToken | None:
    """The live token whose secret this is, or None (unknown, wrong or revoked)."""
    match = _TOKEN.fullmatch(secret)
    if match is None:
        return None
    token = ledger.access_token(match.group(1))
    if token is None or token.revoked:
        return None
    if not hmac.compare_digest(token.secret_sha256, digest(secret)):
        return None
    return token
