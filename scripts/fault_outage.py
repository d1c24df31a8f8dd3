"""Outage trials on demand: PostgreSQL restarted while kofu commands run.

    .venv/bin/python scripts/fault_outage.py --trials 5 [--commands 24] [--seed 1]

Starts a throwaway PostgreSQL cluster (initdb in a temporary folder, a free port;
never the machine's shared server), and per trial: a fresh schema with Tokyo's FY2020
cycle, a stream of kofu commands (keyed submissions and corrections, allocations,
audit reads) while a thread stops (immediate or fast) and starts the server at
seeded random moments. tests/support/outage_trials.py lists what is checked afterwards.
"""

from __future__ import annotations

import argparse
import json
import random

from tests.support.outage_trials import Cluster, Report, trial


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--commands", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="Write the totals to this file.")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cluster = Cluster()
    reports: list[Report] = []
    try:
        for n in range(args.trials):
            report = trial(cluster, f"kofu_outage_{n}", rng, args.commands)
            reports.append(report)
            print(
                f"trial {n + 1:3d}: {report.commands} commands, {report.faults} "
                f"restarts, exits {dict(sorted(report.exits.items()))} "
                f"({report.cut_mid_command} cut mid-command), "
                f"{report.reruns} re-run: {'; '.join(report.problems) or 'ok'}"
            )
    finally:
        cluster.destroy()
    totals = summarise(reports)
    print(json.dumps(totals))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:  # noqa: PTH123
            json.dump(totals, out, indent=2)
    raise SystemExit(1 if totals["problems"] else 0)


def summarise(reports: list[Report]) -> dict[str, int]:
    """Totals over the trials."""
    return {
        "trials": len(reports),
        "commands": sum(r.commands for r in reports),
        "faults": sum(r.faults for r in reports),
        "exit_3": sum(r.exits.get(3, 0) for r in reports),
        "cut_mid_command": sum(r.cut_mid_command for r in reports),
        "reruns": sum(r.reruns for r in reports),
        "lost": sum(r.lost for r in reports),
        "duplicated": sum(r.duplicated for r in reports),
        "half_applied": sum(r.half_applied for r in reports),
        "problems": sum(len(r.problems) for r in reports),
    }


if __name__ == "__main__":
    main()
