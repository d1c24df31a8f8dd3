"""Bad input is refused with a clear message and the right exit code, writing nothing.

Each case runs on SQLite and on PostgreSQL against a small world (Tokyo and Kanagawa,
FY2020, one submission recorded) at the case's day on the simulated clock: inside the
submission window (`IN_WINDOW_DAY`), or after the deadline (`AFTER_DEADLINE`, where
the world also holds one keyed correction). The event count must be the same after
the refused command as before it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.clock import SimulatedClock
from tests.support.bad_input import CASES, Case, Worlds, prepared

__all__ = ["prepared"]  # the module-scoped worlds of tests/support/bad_input.py


def test_the_table_has_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_is_written(
    case: Case, prepared: Worlds, clock: SimulatedClock, tmp_path: Path
) -> None:
    clock.set_day(case.day)
    kofu = prepared.on(case.day)
    before = kofu.events()
    code, output = kofu(*case.args(tmp_path))
    assert code == case.exit_code, output
    assert case.message in output, output
    assert kofu.events() == before
