"""Events: stable topics, exact round trips, upcasting of old versions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic, resolve_topic
from pydantic import ValidationError

from adapters.storage.mapper import CanonicalJSONTranscoder, PydanticMapper
from domain import (
    allocation_run,
    catalogue,
    entities,
    grant_award,
    programme,
    receipts,
    rule,
    self_evaluation,
    tokens,
)
from domain.base import LedgerAggregate, stable_id
from domain.catalogue import Answer
from domain.entities import Entity, InsuredCount
from domain.ledger import Ledger
from domain.self_evaluation import Change, SelfEvaluation

AGGREGATES = [
    catalogue.Catalogue,
    catalogue.CatalogueSeries,
    entities.Entity,
    entities.Insurer,
    programme.ProgrammeYear,
    receipts.CommandReceipt,
    allocation_run.AllocationRun,
    rule.Rule,
    self_evaluation.SelfEvaluation,
    tokens.AccessToken,
    grant_award.GrantAward,
]


def _events(aggregate: type[LedgerAggregate]) -> list[type[Any]]:
    return [
        value
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, CanMutateAggregate)
        and name not in {"Event", "Created"}
    ]


def mapper() -> PydanticMapper:
    return PydanticMapper(transcoder=CanonicalJSONTranscoder())


def test_every_event_has_an_explicit_topic_that_is_not_a_module_path() -> None:
    topics = {}
    for aggregate in AGGREGATES:
        assert aggregate.TOPIC.startswith("kofu.")
        for event in _events(aggregate):
            topic = get_topic(event)
            assert topic == f"{aggregate.TOPIC}.{event.__name__}"
            assert ":" not in topic
            assert resolve_topic(topic) is event
            topics[topic] = event
    assert len(topics) >= 15


def test_decimal_and_date_values_round_trip_exactly_through_storage() -> None:
    entity = Entity.register(
        Entity.Details(
            lg_code="131041", kind="municipality", prefecture_code="13", name="新宿区"
        )
    )
    entity.record_insured(
        InsuredCount(
            fiscal_year=2020, count=66_123, source="synthetic", as_of=date(2019, 10, 1)
        ),
        "ministry:x",
    )
    evaluation = SelfEvaluation.open("131041", 2020, "municipal", 1)
    evaluation.submit(
        {"II-12-b": Answer(number=Decimal("55.50")), "I-1-a": Answer(checked=True)},
        "insurer:131041",
        date(2019, 10, 10),
    )
    m = mapper()
    for event in [*entity.collect_events(), *evaluation.collect_events()]:
        stored = m.to_stored_event(event)
        back = m.to_domain_event(stored)
        assert back == event
        assert m.to_stored_event(back).state == stored.state
    submitted = m.to_domain_event(m.to_stored_event(event))
    assert submitted.answers["II-12-b"].number == Decimal("55.50")
    assert str(submitted.answers["II-12-b"].number) == "55.50"
    assert submitted.received_on == date(2019, 10, 10)


def test_stored_state_is_canonical_json_with_sorted_keys() -> None:
    evaluation = SelfEvaluation.open("131041", 2020, "municipal", 1)
    stored = mapper().to_stored_event(evaluation.collect_events()[0])
    assert stored.topic == "kofu.SelfEvaluation.Opened"
    assert stored.state.startswith(b'{"catalogue_version":1,"grant_year":2020,')


def test_events_are_validated_on_creation_and_immutable() -> None:
    evaluation = SelfEvaluation.open("131041", 2020, "municipal", 1)
    with pytest.raises(ValidationError):
        evaluation.trigger_event(
            SelfEvaluation.Corrected,
            change=Change(item="x", before=None, after=Answer(checked=True)),
            reason="",
            basis="b",
            actor="ministry:x",
            received_on=date(2019, 11, 1),
        )
    event = evaluation.collect_events()[0]
    with pytest.raises(ValidationError):
        event.tier = "prefectural"  # type: ignore[misc]


class Noted(LedgerAggregate):
    """A test aggregate whose event gained a field in version 2."""

    TOPIC = "kofu.test.Noted"

    class Event(LedgerAggregate.Event):
        pass

    class Written(Event, LedgerAggregate.Created):
        TOPIC: ClassVar[str] = "kofu.test.Noted.Written"
        class_version: ClassVar[int] = 2
        text: str
        language: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["language"] = "ja"

    Created = Written

    def when(self, event: LedgerAggregate.Event) -> None:
        assert isinstance(event, Noted.Written)
        self.text = event.text
        self.language = event.language


def test_an_event_stored_under_version_one_is_upcast_when_read() -> None:
    old = StoredEvent(
        originator_id=stable_id("noted", 1),
        originator_version=1,
        topic="kofu.test.Noted.Written",
        state=b'{"originator_topic":"kofu.test.Noted","text":"hello",'
        b'"timestamp":"2020-01-01T00:00:00+00:00"}',
    )
    event = mapper().to_domain_event(old)
    assert event.language == "ja"
    assert mapper().to_stored_event(event).state.count(b'"class_version":2') == 1


def test_an_upcast_event_replays_through_the_repository(tmp_path: Any) -> None:
    ledger = Ledger(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(tmp_path / "u.db"),
            "MAPPER_TOPIC": get_topic(PydanticMapper),
            "TRANSCODER_TOPIC": get_topic(CanonicalJSONTranscoder),
        }
    )
    ledger.recorder.insert_events(
        [
            StoredEvent(
                originator_id=stable_id("noted", 2),
                originator_version=1,
                topic="kofu.test.Noted.Written",
                state=b'{"originator_topic":"kofu.test.Noted","text":"old",'
                b'"timestamp":"2020-01-01T00:00:00+00:00"}',
            )
        ]
    )
    noted = ledger.repository.get(stable_id("noted", 2))
    assert (noted.text, noted.language) == ("old", "ja")
    ledger.close()
