"""Retrying a read-decide-save attempt that lost a race, with jittered backoff.

A save that loses a race raises the library's IntegrityError (a stale aggregate,
an existing id or receipt, `StaleReadError`, or `RecordedBeforeNewest`); the
attempt is then run again after a random, growing wait (full jitter), so that
processes that lost a race to the same aggregate do not retry in lockstep.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import TypeVar

from eventsourcing.persistence import IntegrityError

from domain import clock
from domain.errors import RecordedBeforeNewest, Refused

T = TypeVar("T")

MAX_ATTEMPTS = 12
BACKOFF_SECONDS = 0.005
"""The first retry waits up to this long; each further one up to twice as long."""
BACKOFF_CAP_SECONDS = 0.25


class StaleReadError(IntegrityError):
    """Something a read relied on changed while it was read: read again.

    A lost race like a failed save, so `Ledger.retrying` reads again (jittered).
    """


def retrying(
    attempt: Callable[[], T], read_again: Callable[[], object], *, pinned: bool
) -> T:
    """Run `attempt` up to MAX_ATTEMPTS times, `read_again` after each lost race.

    A pinned attempt runs at one instant (`clock.instant()`).

    Raises:
        Refused: the newest recorded event lies in this process's future.
    """
    # Processes that lost a race to the same aggregate would otherwise retry in
    # lockstep and lose again: each waits a random, growing while (full jitter).
    for n in range(MAX_ATTEMPTS - 1):
        try:
            with clock.instant() if pinned else nullcontext():
                return attempt()
        except IntegrityError as error:
            if isinstance(error, RecordedBeforeNewest) and error.newest > clock.now():
                raise clock_behind(error) from None  # no retry can catch up
            _back_off(n)
            read_again()
    try:
        with clock.instant() if pinned else nullcontext():
            return attempt()
    except RecordedBeforeNewest as error:
        raise clock_behind(error) from None


def _back_off(n: int) -> None:
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_SECONDS * 2**n)
    time.sleep(random.uniform(0, ceiling))  # noqa: S311 - not a secret


def clock_behind(error: RecordedBeforeNewest) -> Refused:
    """The refusal of a command whose clock is behind the newest recorded event."""
    msg = (
        f"this process's clock ({error.attempted.isoformat()}) is behind the newest "
        f"recorded event ({error.newest.isoformat()}): kofu never records an event "
        "earlier than one already in the ledger; correct the machine's clock, or, "
        "if it is right, the newest event was timed in the future (a row written "
        "into the database by hand): no write succeeds before that time "
        "(docs/FAULTS.md, known limits)"
    )
    return Refused(msg, field="clock")


__all__ = [
    "BACKOFF_CAP_SECONDS",
    "BACKOFF_SECONDS",
    "MAX_ATTEMPTS",
    "StaleReadError",
    "clock_behind",
    "retrying",
]
