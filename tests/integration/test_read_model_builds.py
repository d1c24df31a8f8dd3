"""Each read model is the same however it is built: live, folded in Python, by the database.

One year holds every kind of event the ledger records (asserted: a new kind that no
test year contains fails here first). The demo's FY2020 cycle for Tokyo and
Kanagawa is recorded while a follower projects it live; then every kind the demo
does not record (a run published, a membership ended, a programme amended, a token
issued and revoked, two revisions in one save), projected by a runner that starts
mid-stream (its facts looked up in the ledger) in batches of seven. The read models
are then rebuilt from position 0 by folding every event in Python, and, on
PostgreSQL, by the database itself (adapters/storage/database_rebuild.py). Every read
model's rows must be identical in every build. Runs on SQLite (live and fold) and on
PostgreSQL (all three).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from eventsourcing.utils import get_topic
from rich.console import Console

import domain
from adapters.inputs.tokens import issue
from adapters.kofu import run_demo
from adapters.storage import database_rebuild
from adapters.storage.bootstrap import open_ledger
from adapters.storage.projecting import catch_up
from adapters.storage.rebuilding import open_store, rebuild
from domain.base import LedgerAggregate
from domain.catalogue import CHECKED, UNCHECKED
from domain.clock import SimulatedClock, installed
from domain.commands import DefineProgramme, PublishRun, RevokeToken
from domain.confirmation import ConfirmedUse, Tranche
from domain.grant_award import Evidence, GrantAward, RefundPayment
from domain.ledger import Ledger
from domain.self_evaluation import SelfEvaluation
from projections.read_models import TABLES, event_classes, shown
from tests.conftest import PG_BASE, _drop_schema
from tests.support.followers import Follower, export
from tests.support.timeline import jst

WORLD = {"13", "14"}
AFTER_DEMO = date(2021, 7, 1)
"""The day after the FY2020 demo's last event (its settlement, 2021-06-30)."""
PUBLISHED = "FY2020-promotion-municipal-settlement-1"

Rows = dict[str, list[dict[str, Any]]]


@dataclass
class Builds:
    """The read models of one ledger, built each way, and what the ledger holds."""

    backend: str
    exports: dict[str, Rows] = field(default_factory=dict)
    topics: set[str] = field(default_factory=set)
    events: int = 0
    revised: set[str] = field(default_factory=set)
    """Entities revised after the settlement (their scores moved on since)."""
    progress: int = 0
    """What the database rebuild's progress bar counted (0 off PostgreSQL)."""
    stages_left: int = 0
    details: object = None
    """A `details` value as the audit trail's view gives it."""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def builds(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Builds]:
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('builds') / 'kofu.db'}"
    else:
        schema = f"kofu_test_{uuid.uuid4().hex[:12]}"
        url = f"{PG_BASE.split('?')[0]}?schema={schema}"
    try:
        yield _build_every_way(request.param, url)
    finally:
        if schema:
            _drop_schema(schema)


def _build_every_way(backend: str, url: str) -> Builds:
    found = Builds(backend)
    ledger = open_ledger(url)
    try:
        # Live: a follower projects while the demo year is recorded
        with Follower(url) as follower:
            run_demo(ledger, 2020, 7, Console(quiet=True), prefectures=WORLD)
        assert follower.error is None
        with installed(SimulatedClock(jst(AFTER_DEMO))):
            found.revised = _every_other_kind(ledger)
        # and a runner that starts mid-stream, in small batches
        store = open_store(ledger)
        catch_up(ledger, store, batch=7)
        found.events = ledger.count_events()
        assert store.position() == ledger.recorder.max_notification_id()
        found.exports["live"] = json.loads(export(store))
        if database_rebuild.applies(ledger, store):
            # (a stage left behind by a database rebuild killed mid-way)
            with store.cursor() as cursor:
                stage = database_rebuild.STAGE.format(store.generation + 1)
                cursor.execute(f'CREATE UNLOGGED TABLE "{stage}" (junk text)')
            counted: list[int] = []
            by_database = rebuild(ledger, store=store, progress=counted.append)
            found.exports["database"] = json.loads(export(by_database))
            found.progress = sum(counted)
        found.exports["python fold"] = json.loads(
            export(rebuild(ledger, store=store, in_database=False))
        )
        found.stages_left, found.details = _stages_and_details(store)
        notes = ledger.recorder.select_notifications(start=0, limit=10**7)
        found.topics = {note.topic for note in notes}
    finally:
        ledger.close()
    return found


