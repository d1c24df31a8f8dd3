"""The pages under `kofu serve`: who is looking, and the CSRF defence of their forms.

Every role with a token opens the pages (`adapters/web`), each seeing its own: the
caller is the pages' `Viewer`. A page that writes is a form posted with the login
cookie, so a page on another site could make a logged-in browser post it. Such a
post is accepted only if

* its `Origin` (when the browser sends one) is this server's own, and its
  `Sec-Fetch-Site` (when sent) is `same-origin`; and
* its `csrf` field holds this session's form token: an HMAC of the cookie's token
  under a key made when the server starts (so it changes with the session, and
  another site cannot compute it: the cookie is HttpOnly and SameSite=Strict).

Anything else is refused (403) before the handler runs, and nothing is written.
Every other cookie request stays read-only (`auth.principal`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from adapters.http.auth import (
    BEARER,
    COOKIE,
    COOKIE_SCHEME,
    SAFE_METHODS,
    Principal,
)
from adapters.http.auth import principal as caller
from adapters.http.credentials import CSRF_CHECKED
from adapters.http.errors import ApiError

CSRF_FIELD = "csrf"
_KEY = secrets.token_bytes(32)
"""The form tokens' key, made when the server starts (tokens die with it)."""


def form_token_of(secret: str) -> str:
    """The form token of a session (the HMAC of its cookie's token)."""
    return hmac.new(_KEY, secret.encode(), hashlib.sha256).hexdigest()


def form_token(request: Request) -> str:
    """The form token of this request's session ("" without a cookie)."""
    secret = request.cookies.get(COOKIE)
    return form_token_of(secret) if secret else ""


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


async def _check_form(request: Request, secret: str | None) -> None:
    """Refuse (403) a form that is not this server's own page's, for this session."""
    origin = request.headers.get("origin")
    if origin is not None and origin != _own_origin(request):
        msg = f"a form posted from another origin ({origin}) is refused"
        raise ApiError(403, msg, "Origin")
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in {"same-origin", "none"}:
        msg = f"a form posted from a {site} page is refused"
        raise ApiError(403, msg, "Sec-Fetch-Site")
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if (
        not secret
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent, form_token_of(secret))
    ):
        msg = "the form's CSRF token is missing or not this session's: reload the page"
        raise ApiError(403, msg, CSRF_FIELD)
    request.scope[CSRF_CHECKED] = True


async def page_viewer(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
    cookie: Annotated[str | None, Security(COOKIE_SCHEME)] = None,
) -> Principal:
    """The caller of a page (any role); a form's CSRF check first (401/403)."""
    if request.method not in SAFE_METHODS and bearer is None:
        await _check_form(request, cookie)
    return caller(request, bearer, cookie)
