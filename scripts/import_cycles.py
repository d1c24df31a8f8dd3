"""List the import cycles among kofu's modules (exit 1 if there is one).

Every import counts: module-level, function-level and `TYPE_CHECKING` ones. Usage:
`.venv/bin/python scripts/import_cycles.py [--allow a.b<->c.d ...]`.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("adapters", "domain", "projections")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Each module and the kofu modules it imports."""
    modules = {
        module_name(p): p
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
    }

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            found |= {r for t in targets if (r := resolve(t)) and r != name}
        graph[name] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--allow", nargs="*", default=[], help="known a<->b cycles")
    allowed = set(parser.parse_args().allow)
    graph = import_graph()
    found = cycles(graph)
    for group in found:
        print("cycle:", "<->".join(group))
        for a in group:
            for b in sorted(graph[a] & set(group)):
                print(f"  {a} -> {b}")
    print(f"{len(found)} cycle(s) among {len(graph)} modules")
    return int(any("<->".join(g) not in allowed for g in found))


if __name__ == "__main__":
    sys.exit(main())
