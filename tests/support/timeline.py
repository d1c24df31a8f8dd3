"""One shared past timeline for the processes of a trial (the server owns time).

kofu records every event at its own clock's time and refuses an event timed before
the newest stored one, so processes writing to one ledger at once must tell the same
time. A `Timeline` is a past moment `start` read at the machine's moment `at`: every
process that installs its `OffsetClock(start, at)` runs on the same clock (the
machine's, shifted by the same offset), whenever it started. There is no variable or
option of kofu that sets its time: a child process gets the timeline as arguments of
its own `-c` code (`argv()`) and installs it in its own Python (`installed()`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from domain.clock import JST, OffsetClock

__all__ = ["KOFU", "Timeline", "jst"]


def jst(day: date, hour: int = 10) -> datetime:
    """`hour`:00 JST on `day`."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=JST)


@dataclass(frozen=True)
class Timeline:
    """`start` at the machine's moment `at` (default: when the timeline is made)."""

    start: datetime
    at: datetime = field(default_factory=lambda: datetime.now(tz=UTC))

    def clock(self) -> OffsetClock:
        """The running clock of this timeline."""
        return OffsetClock(self.start, self.at)

    def argv(self) -> list[str]:
        """The timeline as two command-line arguments (see `from_argv`)."""
        return [self.start.isoformat(), self.at.isoformat()]

    @classmethod
    def from_argv(cls, argv: Sequence[str]) -> Timeline:
        """The timeline given by `argv()`."""
        return cls(datetime.fromisoformat(argv[0]), datetime.fromisoformat(argv[1]))


KOFU = """
import sys
from datetime import datetime
from adapters.cli.main import main
from domain.clock import OffsetClock, installed

start, at = (datetime.fromisoformat(a) for a in sys.argv[1:3])
with installed(OffsetClock(start, at)):
    main(sys.argv[3:])
"""
"""`python -c KOFU <timeline.argv()> <kofu arguments>`: kofu on a trial's timeline."""
