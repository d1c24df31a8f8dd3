"""The hostile-input corpus (tests/abuse_corpus.py) on SQLite and on PostgreSQL.

Each refused input: the expected exit code, a message naming the file, line or field,
no traceback, and the same event count afterwards. Each hostile-looking but harmless
reason: recorded exactly as given, shown verbatim in JSON and escaped in HTML.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from markupsafe import escape

from tests.abuse_corpus import REFUSED, VERBATIM
from tests.conftest import SHINJUKU, Kofu, correction
from tests.test_bad_input import CASES, Case, prepared

__all__ = ["prepared"]  # the module-scoped world of tests/test_bad_input.py


def test_the_corpus_has_at_least_fifty_distinct_hostile_inputs() -> None:
    names = [c.name for c in REFUSED] + VERBATIM
    assert len(names) >= 50
    assert len(set(names)) == len(names)
    assert not {c.name for c in REFUSED} & {c.name for c in CASES}


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_hostile_input_is_refused_with_its_place_named_and_nothing_written(
    case: Case, prepared: Kofu, tmp_path: Path
) -> None:
    before = prepared.events()
    code, output = prepared(*case.args(tmp_path))
    assert code == case.exit_code, output
    assert case.message in output, output
    assert "Traceback" not in output
    assert prepared.events() == before


@pytest.mark.parametrize("reason", VERBATIM)
def test_hostile_looking_text_is_stored_verbatim_and_rendered_safely(
    reason: str, prepared: Kofu
) -> None:
    value = str(40 + VERBATIM.index(reason))
    code, output = prepared(
        *correction(**{"--reason": reason, "--item": "II-12-b", "--value": value})
    )
    assert code == 0, output
    code, output = prepared("audit", "-e", SHINJUKU, "-y", "2020", "-f", "json")
    assert code == 0, output
    reasons = [row.get("reason") for row in json.loads(output)]
    assert reasons.count(reason) == 1
    code, page = prepared("audit", "-e", SHINJUKU, "-y", "2020", "-f", "html")
    assert code == 0, page
    assert str(escape(reason)) in page
    assert "<script>" not in page
