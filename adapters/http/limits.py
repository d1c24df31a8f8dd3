"""The bounds of the HTTP surface: bodies, requests per token, as-of reads, headers.

The limits are read from the environment (`KOFU_…`, docs/API.md lists each with its
default). `Guard` is a pure ASGI middleware in front of the app:

* a request that carries a body to anything but `/login` is authenticated from its
  headers first; without a valid Bearer token it is answered 401 and its body is
  never read (a command never takes the cookie);
* an authenticated caller has at most `requests_per_token` requests in flight; the
  next one is answered 429 at once;
* a body is bounded by `max_body_bytes`: one whose Content-Length is over it is
  answered 413 at once; a chunked one is counted as it streams and reading stops
  at the limit (413 too), so no more than the limit is ever held;
* every answer carries the security headers (`SECURITY_HEADERS`); a route that sets
  its own Content-Security-Policy (the API documentation) keeps it.

`Limits` is in `adapters/http/config.py`; `AsOfStores`, which bounds as-of reads,
in `adapters/http/asof.py`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import orjson
from starlette.datastructures import Headers, MutableHeaders

from adapters.http.credentials import BODY_REFUSED as REFUSED
from adapters.http.credentials import PAGE_FORMS, TOKEN_SCOPE_KEY, checked, credentials
from adapters.http.errors import ApiError, body
from domain.tokens import UnsignedTokenError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from adapters.http.config import Limits
    from domain.tokens import AccessToken


CSP_PAGES = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""No script at all; the pages' own inline styles; forms post only here."""
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_PUBLIC_WITH_BODY = frozenset({"/login", "/logout"})
_NO_BODY = {"GET", "HEAD", "OPTIONS"}


def _has_body(method: str, headers: Headers) -> bool:
    if "transfer-encoding" in headers:
        return True
    length = headers.get("content-length")
    if length is None:
        return method not in _NO_BODY
    return length.strip() != "0"


def _declared(headers: Headers) -> int:
    try:
        return int(headers.get("content-length", "0"))
    except ValueError:
        return 0


async def _answer(
    send: Send, status: int, message: str, field: str | None, **extra: str
) -> None:
    content = orjson.dumps(body(message, field))
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        *SECURITY_HEADERS,
        (b"content-security-policy", CSP_PAGES.encode()),
        *((k.lower().encode(), v.encode()) for k, v in extra.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


@dataclass
class Guard:
    """Authentication before bodies, requests per token, security headers."""

    app: ASGIApp
    limits: Limits
    authenticate: Any  # Callable[[str], AccessToken | None], run in a thread
    _in_flight: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 401/429 at once, or pass the request on with the headers added."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        bearer, cookie = credentials(headers)
        secret = bearer or cookie
        found: AccessToken | UnsignedTokenError | None = None
        if secret:
            found = await anyio.to_thread.run_sync(checked, self.authenticate, secret)
            scope[TOKEN_SCOPE_KEY] = (secret, found)
        token = None if isinstance(found, UnsignedTokenError) else found
        page_form = (
            bearer is None
            and token is not None
            and scope["path"].startswith(PAGE_FORMS)
        )
        if (
            _has_body(scope["method"], headers)
            and scope["path"] not in _PUBLIC_WITH_BODY
            and (bearer is None or token is None)
            and not page_form
        ):
            # Refused from its headers: the body is never read.
            unsigned = bearer and isinstance(found, UnsignedTokenError)
            message = str(found) if unsigned else REFUSED
            await _answer(send, 401, message, "Authorization", **_challenge())
            return
        if _declared(headers) > self.limits.max_body_bytes:
            # Refused from its Content-Length alone (a chunked body is counted as
            # it streams, by FastAPI's max_body_size).
            message = (
                f"the request body is over the {self.limits.max_body_bytes:,}-byte "
                "limit"
            )
            await _answer(send, 413, message, "body")
            return
        receive = _bounded(receive, self.limits.max_body_bytes)
        if token is None:
            await self.app(scope, receive, _secured(send))
            return
        token_id = token.token_id
        with self._lock:
            running = self._in_flight.get(token_id, 0)
            if running >= self.limits.requests_per_token:
                busy = True
            else:
                busy = False
                self._in_flight[token_id] = running + 1
        if busy:
            message = (
                f"this token already has {self.limits.requests_per_token} requests "
                "in flight; wait for one to finish"
            )
            await _answer(send, 429, message, "Authorization", **{"Retry-After": "1"})
            return
        try:
            await self.app(scope, receive, _secured(send))
        finally:
            with self._lock:
                left = self._in_flight[token_id] - 1
                if left:
                    self._in_flight[token_id] = left
                else:
                    del self._in_flight[token_id]


def _bounded(receive: Receive, limit: int) -> Receive:
    """`receive`, refusing (413) the chunk that takes the body past `limit` bytes."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # An HTTPException: FastAPI lets it through its body reading to the
                # app's handler (a JSON 413), where other errors become 400.
                msg = f"the request body is over the {limit:,}-byte limit"
                raise ApiError(413, msg, "body")
        return message

    return counted


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": "Bearer"}


def _secured(send: Send) -> Send:
    async def secured(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in SECURITY_HEADERS:
                headers[name.decode()] = value.decode()
            if "content-security-policy" not in headers:
                headers["content-security-policy"] = CSP_PAGES
        await send(message)

    return secured
