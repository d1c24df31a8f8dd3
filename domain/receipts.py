"""Idempotency: one receipt per idempotency key of a principal, saved with the events.

A key belongs to the principal that sent it (the command's actor): the receipt's id
is derived from (actor, key), so another principal's key is simply another key (no
refusal, and nothing to learn about which keys others used). A repeated key with the
same content is a no-op; with other content it is refused. Because the receipt is
saved in the same transaction as the command's events, two processes racing with
one key cannot both succeed: the loser's save fails on the receipt's primary key,
it re-reads, and then finds the winner's receipt.

Receipts recorded while keys were global have the id `legacy_id_for(key)`; they are
read (never written), and count only for the actor they recorded.
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
        actor: str

    @staticmethod
    def id_for(actor: str, key: str) -> UUID:
        """The aggregate id of the receipt of `actor`'s idempotency key."""
        # "command-of", not "command": no (actor, key) can name a legacy id.
        return stable_id("command-of", actor, key)

    @staticmethod
    def legacy_id_for(key: str) -> UUID:
        """The id a receipt had while keys were global (read, never written)."""
        return stable_id("command", key)

    @classmethod
    def record(
        cls, key: str, command: str, fingerprint: str, actor: str
    ) -> CommandReceipt:
        """Record a receipt."""
        return cls._create(
            cls.Recorded,
            id=cls.id_for(actor, key),
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
                self.actor = event.actor
            case _:  # pragma: no cover
                raise NotImplementedError(type(event))
