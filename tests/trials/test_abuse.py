"""The hostile-input corpus (tests/support/abuse_corpus.py) on SQLite and on PostgreSQL.

Each refused input: the expected exit code, a message naming the file, line or field,
no traceback, and the same event count afterwards. Each hostile-looking but harmless
reason: recorded exactly as given, shown verbatim in JSON and escaped in HTML.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.clock import SimulatedClock
from tests.conftest import correction
from tests.support.abuse_corpus import (
    REFUSED,
    VERBATIM,
    refusal_problems,
    verbatim_problems,
)
from tests.support.bad_input import AFTER_DEADLINE, CASES, Case, Worlds, plain, prepared

__all__ = ["prepared"]  # the module-scoped world of tests/support/bad_input.py


def test_the_corpus_has_at_least_fifty_distinct_hostile_inputs() -> None:
    names = [c.name for c in REFUSED] + VERBATIM
    assert len(names) >= 50
    assert len(set(names)) == len(names)
    assert not {c.name for c in REFUSED} & {c.name for c in CASES}


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_hostile_input_is_refused_with_its_place_named_and_nothing_written(
    case: Case, prepared: Worlds, clock: SimulatedClock, tmp_path: Path
) -> None:
    clock.set_day(case.day)
    assert refusal_problems(prepared.on(case.day), case, tmp_path) == []


@pytest.mark.parametrize("reason", VERBATIM)
def test_hostile_looking_text_is_stored_verbatim_and_rendered_safely(
    reason: str, prepared: Worlds, clock: SimulatedClock
) -> None:
    clock.set_day(AFTER_DEADLINE)
    value = str(40 + VERBATIM.index(reason))
    assert verbatim_problems(prepared.after_deadline, reason, value) == []


def test_the_checks_see_a_wrong_exit_a_vague_message_and_a_write(
    prepared: Worlds, clock: SimulatedClock, tmp_path: Path
) -> None:
    clock.set_day(AFTER_DEADLINE)
    accepted = Case("x", 2, "nowhere", plain(*correction(**{"--value": "true"})))
    assert len(refusal_problems(prepared.after_deadline, accepted, tmp_path)) == 3
