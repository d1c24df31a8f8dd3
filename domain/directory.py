"""The directory: what the ledger knows exists, read from its notification log.

Only creation events are read, incrementally from the last position read, so
keeping it costs one pass over new notifications. The `Ledger` keeps one and
brings it up to date under a lock (`Ledger.refresh`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.utils import get_topic

from domain.allocation_run import PhaseRuns
from domain.catalogue import Catalogue, CatalogueSeries
from domain.entities import Entity, Insurer
from domain.grant_award import GrantAward
from domain.programme import ProgrammeYear
from domain.receipts import CommandReceipt
from domain.rule import Rule
from domain.self_evaluation import SelfEvaluation
from domain.tokens import AccessToken

DIRECTORY_TOPICS = tuple(
    get_topic(cls)
    for cls in (
        Entity.Registered,
        Insurer.Registered,
        SelfEvaluation.Opened,
        CommandReceipt.Recorded,
        Catalogue.Published,
        CatalogueSeries.Started,
        ProgrammeYear.Defined,
        PhaseRuns.Opened,
        AccessToken.Issued,
        Rule.Published,
        GrantAward.Opened,
    )
)
"""Topics of the creation events that the directory follows."""


@dataclass
class Directory:
    """What the ledger knows exists, read from its notification log incrementally.

    Only creation events are read, so this costs one pass over new notifications.
    It lets bulk commands validate without one read per aggregate; a stale
    directory is safe because saving a "new" aggregate that exists fails.
    """

    position: int = 0
    known: set[UUID] = field(default_factory=set)
    by_topic: dict[str, list[UUID]] = field(default_factory=dict)
    entities: dict[str, Entity.Details] = field(default_factory=dict)
    self_evaluations: dict[UUID, tuple[str, int, str]] = field(default_factory=dict)

    def read_forward(
        self,
        recorder: ApplicationRecorder,
        mapper: Mapper[UUID],
        section_size: int,
    ) -> Directory:
        """Read the creation events after `position` up to the end of the log.

        Not thread-safe: the caller holds the lock of whoever shares this directory.
        """
        entity_topic = get_topic(Entity.Registered)
        opened_topic = get_topic(SelfEvaluation.Opened)
        while True:
            notes = recorder.select_notifications(
                start=self.position,
                limit=section_size,
                topics=DIRECTORY_TOPICS,
                inclusive_of_start=False,
            )
            if not notes:
                return self
            for note in notes:
                originator_id = UUID(str(note.originator_id))
                self.known.add(originator_id)
                self.by_topic.setdefault(note.topic, []).append(originator_id)
                if note.topic == entity_topic:
                    registered = mapper.to_domain_event(note)
                    assert isinstance(registered, Entity.Registered)  # noqa: S101
                    self.entities[registered.lg_code] = _details(registered)
                elif note.topic == opened_topic:
                    opened = mapper.to_domain_event(note)
                    assert isinstance(opened, SelfEvaluation.Opened)  # noqa: S101
                    self.self_evaluations[originator_id] = (
                        opened.lg_code,
                        opened.grant_year,
                        opened.tier,
                    )
            self.position = notes[-1].id


def _details(event: Entity.Registered) -> Entity.Details:
    return Entity.Details(
        lg_code=event.lg_code,
        kind=event.kind,
        prefecture_code=event.prefecture_code,
        name=event.name,
        name_kana=event.name_kana,
        special_ward=event.special_ward,
        designated_city=event.designated_city,
    )


__all__ = ["DIRECTORY_TOPICS", "Directory"]
