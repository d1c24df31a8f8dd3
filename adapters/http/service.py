"""The ledger behind the API: opened on first use, shared by the server's threads.

Reads run side by side; commands run one at a time in this process (the ledger's
own optimistic concurrency still guards against other processes), and each
command extends the tamper-evidence chain as the CLI does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from typing import TypeVar

from eventsourcing.persistence import IntegrityError
from fastapi import Request

from adapters.bootstrap import open_ledger
from adapters.http.limits import AsOfStores, Limits
from adapters.integrity import Chain
from adapters.projecting import catch_up, open_store
from adapters.read_store import ReadStore
from adapters.tokens import authenticate
from domain.ledger import Ledger
from domain.tokens import AccessToken

T = TypeVar("T")


class Service:
    """One ledger per server process."""

    def __init__(self, url: str | None, limits: Limits | None = None) -> None:
        self.url = url
        self.limits = limits or Limits()
        self.as_of = AsOfStores(self.limits.as_of_slots, self.limits.as_of_cache)
        self._ledger: Ledger | None = None
        self._opening = threading.Lock()
        self._writing = threading.Lock()
        self._projecting = threading.Lock()
        self._store: ReadStore | None = None

    @property
    def ledger(self) -> Ledger:
        """The ledger (opened now if it was not; StorageUnavailableError if down)."""
        if self._ledger is None:
            with self._opening:
                if self._ledger is None:
                    self._ledger = open_ledger(self.url)
        return self._ledger

    def store(self) -> ReadStore:
        """The read store, opened once and caught up with the ledger before a read.

        One thread catches up at a time; a follower in another process projecting
        at the same moment makes the library refuse the duplicate position, and
        its rows are then read as they are.
        """
        ledger = self.ledger
        with self._projecting:
            if self._store is None:
                self._store = open_store(ledger)
            with suppress(IntegrityError):
                catch_up(ledger, self._store)
            return self._store

    def authenticate(self, secret: str) -> AccessToken | None:
        """The live token of this secret, or None (`adapters.tokens.authenticate`)."""
        return authenticate(self.ledger, secret)

    def write(self, command: Callable[[Ledger], T]) -> T:
        """Run a command alone, then extend the chain over what it recorded."""
        ledger = self.ledger
        with self._writing:
            result = command(ledger)
            Chain(ledger).extend()
        return result

    def close(self) -> None:
        """Close the cached as-of stores and the ledger (if it was opened)."""
        self.as_of.close()
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None


def service(request: Request) -> Service:
    """The service of the app serving this request."""
    found = request.app.state.service
    assert isinstance(found, Service)  # noqa: S101
    return found


def store(request: Request) -> ReadStore:
    """The caught-up read store of the app serving this request."""
    return service(request).store()


def ledger(request: Request) -> Ledger:
    """The ledger of the app serving this request (a FastAPI dependency)."""
    return service(request).ledger
