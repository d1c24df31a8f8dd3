"""The web pages' dependencies: the ledger and its read store.

`get_ledger` opens the ledger named by `KOFU_DATABASE_URL` once per process and
database (opening reads the entity directory, which is not free) and shares it
between requests; the application may override it with
`app.dependency_overrides[get_ledger]`. `get_store` is the read store beside that
ledger, opened once and caught up with it before each page is read (as the CLI's
reads are). Both come from the application facade (`adapters.kofu.Kofu`), as the
API's do.

`get_viewer` is who is looking: None for the router alone (everything shows: the
tests' and an embedding application's), a `Viewer` (the caller's token) under
`kofu serve`, which overrides it; the pages then show each role its own. Pages
that write (a workbook upload, a confirmation) put `get_form_token`'s value in
their form, which `kofu serve` checks on submit (its CSRF defence, docs/API.md).
"""

from __future__ import annotations

from threading import Lock
from typing import Annotated, Protocol

from fastapi import Depends

from adapters.kofu import Kofu, ReadModels
from domain.ledger import Ledger

_FACADES: dict[str, Kofu] = {}
_LOCK = Lock()


def _kofu() -> Kofu:
    # One ledger and one read store per process and database, as `kofu serve` has.
    url = Kofu.database_url()
    with _LOCK:
        if url not in _FACADES:
            _FACADES[url] = Kofu(url)
        return _FACADES[url]


def get_ledger() -> Ledger:
    """The configured ledger (opened on first use, then shared)."""
    return _kofu().ledger


def close_ledgers() -> None:
    """Close every ledger opened by `get_ledger` (at application shutdown)."""
    with _LOCK:
        for kofu in _FACADES.values():
            kofu.close()
        _FACADES.clear()


def get_store() -> ReadModels:
    """The read store (opened once), caught up with the ledger."""
    return _kofu().store()


def get_kofu() -> Kofu:
    """The facade the pages write through (a workbook upload, a confirmation)."""
    return _kofu()


class Viewer(Protocol):
    """Who looks at a page: a role and the entities it acts for (a token's)."""

    @property
    def role(self) -> str:
        """ministry, auditor, reader, insurer or prefecture."""

    @property
    def scope(self) -> tuple[str, ...]:
        """The LG codes an insurer or prefecture acts for (empty for the others)."""

    @property
    def actor(self) -> str:
        """The actor its commands are recorded with."""

    def sees(self, entity: str) -> bool:
        """Whether it may read an entity's pages."""

    def actor_for(self, entity: str) -> str:
        """The actor of a command about `entity`."""


def get_viewer() -> Viewer | None:
    """Who is looking (None: the router alone, which shows everything)."""
    return None


def get_form_token() -> str:
    """The value a writing form carries for the CSRF check ("" for the router alone)."""
    return ""


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
StoreDep = Annotated[ReadModels, Depends(get_store)]
KofuDep = Annotated[Kofu, Depends(get_kofu)]
ViewerDep = Annotated[Viewer | None, Depends(get_viewer)]
FormTokenDep = Annotated[str, Depends(get_form_token)]
