"""Replay receipts: a recorded run recomputes to the same hashes; a changed past does not."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from adapters.kofu import run_demo
from adapters.storage.bootstrap import open_ledger
from domain.ledger import Ledger
from tests.conftest import PG_BASE, Kofu, _drop_schema
from tests.support.tamper import tamper

RUN = "FY2020-promotion-municipal-expected-1"


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    opened = open_ledger(database_url)
    run_demo(opened, 2020, 11, Console(quiet=True), prefectures={"13"})
    yield opened
    opened.close()


@pytest.mark.usefixtures("ledger")
def test_a_recorded_run_replays_to_the_same_output_and_ledger_hash(
    database_url: str,
) -> None:
    kofu = Kofu(database_url)
    code, output = kofu("replay", RUN, "--format", "json")
    assert code == 0, output
    outcome = json.loads(output)
    assert outcome["same"] is True
    assert outcome["replayed_output_sha256"] == outcome["recorded_output_sha256"]
    assert outcome["ledger_sha256"] == outcome["recorded_ledger_sha256"] is not None
    assert outcome["differences"] == 0


def test_a_run_whose_past_was_rewritten_does_not_replay(
    ledger: Ledger, database_url: str
) -> None:
    # An answer of a scored self-evaluation is rewritten in the stored events.
    run = ledger.run(RUN).calculated
    target = next(r for r in run.results if r.score > 0)
    rewrite = (
        "UPDATE EVENTS SET state = CAST(replace(CAST(state AS TEXT), '\"checked\":true', '\"checked\":false') AS BLOB) "
        "WHERE topic = 'kofu.SelfEvaluation.Submitted' AND ID <= {p}"
        if database_url.startswith("sqlite")
        else "UPDATE EVENTS SET state = convert_to(replace(convert_from(state, 'UTF8'), '\"checked\":true', '\"checked\":false'), 'UTF8') "
        "WHERE topic = 'kofu.SelfEvaluation.Submitted' AND ID <= {p}"
    )
    tamper(database_url, [rewrite.format(p=run.inputs.ledger_position)])
    code, output = Kofu(database_url)("replay", RUN, "--format", "json")
    assert code == 1, output
    outcome = json.loads(output)
    assert outcome["same"] is False
    assert outcome["ledger_sha256"] != outcome["recorded_ledger_sha256"]
    assert outcome["replayed_output_sha256"] != outcome["recorded_output_sha256"]
    assert outcome["differences"] > 0
    assert target.entity


def test_the_same_history_gives_the_same_output_hash_on_sqlite_and_postgres(
    tmp_path: Path,
) -> None:
    schema = f"kofu_test_{uuid.uuid4().hex[:12]}"
    urls = [
        f"sqlite:///{tmp_path / 'a.db'}",
        f"{PG_BASE.split('?')[0]}?schema={schema}",
    ]
    hashes = []
    try:
        for url in urls:
            opened = open_ledger(url)
            run_demo(opened, 2020, 11, Console(quiet=True), prefectures={"13"})
            hashes.append(opened.run(RUN).calculated.output_sha256)
            code, output = Kofu(url)("replay", RUN, "--format", "json")
            assert code == 0, output
            assert json.loads(output)["replayed_output_sha256"] == hashes[-1]
            opened.close()
    finally:
        _drop_schema(schema)
    assert hashes[0] == hashes[1]


def test_a_run_receipt_names_the_signed_checkpoint_of_the_tree_it_read(
    ledger: Ledger, database_url: str
) -> None:
    import base64

    from adapters.inputs.keys import demo_key
    from adapters.storage.merkle_log import MerkleLog
    from domain.checkpoint import open_checkpoint

    log = MerkleLog(ledger)
    for run_id in (RUN, "FY2020-promotion-municipal-decision-1"):
        inputs = ledger.run(run_id).calculated.inputs
        # The tree of exactly the events up to the position the run read ...
        assert inputs.log_size == log.size_at(inputs.ledger_position) > 0
        assert inputs.log_root == base64.b64encode(log.root(inputs.log_size)).decode()
        # ... signed by the writer at that size, though the log grew since.
        note = log.signed_at(inputs.log_size)
        assert note is not None
        checkpoint = open_checkpoint(note, (demo_key().verifier(),))
        assert checkpoint.size == inputs.log_size < log.size()
        assert base64.b64encode(checkpoint.root).decode() == inputs.log_root
    code, output = Kofu(database_url)("replay", RUN, "--format", "json")
    assert code == 0, output
    outcome = json.loads(output)
    assert outcome["log_tree"] == outcome["recorded_log_tree"] is not None
    assert outcome["stored_log_tree"] == outcome["recorded_log_tree"]


def test_a_tampered_log_fails_the_receipts_checkpoint(
    ledger: Ledger, database_url: str
) -> None:
    from adapters.storage.merkle_log import MerkleLog
    from domain import merkle

    inputs = ledger.run(RUN).calculated.inputs
    assert inputs.log_size is not None
    # The leaf of the last event the run read is rewritten in the log's tables,
    # with the stored node above it that the root of the run's tree reads.
    leaf = inputs.log_size - 1
    position = MerkleLog(ledger).position_of(leaf)
    level, index = merkle.frontier_keys(inputs.log_size)[0]
    tamper(
        database_url,
        [
            f"UPDATE kofu_log_leaves SET hash = hash || hash WHERE leaf_index = {leaf}",
            f"UPDATE kofu_log_nodes SET hash = hash || hash "
            f"WHERE level = {level} AND idx = {index}",
        ],
    )
    code, output = Kofu(database_url)("verify")
    assert code == 1, output
    assert f"position {position}" in output
    # The events are as stored: the replay's tree, recomputed from them, still
    # matches the receipt; the log's own root at that size no longer does.
    code, output = Kofu(database_url)("replay", RUN, "--format", "json")
    assert code == 1, output
    outcome = json.loads(output)
    assert outcome["log_tree"] == outcome["recorded_log_tree"]
    assert outcome["stored_log_tree"] != outcome["recorded_log_tree"]


def test_a_changed_event_fails_the_receipts_tree_on_replay(
    ledger: Ledger, database_url: str
) -> None:
    run = ledger.run(RUN).calculated
    position = run.inputs.ledger_position - 3
    rewrite = (
        "UPDATE EVENTS SET state = CAST(CAST(state AS TEXT) || ' ' AS BLOB) "
        f"WHERE ID = {position}"
        if database_url.startswith("sqlite")
        else f"UPDATE EVENTS SET state = state || '\\x20'::bytea WHERE ID = {position}"
    )
    tamper(database_url, [rewrite])
    code, output = Kofu(database_url)("replay", RUN, "--format", "json")
    assert code == 1, output
    outcome = json.loads(output)
    assert outcome["log_tree"] != outcome["recorded_log_tree"]
    assert outcome["recorded_log_tree"].startswith(f"{run.inputs.log_size}:")
    code, output = Kofu(database_url)("verify")
    assert code == 1, output
    assert f"position {position}" in output
