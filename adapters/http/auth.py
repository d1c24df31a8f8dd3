"""Who is calling: a token (Bearer header or `kofu_token` cookie) to a `Principal`.

`require_roles(*roles)` is the FastAPI dependency every route (and the web pages'
router) depends on: no token, an unknown, revoked or expired one is 401; a role that may
not is 403. A principal's scope says which entities it acts for and reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from adapters.http.credentials import CSRF_CHECKED, authenticated, checked
from adapters.http.errors import ApiError
from adapters.http.service import service
from domain.roles import Role
from domain.tokens import AccessToken, UnsignedTokenError

COOKIE = "kofu_token"
BEARER = HTTPBearer(auto_error=False, description="kofu_<id>_<secret>")
COOKIE_SCHEME = APIKeyCookie(name=COOKIE, auto_error=False, description="the web pages")
EVERYTHING: frozenset[str] = frozenset({"ministry", "auditor"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """The caller: its token, role, name and the entities it acts for."""

    token_id: str
    role: Role
    name: str
    scope: tuple[str, ...]

    @property
    def actor(self) -> str:
        """The actor recorded with its commands (`insurer:131016`, `ministry:x`)."""
        if self.role in {"insurer", "prefecture"}:
            return f"{self.role}:{self.scope[0]}"
        return f"{self.role}:{self.name}"

    def actor_for(self, entity: str) -> str:
        """The actor of a command about `entity` (an insurer acts as that entity)."""
        if self.role == "insurer" and entity in self.scope:
            return f"insurer:{entity}"
        return self.actor

    def sees(self, entity: str) -> bool:
        """Whether this caller may read (or act for) an entity's data."""
        if self.role == "insurer":
            return entity in self.scope
        if self.role == "prefecture":
            return entity[:2] == self.scope[0][:2]
        return True

    @property
    def sees_trail(self) -> bool:
        """Whether this caller may see who set an answer and why (not a reader)."""
        return self.role != "reader"

    @property
    def sees_all(self) -> bool:
        """Whether every entity is in scope (ministry, auditor, reader)."""
        return self.role not in {"insurer", "prefecture"}

    def check_entity(self, entity: str, field: str = "entity") -> None:
        """Refuse (403) an entity outside this caller's scope.

        Raises:
            ApiError: the entity is not in scope.
        """
        if not self.sees(entity):
            msg = f"the {self.role} {', '.join(self.scope)} may not see {entity}"
            raise ApiError(403, msg, field)


def principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
    cookie: Annotated[str | None, Security(COOKIE_SCHEME)] = None,
) -> Principal:
    """The caller of this request.

    Raises:
        ApiError: 401 without a token, or with an unknown, revoked or expired one,
            or one that no trusted signed checkpoint covers (未封印).
    """
    if (
        bearer is None
        and cookie
        and request.method not in SAFE_METHODS
        and not request.scope.get(CSRF_CHECKED)
    ):
        # A browser sends the cookie with any form another site makes it post;
        # only the pages' own forms, CSRF-checked (`pages.page_viewer`), may write.
        msg = "the kofu_token cookie opens the pages only; commands take a Bearer token"
        raise ApiError(401, msg, "Authorization")
    secret = bearer.credentials if bearer else cookie
    if not secret:
        msg = "a token is needed: Authorization: Bearer <token> (or kofu_token cookie)"
        raise ApiError(401, msg, "Authorization")
    token = token_of(request, secret)
    if isinstance(token, UnsignedTokenError):
        raise ApiError(401, str(token), "Authorization")
    if token is None:
        raise ApiError(401, "unknown, revoked or expired token", "Authorization")
    return Principal(token.token_id, token.role, token.name, token.scope)


def token_of(request: Request, secret: str) -> AccessToken | UnsignedTokenError | None:
    """The token of `secret`: what `Guard` found for it, else looked up now.

    None for an unknown, revoked or expired one; the `UnsignedTokenError` for one
    no trusted signed checkpoint covers.
    """
    found, token = authenticated(request.scope, secret)
    return token if found else checked(service(request).authenticate, secret)


def require_roles(*roles: Role) -> Callable[..., Principal]:
    """A dependency that admits only callers of these roles (403 for the rest)."""
    allowed = frozenset(roles)

    def admitted(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if who.role not in allowed:
            msg = f"the {who.role} role may not do this (needs {' or '.join(roles)})"
            raise ApiError(403, msg, "Authorization")
        return who

    return admitted
