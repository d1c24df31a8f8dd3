"""The entity registry: prefectures, municipalities and insurers (docs/DOMAIN.md §3).

The ministry evaluates each municipality (and prefecture) separately; money goes to
the insurer. A single-municipality insurer's number is built on the municipality's
JIS code; a 広域連合 / 一部事務組合 has its own number and member municipalities with
validity dates; a 政令指定都市 is one insurer holding one number per ward.

Over 300 lines (STYLE): the entity and insurer aggregates and their value
objects (insured counts, spending, required amounts), which share their rules.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from domain.base import FiscalYear, Grant, LedgerAggregate, Text, Value, stable_id
from domain.codes import InsurerNumber, LgCode
from domain.errors import Refused

EntityKind = Literal["prefecture", "municipality"]
InsurerKind = Literal[
    "single", "wide_area_union", "partial_affairs_association", "designated_city"
]
PrefectureCode = Annotated[str, Field(pattern=r"^(0[1-9]|[1-3][0-9]|4[0-7])$")]


class InsuredCount(Value):
    """第1号被保険者数 of one entity for one fiscal year, with where it came from."""

    fiscal_year: FiscalYear
    count: Annotated[int, Field(ge=0, le=10_000_000, strict=True)]
    source: Text
    as_of: date


class Expenditure(Value):
    """事業費: prevention spending of one entity in one fiscal year, by category.

    The 支援交付金 is paid only where this rose against the base year (§1, §6).
    """

    fiscal_year: FiscalYear
    spending_yen: dict[
        Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")],
        Annotated[int, Field(ge=0, strict=True)],
    ]
    source: Text
    as_of: date


class RequiredAmount(Value):
    """所要見込額: what the entity declares it needs of a grant in a grant year.

    From the expected phase on, the amount is min(draft amount, this) (§4).
    """

    grant_year: FiscalYear
    grant: Grant
    required_yen: Annotated[int, Field(ge=0, strict=True)]
    source: Text
    declared_on: date


class Entity(LedgerAggregate):
    """A prefecture or a municipality (特別区 included): an evaluated unit."""

    TOPIC = "kofu.Entity"

    class Event(LedgerAggregate.Event):
        """Base of this aggregate's events."""

    class Registered(Event, LedgerAggregate.Created):
        """The entity entered the registry."""

        TOPIC: ClassVar[str] = "kofu.Entity.Registered"
        lg_code: LgCode
        kind: EntityKind
        prefecture_code: PrefectureCode
        name: Text
        name_kana: str = ""
        special_ward: bool = False
        designated_city: bool = False

    # The alias stops the library from deriving another creation event class.
    Created = Registered  # type: ignore[assignment]

    class InsuredCountRecorded(Event):
        """第1号被保険者数 for a fiscal year (a later record replaces an earlier)."""

        TOPIC: ClassVar[str] = "kofu.Entity.InsuredCountRecorded"
        insured: InsuredCount
        actor: str

    class ExpenditureRecorded(Event):
        """事業費 for a fiscal year (a later record replaces an earlier)."""

        TOPIC: ClassVar[str] = "kofu.Entity.ExpenditureRecorded"
        expenditure: Expenditure
        actor: str

    class RequiredAmountDeclared(Event):
        """所要見込額 declared for a grant in a grant year (a later one replaces it)."""

        TOPIC: ClassVar[str] = "kofu.Entity.RequiredAmountDeclared"
        required: RequiredAmount
        actor: str

    if (
        TYPE_CHECKING
    ):  # state, set by `when` (annotations here would make it an init arg)
        lg_code: str
        kind: str
        prefecture_code: str
        name: str
        name_kana: str
        special_ward: bool
        designated_city: bool
        insured: dict[int, InsuredCount]
        expenditure: dict[int, Expenditure]
        required: dict[tuple[int, str], RequiredAmount]

    @staticmethod
    def id_for(lg_code: str) -> UUID:
        """The aggregate id of the entity with this LG code."""
        return stable_id("entity", lg_code)

    @classmethod
    def register(cls, details: Entity.Details) -> Entity:
        """Register a new entity."""
        return cls._create(
            cls.Registered, id=cls.id_for(details.lg_code), **details.model_dump()
        )

    class Details(Value):
        """What a registration says about an entity."""

        lg_code: LgCode
        kind: EntityKind
        prefecture_code: PrefectureCode
        name: Text
        name_kana: str = ""
        special_ward: bool = False
        designated_city: bool = False

        @model_validator(mode="after")
        def _prefecture_matches_code(self) -> Self:
            if self.lg_code[:2] != self.prefecture_code:
                msg = (
                    f"LG code {self.lg_code} does not lie in prefecture "
                    f"{self.prefecture_code}"
                )
                raise ValueError(msg)
            if self.kind == "prefecture" and self.lg_code[2:5] != "000":
                msg = f"a prefecture's LG code ends in 000 + check, not {self.lg_code}"
                raise ValueError(msg)
            if self.kind == "municipality" and self.lg_code[2:5] == "000":
                msg = f"{self.lg_code} is a prefecture's code, not a municipality's"
                raise ValueError(msg)
            return self

    def record_insured(self, insured: InsuredCount, actor: str) -> bool:
        """Record 第1号被保険者数 for a year; False if that record already stands."""
        if self.insured.get(insured.fiscal_year) == insured:
            return False
        self.trigger_event(self.InsuredCountRecorded, insured=insured, actor=actor)
        return True

    def record_expenditure(self, expenditure: Expenditure, actor: str) -> bool:
        """Record 事業費 for a year; False if that record already stands."""
        if self.expenditure.get(expenditure.fiscal_year) == expenditure:
            return False
        self.trigger_event(
            self.ExpenditureRecorded, expenditure=expenditure, actor=actor
        )
        return True

    def declare_required(self, required: RequiredAmount, actor: str) -> bool:
        """Record 所要見込額; False if that declaration already stands."""
        if self.required.get((required.grant_year, required.grant)) == required:
            return False
        self.trigger_event(self.RequiredAmountDeclared, required=required, actor=actor)
        return True

    def when(self, event: LedgerAggregate.Event) -> None:
        """Apply an event."""
        match event:
            case Entity.Registered():
                self.lg_code = event.lg_code
                self.kind = event.kind
                self.prefecture_code = event.prefecture_code
                self.name = event.name
                self.name_kana = event.name_kana
                self.special_ward = event.special_ward
                self.designated_city = event.designated_city
                self.insured = {}
                self.expenditure = {}
                self.required = {}
            case Entity.InsuredCountRecorded():
                self.insured[event.insured.fiscal_year] = event.insured
            case Entity.ExpenditureRecorded():
                self.expenditure[event.expenditure.fiscal_year] = event.expenditure
            case Entity.RequiredAmountDeclared():
                required = event.required
                self.required[required.grant_year, required.grant] = required
            case _:  # pragma: no cover
                raise NotImplementedError(type(event))