def _every_other_kind(ledger: Ledger) -> set[str]:
    """Record the kinds of event the demo does not; the entities revised."""
    ledger.publish(PublishRun(run_id=PUBLISHED, actor="ministry:yamada"))
    insurer = next(i for i in ledger.insurers() if len(i.members_on(AFTER_DEMO)) > 1)
    member = insurer.members_on(AFTER_DEMO)[-1]
    insurer.end_membership(member, date(2021, 3, 31), "ministry:yamada")
    ledger.save(insurer)
    programme = ledger.programme(2020).spec
    amended = programme.model_copy(update={"title": programme.title + "（改）"})
    ledger.define_programme(
        DefineProgramme(spec=amended, actor="ministry:yamada", reason="an amendment")
    )
    token = issue(ledger, "reader", (), "press", "system:test", days=30)
    ledger.revoke_token(RevokeToken(token_id=token.token_id, actor="system:test"))
    _a_money_chain(
        ledger, insurer.details.insurer_number, insurer.members_on(AFTER_DEMO)
    )
    revised = set()
    for evaluation in list(ledger.self_evaluations(2020, "municipal"))[:5]:
        ledger.retrying(lambda e=evaluation: _revise_twice(ledger, e))
        revised.add(evaluation.lg_code)
    return revised


def _a_money_chain(ledger: Ledger, recipient: str, members: list[str]) -> None:
    """Every event of the money chain (issue 17), recorded on the aggregates directly.

    (The demo's FY2020 application window has closed by now; the chain's commands
    are tested in tests/e2e/test_money_chain.py.)
    """
    day, ministry, own = AFTER_DEMO, "ministry:yamada", f"insurer:{members[0]}"
    uses = {"comprehensive_program": 100_000}
    window = (day, day)

    def opened(grant: str) -> GrantAward:
        award = GrantAward.open(
            recipient, "insurer", "組合", tuple(members), 2020, grant, "municipal"
        )
        award.apply(uses, 100_000, "run-p", "uses", window, day, own)
        return award

    award = opened("promotion")
    award.return_for_correction("添付漏れ", day, ministry)
    award.apply(uses, 100_000, "run-p", "uses", window, day, own)
    award.decide(uses, 100_000, "run-d", None, day, ministry)
    award.pay(day, 100_000, "振込", day, ministry)
    proof = (Evidence(name="report.pdf", sha256="0" * 64),)
    award.report_spending({"comprehensive_program": 200_000}, proof, day, day, own)
    line = ConfirmedUse(
        use="comprehensive_program",
        permitted=True,
        funding="premium_share",
        spent_yen=200_000,
        share_bp=2300,
        fundable_yen=46_000,
        decided_yen=100_000,
        confirmed_yen=46_000,
    )
    award.confirm((line,), "f", ("r",), (2300, "published"), day, ministry)
    tranche = (Tranche(received_on=day, amount_yen=54_000),)
    award.order_refund("confirmation", tranche, day, "L§18②", day, ministry)
    award.record_refund(
        RefundPayment(order=1, paid_on=day, amount_yen=54_000, recorded_on=day),
        54_000,
        "返納",
        ministry,
    )
    award.cancel(6_000, "breach", "目的外使用", "L§17①", day, ministry)
    withdrawn = opened("effort_support")
    withdrawn.decide(uses, 100_000, "run-d", None, day, ministry)
    withdrawn.withdraw("辞退", day, day, own)
    ledger.save(award, withdrawn)


def _revise_twice(ledger: Ledger, stale: SelfEvaluation) -> None:
    # Two revisions in one save: an item flipped, then flipped back with another.
    evaluation = ledger.get(stale.id, SelfEvaluation)
    assert evaluation is not None
    spec = ledger.catalogue(2020, "municipal").spec
    first, second = [
        code
        for code, (item, indicator) in spec.sub_items().items()
        if item.kind == "checkbox" and indicator.source == "self"
    ][:2]
    before = evaluation.answers.get(first, UNCHECKED)
    flip = UNCHECKED if before == CHECKED else CHECKED
    window = ledger.programme(2020).spec.schedule.submission_opens
    actor = f"insurer:{evaluation.lg_code}"
    evaluation.submit({first: flip}, actor, window)
    evaluation.submit({first: before, second: flip}, actor, window)
    ledger.save(evaluation)


