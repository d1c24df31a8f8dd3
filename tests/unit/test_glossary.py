"""Each word of domain/glossary.py is defined there and nowhere else.

Every module under domain/, projections/, adapters/ and scripts/ is parsed with
`ast`; outside the glossary none may define Japan's time zone
(`ZoneInfo("Asia/Tokyo")`, `timezone(timedelta(hours=9))`), an era table (a literal
holding 令和 or 平成 beside the year it began) or an era year computed into a string
(`f"令和{n}年度"`), or assign a hypothesis label (a string saying 仮説 or HYPOTHESIS)
to a module constant. The renderings keep their exact text.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain import glossary
from domain.glossary import (
    HYPOTHESIS_BADGE,
    HYPOTHESIS_MARKS,
    HYPOTHESIS_METHOD_JA,
    HYPOTHESIS_NOTE,
    era,
)

ROOT = Path(__file__).parents[2]
GLOSSARY = ROOT / "domain" / "glossary.py"
PACKAGES = ("domain", "projections", "adapters", "scripts")
ERA_NAMES = ("令和", "平成", "昭和")
HYPOTHESIS_WORDS = ("仮説", "HYPOTHESIS")


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _strings(node: ast.AST) -> Iterator[str]:
    """Every string literal inside an expression (f-string parts included)."""
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            yield child.value


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _is_jst(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    if _name(node.func) == "ZoneInfo":
        return any(s in {"Asia/Tokyo", "Japan"} for s in _strings(node))
    if _name(node.func) == "timedelta":
        hours = [k.value for k in node.keywords if k.arg == "hours"]
        return any(isinstance(h, ast.Constant) and h.value == 9 for h in hours)
    return False


def _is_era_table(node: ast.AST) -> bool:
    if not isinstance(node, ast.Dict | ast.Tuple | ast.List | ast.Set):
        return False
    values = [c.value for c in ast.walk(node) if isinstance(c, ast.Constant)]
    names = any(isinstance(v, str) and v.startswith(ERA_NAMES) for v in values)
    starts = any(type(v) is int and 1868 <= v <= 2100 for v in values)
    return names and starts


def _is_era_year(node: ast.AST) -> bool:
    """An f-string with a computed number right after an era name: f"令和{n}年度"."""
    if not isinstance(node, ast.JoinedStr):
        return False
    parts = node.values
    return any(
        isinstance(part, ast.Constant)
        and str(part.value).endswith(ERA_NAMES)
        and isinstance(after, ast.FormattedValue)
        for part, after in itertools.pairwise(parts)
    )


def _module_constants(tree: ast.Module) -> Iterator[tuple[int, str, ast.expr]]:
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    yield statement.lineno, target.id, statement.value
        elif (
            isinstance(statement, ast.AnnAssign)
            and statement.value is not None
            and isinstance(statement.target, ast.Name)
        ):
            yield statement.lineno, statement.target.id, statement.value


def _is_text(node: ast.expr) -> bool:
    """A string, an f-string, a concatenation of them or a tuple/list of strings."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    if isinstance(node, ast.Tuple | ast.List):
        return bool(node.elts) and all(_is_text(e) for e in node.elts)
    return False


def definitions(source: str) -> list[str]:
    """What a module's source defines that only the glossary may define."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if _is_jst(node):
            found.append(f"line {line}: the JST zone")
        elif _is_era_table(node):
            found.append(f"line {line}: an era table")
        elif _is_era_year(node):
            found.append(f"line {line}: an era year")
    for line, name, value in _module_constants(tree):
        if _is_text(value) and any(
            word in text for text in _strings(value) for word in HYPOTHESIS_WORDS
        ):
            found.append(f"line {line}: a hypothesis label ({name})")
    return found


def test_no_module_but_the_glossary_defines_a_glossary_word() -> None:
    modules = _modules()
    assert GLOSSARY in modules
    assert len(modules) > 100  # the whole tree was read
    found = {
        str(path.relative_to(ROOT)): hits
        for path in modules
        if path != GLOSSARY and (hits := definitions(path.read_text("utf-8")))
    }
    assert found == {}


def test_the_glossary_holds_each_word_the_check_looks_for() -> None:
    """The check finds every kind of definition, in the glossary itself."""
    hits = " ".join(definitions(GLOSSARY.read_text("utf-8")))
    assert "the JST zone" in hits
    assert "an era table" in hits
    assert "a hypothesis label (HYPOTHESIS_JA)" in hits
    assert "a hypothesis label (HYPOTHESIS_EN)" in hits


@pytest.mark.parametrize(
    "source",
    [
        'from zoneinfo import ZoneInfo\nTOKYO = ZoneInfo("Asia/Tokyo")\n',
        "from datetime import timedelta, timezone\n"
        "JAPAN = timezone(timedelta(hours=9))\n",
        'ERAS = {"令和": 2019, "平成": 1989}\n',
        'def wareki(y):\n    return f"令和{y - 2018}年度"\n',
        'LABEL = "【仮説 HYPOTHESIS】"\n',
        'NOTE = ("HYPOTHESIS: " "not published")\n',
        'MARKS: tuple[str, ...] = ("仮説", "HYPOTHESIS")\n',
    ],
)
def test_the_check_finds_a_second_definition(source: str) -> None:
    assert definitions(source)


@pytest.mark.parametrize(
    "source",
    [
        # uses of the glossary, and words inside calls or functions, are not labels
        "from domain.glossary import JST, HYPOTHESIS_NOTE\nZONE = JST\n",
        'COLUMN = Column("hypothesis", "boolean", "a rule labelled HYPOTHESIS")\n',
        'def note():\n    return ("仮説", "the size bands")\n',
        'TITLE = "令和2年度 (FY2020)"\n',
    ],
)
def test_the_check_passes_what_is_not_a_definition(source: str) -> None:
    assert definitions(source) == []


def test_each_rendering_keeps_its_text() -> None:
    assert HYPOTHESIS_MARKS == ("仮説", "HYPOTHESIS")
    assert HYPOTHESIS_BADGE == "【仮説 HYPOTHESIS】"
    assert HYPOTHESIS_NOTE == (
        "HYPOTHESIS (仮説): this run uses a rule that is not the published official "
        "formula; see its label and reference."
    )
    assert (
        HYPOTHESIS_METHOD_JA == "仮説（HYPOTHESIS）: 公表されていない算定式による試算"
    )
    assert glossary.JST.key == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("year", "shown"),
    [
        (2018, "平成30年度"),
        (2019, "令和元年度"),
        (2020, "令和2年度"),
        (2024, "令和6年度"),
        (1989, "平成元年度"),
    ],
)
def test_era(year: int, shown: str) -> None:
    assert era(year) == shown
