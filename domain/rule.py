"""Allocation and eligibility rules as versioned data (docs/DOMAIN.md §6).

A rule version is a document in data/rules/<id>.yaml: its `kind` names the pure
formula (see `domain.allocation`), its `parameters` feed that formula, and its
`status` says whether the rule is confirmed or a modelling hypothesis. A hypothesis
must say so in its label; nothing here branches on the year.

The `Rule` aggregate records a rule version in the ledger, so that a run names a rule
auditors can read. A rule version is immutable: the same id with other content is
refused; a changed rule is a new version (`banded_score_x_insured_share@2`), valid
from a grant year.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self, TypeVar
from uuid import UUID

from pydantic import Field, model_validator

from domain.base import FiscalYear, LedgerAggregate, Text, Value, stable_id
from domain.catalogue import Code
from domain.errors import InvalidInput, Refused
from domain.glossary import (
    COUNTERFACTUAL_BADGE,
    COUNTERFACTUAL_EN,
    COUNTERFACTUAL_JA,
    HYPOTHESIS_EN,
    HYPOTHESIS_JA,
    is_labelled_hypothesis,
)
from domain.money_rules import (
    MONEY_PARAMETERS,
    ChainScheduleParameters,
    MoneyParameters,
    PermittedUsesParameters,
    PremiumShareParameters,
    RefundChargesParameters,
)

M = TypeVar("M", bound=MoneyParameters)

RuleId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}@[1-9][0-9]{0,3}$")]
"""`name@version`, e.g. `score_x_insured_share@1`."""


class AdditionalComponent(Value):
    """An extra allocation (e.g. top outcome performers, FY2024 on; rule not public).

    Off by default. No formula is registered for it yet: `allocate` refuses a rule
    that switches it on rather than invent one.
    """

    enabled: bool = False
    budget_share: Annotated[Decimal, Field(ge=0, le=1)] = Decimal(0)
    description: str = ""


class AllocationParameters(Value):
    """Parameters of a share-of-budget formula (docs/DOMAIN.md §6).

    Attributes:
        rounding_unit_yen: each amount is rounded to a multiple of this.
        rounding: how amounts are rounded (floor only: Σ amounts ≤ budget).
        weight_by_insured: weight = score × 第1号被保険者数 (true) or score (false).
        band_weight: which claims' 第1号被保険者数 split the budget across size bands
            (banded formulas only): the eligible claims, or all claims.
        redistribute_capped: policy switch for `cap_to_required`: money capped off
            at the required amount is shared again among the uncapped (true) or
            left unallocated (false).
        additional_component: optional extra component, off by default.
    """

    rounding_unit_yen: Annotated[int, Field(ge=1, strict=True)] = 1000
    rounding: Literal["floor"] = "floor"
    weight_by_insured: bool = True
    band_weight: Literal["eligible_insured", "all_insured"] = "eligible_insured"
    redistribute_capped: bool = False
    additional_component: AdditionalComponent = AdditionalComponent()


class EligibilityParameters(Value):
    """Parameters of the 支援交付金 eligibility test (docs/DOMAIN.md §1, §6).

    Attributes:
        base_year_offset: the base year is the compared year plus this (e.g. -1).
        spending_categories: codes of the 事業費 categories that count.
        comparison: `increase` (strictly more) or `no_decrease` (at least equal).
        adjustment: `per_elderly_when_population_falls` compares spending per
            elderly person when the elderly population fell (人口動態を加味した調整);
            `none` always compares totals.
    """

    base_year_offset: Annotated[int, Field(le=-1, strict=True)] = -1
    spending_categories: tuple[Code, ...] = Field(min_length=1)
    comparison: Literal["increase", "no_decrease"] = "increase"
    adjustment: Literal["per_elderly_when_population_falls", "none"] = (
        "per_elderly_when_population_falls"
    )


PARAMETERS_BY_KIND: dict[
    str, type[AllocationParameters | EligibilityParameters | MoneyParameters]
] = {
    "pooled_share": AllocationParameters,
    "banded_share": AllocationParameters,
    "spending_increase": EligibilityParameters,
    **MONEY_PARAMETERS,
}
"""Known kinds and the parameters each takes (formulas: domain.allocation; the money
chain's rules: domain.money_rules)."""


class RuleSpec(Value):
    """One version of an allocation or eligibility rule (docs/DOMAIN.md §6)."""

    id: RuleId
    kind: str
    valid_from: FiscalYear
    valid_to: FiscalYear | None = None
    status: Literal["confirmed", "hypothesis"]
    label: Text
    description: Text
    reference: Text
    parameters: (
        AllocationParameters
        | EligibilityParameters
        | PermittedUsesParameters
        | PremiumShareParameters
        | RefundChargesParameters
        | ChainScheduleParameters
    )

    @model_validator(mode="before")
    @classmethod
    def _parameters_of_kind(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "kind" not in data:
            return data
        model = PARAMETERS_BY_KIND.get(data["kind"])
        if model is None:
            msg = (
                f"unknown kind {data['kind']!r}; known: {', '.join(PARAMETERS_BY_KIND)}"
            )
            raise ValueError(msg)
        raw = data.get("parameters", {})
        parameters = raw if isinstance(raw, model) else model.model_validate(raw)
        return {**data, "parameters": parameters}

    @model_validator(mode="after")
    def _is_consistent(self) -> Self:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            msg = f"valid_to {self.valid_to} precedes valid_from {self.valid_from}"
            raise ValueError(msg)
        if self.status == "hypothesis" and not is_labelled_hypothesis(self.label):
            msg = (
                f"a hypothesis rule must say {HYPOTHESIS_JA} or {HYPOTHESIS_EN} "
                "in its label"
            )
            raise ValueError(msg)
        return self

    def in_force(self, grant_year: int) -> bool:
        """Whether this rule version applies to a grant year."""
        return self.valid_from <= grant_year and (
            self.valid_to is None or grant_year <= self.valid_to
        )

    def counterfactual_for(self, grant_year: int) -> RuleSpec:
        """This rule as a counterfactual twin that applies to `grant_year` too.

        The twin has its own id (`cf_<name>@<version>`, so it never passes for the
        rule itself), valid years widened to take in `grant_year`, and a label
        that starts with the counterfactual badge: a what-if may apply it to a year
        the rule was never in force for, and says so wherever the run is shown.
        """
        name, version = self.id.split("@")
        valid_to = self.valid_to
        if valid_to is not None:
            valid_to = max(valid_to, grant_year)
        years = f"FY{self.valid_from}–{f'FY{self.valid_to}' if self.valid_to else ''}"
        return RuleSpec.model_validate(
            self.model_dump()
            | {
                "id": f"cf_{name}"[:64] + f"@{version}",
                "valid_from": min(self.valid_from, grant_year),
                "valid_to": valid_to,
                "label": f"{COUNTERFACTUAL_BADGE} FY{grant_year}: {self.label}",
                "description": (
                    f"{COUNTERFACTUAL_EN} ({COUNTERFACTUAL_JA}): {self.id}, valid "
                    f"{years}, applied to FY{grant_year} on request. "
                    f"{self.description}"
                ),
            }
        )

    def allocation_parameters(self) -> AllocationParameters:
        """The parameters of an allocation rule.

        Raises:
            InvalidInput: this is an eligibility rule.
        """
        if not isinstance(self.parameters, AllocationParameters):
            msg = f"rule {self.id} ({self.kind}) is not an allocation rule"
            raise InvalidInput(msg, field="rule")
        return self.parameters

    def eligibility_parameters(self) -> EligibilityParameters:
        """The parameters of an eligibility rule.

        Raises:
            InvalidInput: this is an allocation rule.
        """
        if not isinstance(self.parameters, EligibilityParameters):
            msg = f"rule {self.id} ({self.kind}) is not an eligibility rule"
            raise InvalidInput(msg, field="rule")
        return self.parameters

    def money_parameters(self, kind: type[M]) -> M:
        """The parameters of a money-chain rule of this kind (domain.money_rules).

        Raises:
            InvalidInput: the rule is of another kind.
        """
        if not isinstance(self.parameters, kind):
            msg = f"rule {self.id} ({self.kind}) is not a {kind.__name__} rule"
            raise InvalidInput(msg, field="rule")
        return self.parameters


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
