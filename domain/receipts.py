"""Idempotency: one receipt per idempotency key, saved with the command's events.

A repeated key with the same content is a no-op; with other content it is refused.
Because the receipt is saved in the same transaction as the command's events, two
processes racing with one key cannot both succeed: the loser's save fails on the
receipt's primary key, it re-reads, and then finds the winner's receipt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from domain.base import LedgerAggregate, stable_id


class CommandReceipt(LedgerAggregate):
    """Proof that the command with this idempotency key was carried out."""

    TOPIC = "kofu.CommandReceipt"

    class Event(LedgerAggregate.Event):
        """Base of this aggregate's events."""

    class Recorded(Event, LedgerAggregate.Created):
        """A command with an idempotency key was carried out."""

        TOPIC: ClassVar[str] = "kofu.CommandReceipt.Recorded"
        key: str
        command: str
        fingerprint: str
        actor: str

    # The alias stops the library from deriving another creation event class.
    Created = Recorded  # type: ignore[assignment]

    if (
        TYPE_CHECKING
    ):  # state, set by `when` (annotations here would make it an init arg)
        key: str
        command: str
        fingerprint: str

    @staticmethod
    def id_for(key: str) -> UUID:
        """The aggregate id of the receipt for an idempotency key."""
        return stable_id("command", key)

    @classmethod
    def record(
        cls, key: str, command: str, fingerprint: str, actor: str
    ) -> CommandReceipt:
        """Record a receipt."""
        return cls._create(
            cls.Recorded,
            id=cls.id_for(key),
            key=key,
            command=command,
            fingerprint=fingerprint,
            actor=actor,
        )

    def when(self, event: LedgerAggregate.Event) -> None:
        """Apply an event."""
        match event:
            case CommandReceipt.Recorded():
                self.key = event.key
                self.command = event.command
                self.fingerprint = event.fingerprint
            case _:  # pragma: no cover
                raise NotImplementedError(type(event))
