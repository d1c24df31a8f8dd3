"""The bounds of the HTTP surface: bodies, requests per token, as-of reads, headers.

`Limits` reads them from the environment (`KOFU_…`, docs/API.md lists each with its
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

`AsOfStores` bounds the work of as-of reads (`?as_of=` on scores and submissions):
at most `as_of_slots` are built at a time, the next is answered 429 at once, and the
last `as_of_cache` built are kept (on disk) for the next read at the same position.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import orjson
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.datastructures import Headers, MutableHeaders

from adapters.http.errors import ApiError, body

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from adapters.read_store import ReadStore
    from domain.ledger import Ledger
    from domain.tokens import AccessToken


class Limits(BaseSettings):
    """The HTTP server's limits (environment variables `KOFU_<NAME>`)."""

    model_config = SettingsConfigDict(env_prefix="KOFU_", frozen=True)

    max_body_bytes: int = Field(default=1_048_576, ge=1_024)
    """Largest request body (bytes); a larger one is 413."""
    requests_per_token: int = Field(default=8, ge=1)
    """Requests one token may have in flight; the next is 429."""
    as_of_slots: int = Field(default=1, ge=1)
    """As-of read models built at the same time; the next is 429."""
    as_of_cache: int = Field(default=4, ge=0)
    """As-of read models kept for the next read at the same position."""
    header_timeout: float = Field(default=10.0, gt=0)
    """Seconds a connection may take to send a request's headers."""
    keep_alive_timeout: int = Field(default=5, ge=1)
    """Seconds an idle keep-alive connection stays open."""
    session_seconds: int = Field(default=8 * 3600, ge=60)
    """Max-Age of the login cookie (never past the token's expiry)."""
    trust_proxy: bool = False
    """Believe X-Forwarded-Proto/For from `forwarded_allow_ips` (a TLS proxy)."""
    forwarded_allow_ips: str = "127.0.0.1"
    """The proxies believed when `trust_proxy` is on."""


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
TOKEN_SCOPE_KEY = "kofu.token"  # noqa: S105 - a scope key, not a secret
"""Where `Guard` leaves the (secret, token) it authenticated for `auth.principal`."""
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
        token: AccessToken | None = None
        if secret:
            token = await anyio.to_thread.run_sync(self.authenticate, secret)
            scope[TOKEN_SCOPE_KEY] = (secret, token)
        if (
            _has_body(scope["method"], headers)
            and scope["path"] not in _PUBLIC_WITH_BODY
            and (bearer is None or token is None)
        ):
            # Refused from its headers: the body is never read.
            message = (
                "a request with a body needs a valid token: Authorization: Bearer "
                "<token> (the kofu_token cookie opens the pages only)"
            )
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


def authenticated(scope: Scope, secret: str) -> tuple[bool, AccessToken | None]:
    """What `Guard` found for this secret, if it authenticated it (found, token)."""
    seen = scope.get(TOKEN_SCOPE_KEY)
    if seen is not None and seen[0] == secret:
        return True, seen[1]
    return False, None


@dataclass
class _Built:
    stack: ExitStack
    store: ReadStore
    readers: int = 0


class AsOfBusyError(ApiError):
    """Every as-of slot is building: 429, answered at once."""

    def __init__(self, slots: int) -> None:
        super().__init__(
            429,
            f"{slots} as_of read(s) are being built already; try again shortly "
            "(or read without as_of)",
            "as_of",
        )


class AsOfStores:
    """Read models as they stood at a position: built `slots` at a time, cached."""

    def __init__(self, slots: int, keep: int) -> None:
        self.slots = slots
        self.keep = keep
        self._free = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._built: OrderedDict[int, _Built] = OrderedDict()
        self.builds = 0

    @contextmanager
    def reading(self, ledger: Ledger, position: int) -> Iterator[ReadStore]:
        """The read models at `position` (AsOfBusyError when every slot is taken).

        Raises:
            AsOfBusyError: no slot is free and `position` is not cached.
        """
        built = self._cached(position)
        if built is None:
            built = self._build(ledger, position)
        try:
            yield built.store
        finally:
            with self._lock:
                built.readers -= 1
                self._evict()

    def _cached(self, position: int) -> _Built | None:
        with self._lock:
            built = self._built.get(position)
            if built is not None:
                built.readers += 1
                self._built.move_to_end(position)
            return built

    def _build(self, ledger: Ledger, position: int) -> _Built:
        from adapters.projecting import as_of  # noqa: PLC0415

        if not self._free.acquire(blocking=False):
            raise AsOfBusyError(self.slots)
        try:
            again = self._cached(position)  # built while this one waited
            if again is not None:
                return again
            stack = ExitStack()
            try:
                store = stack.enter_context(as_of(ledger, position))
            except BaseException:
                stack.close()
                raise
            built = _Built(stack, store, readers=1)
            with self._lock:
                self.builds += 1
                self._built[position] = built
                self._evict()
            return built
        finally:
            self._free.release()

    def _evict(self) -> None:
        # Under the lock: close the oldest unread stores beyond `keep`.
        while len(self._built) > self.keep:
            idle = next((p for p, b in self._built.items() if b.readers == 0), None)
            if idle is None:
                return
            self._built.pop(idle).stack.close()

    def close(self) -> None:
        """Close every cached store."""
        with self._lock:
            while self._built:
                self._built.popitem()[1].stack.close()
