"""The import graph: the query layer stands below the CLI, HTTP and web layers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "scripts" / "import_cycles.py"
KNOWN_CYCLES: list[list[str]] = []
"""None left: issue 14 ended the last three (read_models/scores, output/xlsx,
database_rebuild/projecting)."""


def _graph() -> tuple[dict[str, set[str]], list[list[str]]]:
    spec = importlib.util.spec_from_file_location("import_cycles", SCRIPT)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_cycles", module)
    spec.loader.exec_module(module)
    graph = module.import_graph()
    return graph, module.cycles(graph)


def test_no_new_import_cycle() -> None:
    _, found = _graph()
    assert sorted(found) == KNOWN_CYCLES


def test_only_the_cli_imports_the_cli_and_queries_import_no_front_end() -> None:
    graph, _ = _graph()
    fronts = ("adapters.cli", "adapters.http", "adapters.web")
    for module, imported in graph.items():
        if module.startswith("adapters.queries"):
            assert not {m for m in imported if m.startswith(fronts)}, module
        if not module.startswith("adapters.cli"):
            assert not {m for m in imported if m.startswith("adapters.cli")}, module
