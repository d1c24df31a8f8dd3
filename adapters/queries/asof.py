"""As-of queries: the ledger position a whole number or an ISO time names.

The read models caught up with the ledger, or as they stood at that position, come
from the application facade (`Kofu.store`, `Kofu.reading`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from domain.errors import InvalidInput

if TYPE_CHECKING:
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
