"""`/login`: a form that puts a token in the `kofu_token` cookie for the pages.

The cookie is HttpOnly and SameSite=Strict, and opens only safe (GET) requests
(`auth.principal`), so a page another site makes a browser post cannot issue a
command with it. No JavaScript.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adapters.http.auth import COOKIE
from adapters.http.service import service
from adapters.tokens import authenticate

router = APIRouter(include_in_schema=False)

_FORM = """<!doctype html><html lang="ja"><head><meta charset="utf-8">
<title>kofu ログイン</title></head><body>
<h1>kofu (交付) 監査ページ</h1>{message}
<form method="post" action="/login">
<label>トークン (token) <input type="password" name="token" size="60"></label>
<button type="submit">ログイン</button></form></body></html>"""


@router.get("/login")
def form() -> HTMLResponse:
    """The login form."""
    return HTMLResponse(_FORM.format(message=""))


@router.post("/login", response_model=None)
def log_in(request: Request, token: Annotated[str, Form()]) -> Response:
    """Check the token; set the cookie and go to the pages, or show the form again."""
    if authenticate(service(request).ledger, token) is None:
        message = "<p role='alert'>トークンが無効です (unknown or revoked token)</p>"
        return HTMLResponse(_FORM.format(message=message), status_code=401)
    response = RedirectResponse("/pages/", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
    return response
