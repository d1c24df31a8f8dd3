"""Crash trials on demand: kill -9 during allocation runs, bulk imports and rebuilds.

    .venv/bin/python scripts/fault_crashes.py --trials 20 [--url postgresql://...]

Each trial starts a command in its own process, kills it (SIGKILL) at a seeded
random moment after start-up and before it would finish, runs it again, and checks:
every listed run exists whole (allocated + remainder = budget), the read models
equal a rebuild from zero (nothing projected twice or skipped), no audit row twice.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from tests.support.crash_trials import KINDS, prepare, trial


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--url", default=None, help="PostgreSQL base URL; default SQLite"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="kofu-crash-"))
    schema = f"kofu_crash_{uuid.uuid4().hex[:8]}"
    url = (
        f"{args.url.split('?')[0]}?schema={schema}"
        if args.url
        else f"sqlite:///{folder / 'kofu.db'}"
    )
    prepare(url)
    rng = random.Random(args.seed)
    killed = problems = 0
    try:
        for n in range(args.trials):
            result = trial(KINDS[n % len(KINDS)], url, folder, rng, n)
            killed += result.killed
            problems += len(result.problems)
            print(
                f"trial {n + 1:3d} {result.kind:9s} kill after {result.delay:5.2f} s "
                f"{'killed' if result.killed else 'finished first'}: "
                f"{'; '.join(result.problems) or 'ok'}"
            )
    finally:
        if args.url:
            with psycopg.connect(args.url.split("?")[0], autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        sql.Identifier(schema)
                    )
                )
    print(f"{args.trials} trials, {killed} killed mid-run, {problems} problems found")
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
