"""As-of queries: a ledger position, and the read models as they stand or stood.

A position is named by a whole number or an ISO time; the read models are read
caught up with the ledger, or as they stood at a past position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from adapters.kofu import Kofu
from adapters.storage.projecting import as_of
from domain.errors import InvalidInput

if TYPE_CHECKING:
    from adapters.storage.read_store import ReadStore
    from domain.ledger import Ledger


def position_as_of(ledger: Ledger, as_of: str, name: str = "--as-of") -> int:
    """A ledger position, or the last position recorded at or before a time.

    `name` is the option or field the value came in (`--as-of`, `as_of`), named in
    the message and as the field of the error.

    Raises:
        InvalidInput: neither a whole number nor an ISO date/time.
    """
    if as_of.isascii() and as_of.isdigit():
        # Past the head, the ledger stands as it does now.
        return min(int(as_of), ledger.count_events())
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError:
        msg = f"{name} takes a position (a whole number) or an ISO time, got {as_of!r}"
        raise InvalidInput(msg, field=name) from None
    if moment.tzinfo is None:
        msg = f"{name} time needs a time zone, e.g. 2019-12-27T18:00+09:00"
        raise InvalidInput(msg, field=name)
    return ledger.position_at(moment)


def fresh_store(ledger: Ledger) -> ReadStore:
    """The read store, caught up with the ledger before a read (`Kofu.store`)."""
    return Kofu(ledger=ledger).store()


@contextmanager
def reading(
    ledger: Ledger, as_of_text: str | None, live: Callable[[], ReadStore] | None = None
) -> Iterator[ReadStore]:
    """The live read models (from `live`, if given), or as they stood at a point."""
    if as_of_text is None:
        yield live() if live else fresh_store(ledger)
        return
    with as_of(ledger, position_as_of(ledger, as_of_text)) as store:
        yield store
