"""`/`, `/login` and `/logout`: a form that puts a token in the `kofu_token` cookie.

`/` leads a browser whose cookie opens the pages to them, and any other to the form.

Roles that have pages (ministry, auditor, insurer, prefecture: `PAGE_ROLES`) may
log in; a reader's token has none. The cookie is HttpOnly,
SameSite=Strict, lives `Limits.session_seconds` at most (never past the token's
expiry), and is Secure when the request came over TLS (directly, or through a proxy
whose X-Forwarded-Proto `kofu serve` was told to trust). It opens only safe (GET)
requests (`auth.principal`), so a page another site makes a browser post cannot
issue a command with it. `/logout` removes the cookie from the browser (revoking the
token is `kofu tokens revoke`). No JavaScript.
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adapters.http.auth import COOKIE, token_of
from adapters.http.service import service
from domain import clock
from domain.tokens import AccessToken, UnsignedTokenError

router = APIRouter(include_in_schema=False)
PAGE_ROLES = frozenset({"ministry", "auditor", "insurer", "prefecture"})
"""The roles that have pages (each sees its own: adapters/web/pages.py)."""

_FORM = """<!doctype html><html lang="ja"><head><meta charset="utf-8">
<title>kofu ログイン</title></head><body>
<h1>kofu (交付) 交付台帳のページ</h1>{message}
<form method="post" action="/login">
<label>トークン (token) <input type="password" name="token" size="60"></label>
<button type="submit">ログイン</button></form></body></html>"""


def _form(message: str = "", status: int = 200) -> HTMLResponse:
    alert = f"<p role='alert'>{escape(message)}</p>" if message else ""
    return HTMLResponse(_FORM.format(message=alert), status_code=status)


@router.get("/", response_model=None)
def home(request: Request) -> Response:
    """The pages for a signed-in browser, the login form otherwise (303 either way)."""
    secret = request.cookies.get(COOKIE)
    found = token_of(request, secret) if secret else None
    # An unsealed token (UnsignedTokenError) opens nothing: to the login form.
    signed_in = isinstance(found, AccessToken) and found.role in PAGE_ROLES
    return RedirectResponse("/pages/" if signed_in else "/login", status_code=303)


@router.get("/login")
def form() -> HTMLResponse:
    """The login form."""
    return _form()


@router.post("/login", response_model=None)
def log_in(request: Request, token: Annotated[str, Form()]) -> Response:
    """Check the token; set the cookie and go to the pages, or show the form again."""
    server = service(request)
    try:
        found = server.authenticate(token)
    except UnsignedTokenError as unsigned:
        return _form(f"トークンが封印されていません (unsealed): {unsigned}", 401)
    if found is None:
        return _form("トークンが無効です (unknown, revoked or expired token)", 401)
    if found.role not in PAGE_ROLES:
        message = (
            f"{found.role} のトークンではページを開けません "
            f"(the {found.role} role has no pages: its reads are the API's)"
        )
        return _form(message, 403)
    left = int((found.expires_at - clock.now()).total_seconds())
    max_age = max(1, min(server.limits.session_seconds, left))
    response = RedirectResponse("/pages/", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout", response_model=None)
def log_out(request: Request) -> Response:
    """Remove the cookie and go back to the login form."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        COOKIE, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response
