"""The ledger's clock: the one source of every recording time.

The server owns time. No caller chooses the time its own action is recorded at: every
event's `timestamp` comes from `now()`, and the dates that window and deadline rules
compare (`today()`) are that same instant's date in Japan (JST). The stores refuse an
event recorded earlier than the newest stored one (adapters/storage/recorders.py), so
recorded times never go backwards in log order, whatever the clock of a process says.

The demo and the tests need past dates: they install a `SimulatedClock` inside their
own process (`installed(...)`). There is deliberately no environment variable or
command-line option that does this.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from domain.glossary import JST


class Clock(Protocol):
    """Something that tells the time."""

    def now(self) -> datetime:
        """The current moment, timezone-aware."""
        ...


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        """The current moment."""
        return datetime.now(tz=UTC)


class SimulatedClock:
    """A clock set by hand, for the demo and the tests; it never runs backwards."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)

    def now(self) -> datetime:
        """The moment the clock was last set to."""
        return self._now

    def set(self, moment: datetime) -> None:
        """Move the clock forward to `moment` (a moment before now is refused).

        Raises:
            ValueError: `moment` lies before the clock's time.
        """
        moment = _aware(moment)
        if moment < self._now:
            msg = f"a simulated clock does not run backwards ({self._now} -> {moment})"
            raise ValueError(msg)
        self._now = moment

    def set_day(self, day: date, hour: int = 10) -> None:
        """Move the clock forward to `hour`:00 JST on `day` (never backwards)."""
        moment = datetime(day.year, day.month, day.day, hour, tzinfo=JST)
        self.set(max(moment, self._now))

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by `delta`."""
        self.set(self._now + delta)


class OffsetClock:
    """The machine's clock moved by a fixed offset: a past time that still runs.

    Processes of one trial that install the same offset share one timeline, as
    processes on the system clock do.
    """

    def __init__(self, start: datetime, at: datetime | None = None) -> None:
        """Read `start` at the machine's moment `at` (default: now)."""
        self.offset = _aware(start) - (at or datetime.now(tz=UTC))

    def now(self) -> datetime:
        """The machine's moment plus the offset."""
        return datetime.now(tz=UTC) + self.offset


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        msg = "a clock's time must be timezone-aware"
        raise ValueError(msg)
    return moment.astimezone(UTC)


_clock: Clock = SystemClock()
_pinned: ContextVar[datetime | None] = ContextVar("kofu_pinned_instant", default=None)


def now() -> datetime:
    """The recording time: the pinned instant inside `instant()`, else the clock's."""
    return _pinned.get() or _clock.now()


def today() -> date:
    """The date in Japan of `now()`: what window and deadline rules compare."""
    return jst_date(now())


def jst_date(moment: datetime) -> date:
    """The date in Japan of a moment."""
    return moment.astimezone(JST).date()


@contextmanager
def instant() -> Iterator[datetime]:
    """Pin one instant for a command's attempt: its checks and events agree on it.

    Nested blocks keep the outer instant.
    """
    outer = _pinned.get()
    if outer is not None:
        yield outer
        return
    token = _pinned.set(_clock.now())
    try:
        yield _pinned.get() or _clock.now()
    finally:
        _pinned.reset(token)


@contextmanager
def installed(clock: Clock) -> Iterator[Clock]:
    """Use `clock` in this process for the block (the demo and the tests)."""
    global _clock  # noqa: PLW0603 - the process's one clock, by design
    previous, _clock = _clock, clock
    try:
        yield clock
    finally:
        _clock = previous


def current() -> Clock:
    """The clock in use in this process."""
    return _clock


__all__ = [
    "JST",
    "Clock",
    "OffsetClock",
    "SimulatedClock",
    "SystemClock",
    "current",
    "installed",
    "instant",
    "jst_date",
    "now",
    "today",
]
