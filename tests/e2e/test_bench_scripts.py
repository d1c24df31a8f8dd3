"""The verification and sealing benchmarks still run (at a tiny scale, no timing).

`scripts/bench_verify.py` (issue 15 part 5: full and incremental verify, inclusion
proofs) on both backends and `scripts/bench_seal.py` (what sealing costs), each as
a user runs it, into a JSON file: the scripts are not in the timed suite, so this
keeps them from rotting. The figures themselves are not judged here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_BASE

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _run(script: str, *args: str | Path) -> dict[str, object]:
    out = Path(str(args[-1]))
    done = subprocess.run(
        [sys.executable, SCRIPTS / script, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        cwd=SCRIPTS,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return dict(json.loads(out.read_text(encoding="utf-8")))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_bench_verify_runs(backend: str, tmp_path: Path) -> None:
    extra = ["--sqlite"] if backend == "sqlite" else []
    result = _run(
        "bench_verify.py",
        "--url",
        PG_BASE.split("?")[0],
        *extra,
        "--events",
        "100",
        "--new",
        "30",
        "--proofs",
        "50",
        "--json",
        tmp_path / "verify.json",
    )
    assert result["backend"] == backend
    assert result["new_events"] == 30
    assert result["proofs"] == 50
    assert int(str(result["events"])) > 0
    assert float(str(result["proof_p99_ms"])) >= float(str(result["proof_p50_ms"]))


@pytest.mark.slow
def test_bench_seal_runs(tmp_path: Path) -> None:
    result = _run(
        "bench_seal.py",
        "--url",
        PG_BASE.split("?")[0],
        "--sqlite",
        "--repeat",
        "1",
        "--limit",
        "20",
        "--json",
        tmp_path / "seal.json",
    )
    assert result["submissions"] == 20
    for backend in ("postgres", "sqlite"):
        figures = result[backend]
        assert isinstance(figures, dict)
        assert int(figures["events_per_submit"]) > 0
