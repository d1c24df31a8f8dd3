"""Programme years (交付年度): budgets, schedule, rule versions and size bands.

Everything here varies by year and is data: one `ProgrammeSpec` per grant year,
loaded from data/programmes/*.yaml (FY2018-FY2026; docs/PROGRAMME-YEARS.md lists
every figure with its source). A year budgets the grants it has: FY2018-FY2019 the
promotion grant (推進) only, from FY2020 also 支援 (effort_support); nothing here
branches on the year. An amendment is a new event with a reason; the earlier
definition stays in the history.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from domain.base import FiscalYear, Grant, LedgerAggregate, Text, Tier, Value, Yen
from domain.base import stable_id as _stable_id
from domain.errors import Refused

Phase = Literal["reference", "expected", "provisional", "decision", "settlement"]
"""参考値, 交付見込額, 内示, 交付決定, 精算 (settled after late corrections)."""

PHASES: tuple[Phase, ...] = (
    "reference",
    "expected",
    "provisional",
    "decision",
    "settlement",
)


class Schedule(Value):
    """The dates of a grant year's cycle (docs/DOMAIN.md §4)."""

    indicators_issued: date
    submission_opens: date
    submission_closes: date
    phases: dict[Phase, date]

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if (
            not self.indicators_issued
            <= self.submission_opens
            <= self.submission_closes
        ):
            msg = "indicators_issued ≤ submission_opens ≤ submission_closes must hold"
            raise ValueError(msg)
        dates = [self.phases[p] for p in PHASES if p in self.phases]
        if dates != sorted(dates) or (dates and dates[0] < self.submission_closes):
            msg = "phases must follow the submission window, in cycle order"
            raise ValueError(msg)
        return self


class ProgrammeSpec(Value):
    """The definition of one grant year."""

    grant_year: FiscalYear
    title: Text
    source: Text
    budgets: dict[Grant, dict[Tier, Yen]] = Field(min_length=1)
    schedule: Schedule
    rules: dict[Grant, dict[Tier, str]]
    eligibility: dict[Grant, dict[Tier, str]] = Field(default_factory=dict)
    """Eligibility rule versions, where a grant is paid only to some (支援)."""
    adjustment_policy: Literal["refund_or_additional", "settle_next_year"] = (
        "refund_or_additional"
    )
    """After 交付決定, what a changed amount becomes: a refund or an additional
    grant now, or a settlement in the next year's grant."""
    size_bands: Annotated[tuple[int, ...], Field(min_length=1)]
    evaluated_period: Annotated[int, Field(ge=2000, le=2100)] | None = None
    """評価対象年度: the fiscal year whose work the self-reported indicators evaluate
    (the FY2020 and FY2021 indicators evaluate FY2019, FY2022 evaluates FY2020);
    None in definitions recorded before it was a field (class version 1)."""
    hypotheses: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _is_consistent(self) -> Self:
        if self.size_bands[0] != 0 or list(self.size_bands) != sorted(
            set(self.size_bands)
        ):
            msg = "size_bands are strictly increasing lower bounds starting at 0"
            raise ValueError(msg)
        for grant, tiers in self.budgets.items():
            if set(self.rules.get(grant, {})) != set(tiers):
                msg = (
                    f"rules must name a rule version for every budgeted tier of {grant}"
                )
                raise ValueError(msg)
        if set(self.rules) - set(self.budgets):
            msg = "rules name a grant without a budget"
            raise ValueError(msg)
        for grant, eligible in self.eligibility.items():
            if set(eligible) - set(self.budgets.get(grant, {})):
                msg = f"eligibility names a tier of {grant} without a budget"
                raise ValueError(msg)
        if (
            self.evaluated_period is not None
            and self.evaluated_period >= self.grant_year
        ):
            msg = (
                f"evaluated_period FY{self.evaluated_period} must precede the grant "
                f"year FY{self.grant_year}"
            )
            raise ValueError(msg)
        return self


def _no_evaluated_period(state: dict[str, Any]) -> None:
    # An upcast: a programme defined before the field existed did not record it.
    state["spec"].setdefault("evaluated_period", None)


class ProgrammeYear(LedgerAggregate):
    """One grant year's programme."""

    TOPIC = "kofu.ProgrammeYear"

    class Event(LedgerAggregate.Event):
        """Base of this aggregate's events."""

    class Defined(Event, LedgerAggregate.Created):
        """The programme of a grant year was defined."""

        TOPIC: ClassVar[str] = "kofu.ProgrammeYear.Defined"
        class_version: ClassVar[int] = 2
        spec: ProgrammeSpec
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 had no `spec.evaluated_period`: it was not recorded."""
            _no_evaluated_period(state)

    # The alias stops the library from deriving another creation event class.
    Created = Defined  # type: ignore[assignment]

    class Amended(Event):
        """The programme was amended (budget revision, new schedule...)."""

        TOPIC: ClassVar[str] = "kofu.ProgrammeYear.Amended"
        class_version: ClassVar[int] = 2
        spec: ProgrammeSpec
        reason: Text
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 had no `spec.evaluated_period`: it was not recorded."""
            _no_evaluated_period(state)

    if (
        TYPE_CHECKING
    ):  # state, set by `when` (annotations here would make it an init arg)
        spec: ProgrammeSpec

    @staticmethod
    def id_for(grant_year: int) -> UUID:
        """The aggregate id of a grant year's programme."""
        return _stable_id("programme", grant_year)

    @classmethod
    def define(cls, spec: ProgrammeSpec, actor: str) -> ProgrammeYear:
        """Define a grant year."""
        return cls._create(
            cls.Defined, id=cls.id_for(spec.grant_year), spec=spec, actor=actor
        )

    def amend(self, spec: ProgrammeSpec, reason: str | None, actor: str) -> bool:
        """Amend the definition; False if nothing changes.

        Raises:
            Refused: the year differs, or no reason is given.
        """
        if spec == self.spec:
            return False
        if spec.grant_year != self.spec.grant_year:
            msg = "an amendment cannot change the grant year"
            raise Refused(msg, field="grant_year")
        if not reason:
            msg = (
                f"FY{spec.grant_year} is already defined differently; "
                "an amendment needs a reason"
            )
            raise Refused(msg, field="reason")
        self.trigger_event(self.Amended, spec=spec, reason=reason, actor=actor)
        return True

    def when(self, event: LedgerAggregate.Event) -> None:
        """Apply an event."""
        match event:
            case ProgrammeYear.Defined() | ProgrammeYear.Amended():
                self.spec = event.spec
            case _:  # pragma: no cover
                raise NotImplementedError(type(event))

    def check_window(self, day: date, what: str) -> None:
        """Refuse `what` unless `day` lies inside the submission window."""
        schedule = self.spec.schedule
        if not schedule.submission_opens <= day <= schedule.submission_closes:
            msg = (
                f"{what} on {day} is outside the FY{self.spec.grant_year} submission "
                f"window {schedule.submission_opens} to {schedule.submission_closes}"
            )
            raise Refused(msg, field="date")
