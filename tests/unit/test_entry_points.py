"""Entry points stay thin: they parse, call the facade or a query, and render."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = ("adapters/cli", "adapters/http", "adapters/web")
MOST_LINES = 200


@pytest.mark.parametrize("package", ENTRY_POINTS)
def test_no_entry_point_module_is_over_200_lines(package: str) -> None:
    modules = sorted((ROOT / package).glob("*.py"))
    assert modules, package
    long = {
        m.name: n
        for m in modules
        if (n := len(m.read_text(encoding="utf-8").splitlines())) > MOST_LINES
    }
    assert long == {}, f"{package}: split these (issue 13): {long}"
