"""kill -9 during an allocation run, a bulk import and a rebuild: nothing half-applied.

A few seeded trials per backend run here; `scripts/fault_crashes.py --trials 20`
runs as many as asked.
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.conftest import Kofu
from tests.support.crash_trials import KINDS, prepare, trial


def test_killed_commands_leave_no_partial_state_and_complete_when_redone(
    kofu: Kofu, tmp_path: Path
) -> None:
    prepare(kofu.url)
    rng = random.Random(20261126)  # noqa: S311 - seeded trials
    results = [
        trial(KINDS[n % len(KINDS)], kofu.url, tmp_path, rng, n) for n in range(6)
    ]
    assert any(r.killed for r in results)
    assert [r.problems for r in results] == [()] * len(results), results
