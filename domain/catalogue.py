"""Indicator catalogues (評価指標) per grant year and tier, and answers to their items.

One questionnaire per (grant year, tier) is answered once and weighted per grant
(docs/DOMAIN.md §5). Both published structures fit the same shape:

* FY2020-FY2023: `structure: sections`, goals are the sections Ⅰ/Ⅱ/Ⅲ, each with its
  points per grant (FY2023 full marks 1,355 / 830).
* FY2024 on: `structure: goals`, each grant has 4 goals x 100 points; a goal weighted
  0 in the other grant carries that grant's points only, and the outcome goal Ⅳ
  (computed by the ministry) counts in both.

A published catalogue is immutable; errata are a new version of the same series.

Over 300 lines (STYLE): the catalogue's value model (items, thresholds, answers
and their parsing) and its two aggregates; an answer is parsed by its item.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, DecimalTuple, InvalidOperation
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from domain.base import (
    GRANTS,
    FiscalYear,
    Grant,
    LedgerAggregate,
    Text,
    Tier,
    Value,
    stable_id,
)
from domain.errors import InvalidInput, Refused

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
Points = dict[Grant, Annotated[int, Field(ge=0, le=10_000)]]


def points_in(points: Points, grant: Grant) -> int:
    """Points for one grant; a grant not named carries 0."""
    return points.get(grant, 0)


def max_points(item: SubItem, grant: Grant) -> int:
    """配点 of a sub-item in a grant: the most an answer can earn (docs/DOMAIN.md §5).

    A checkbox earns its points; a number item the points of its highest threshold
    (it carries no points of its own).
    """
    if item.kind == "checkbox":
        return points_in(item.points, grant)
    return max((points_in(t.points, grant) for t in item.thresholds), default=0)


class Threshold(Value):
    """A number answer at or above `at_least` earns `points` (the highest met wins)."""

    at_least: Decimal
    points: Points


class SubItem(Value):
    """枝番: one answerable item of an indicator."""

    code: Code
    title: Text
    kind: Literal["checkbox", "number"]
    points: Points = Field(default_factory=dict)
    unit: str | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    thresholds: tuple[Threshold, ...] = ()

    @model_validator(mode="after")
    def _kind_is_consistent(self) -> Self:
        if self.kind == "checkbox" and (self.thresholds or self.unit):
            msg = f"checkbox item {self.code} cannot have thresholds or a unit"
            raise ValueError(msg)
        if self.kind == "number":
            if not self.thresholds:
                msg = f"number item {self.code} needs thresholds"
                raise ValueError(msg)
            bounds = [t.at_least for t in self.thresholds]
            if bounds != sorted(set(bounds)):
                msg = f"thresholds of {self.code} must strictly increase"
                raise ValueError(msg)
        return self

    def parse(self, raw: object) -> Answer:
        """Turn a raw value from a file into an answer to this item.

        Raises:
            InvalidInput: the value does not fit the item's kind or range.
        """
        if self.kind == "checkbox":
            return CHECKED if _parse_checkbox(raw, self.code) else UNCHECKED
        number = _parse_number(raw, self.code)
        if self.minimum is not None and number < self.minimum:
            msg = f"{number} is below the minimum {self.minimum} of item {self.code}"
            raise InvalidInput(msg, field=self.code)
        if self.maximum is not None and number > self.maximum:
            msg = f"{number} is above the maximum {self.maximum} of item {self.code}"
            raise InvalidInput(msg, field=self.code)
        return _number_answer(number.as_tuple())


@lru_cache(maxsize=65_536)
def _number_answer(digits: DecimalTuple) -> Answer:
    # Keyed by the digits, not the value: 1.0 and 1 are equal but stored apart.
    # Validated by the caller as an exact, finite decimal; answers are immutable.
    sign, numerals, exponent = digits
    return Answer.model_construct(
        checked=None, number=Decimal((sign, numerals, int(exponent)))
    )


_TRUE = {"true", "1", "yes", "y", "○", "〇", "該当"}
_FALSE = {"false", "0", "no", "n", "×", "", "非該当"}


def _parse_checkbox(raw: object, code: str) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in {0, 1}:
        return bool(raw)
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    msg = f"checkbox item {code} takes true/false (or 1/0, ○/×), got {raw!r}"
    raise InvalidInput(msg, field=code)


def _parse_number(raw: object, code: str) -> Decimal:
    if isinstance(raw, bool | float):
        msg = f"number item {code} needs an exact decimal, got {raw!r}"
        raise InvalidInput(msg, field=code)
    if isinstance(raw, int | Decimal):
        number = Decimal(raw)
    elif isinstance(raw, str):
        try:
            number = Decimal(raw.strip().replace(",", ""))
        except InvalidOperation:
            msg = f"number item {code} takes a decimal number, got {raw!r}"
            raise InvalidInput(msg, field=code) from None
    else:
        msg = f"number item {code} takes a decimal number, got {raw!r}"
        raise InvalidInput(msg, field=code)
    if not number.is_finite():
        msg = f"number item {code} must be finite, got {raw!r}"
        raise InvalidInput(msg, field=code)
    if number.is_zero():
        # -0 equals 0 but prints and hashes apart: recorded as 0 (same digits).
        number = number.copy_abs()
    return number


class Answer(Value):
    """An answer to one item: a checkbox state or an exact number."""

    checked: bool | None = None
    number: Decimal | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.checked is None) == (self.number is None):
            msg = "an answer is either checked or a number"
            raise ValueError(msg)
        return self

    def display(self) -> str:
        """Human-readable form (true/false or the number)."""
        if self.checked is not None:
            return "true" if self.checked else "false"
        return str(self.number)


CHECKED = Answer(checked=True)
UNCHECKED = Answer(checked=False)


class Indicator(Value):
    """評価指標: its sub-items summed, or alternatives where the best counts.

    `mode: sum` adds the sub-items' points, `mode: best` takes the best alternative;
    either way the result is capped at the indicator's points per grant.
    """

    code: Code
    title: Text
    mode: Literal["sum", "best"] = "sum"
    source: Literal["self", "ministry"] = "self"
    evaluated_period: str = Field(pattern=r"^FY\d{4}(-FY\d{4})?$")
    max_points: Points
    sub_items: tuple[SubItem, ...] = Field(min_length=1)


class Group(Value):
    """An indicator group (体制・取組 / 活動 / 成果, or a section's block)."""

    code: Code
    title: Text
    kind: Literal["structure", "activity", "outcome", "section"]
    max_points: Points
    indicators: tuple[Indicator, ...] = Field(min_length=1)


class Goal(Value):
    """目標 (FY2024 on) or section Ⅰ/Ⅱ/Ⅲ (FY2020-FY2023), capped per grant."""

    code: Code
    title: Text
    max_points: Points
    groups: tuple[Group, ...] = Field(min_length=1)


class CatalogueSpec(Value):
    """The whole published structure of one catalogue version."""

    grant_year: FiscalYear
    tier: Tier
    version: Annotated[int, Field(ge=1)]
    structure: Literal["sections", "goals"]
    title: Text
    illustrative: bool
    source: Text
    published_on: date
    grants: tuple[Grant, ...] = Field(min_length=1)
    full_marks: Points
    goals: tuple[Goal, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _is_consistent(self) -> Self:
        codes: set[str] = set()
        for goal in self.goals:
            for group in goal.groups:
                for indicator in group.indicators:
                    for code in (
                        indicator.code,
                        *(s.code for s in indicator.sub_items),
                    ):
                        if code in codes:
                            msg = f"code {code} appears twice"
                            raise ValueError(msg)
                        codes.add(code)
        for grant in GRANTS:
            declared = points_in(self.full_marks, grant)
            total = sum(points_in(goal.max_points, grant) for goal in self.goals)
            if grant in self.grants and declared != total:
                msg = f"full_marks[{grant}] is {declared} but the goals sum to {total}"
                raise ValueError(msg)
            if grant not in self.grants and declared:
                msg = f"full_marks names {grant}, which the catalogue does not weight"
                raise ValueError(msg)
        return self

    def sub_items(self) -> dict[str, tuple[SubItem, Indicator]]:
        """Every answerable item by code, with the indicator it belongs to."""
        return self._item_index

    @cached_property
    def _item_index(self) -> dict[str, tuple[SubItem, Indicator]]:
        # Computed once per (immutable) catalogue; callers only read it.
        return {
            sub.code: (sub, indicator)
            for goal in self.goals
            for group in goal.groups
            for indicator in group.indicators
            for sub in indicator.sub_items
        }


class Catalogue(LedgerAggregate):
    """One published, immutable catalogue version (its id names year, tier, version)."""

    TOPIC = "kofu.Catalogue"

    class Event(LedgerAggregate.Event):
        """Base of this aggregate's events."""

    class Published(Event, LedgerAggregate.Created):
        """The ministry published this catalogue version."""

        TOPIC: ClassVar[str] = "kofu.Catalogue.Published"
        spec: CatalogueSpec

    # The alias stops the library from deriving another creation event class.
    Created = Published  # type: ignore[assignment]

    if (
        TYPE_CHECKING
    ):  # state, set by `when` (annotations here would make it an init arg)
        spec: CatalogueSpec
        items: dict[str, tuple[SubItem, Indicator]]

    @staticmethod
    def id_for(grant_year: int, tier: str, version: int) -> UUID:
        """The aggregate id of a catalogue version."""
        return stable_id("catalogue", grant_year, tier, version)

    @classmethod
    def publish(cls, spec: CatalogueSpec) -> Catalogue:
        """Record a published catalogue version."""
        return cls._create(
            cls.Published,
            id=stable_id("catalogue", spec.grant_year, spec.tier, spec.version),
            spec=spec,
        )

    def when(self, event: LedgerAggregate.Event) -> None:
        """Apply an event."""
        match event:
            case Catalogue.Published():
                self.spec = event.spec
                self.items = event.spec.sub_items()
            case _:  # pragma: no cover - no other events exist
                raise NotImplementedError(type(event))

    def item(self, code: str) -> tuple[SubItem, Indicator]:
        """The sub-item with this code.

        Raises:
            InvalidInput: no such item in this version.
        """
        try:
            return self.items[code]
        except KeyError:
            # Look-alike letters and invisible characters shown as escapes.
            shown = code if code.isascii() and code.isprintable() else ascii(code)
            msg = (
                f"item {shown} is not in the FY{self.spec.grant_year} "
                f"{self.spec.tier} catalogue version {self.spec.version}"
            )
            raise InvalidInput(msg, field=shown) from None


class CatalogueSeries(LedgerAggregate):
    """The versions published for one (grant year, tier); the newest is in force."""

    TOPIC = "kofu.CatalogueSeries"

    class Event(LedgerAggregate.Event):
        """Base of this aggregate's events."""

    class Started(Event, LedgerAggregate.Created):
        """The first version of this (grant year, tier) was published."""

        TOPIC: ClassVar[str] = "kofu.CatalogueSeries.Started"
        grant_year: FiscalYear
        tier: Tier

    # The alias stops the library from deriving another creation event class.
    Created = Started  # type: ignore[assignment]

    class VersionPublished(Event):
        """A version was published and is now in force."""

        TOPIC: ClassVar[str] = "kofu.CatalogueSeries.VersionPublished"
        version: int
        published_on: date
        fingerprint: str
        reason: str | None = None

    if (
        TYPE_CHECKING
    ):  # state, set by `when` (annotations here would make it an init arg)
        grant_year: int
        tier: str
        versions: dict[int, str]

    @staticmethod
    def id_for(grant_year: int, tier: str) -> UUID:
        """The aggregate id of the series for (grant year, tier)."""
        return stable_id("catalogue-series", grant_year, tier)

    @classmethod
    def start(cls, grant_year: int, tier: str) -> CatalogueSeries:
        """Open the series of a (grant year, tier)."""
        return cls._create(
            cls.Started,
            id=stable_id("catalogue-series", grant_year, tier),
            grant_year=grant_year,
            tier=tier,
        )

    @property
    def in_force(self) -> int | None:
        """The version in force (the newest published)."""
        return max(self.versions) if self.versions else None

    def publish(
        self, spec: CatalogueSpec, fingerprint: str, reason: str | None
    ) -> bool:
        """Record a newly published version; False if it is already recorded as is.

        Raises:
            Refused: the version exists with other content, is not the next one, or
                an erratum gives no reason.
        """
        known = self.versions.get(spec.version)
        if known == fingerprint:
            return False
        if known is not None:
            msg = (
                f"FY{spec.grant_year} {spec.tier} catalogue version {spec.version} is "
                f"already published with other content; published catalogues are "
                f"immutable, publish errata as version {max(self.versions) + 1}"
            )
            raise Refused(msg, field="version")
        expected = (self.in_force or 0) + 1
        if spec.version != expected:
            msg = f"the next catalogue version must be {expected}, got {spec.version}"
            raise Refused(msg, field="version")
        if self.versions and not reason:
            msg = "an erratum (a version after 1) needs a reason"
            raise Refused(msg, field="reason")
        self.trigger_event(
            self.VersionPublished,
            version=spec.version,
            published_on=spec.published_on,
            fingerprint=fingerprint,
            reason=reason,
        )
        return True

    def when(self, event: LedgerAggregate.Event) -> None:
        """Apply an event."""
        match event:
            case CatalogueSeries.Started():
                self.grant_year = event.grant_year
                self.tier = event.tier
                self.versions = {}
            case CatalogueSeries.VersionPublished():
                self.versions[event.version] = event.fingerprint
            case _:  # pragma: no cover
                raise NotImplementedError(type(event))
