"""PostgreSQL restarted while kofu commands run: exit 0 or 3, nothing half-applied.

A throwaway cluster (never the shared server) is stopped and started during most
commands of a short stream; tests/support/outage_trials.py says what is checked.
`scripts/fault_outage.py --trials N` runs longer streams. PostgreSQL only: SQLite is
a file in the process, it has no server to lose.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from domain.ledger import Ledger
from domain.receipts import CommandReceipt
from tests.support.outage_trials import OUTAGE_ACTOR, Cluster, Step, presence, trial


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    started = Cluster()
    yield started
    started.destroy()


def test_commands_cut_by_a_restart_exit_3_and_are_whole_or_absent(
    cluster: Cluster,
) -> None:
    report = trial(cluster, "kofu_outage", random.Random(20261126), 10)  # noqa: S311
    assert report.faults >= 4, report
    assert report.exits.get(3, 0) >= 1, report
    assert set(report.exits) <= {0, 3}, report
    assert report.problems == [], report.problems
    assert (report.lost, report.duplicated, report.half_applied) == (0, 0, 0)


def test_the_check_sees_a_receipt_without_its_event_as_half_applied(
    ledger: Ledger,
) -> None:
    step = Step("correct", (), (("131041", "k-1", "1.5"), ("131041", "k-2", "2.5")))
    assert presence(ledger, step) == [0, 0]
    ledger.save(CommandReceipt.record("k-1", "CorrectAnswer", "x", OUTAGE_ACTOR))
    assert presence(ledger, step) == [-1, 0]
