"""A run records exactly what it read: corrections racing its read do not leak in.

Worker processes commit ministry corrections while `allocate` (record_phase) reads
its inputs; the run's `reading` hook holds the read until a correction has
committed after the position the run noted. Every run must then replay from its
recorded ledger prefix to the same output, on both backends. Two in-process
cases show the two ways a read stays consistent: an entity registered during the
read is left out (rolled back), a programme amended during it makes the run read
again (stale).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from adapters.kofu import record_phase
from adapters.runtools.replay import replay, replay_many
from adapters.storage.bootstrap import open_ledger
from domain.allocation_run import AllocationRun
from domain.clock import installed
from domain.commands import DefineProgramme, RegisterEntities
from domain.entities import Entity
from domain.ledger import Ledger
from tests.support.run_race_trials import Workers, prepare, timeline, wait_for_head

TRIALS = 20
KAMAKURA = Entity.Details(
    lg_code="142042",
    kind="municipality",
    prefecture_code="14",
    name="鎌倉市",
    name_kana="かまくらし",
)


@pytest.fixture
def anchor() -> float:
    """The machine's moment at which the trial's timeline starts."""
    return time.time()


@pytest.fixture
def demo(database_url: str, anchor: float) -> Iterator[Ledger]:
    """The demo year of Tokyo, the workers' entities answered; then the timeline."""
    prepare(database_url)
    opened = open_ledger(database_url)
    with installed(timeline(anchor)):
        yield opened
    opened.close()


def test_an_entity_registered_during_the_read_is_not_in_the_run(
    demo: Ledger,
) -> None:
    # Registered after the run noted its position: not in the ledger it read (and,
    # having no 事業費 or 第1号被保険者数, it would refuse the run if it were read).
    positions = []

    def reading(position: int) -> None:
        positions.append(position)
        demo.register_entities(RegisterEntities(entities=[KAMAKURA]))

    runs = record_phase(demo, 2020, "provisional", "ministry:race", reading=reading)
    assert positions == [runs[0].calculated.inputs.ledger_position]
    assert all(
        KAMAKURA.lg_code not in {r.entity for r in run.calculated.results}
        for run in runs
    )
    assert all(replay(demo, run).same for run in runs)


def test_a_programme_amended_during_the_read_makes_the_run_read_again(
    demo: Ledger,
) -> None:
    # The programme is not rolled back: the read is stale and run_phase reads again
    # from a later position, which holds the amendment.
    programme = demo.programme(2020).spec
    amended = programme.model_copy(update={"title": programme.title + "（改）"})
    positions = []

    def reading(position: int) -> None:
        positions.append(position)
        if len(positions) == 1:
            demo.define_programme(
                DefineProgramme(spec=amended, actor="ministry:race", reason="race test")
            )

    runs = record_phase(demo, 2020, "provisional", "ministry:race", reading=reading)
    assert len(positions) == 2
    assert positions[1] > positions[0]
    assert {run.calculated.inputs.ledger_position for run in runs} == {positions[1]}
    assert all(replay(demo, run).same for run in runs)


def test_every_run_replays_although_corrections_commit_during_its_read(
    demo: Ledger, database_url: str, anchor: float
) -> None:
    ledger = demo
    workers = Workers(database_url, anchor)
    runs: list[AllocationRun] = []
    overlapped = 0
    try:
        for trial in range(TRIALS):
            noted: dict[str, int] = {}

            def reading(position: int, trial: int = trial, noted: dict = noted) -> None:
                noted["last"] = position
                if "position" in noted:  # a retried read: the corrections were sent
                    return
                noted["position"] = position
                workers.start(trial)
                noted["head"] = wait_for_head(ledger, position)

            recorded = record_phase(
                ledger, 2020, "provisional", "ministry:race", reading=reading
            )
            corrections = workers.positions(trial)
            retried = noted["last"] != noted["position"]
            if not retried and any(
                noted["position"] < p <= noted["head"] for p in corrections
            ):
                overlapped += 1  # committed after the noted position, before reading
            for run in recorded:
                inputs = run.calculated.inputs
                assert inputs.ledger_position == noted["last"]
                assert inputs.ledger_sha256 is not None
            runs.extend(recorded)
    finally:
        workers.stop()
    replays = replay_many(ledger, runs)
    assert overlapped >= TRIALS // 2, f"only {overlapped} of {TRIALS} trials raced"
    assert len(replays) == len(runs) == 4 * TRIALS
    differing = {r.run_id: len(r.differences) for r in replays if not r.same}
    print(f"{overlapped} of {TRIALS} trials raced")  # noqa: T201 - shown with -s
    assert differing == {}, (
        f"{overlapped} of {TRIALS} trials raced; "
        f"{sum(differing.values())} differences: {differing}"
    )
