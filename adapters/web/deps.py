"""The web pages' dependencies: the ledger and its read store.

`get_ledger` opens the ledger named by `KOFU_DATABASE_URL` once per process and
database (opening reads the entity directory, which is not free) and shares it
between requests; the application may override it with
`app.dependency_overrides[get_ledger]`. `get_store` is the read store beside that
ledger, caught up with it before each page is read (as the CLI's reads are).
"""

from __future__ import annotations

from threading import Lock
from typing import Annotated

from fastapi import Depends

from adapters.bootstrap import open_ledger
from adapters.cli.projections import fresh_store
from adapters.read_store import ReadStore
from adapters.settings import database
from domain.ledger import Ledger

_OPENED: dict[str, Ledger] = {}
_LOCK = Lock()


def get_ledger() -> Ledger:
    """The configured ledger (opened on first use, then shared)."""
    url = database().url
    with _LOCK:
        if url not in _OPENED:
            _OPENED[url] = open_ledger(url)
        return _OPENED[url]


def close_ledgers() -> None:
    """Close every ledger opened by `get_ledger` (at application shutdown)."""
    with _LOCK:
        for ledger in _OPENED.values():
            ledger.close()
        _OPENED.clear()


def get_store(ledger: Annotated[Ledger, Depends(get_ledger)]) -> ReadStore:
    """The read store, caught up with the ledger."""
    return fresh_store(ledger)


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
StoreDep = Annotated[ReadStore, Depends(get_store)]
