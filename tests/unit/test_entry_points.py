"""Entry points stay thin: they parse, call the facade or a query, and render."""

from __future__ import annotations

import importlib.util
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


# The facade, the named queries and the output layer (rendering, and the leaves
# they parse, write files and draw progress with): docs/ARCHITECTURE.md, Layers.
MAY_IMPORT = (
    "adapters.cli",
    "adapters.http",
    "adapters.web",
    "adapters.kofu",
    "adapters.queries",
    "adapters.reports",
    "adapters.common",
)


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_entry_points_import_only_the_facade_the_queries_and_the_output_layer() -> None:
    # An allow-list (import-linter's contract `thin-entry-points` lists what is
    # forbidden): a new package of adapters/ is outside it until it is placed.
    spec = importlib.util.spec_from_file_location(
        "import_cycles", ROOT / "scripts" / "import_cycles.py"
    )
    assert spec
    assert spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    fronts = tuple(p.replace("/", ".") for p in ENTRY_POINTS)
    outside = {
        module: sorted(
            m
            for m in imported
            if m.startswith("adapters.") and not _within(m, MAY_IMPORT)
        )
        for module, imported in script.import_graph().items()
        if _within(module, fronts)
    }
    assert {m: found for m, found in outside.items() if found} == {}