def _stages_and_details(store: Any) -> tuple[int, object]:
    with store.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE name LIKE 'kofu_rebuild_stage%'"
            if store.backend == "sqlite"
            else "SELECT count(*) FROM pg_tables WHERE tablename LIKE "
            "'kofu_rebuild_stage%' AND schemaname = current_schema()"
        )
        stages = next(iter(dict(cursor.fetchone()).values()))
        cursor.execute("SELECT details FROM kofu_audit_trail_v1 LIMIT 1")
        details = next(iter(dict(cursor.fetchone()).values()))
    return int(stages), details


def _ledger_event_classes() -> list[type]:
    for module in pkgutil.iter_modules(domain.__path__):
        importlib.import_module(f"domain.{module.name}")
    return [
        cls
        for cls in event_classes(LedgerAggregate.Event)
        if cls.__module__.startswith("domain.")
    ]


def test_the_year_holds_every_kind_of_event_the_ledger_records(builds: Builds) -> None:
    kinds = {get_topic(cls) for cls in _ledger_event_classes()}
    assert len(kinds) > 20
    assert kinds - builds.topics == set()


@pytest.mark.parametrize("table", [table.name for table in TABLES])
def test_each_read_model_is_the_same_built_live_folded_or_by_the_database(
    builds: Builds, table: str
) -> None:
    live = builds.exports["live"][table]
    assert live  # the year fills every read model
    for build, rows in builds.exports.items():
        assert rows[table] == live, f"{table}: the {build} build differs from live"
    # (the database builds on PostgreSQL only)
    assert set(builds.exports) == {"live", "python fold"} | (
        {"database"} if builds.backend == "postgres" else set()
    )


def test_the_read_models_hold_the_year(builds: Builds) -> None:
    rows = builds.exports["live"]
    assert len(rows["submission_status"]) == 97
    phases = {(r["grant"], r["tier"], r["phase"]) for r in rows["allocations"]}
    assert len(phases) == 2 * 2 * 5
    # every shown event class leaves its trace: on the trail, or a publication
    trail = {r["event"] for r in rows["audit_trail"]}
    traced = {
        cls.__qualname__
        for cls in _ledger_event_classes()
        if shown(cls) and cls.__qualname__ != "Catalogue.Published"  # remembered
    }
    assert traced - trail == {"AllocationRun.Published"}
    assert [r["run_id"] for r in rows["run_publications"]] == [PUBLISHED]
    # The score read model agrees with the scores the last allocation run computed
    scores = {(r["grant"], r["entity"]): r for r in rows["scores"]}
    assert len(scores) == 2 * 97
    settled = [r for r in rows["allocations"] if r["phase"] == "settlement"]
    assert settled
    for allocation in settled:
        if allocation["entity"] not in builds.revised:
            score = scores[allocation["grant"], allocation["entity"]]
            assert score["total"] == allocation["score"]
    for row in rows["scores"]:
        better = sum(
            1
            for other in rows["scores"]
            if (other["grant"], other["tier"]) == (row["grant"], row["tier"])
            and other["total"] > row["total"]
        )
        assert row["rank"] == better + 1
    items = [
        r
        for r in rows["item_scores"]
        if r["entity"] == "131041" and r["grant"] == "promotion"
    ]
    assert len(items) > 50
    assert sum(r["points"] for r in items) >= scores["promotion", "131041"]["total"]
    assert len(rows["audit_trail"]) > 1000
    assert len(rows["item_scores"]) > 10_000


def test_a_rebuild_counts_every_event_and_leaves_no_stage(builds: Builds) -> None:
    if builds.backend == "postgres":  # the database's: a progress bar that ends full
        assert builds.progress == builds.events
    assert builds.stages_left == 0
    # and downstream readers of the view get the details as JSON text
    assert isinstance(builds.details, str)
    assert isinstance(json.loads(builds.details), dict)
