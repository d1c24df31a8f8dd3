"""A prefecture's submission-status board: its entities, how far each got, deadlines.

Every registered entity of the prefecture is on the board, those that have not
opened a self-evaluation too (未提出): the `submission_status` read model only holds
the ones that have. The programme year's schedule gives the deadlines.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adapters.queries.submissions import submission_status
from domain.errors import InvalidInput

if TYPE_CHECKING:
    from datetime import date, datetime

    from adapters.kofu import ReadModels
    from domain.ledger import Ledger

STATUS_JA = {
    None: "未提出",
    "opened": "未提出（作成中）",
    "submitted": "提出済",
    "revised": "修正提出済",
    "confirmed": "確認済",
    "corrected": "補正済",
}
"""The board's words for each status (None: no self-evaluation at all)."""
CONFIRMABLE = frozenset({"submitted", "revised"})
"""Statuses a prefecture may confirm from the board."""


@dataclass(frozen=True)
class BoardRow:
    """One entity on the board."""

    lg_code: str
    name: str
    tier: str
    status: str | None
    revisions: int
    confirmations: int
    last_recorded_at: datetime | str | None

    @property
    def status_ja(self) -> str:
        """The status in Japanese."""
        return STATUS_JA.get(self.status, self.status or "")

    @property
    def confirmable(self) -> bool:
        """Whether the prefecture may confirm it now (a municipality's answers)."""
        return self.tier == "municipal" and self.status in CONFIRMABLE


@dataclass(frozen=True)
class Board:
    """The board of one prefecture and grant year."""

    prefecture: str
    rows: list[BoardRow]
    opens: date | None
    closes: date | None
    phases: dict[str, date]

    def count(self, *statuses: str | None) -> int:
        """How many rows have one of these statuses."""
        return sum(row.status in statuses for row in self.rows)


def board(ledger: Ledger, store: ReadModels, prefecture: str, grant_year: int) -> Board:
    """The board of `prefecture` (2-digit code) for `grant_year`."""
    found = {
        (row.tier, row.entity): row
        for row in submission_status(store, grant_year, prefecture=prefecture)
    }
    rows = []
    members = [e for e in ledger.entities() if e.prefecture_code == prefecture]
    for details in sorted(members, key=lambda e: (e.kind != "prefecture", e.lg_code)):
        tier = "prefectural" if details.kind == "prefecture" else "municipal"
        status = found.get((tier, details.lg_code))
        rows.append(
            BoardRow(
                lg_code=details.lg_code,
                name=details.name,
                tier=tier,
                status=status.status if status else None,
                revisions=status.revisions if status else 0,
                confirmations=status.confirmations if status else 0,
                last_recorded_at=status.last_recorded_at if status else None,
            )
        )
    opens = closes = None
    phases: dict[str, date] = {}
    with suppress(InvalidInput):  # a year whose programme is not recorded yet
        schedule = ledger.programme(grant_year).spec.schedule
        opens, closes = schedule.submission_opens, schedule.submission_closes
        in_order = sorted(schedule.phases.items(), key=lambda pair: pair[1])
        phases = {str(phase): day for phase, day in in_order}
    return Board(prefecture, rows, opens, closes, phases)
