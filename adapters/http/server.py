"""`kofu serve`: uvicorn with kofu's connection limits (`Limits`).

uvicorn closes a keep-alive connection idle for `keep_alive_timeout` seconds, but
has no limit on how long a client may take to send a request's headers: a client
that opens a connection and sends nothing, or a byte now and then, holds it open.
`HeaderTimeoutProtocol` closes a connection whose request headers are not complete
`header_timeout` seconds after it opened (or after the previous answer).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from adapters.http.app import create_app
from adapters.http.config import Limits

if TYPE_CHECKING:
    from fastapi import FastAPI


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections slow to send their headers."""

    header_timeout = 10.0
    _headers_due: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the clock for the first request's headers."""
        super().connection_made(transport)  # type: ignore[arg-type]
        self._await_headers()

    def on_response_complete(self) -> None:
        """Start the clock for the next request's headers."""
        super().on_response_complete()
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        if self._headers_due is not None:
            self._headers_due.cancel()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
        self._headers_due = self.loop.call_later(self.header_timeout, self._too_slow)

    def _too_slow(self) -> None:
        # Still waiting for a request line and headers: h11 has not produced the
        # request, so the peer's state is IDLE. A request being served is left be.
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def server_config(app: FastAPI, host: str, port: int, limits: Limits) -> uvicorn.Config:
    """The uvicorn configuration of `kofu serve` (its timeouts and proxy trust)."""
    protocol = type(
        "KofuProtocol",
        (HeaderTimeoutProtocol,),
        {"header_timeout": limits.header_timeout},
    )
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "http": protocol,
        "log_level": "info",
        "timeout_keep_alive": limits.keep_alive_timeout,
        "proxy_headers": limits.trust_proxy,
        "forwarded_allow_ips": limits.forwarded_allow_ips,
    }
    return uvicorn.Config(app, **options)


def serve(host: str, port: int, database_url: str | None = None) -> None:
    """Serve the API until interrupted."""
    limits = Limits()
    app = create_app(database_url, limits)
    uvicorn.Server(server_config(app, host, port, limits)).run()
