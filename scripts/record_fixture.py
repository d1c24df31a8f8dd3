"""Record the fixture ledger tests/fixtures/ledger-fy2020-tokyo.db with today's code.

The demo for one prefecture (Tokyo, FY2020, seed 1) on SQLite, through the application
facade (so the tamper-evidence chain is extended as the CLI's `kofu demo` does), then
`VACUUM` with a 1 KiB page size to keep the committed file small. No read-model tables:
the test builds them from the events. Usage:
`.venv/bin/python scripts/record_fixture.py [PATH]` (default: the fixture's place).
Re-record only on purpose (a change the old ledgers need not survive): the fixture's
point is that ledgers recorded by older code keep loading, verifying and replaying.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from adapters.kofu import Kofu, run_demo
from adapters.storage.bootstrap import open_ledger
from adapters.storage.integrity import Chain

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "ledger-fy2020-tokyo.db"


def main() -> int:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURE
    target.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with Kofu(f"sqlite:///{target}") as kofu:
        tally = run_demo(kofu.ledger, 2020, 1, Console(quiet=True), prefectures={"13"})
        events = kofu.ledger.count_events()
    connection = sqlite3.connect(target)
    try:
        connection.execute("PRAGMA journal_mode=DELETE")
        connection.execute("PRAGMA page_size=1024")
        connection.execute("VACUUM")
    finally:
        connection.close()
    # VACUUM may renumber the rowids (the notification ids) of a table with gaps in
    # them: the chain, which hashes the ids, would then no longer match.
    ledger = open_ledger(f"sqlite:///{target}")
    try:
        finding, checked = Chain(ledger).verify()
    finally:
        ledger.close()
    if finding is not None or checked != events:
        print(f"{target}: not intact after VACUUM: {finding}", file=sys.stderr)
        return 1
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    print(f"{target}: {events} events, {target.stat().st_size} bytes, code at {commit}")
    print(tally)
    return 0


if __name__ == "__main__":
    sys.exit(main())
