"""Self-evaluations (自己評価): one per (entity, grant year, tier).

The entity submits and revises its answers inside the submission window; its
prefecture may confirm them; the ministry imports the values it computes itself
(outcome indicators) and, after the deadline, corrects answers. Nothing is edited
or deleted: every change is an event that keeps the value before and after.

Over 300 lines (STYLE): one aggregate with its seven events; splitting the events
from the aggregate that applies them would separate what `when` must keep in step.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from domain.base import FiscalYear, LedgerAggregate, Text, Tier, Value, stable_id
from domain.catalogue import Answer
from domain.codes import LgCode
from domain.errors import Refused


class Change(Value):
    """One item's answer before and after a change (`before` is None if unanswered)."""

    item: str
    before: Answer | None
    after: Answer


class SelfEvaluation(LedgerAggregate):
    """The answers of one entity to one catalogue (grant year x tier)."""

    TOPIC = "kofu.SelfEvaluation"

    class Event(LedgerAggregate.Event):
        """Base of this aggregate's events."""

    class Opened(Event, LedgerAggregate.Created):
        """The first answer arrived (from the entity or from the ministry)."""

        TOPIC: ClassVar[str] = "kofu.SelfEvaluation.Opened"
        lg_code: LgCode
        grant_year: FiscalYear
        tier: Tier
        catalogue_version: int

    # The alias stops the library from deriving another creation event class.
    Created = Opened  # type: ignore[assignment]

    class Submitted(Event):
        """The entity submitted its answers (調査票の提出)."""

        TOPIC: ClassVar[str] = "kofu.SelfEvaluation.Submitted"
        answers: dict[str, Answer]
        actor: str
        received_on: date

    class Revised(Event):
        """The entity revised answers inside the window."""

        TOPIC: ClassVar[str] = "kofu.SelfEvaluation.Revised"
        changes: tuple[Change, ...]
        actor: str
        received_on: date

    class Confirmed(Event):
        """The entity's prefecture confirmed the answers as they stand."""

        TOPIC: ClassVar[str] = "kofu.SelfEvaluation.Confirmed"
        actor: str
        received_on: date
        as_of_version: int
        """The version of the entity's answers (its last submission or revision)."""

    class MinistryValuesImported(Event):
        """The ministry recorded values it computes itself (e.g. 介護DB outcomes)."""

        TOPIC: ClassVar[str] = "kofu.SelfEvaluation.MinistryValuesImported"
        changes: tuple[Change, ...]
        source: Text
        actor: str
        received_on: date

    class Corrected(Event):
        """Ministry staff corrected an answer after the deadline (修正)."""

        TOPIC: ClassVar[str] = "kofu.SelfEvaluation.Corrected"
        change: Change
        reason: Text
        basis: Text
        actor: str
        received_on: date

    class PaperEntered(Event):
        """Ministry staff keyed in answers the entity sent on paper (紙提出の入力).

        The Submitted or Revised event just before it holds the answers, with the
        date the paper states as its `received_on`; this event records who keyed
        them in, why and on what basis, and the day the ledger recorded it
        (`received_on`, with the time in `timestamp`).
        """

        TOPIC: ClassVar[str] = "kofu.SelfEvaluation.PaperEntered"
        stated_on: date
        reason: Text
        basis: Text
        actor: str
        received_on: date
        answers_version: int
        """The version of the Submitted or Revised event holding the answers."""

    if (
        TYPE_CHECKING
    ):  # state, set by `when` (annotations here would make it an init arg)
        lg_code: str
        grant_year: int
        tier: str
        catalogue_version: int
        answers: dict[str, Answer]
        submitted: bool
        answers_version: int
        confirmed_version: int | None
        answered_on: date | None  # received_on of the answers as they stand

    @staticmethod
    def id_for(lg_code: str, grant_year: int, tier: str) -> UUID:
        """The aggregate id of an entity's self-evaluation for a year and tier."""
        return stable_id("self-evaluation", lg_code, grant_year, tier)

    @classmethod
    def open(
        cls, lg_code: str, grant_year: int, tier: str, catalogue_version: int
    ) -> SelfEvaluation:
        """Open the self-evaluation (always saved with its first answers)."""
        return cls._create(
            cls.Opened,
            id=cls.id_for(lg_code, grant_year, tier),
            lg_code=lg_code,
            grant_year=grant_year,
            tier=tier,
            catalogue_version=catalogue_version,
        )

    def _changes(self, answers: dict[str, Answer]) -> tuple[Change, ...]:
        return tuple(
            Change(item=item, before=self.answers.get(item), after=answer)
            for item, answer in sorted(answers.items())
            if self.answers.get(item) != answer
        )

    def submit(self, answers: dict[str, Answer], actor: str, received_on: date) -> bool:
        """Submit, or revise what was submitted; False when nothing changes.

        The caller has checked the window, the actor's right and each item.
        """
        if not self.submitted:
            self.trigger_event(
                self.Submitted, answers=answers, actor=actor, received_on=received_on
            )
            return True
        changes = self._changes(answers)
        if not changes:
            return False
        self.trigger_event(
            self.Revised, changes=changes, actor=actor, received_on=received_on
        )
        return True

    def enter_paper(
        self,
        answers: dict[str, Answer],
        entity_actor: str,
        stated_on: date,
        reason: str,
        basis: str,
        actor: str,
        recorded_on: date,
    ) -> bool:
        """Key in the entity's paper answers, received on `stated_on`.

        The answers are the entity's (`entity_actor`), submitted or revised as
        received on the stated date; `actor` keyed them in on `recorded_on`.
        False when nothing changes.
        """
        if self.answered_on is not None and stated_on < self.answered_on:
            msg = (
                f"the paper's stated date {stated_on} lies before {self.lg_code}'s "
                f"answers as they stand (received {self.answered_on}): an older "
                "paper does not replace newer answers"
            )
            raise Refused(msg, field="stated_on")
        if not self.submit(answers, entity_actor, stated_on):
            return False
        self.trigger_event(
            self.PaperEntered,
            stated_on=stated_on,
            reason=reason,
            basis=basis,
            actor=actor,
            received_on=recorded_on,
            answers_version=self.answers_version,
        )
        return True

    def confirm(self, actor: str, received_on: date) -> bool:
        """Confirm the answers as they stand; False if already confirmed so.

        Raises:
            Refused: nothing has been submitted yet.
        """
        if not self.submitted:
            msg = f"{self.lg_code} has not submitted its FY{self.grant_year} answers"
            raise Refused(msg, field="entity")
        if self.confirmed:
            return False
        self.trigger_event(
            self.Confirmed,
            actor=actor,
            received_on=received_on,
            as_of_version=self.answers_version,
        )
        return True

    @property
    def confirmed(self) -> bool:
        """Whether the prefecture confirmed the entity's answers as they now stand."""
        return self.confirmed_version == self.answers_version

    def import_ministry_values(
        self, values: dict[str, Answer], source: str, actor: str, received_on: date
    ) -> bool:
        """Record ministry-computed values; False when nothing changes."""
        changes = self._changes(values)
        if not changes:
            return False
        self.trigger_event(
            self.MinistryValuesImported,
            changes=changes,
            source=source,
            actor=actor,
            received_on=received_on,
        )
        return True

    def correct(
        self,
        item: str,
        after: Answer,
        reason: str,
        basis: str,
        actor: str,
        received_on: date,
    ) -> None:
        """Correct one answer, keeping the value it replaces.

        Raises:
            Refused: the correction would change nothing.
        """
        before = self.answers.get(item)
        if before == after:
            msg = f"{item} of {self.lg_code} is already {after.display()}"
            raise Refused(msg, field="value")
        self.trigger_event(
            self.Corrected,
            change=Change(item=item, before=before, after=after),
            reason=reason,
            basis=basis,
            actor=actor,
            received_on=received_on,
        )

    def when(self, event: LedgerAggregate.Event) -> None:
        """Apply an event."""
        match event:
            case SelfEvaluation.Opened():
                self.lg_code = event.lg_code
                self.grant_year = event.grant_year
                self.tier = event.tier
                self.catalogue_version = event.catalogue_version
                self.answers = {}
                self.submitted = False
                self.answers_version = 0
                self.confirmed_version = None
                self.answered_on = None
            case SelfEvaluation.Submitted():
                self.answers.update(event.answers)
                self.submitted = True
                self.answers_version = event.originator_version
                self.answered_on = event.received_on
            case SelfEvaluation.Revised():
                self.answers.update({c.item: c.after for c in event.changes})
                self.answers_version = event.originator_version
                self.answered_on = event.received_on
            case SelfEvaluation.MinistryValuesImported():
                self.answers.update({c.item: c.after for c in event.changes})
            case SelfEvaluation.Confirmed():
                self.confirmed_version = event.as_of_version
            case SelfEvaluation.Corrected():
                self.answers[event.change.item] = event.change.after
            case SelfEvaluation.PaperEntered():
                pass  # the answers came with the event before it
            case _:  # pragma: no cover
                raise NotImplementedError(type(event))
