"""Several processes correcting the same self-evaluation at once lose nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

from adapters.bootstrap import open_ledger
from domain.self_evaluation import SelfEvaluation
from tests.conftest import Kofu

SHINJUKU = "131041"
PROCESSES = 6
CORRECTIONS_EACH = 4

WORKER = textwrap.dedent(
    """
    import sys
    from adapters.bootstrap import open_ledger
    from domain.commands import CorrectAnswer

    url, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ledger = open_ledger(url)
    for n in range(count):
        result = ledger.correct(CorrectAnswer(
            entity="131041", grant_year=2020, tier="municipal", item="II-12-b",
            value=f"{worker}.{n}", reason=f"worker {worker} correction {n}",
            basis="test", actor=f"ministry:worker{worker}", received_on="2019-11-20",
            idempotency_key=f"w{worker}-{n}",
        ))
        print(result.position, flush=True)
    ledger.close()
    """
)


def test_concurrent_corrections_are_all_recorded_exactly_once_in_order(
    world: Kofu, tmp_path: Path
) -> None:
    # Given a submitted self-evaluation
    answers = tmp_path / "a.json"
    answers.write_text(
        json.dumps(
            {
                "entity": SHINJUKU,
                "grant_year": 2020,
                "tier": "municipal",
                "received_on": "2019-10-10",
                "answers": {"II-12-b": "50"},
            }
        ),
        encoding="utf-8",
    )
    assert world("submit", answers)[0] == 0
    # When several processes correct the same item at the same time
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, world.url, str(w), str(CORRECTIONS_EACH)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(PROCESSES)
    ]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1][-2000:] for o in outputs]
    # Then every accepted correction is in the history exactly once, in a consistent order
    ledger = open_ledger(world.url)
    try:
        evaluation = ledger.self_evaluation(SHINJUKU, 2020, "municipal")
        history = ledger.history(evaluation.id)
    finally:
        ledger.close()
    corrections = [e for e in history if isinstance(e, SelfEvaluation.Corrected)]
    values = [e.change.after.number for e in corrections]
    expected = {
        Decimal(f"{w}.{n}") for w in range(PROCESSES) for n in range(CORRECTIONS_EACH)
    }
    assert len(values) == PROCESSES * CORRECTIONS_EACH
    assert set(values) == expected
    assert [e.originator_version for e in history] == list(range(1, len(history) + 1))
    for before, after in pairwise(corrections):
        assert after.change.before == before.change.after
    for w in range(PROCESSES):
        own = [v for v in values if int(v) == w]
        assert own == sorted(own)
    assert evaluation.answers["II-12-b"].number == values[-1]
