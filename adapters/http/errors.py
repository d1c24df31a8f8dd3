"""Errors as JSON: `{"error": message, "field": name}`, never a stack trace.

Refused by a rule of the domain: 409; bad input: 422; no, a revoked or an expired
token: 401; a role or scope that may not (also when the domain says so, `Forbidden`):
403; a body over the limit: 413; too many requests at once (per token, or as-of
reads): 429; storage unavailable: 503.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from adapters.kofu import Kofu
from adapters.reports.output import to_json
from domain.errors import Forbidden, InvalidInput, LedgerError

log = logging.getLogger("kofu.http")


class KofuJSON(Response):
    """JSON with decimals as text and dates ISO (no float ever touches money)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialise like the CLI's `--format json`."""
        return to_json(content, indent=False).encode()


class ApiError(HTTPException):
    """An error with its HTTP status, message and the field that failed.

    An `HTTPException`, so that routers that catch their own failures (the web
    pages') let it through to the app's handler.
    """

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(status_code=status, detail=message)
        self.status = status
        self.message = message
        self.field = field


def body(message: str, field: str | None) -> dict[str, Any]:
    """The error body every failure has."""
    return {"error": message, "field": field}


def _reply(status: int, message: str, field: str | None, **headers: str) -> Response:
    return Response(
        orjson.dumps(body(message, field)),
        status_code=status,
        media_type="application/json",
        headers=headers or None,
    )


def _validation(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "invalid request", None
    first = errors[0]
    where = [str(p) for p in first.get("loc", ()) if p not in {"body", "query"}]
    field = ".".join(where) or None
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{field or 'request'}: {message}{more}", field


def _browser_page(request: Request) -> bool:
    # A browser asking for a page (not an API client) is sent to the login form.
    return request.method == "GET" and (
        request.url.path.startswith("/pages")
        and "text/html" in request.headers.get("accept", "")
    )


def install(app: FastAPI) -> None:
    """Install the handlers that turn every failure into a JSON error body."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        if exc.status == 401 and _browser_page(request):  # noqa: PLR2004
            return RedirectResponse("/login", status_code=303)
        extra = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}  # noqa: PLR2004
        return _reply(exc.status, exc.message, exc.field, **extra)

    @app.exception_handler(LedgerError)
    async def ledger_error(_: Request, exc: LedgerError) -> Response:
        status = 409
        if isinstance(exc, InvalidInput):
            status = 422
        elif isinstance(exc, Forbidden):
            status = 403
        field = exc.field.removeprefix("--") if exc.field else None
        return _reply(status, exc.message, field)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> Response:
        message, field = _validation(exc)
        return _reply(422, message, field)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> Response:
        return _reply(exc.status_code, str(exc.detail), None)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Response:
        if Kofu.unavailable(exc):
            return _reply(503, f"storage unavailable: {exc}".strip(), None)
        log.error("unexpected error", exc_info=exc)
        return _reply(500, "internal error (logged on the server)", None)