class Membership(Value):
    """A municipality's membership of an insurer, valid from a date (to a date)."""

    lg_code: LgCode
    valid_from: date
    valid_to: date | None = None

    def valid_on(self, day: date) -> bool:
        """Whether the membership holds on a day."""
        return self.valid_from <= day and (
            self.valid_to is None or day <= self.valid_to
        )


class WardNumber(Value):
    """One ward's insurer number of a 政令指定都市."""

    ward_lg_code: LgCode
    ward_name: Text
    insurer_number: InsurerNumber


class InsurerDetails(Value):
    """What a registration says about an insurer."""

    insurer_number: InsurerNumber
    kind: InsurerKind
    name: Text
    prefecture_code: PrefectureCode
    members: tuple[Membership, ...] = Field(min_length=1)
    wards: tuple[WardNumber, ...] = ()
    synthetic: bool = False

    @model_validator(mode="after")
    def _shape_fits_kind(self) -> Self:
        if self.kind in {"single", "designated_city"} and len(self.members) != 1:
            msg = f"a {self.kind} insurer has exactly one member municipality"
            raise ValueError(msg)
        if self.kind in {"wide_area_union", "partial_affairs_association"} and (
            len(self.members) < 2  # noqa: PLR2004
        ):
            msg = f"a {self.kind} has at least two member municipalities"
            raise ValueError(msg)
        if self.kind == "designated_city" and not self.wards:
            msg = "a designated city holds one insurer number per ward"
            raise ValueError(msg)
        if self.kind != "designated_city" and self.wards:
            msg = "only a designated city has ward insurer numbers"
            raise ValueError(msg)
        codes = [m.lg_code for m in self.members]
        if len(set(codes)) != len(codes):
            msg = "a member municipality is listed twice"
            raise ValueError(msg)
        return self


