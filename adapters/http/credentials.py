"""A request's credentials, and what the `Guard` middleware found for them.

`Guard` (limits.py) authenticates a request carrying a body from its headers before
reading it and leaves the (secret, token) under `TOKEN_SCOPE_KEY`; `auth.principal`
then takes it from there instead of looking the token up again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from domain.tokens import UnsignedTokenError

if TYPE_CHECKING:
    from starlette.datastructures import Headers
    from starlette.types import Scope

    from domain.tokens import AccessToken

TOKEN_SCOPE_KEY = "kofu.token"  # noqa: S105 - a scope key, not a secret
"""Where `Guard` leaves the (secret, token) it authenticated for `auth.principal`."""
CSRF_CHECKED = "kofu.csrf_checked"
"""Set in the scope once a page form's CSRF token and origin were checked
(`pages.page_viewer`): only then does the cookie open a request that writes."""
PAGE_FORMS = "/pages/"
"""Where the forms that write with the cookie live (their body may be read)."""


BODY_REFUSED = (
    "a request with a body needs a valid token: Authorization: Bearer "
    "<token> (the kofu_token cookie opens the pages only)"
)
"""Why a request with a body and no valid Bearer token is refused (`Guard`)."""


def checked(
    authenticate: Callable[[str], AccessToken | None], secret: str
) -> AccessToken | UnsignedTokenError | None:
    """The token of `secret`, None, or the `UnsignedTokenError` it raised."""
    try:
        return authenticate(secret)
    except UnsignedTokenError as unsigned:
        return unsigned


def credentials(headers: Headers) -> tuple[str | None, str | None]:
    """The Bearer token and the `kofu_token` cookie of a request (or None)."""
    bearer = None
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        bearer = value.strip()
    cookie = None
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "kofu_token" and value:
            cookie = value
    return bearer, cookie


def authenticated(
    scope: Scope, secret: str
) -> tuple[bool, AccessToken | UnsignedTokenError | None]:
    """What `Guard` found for this secret, if it authenticated it (found, token).

    The token, None (unknown, wrong, revoked, expired) or the `UnsignedTokenError`
    it raised (no trusted signed checkpoint covers it).
    """
    seen = scope.get(TOKEN_SCOPE_KEY)
    if seen is not None and seen[0] == secret:
        return True, seen[1]
    return False, None
