"""A ledger recorded by older code loads, verifies and replays with today's code.

`tests/fixtures/ledger-fy2020-tokyo.db` (see tests/fixtures/README.md) is a copy of a
ledger as an earlier commit stored it. Every redesign step must keep this passing: the
events are read as stored (no migration), the tamper-evidence chain still verifies,
every recorded run recomputes to its recorded output and ledger hash, and the reads
(history, allocations, the read models built from the events) answer. On PostgreSQL
the stored events are copied as they are into a fresh schema (same notification ids).
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent

from adapters.runtools.replay import replay_many
from adapters.storage.bootstrap import open_ledger
from tests.conftest import PG_BASE, Kofu, _drop_schema

FIXTURE = Path(__file__).parents[1] / "fixtures" / "ledger-fy2020-tokyo.db"
EVENTS = 852
RUNS = 20  # 5 phases x (2 grants x 2 tiers)
SHINJUKU = "131041"  # corrected twice by the ministry in the recorded demo
PAGE = 500


def _copy_events(source_url: str, target_url: str) -> None:
    source, target = open_ledger(source_url), open_ledger(target_url)
    try:
        start = 0
        while notes := source.recorder.select_notifications(
            start=start, limit=PAGE, inclusive_of_start=False
        ):
            target.recorder.insert_events(
                [
                    StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
                    for n in notes
                ]
            )
            start = notes[-1].id
    finally:
        source.close()
        target.close()


@pytest.fixture(params=["sqlite", "postgres"])
def recorded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The fixture ledger's database URL: a copy on SQLite, or its events on PostgreSQL."""
    copy = tmp_path / "ledger.db"
    shutil.copyfile(FIXTURE, copy)
    if request.param == "sqlite":
        yield f"sqlite:///{copy}"
        return
    schema = f"kofu_test_{uuid.uuid4().hex[:12]}"
    url = f"{PG_BASE.split('?')[0]}?schema={schema}"
    try:
        _copy_events(f"sqlite:///{copy}", url)
        yield url
    finally:
        _drop_schema(schema)


def test_the_fixture_is_small_and_whole() -> None:
    assert FIXTURE.stat().st_size < 3_000_000
    assert FIXTURE.read_bytes()[:16] == b"SQLite format 3\x00"


def test_the_recorded_ledger_verifies(recorded: str, tmp_path: Path) -> None:
    kofu = Kofu(recorded)
    assert kofu.events() == EVENTS
    # Recorded before the Merkle log: no event is sealed until `kofu init` upgrades
    # it (the old chain verified, the log built, a checkpoint signed).
    if recorded.startswith("sqlite"):
        code, output = kofu("verify")
        assert code == 1, output
        assert "unsealed event at position 1" in output
    code, output = kofu("init")
    assert code == 0, output
    if recorded.startswith("postgresql"):
        # The copy sealed the events as it inserted them (the log is not empty, the
        # chain was not copied): the copier, the writer, signs; the extended chain's
        # hashes must then equal the checkpoints the SQLite original exports.
        code, output = kofu("checkpoint")
        assert code == 0, output
        code, output = kofu("verify")
        assert code == 0, output
        original = Kofu(f"sqlite:///{tmp_path / 'ledger.db'}")
        assert original("init")[0] == 0
        exported = tmp_path / "checkpoints.json"
        code, output = original("verify", "--export", exported)
        assert code == 0, output
        code, output = kofu("verify", "--against", exported)
    else:
        code, output = kofu("verify")
    assert code == 0, output
    assert f"intact: {EVENTS} events verified" in output


def test_every_recorded_run_replays_with_no_difference(recorded: str) -> None:
    ledger = open_ledger(recorded)
    try:
        runs = [
            ledger.run(run_id)
            for phase_runs in ledger.phase_runs(2020)
            for run_id in phase_runs.runs
        ]
        assert len(runs) == RUNS
        # Recorded before receipts named a Merkle tree (Calculated v1): upcast
        # with none, and replayed without one.
        assert {r.calculated.inputs.log_size for r in runs} == {None}
        outcomes = replay_many(ledger, runs)
    finally:
        ledger.close()
    assert len(outcomes) == RUNS
    for outcome in outcomes:
        assert outcome.differences == [], outcome.run_id
        assert outcome.recorded_ledger_sha256 is not None, outcome.run_id
        assert outcome.ledger_sha256 == outcome.recorded_ledger_sha256, outcome.run_id
        assert outcome.replayed_sha256 == outcome.recorded_sha256, outcome.run_id
        assert outcome.same, outcome.run_id
        assert outcome.recorded_log is None, outcome.run_id
    code, output = Kofu(recorded)("replay", "--fiscal-year", "2020", "--format", "json")
    assert code == 0, output
    rows = json.loads(output)
    assert len(rows) == RUNS
    assert all(r["same"] and r["differences"] == 0 for r in rows)


def test_the_recorded_ledger_reads(recorded: str) -> None:
    kofu = Kofu(recorded)
    code, output = kofu("history", "-e", SHINJUKU, "-y", "2020", "--format", "json")
    assert code == 0, output
    history = [row["event"] for row in json.loads(output)]
    assert history == [
        "Opened",
        "Submitted",
        "MinistryValuesImported",
        "Corrected",
        "Corrected",
    ]

    # The audit trail is a read model, built here from the recorded events.
    code, output = kofu("audit", "-e", SHINJUKU, "-y", "2020", "--format", "json")
    assert code == 0, output
    trail = [
        row["event"].removeprefix("SelfEvaluation.")
        for row in json.loads(output)
        if row["event"].startswith("SelfEvaluation.")
    ]
    assert trail == history

    code, output = kofu("allocations", "-y", "2020", "--format", "json")
    assert code == 0, output
    rows = json.loads(output)
    assert {r["phase"] for r in rows} == {"settlement"}
    assert {(r["grant"], r["tier"]) for r in rows} == {
        (grant, tier)
        for grant in ("promotion", "effort_support")
        for tier in ("municipal", "prefectural")
    }
    ledger = open_ledger(recorded)
    try:
        for run_id in {r["run_id"] for r in rows}:
            run = ledger.run(run_id).calculated
            amounts = sum(r["amount_yen"] for r in rows if r["run_id"] == run_id)
            assert amounts == sum(line.amount_yen for line in run.results), run_id
    finally:
        ledger.close()

    code, output = kofu("scores", "-y", "2020", "--format", "json")
    assert code == 0, output
    scores = json.loads(output)
    assert len(scores) == 62  # Tokyo's municipalities
    assert all(0 <= s["total"] <= s["max_total"] for s in scores)
