"""The two ways a command is turned away.

`InvalidInput` means the input itself is wrong (exit code 2); `Refused` means the
input is well-formed but a rule of the domain forbids it (exit code 1). Both carry the
field (or file and line, added by adapters) that failed, and both are raised before
anything is written.
"""

from __future__ import annotations

from datetime import datetime

from eventsourcing.persistence import IntegrityError


class LedgerError(Exception):
    """Base of the errors a command reports to its caller."""

    exit_code = 1

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.origin: str | None = None

    def __str__(self) -> str:
        parts = (self.origin, self.field, self.message)
        return ": ".join(p for p in parts if p)


class InvalidInput(LedgerError):  # noqa: N818 - reads as a verdict, like the exit code
    """The input is malformed or names something that does not exist."""

    exit_code = 2


class Refused(LedgerError):  # noqa: N818
    """A rule of the domain forbids the command."""

    exit_code = 1


class RecordedBeforeNewest(IntegrityError):  # noqa: N818 - a verdict, like Refused
    """A store refused events timed before the newest event it already holds.

    Recorded times never go backwards in log order. It is a lost race when another
    writer committed in between (the command retries with a new time), and a clock
    that is behind when the newest event lies in this process's future.
    """

    def __init__(self, attempted: datetime, newest: datetime) -> None:
        super().__init__(
            f"an event timed {attempted.isoformat()} would follow one recorded at "
            f"{newest.isoformat()}"
        )
        self.attempted = attempted
        self.newest = newest


class Forbidden(Refused):
    """The actor's role or scope may not do this, whatever the input (HTTP 403)."""
