"""Allocation rules recorded in the ledger, so a run names a rule auditors can read.

A rule version is immutable: the same id with other content is refused; a changed
rule is a new version (`banded_score_x_insured_share@2`), valid from a grant year.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from domain.base import LedgerAggregate, stable_id
from domain.errors import Refused
from domain.rules import RuleSpec


class Rule(LedgerAggregate):
    """One published rule version."""

    TOPIC = "kofu.Rule"

    class Event(LedgerAggregate.Event):
        """Base of this aggregate's events."""

    class Published(Event, LedgerAggregate.Created):
        """The rule version was published (with its label and reference)."""

        TOPIC: ClassVar[str] = "kofu.Rule.Published"
        spec: RuleSpec
        actor: str

    # The alias stops the library from deriving another creation event class.
    Created = Published  # type: ignore[assignment]

    if (
        TYPE_CHECKING
    ):  # state, set by `when` (annotations here would make it an init arg)
        spec: RuleSpec

    @staticmethod
    def id_for(rule_id: str) -> UUID:
        """The aggregate id of a rule version."""
        return stable_id("rule", rule_id)

    @classmethod
    def publish(cls, spec: RuleSpec, actor: str) -> Rule:
        """Record a rule version."""
        return cls._create(
            cls.Published, id=cls.id_for(spec.id), spec=spec, actor=actor
        )

    def check_same(self, spec: RuleSpec) -> None:
        """Refuse other content under this rule version's id."""
        if spec != self.spec:
            msg = (
                f"rule {spec.id} is already published with other content; rule "
                "versions are immutable, publish the change under a new version"
            )
            raise Refused(msg, field="id")

    def when(self, event: LedgerAggregate.Event) -> None:
        """Apply an event."""
        match event:
            case Rule.Published():
                self.spec = event.spec
            case _:  # pragma: no cover
                raise NotImplementedError(type(event))
