"""The ledger behind the API: opened on first use, shared by the server's threads.

Reads run side by side; commands run one at a time in this process (the ledger's
own optimistic concurrency still guards against other processes), and each
command extends the tamper-evidence chain as the CLI does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from fastapi import Request

from adapters.bootstrap import open_ledger
from adapters.integrity import Chain
from domain.ledger import Ledger

T = TypeVar("T")


class Service:
    """One ledger per server process."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self._ledger: Ledger | None = None
        self._opening = threading.Lock()
        self._writing = threading.Lock()

    @property
    def ledger(self) -> Ledger:
        """The ledger (opened now if it was not; StorageUnavailableError if down)."""
        if self._ledger is None:
            with self._opening:
                if self._ledger is None:
                    self._ledger = open_ledger(self.url)
        return self._ledger

    def write(self, command: Callable[[Ledger], T]) -> T:
        """Run a command alone, then extend the chain over what it recorded."""
        ledger = self.ledger
        with self._writing:
            result = command(ledger)
            Chain(ledger).extend()
        return result

    def close(self) -> None:
        """Close the ledger (if it was opened)."""
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None


def service(request: Request) -> Service:
    """The service of the app serving this request."""
    found = request.app.state.service
    assert isinstance(found, Service)  # noqa: S101
    return found


def ledger(request: Request) -> Ledger:
    """The ledger of the app serving this request (a FastAPI dependency)."""
    return service(request).ledger
