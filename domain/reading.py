"""The ledger's readers: aggregates, the directory, runs and scans of the log.

`Reading` is the base of `Ledger` (domain/ledger.py), which adds the commands. It
keeps what a process reads once: the directory (domain/directory.py, brought up
to date under a lock by `refresh`), catalogue versions, and allocation runs
(which never change, but for their publication). Scans of the notification log
are functions in domain/log.py; the methods here of the same names call them.

Over 300 lines: one method per kind of thing read (entities, programmes,
catalogues, self-evaluations, rules, phases and runs, tokens, insurers,
receipts, histories and positions), each short; splitting them by kind would
spread the shared caches and the directory's lock over several classes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.utils import get_topic

from domain import log
from domain.allocation_run import AllocationRun, PhaseRuns
from domain.base import LedgerAggregate
from domain.catalogue import Catalogue, CatalogueSeries
from domain.directory import Directory
from domain.entities import Entity, Insurer
from domain.errors import InvalidInput
from domain.grant_award import GrantAward
from domain.programme import PHASES, ProgrammeYear
from domain.receipts import CommandReceipt
from domain.rule import Rule, RuleSpec
from domain.self_evaluation import SelfEvaluation
from domain.tokens import AccessToken

A = TypeVar("A", bound=LedgerAggregate)


class Reading(Application[UUID]):
    """What the ledger reads: the base of `Ledger`, which adds the commands."""

    log_section_size = 1000

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.directory = Directory()
        # One reader of the log at a time: threads of a server share the directory.
        self._refreshing = threading.Lock()
        self._catalogues: dict[tuple[int, str, int], Catalogue] = {}
        self._runs: dict[str, AllocationRun] = {}
        self._reading_runs = threading.Lock()

    def get(self, aggregate_id: UUID, cls: type[A]) -> A | None:
        """The aggregate with this id, or None."""
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, cls):  # pragma: no cover - ids are namespaced
            msg = f"{aggregate_id} is a {type(aggregate).__name__}, not {cls.__name__}"
            raise TypeError(msg)
        return aggregate

    def _require(self, aggregate_id: UUID, cls: type[A], msg: str, field: str) -> A:
        found = self.get(aggregate_id, cls)
        if found is None:
            raise InvalidInput(msg, field=field)
        return found

    def refresh(self) -> Directory:
        """Bring the directory up to the end of the notification log."""
        with self._refreshing:
            return self._refresh()

    def _refresh(self) -> Directory:
        return self.directory.read_forward(
            self.recorder, self.mapper, self.log_section_size
        )

    def entity(self, lg_code: str, field: str = "entity") -> Entity.Details:
        """The registered details of an entity.

        Raises:
            InvalidInput: no entity has this LG code.
        """
        details = self.directory.entities.get(lg_code)
        if details is None:
            details = self.refresh().entities.get(lg_code)
        if details is None:
            msg = f"no entity with LG code {lg_code} is registered"
            raise InvalidInput(msg, field=field)
        return details

    def entities(self) -> list[Entity.Details]:
        """Every registered entity, prefectures first, by LG code."""
        found = self.refresh().entities.values()
        return sorted(found, key=lambda d: (d.kind != "prefecture", d.lg_code))

    def entity_aggregate(self, lg_code: str) -> Entity:
        """The entity aggregate (with its insured counts)."""
        self.entity(lg_code)
        entity = self.get(Entity.id_for(lg_code), Entity)
        assert entity is not None  # noqa: S101 - the directory saw it
        return entity

    def programme(self, grant_year: int) -> ProgrammeYear:
        """The programme of a grant year.

        Raises:
            InvalidInput: the year has no programme.
        """
        msg = f"FY{grant_year} has no programme year defined (kofu load it first)"
        return self._require(
            ProgrammeYear.id_for(grant_year), ProgrammeYear, msg, "grant_year"
        )

    def catalogue(
        self, grant_year: int, tier: str, version: int | None = None
    ) -> Catalogue:
        """A catalogue version (the one in force if no version is given).

        Raises:
            InvalidInput: no such catalogue.
        """
        if version is None:
            series = self.get(CatalogueSeries.id_for(grant_year, tier), CatalogueSeries)
            version = series.in_force if series else None
            if version is None:
                msg = f"no FY{grant_year} {tier} catalogue is published"
                raise InvalidInput(msg, field="grant_year")
        key = (grant_year, tier, version)
        if key not in self._catalogues:
            found = self.get(Catalogue.id_for(grant_year, tier, version), Catalogue)
            if found is None:
                msg = (
                    f"FY{grant_year} {tier} catalogue version {version} does not exist"
                )
                raise InvalidInput(msg, field="version")
            self._catalogues[key] = found
        return self._catalogues[key]

    def catalogue_versions(self) -> list[tuple[int, str, int]]:
        """(grant year, tier, version in force) of every published catalogue series."""
        return sorted(
            (series.grant_year, series.tier, series.in_force)
            for series in self._all(CatalogueSeries.Started, CatalogueSeries)
            if series.in_force
        )

    def _all(self, created: type[LedgerAggregate.Event], cls: type[A]) -> Iterator[A]:
        """Every aggregate whose creation event is of class `created`."""
        for aggregate_id in self.refresh().by_topic.get(get_topic(created), []):
            found = self.get(aggregate_id, cls)
            if found is not None:
                yield found

    def self_evaluation(
        self, lg_code: str, grant_year: int, tier: str
    ) -> SelfEvaluation:
        """An entity's self-evaluation.

        Raises:
            InvalidInput: there is none.
        """
        msg = f"{lg_code} has no FY{grant_year} {tier} self-evaluation"
        return self._require(
            SelfEvaluation.id_for(lg_code, grant_year, tier),
            SelfEvaluation,
            msg,
            "entity",
        )

    def self_evaluations(
        self, grant_year: int, tier: str | None = None
    ) -> Iterator[SelfEvaluation]:
        """Every self-evaluation of a year (and tier), by LG code."""
        directory = self.refresh()
        keys = sorted(
            (key, aggregate_id)
            for aggregate_id, key in directory.self_evaluations.items()
            if key[1] == grant_year and (tier is None or key[2] == tier)
        )
        for _, aggregate_id in keys:
            found = self.get(aggregate_id, SelfEvaluation)
            if found is not None:
                yield found

    def history(self, aggregate_id: UUID) -> list[LedgerAggregate.Event]:
        """Every event of one aggregate, oldest first."""
        return [
            event
            for event in self.repository.event_store.get(aggregate_id)
            if isinstance(event, LedgerAggregate.Event)
        ]

    def count_events(self) -> int:
        """The position of the newest event (the event count, gaps aside)."""
        return log.count_events(self.recorder)

    def changed_since(self, position: int) -> dict[UUID, int]:
        """The first version recorded after `position` of each aggregate changed since.

        See `domain.log.changed_since`.
        """
        return log.changed_since(self.recorder, position, self.log_section_size)

    def as_of(self, aggregate: A, changed: Mapping[UUID, int]) -> A | None:
        """`aggregate` before its first version in `changed` (None: that created it)."""
        first = changed.get(aggregate.id)
        if first is None:
            return aggregate
        if first <= 1:
            return None
        earlier: object = self.repository.get(aggregate.id, version=first - 1)
        assert isinstance(earlier, type(aggregate))  # noqa: S101 - same id
        return earlier

    def receipt(self, actor: str, key: str) -> CommandReceipt | None:
        """The receipt of `actor`'s idempotency key (read afresh), or None."""
        self.refresh()
        return self._known_receipt(actor, key)

    def _known_receipt(self, actor: str, key: str) -> CommandReceipt | None:
        # A receipt from when keys were global counts only for the actor it names.
        for receipt_id in (
            CommandReceipt.id_for(actor, key),
            CommandReceipt.legacy_id_for(key),
        ):
            if receipt_id in self.directory.known:
                found = self.get(receipt_id, CommandReceipt)
                if found is not None and found.actor == actor:
                    return found
        return None

    def rule(self, rule_id: str) -> RuleSpec:
        """A published rule version.

        Raises:
            InvalidInput: no rule with this id is in the ledger.
        """
        msg = f"rule {rule_id} is not in the ledger (kofu load data/rules/...)"
        return self._require(Rule.id_for(rule_id), Rule, msg, "rules").spec

    def phase_runs(self, grant_year: int) -> list[PhaseRuns]:
        """Every phase with runs in a grant year, in cycle order."""
        found = [
            p
            for p in self._all(PhaseRuns.Opened, PhaseRuns)
            if p.grant_year == grant_year
        ]
        return sorted(found, key=lambda p: (PHASES.index(p.phase), p.grant, p.tier))

    def run_positions(
        self, phase_runs: Sequence[PhaseRuns]
    ) -> dict[UUID, list[tuple[str, int]]]:
        """(run id, ledger position of its calculation) of each phase's runs.

        See `domain.log.run_positions`.
        """
        return log.run_positions(self.recorder, phase_runs, self.log_section_size)

    def position_at(self, moment: datetime) -> int:
        """The last ledger position recorded at or before a moment (0 if none)."""
        return log.position_at(self.recorder, self.mapper, moment)

    def run(self, run_id: str) -> AllocationRun:
        """A recorded allocation run, to read (never to change: it is shared).

        A run's calculation never changes, so a run is read once and kept; a later
        publication is read forward onto the kept copy.

        Raises:
            InvalidInput: no run has this id.
        """
        with self._reading_runs:
            kept = self._runs.get(run_id)
            if kept is None:
                kept = self._run(run_id)
                self._runs[run_id] = kept
            elif kept.published is None:
                for event in self.repository.event_store.get(kept.id, gt=kept.version):
                    if isinstance(event, LedgerAggregate.Event):
                        event.mutate(kept)
            return kept

    def _run(self, run_id: str) -> AllocationRun:
        msg = f"no allocation run {run_id}"
        return self._require(AllocationRun.id_for(run_id), AllocationRun, msg, "run")

    def access_token(self, token_id: str) -> AccessToken | None:
        """An issued access token, or None."""
        return self.get(AccessToken.id_for(token_id), AccessToken)

    def access_tokens(self) -> list[AccessToken]:
        """Every issued access token, revoked ones included."""
        return list(self._all(AccessToken.Issued, AccessToken))

    def rules(self) -> list[RuleSpec]:
        """Every rule version in the ledger, by id."""
        return sorted(
            (r.spec for r in self._all(Rule.Published, Rule)), key=lambda s: s.id
        )

    def grant_awards(self, grant_year: int | None = None) -> list[GrantAward]:
        """Every recipient's chain (of a grant year), by grant, tier and recipient."""
        found = [
            a
            for a in self._all(GrantAward.Opened, GrantAward)
            if grant_year is None or a.grant_year == grant_year
        ]
        return sorted(found, key=lambda a: (a.grant_year, a.grant, a.tier, a.recipient))

    def insurers(self) -> list[Insurer]:
        """Every registered insurer, by number."""
        found = self._all(Insurer.Registered, Insurer)
        return sorted(found, key=lambda i: i.details.insurer_number)


__all__ = ["Reading"]
