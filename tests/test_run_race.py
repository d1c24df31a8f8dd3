"""A run records exactly what it read: corrections racing its read do not leak in.

Worker processes commit ministry corrections while `allocate` (record_phase) reads
its inputs; the run's `reading` hook holds the read until a correction has
committed after the position the run noted. Every run must then replay from its
recorded ledger prefix to the same output, on both backends.
"""

from __future__ import annotations

from adapters.bootstrap import open_ledger
from adapters.integrity import record_phase
from adapters.replay import replay_many
from domain.runs import AllocationRun
from tests.run_race_trials import Workers, prepare, wait_for_head

TRIALS = 20


def test_every_run_replays_although_corrections_commit_during_its_read(
    database_url: str,
) -> None:
    prepare(database_url)
    ledger = open_ledger(database_url)
    workers = Workers(database_url)
    runs: list[AllocationRun] = []
    overlapped = 0
    try:
        for trial in range(TRIALS):
            noted: dict[str, int] = {}

            def reading(position: int, trial: int = trial, noted: dict = noted) -> None:
                if noted:  # a retried read: the corrections have been sent
                    return
                noted["position"] = position
                workers.start(trial)
                noted["head"] = wait_for_head(ledger, position)

            recorded = record_phase(
                ledger, 2020, "provisional", "ministry:race", reading=reading
            )
            corrections = workers.positions(trial)
            if any(noted["position"] < p <= noted["head"] for p in corrections):
                overlapped += 1  # committed after the noted position, before reading
            for run in recorded:
                inputs = run.calculated.inputs
                assert inputs.ledger_position == noted["position"]
                assert inputs.ledger_sha256 is not None
            runs.extend(recorded)
    finally:
        workers.stop()
    try:
        replays = replay_many(ledger, runs)
    finally:
        ledger.close()
    assert overlapped >= TRIALS // 2, f"only {overlapped} of {TRIALS} trials raced"
    assert len(replays) == len(runs) == 4 * TRIALS
    differing = {r.run_id: len(r.differences) for r in replays if not r.same}
    print(f"{overlapped} of {TRIALS} trials raced")  # noqa: T201 - shown with -s
    assert differing == {}, (
        f"{overlapped} of {TRIALS} trials raced; "
        f"{sum(differing.values())} differences: {differing}"
    )