class Insurer(LedgerAggregate):
    """保険者: the recipient of the grants for its member municipalities."""

    TOPIC = "kofu.Insurer"

    class Event(LedgerAggregate.Event):
        """Base of this aggregate's events."""

    class Registered(Event, LedgerAggregate.Created):
        """The insurer entered the registry."""

        TOPIC: ClassVar[str] = "kofu.Insurer.Registered"
        details: InsurerDetails

    # The alias stops the library from deriving another creation event class.
    Created = Registered  # type: ignore[assignment]

    class MembershipEnded(Event):
        """A member municipality left the insurer (its membership ends on a day)."""

        TOPIC: ClassVar[str] = "kofu.Insurer.MembershipEnded"
        lg_code: LgCode
        valid_to: date
        actor: str

    if (
        TYPE_CHECKING
    ):  # state, set by `when` (annotations here would make it an init arg)
        details: InsurerDetails
        registered: InsurerDetails
        """The details as registered (before any membership ended)."""

    @staticmethod
    def id_for(insurer_number: str) -> UUID:
        """The aggregate id of the insurer with this number."""
        return stable_id("insurer", insurer_number)

    @classmethod
    def register(cls, details: InsurerDetails) -> Insurer:
        """Register a new insurer."""
        return cls._create(
            cls.Registered, id=cls.id_for(details.insurer_number), details=details
        )

    def ended_on(self, lg_code: str) -> date | None:
        """The day a member's membership ended (None: current, or not a member)."""
        ends = [m.valid_to for m in self.details.members if m.lg_code == lg_code]
        return ends[0] if ends else None

    def end_membership(self, lg_code: str, valid_to: date, actor: str) -> None:
        """End a member's membership.

        Raises:
            Refused: not a current member, or the end precedes the start.
        """
        current = [m for m in self.details.members if m.lg_code == lg_code]
        if not current or current[0].valid_to is not None:
            msg = f"{lg_code} is not a current member of {self.details.insurer_number}"
            raise Refused(msg, field="lg_code")
        if valid_to < current[0].valid_from:
            msg = f"membership of {lg_code} cannot end before it began"
            raise Refused(msg, field="valid_to")
        self.trigger_event(
            self.MembershipEnded, lg_code=lg_code, valid_to=valid_to, actor=actor
        )

    def members_on(self, day: date) -> list[str]:
        """LG codes of the member municipalities on a day."""
        return [m.lg_code for m in self.details.members if m.valid_on(day)]

    def when(self, event: LedgerAggregate.Event) -> None:
        """Apply an event."""
        match event:
            case Insurer.Registered():
                self.details = self.registered = event.details
            case Insurer.MembershipEnded():
                members = tuple(
                    m.model_copy(update={"valid_to": event.valid_to})
                    if m.lg_code == event.lg_code
                    else m
                    for m in self.details.members
                )
                self.details = self.details.model_copy(update={"members": members})
            case _:  # pragma: no cover
                raise NotImplementedError(type(event))


def size_band(count: int, lower_bounds: tuple[int, ...]) -> int:
    """規模区分: the 1-based band whose lower bound is the highest one ≤ count.

    The bounds are data of the programme year (FY2026 published: 0, 3,000, 10,000,
    50,000, 100,000), never constants here.
    """
    band = 0
    for index, bound in enumerate(lower_bounds, start=1):
        if count >= bound:
            band = index
    return band
