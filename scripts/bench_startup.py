"""Benchmark: how long `kofu --help` takes to start, beside `python -c pass` (issue 19).

Runs each command --runs times in fresh processes, alternating, and reports the
medians and the difference (kofu's own start-up: the goal is under 0.3 s). The
entry point is the installed `kofu` script of this virtual environment.

    .venv/bin/python scripts/bench_startup.py [--runs 20] [--output FILE.json]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchlib import write_result

KOFU = Path(sys.executable).parent / "kofu"


def _time(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603
    return time.perf_counter() - started


def main() -> None:
    """Measure and print; write the JSON result if asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "kofu --help": [str(KOFU), "--help"],
        "kofu --version": [str(KOFU), "--version"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            times[name].append(_time(command))
    baseline = statistics.median(times["python -c pass"])
    rows = []
    for name, measured in times.items():
        median = statistics.median(measured)
        rows.append(
            {
                "figure": name,
                "kofu_s": round(median, 4),
                "baseline_s": round(baseline, 4),
                "ratio": round(median / baseline, 2) if baseline else None,
                "own_s": round(median - baseline, 4),
            }
        )
        print(f"{name:16} median {median:.3f} s  (own {median - baseline:.3f} s)")
    if args.output:
        write_result(args.output, {"runs": args.runs, "figures": rows})


if __name__ == "__main__":
    main()
