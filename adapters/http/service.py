"""The application facade behind the API: one per server, shared by its threads.

Reads run side by side; commands run one at a time in this process (the ledger's
own optimistic concurrency still guards against other processes), and each
command extends the tamper-evidence chain as the CLI does (`adapters.kofu.Kofu`).
"""

from __future__ import annotations

from fastapi import Request

from adapters.http.asof import AsOfStores
from adapters.http.config import Limits
from adapters.kofu import Kofu, ReadModels
from domain.ledger import Ledger
from domain.tokens import AccessToken


class Service:
    """The server's facade (`kofu`), its limits and its cached as-of stores."""

    def __init__(self, url: str | None, limits: Limits | None = None) -> None:
        self.url = url
        self.limits = limits or Limits()
        self.as_of = AsOfStores(self.limits.as_of_slots, self.limits.as_of_cache)
        self.kofu = Kofu(url)

    @property
    def ledger(self) -> Ledger:
        """The ledger (opened now if it was not; StorageUnavailableError if down)."""
        return self.kofu.ledger

    def store(self) -> ReadModels:
        """The read store caught up with the ledger (`Kofu.store`)."""
        return self.kofu.store()

    def authenticate(self, secret: str) -> AccessToken | None:
        """The live token of this secret, or None (`Kofu.authenticate`)."""
        return self.kofu.authenticate(secret)

    def close(self) -> None:
        """Close the cached as-of stores and the ledger (if it was opened)."""
        self.as_of.close()
        self.kofu.close()


def service(request: Request) -> Service:
    """The service of the app serving this request."""
    found = request.app.state.service
    assert isinstance(found, Service)  # noqa: S101
    return found


def kofu(request: Request) -> Kofu:
    """The application facade of the app serving this request."""
    return service(request).kofu


def store(request: Request) -> ReadModels:
    """The caught-up read store of the app serving this request."""
    return service(request).store()


def ledger(request: Request) -> Ledger:
    """The ledger of the app serving this request (a FastAPI dependency)."""
    return service(request).ledger
