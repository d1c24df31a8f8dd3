"""The web pages' dependencies: the ledger and its read store.

`get_ledger` opens the ledger named by `KOFU_DATABASE_URL` once per process and
database (opening reads the entity directory, which is not free) and shares it
between requests; the application may override it with
`app.dependency_overrides[get_ledger]`. `get_store` is the read store beside that
ledger, opened once and caught up with it before each page is read (as the CLI's
reads are). Both come from the application facade (`adapters.kofu.Kofu`), as the
API's do.
"""

from __future__ import annotations

from threading import Lock
from typing import Annotated

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


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
StoreDep = Annotated[ReadModels, Depends(get_store)]
