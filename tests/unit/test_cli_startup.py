"""`kofu --help` and `kofu --version` load no ledger, storage or Excel code.

The command line imports what a command needs inside that command (issue 19:
`kofu --help` in under 0.3 s; `scripts/bench_startup.py` measures it). This test
counts modules, not seconds: in a fresh interpreter, after the help of the CLI and
of each command group is printed, none of the heavy packages is loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from domain import __version__

ROOT = Path(__file__).parents[2]
# (pydantic is not among them: typer itself imports it, for pydantic-typed options)
HEAVY = (
    "eventsourcing",
    "psycopg",
    "openpyxl",
    "jinja2",
    "fastapi",
    "cryptography",
    "adapters.kofu",
    "adapters.storage",
    "domain.ledger",
)
_PROBE = """
import json, sys
from adapters.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stderr.write(json.dumps(sorted(sys.modules)))
"""


def _loaded(*args: str) -> tuple[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    return done.stdout, json.loads(done.stderr.splitlines()[-1])


@pytest.mark.parametrize(
    "args", [["--help"], ["--version"], ["tokens", "--help"], ["grant", "--help"]]
)
def test_help_and_version_load_nothing_heavy(args: list[str]) -> None:
    shown, modules = _loaded(*args)
    assert shown.strip()
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)
    heavy += [m for m in modules if any(m.startswith(h + ".") for h in HEAVY)]
    assert heavy == []


def test_version_prints_the_version() -> None:
    shown, _ = _loaded("--version")
    assert shown.strip() == f"kofu {__version__}"
