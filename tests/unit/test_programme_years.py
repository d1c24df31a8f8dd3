"""Programme years: a promotion-only year is valid, and the evaluated period.

A year budgets the grants it has (FY2018-FY2019: the promotion grant alone); rules and
eligibility may name only budgeted grants and tiers; the evaluated period precedes
the grant year; a definition recorded before the field existed still reads.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
import yaml
from eventsourcing.persistence import StoredEvent
from pydantic import ValidationError

from adapters.inputs.files import load_files
from adapters.inputs.paths import data_dir
from adapters.storage.mapper import CanonicalJSONTranscoder, PydanticMapper
from domain.catalogue import CatalogueSpec
from domain.programme import ProgrammeSpec, ProgrammeYear

YEARS = tuple(range(2018, 2027))
PROGRAMMES = data_dir() / "programmes"


@cache
def programme(year: int) -> ProgrammeSpec:
    return load_files([PROGRAMMES / f"fy{year}.yaml"]).programmes[0][0]


@cache
def catalogue(year: int, tier: str) -> CatalogueSpec:
    path = data_dir() / "catalogues" / f"fy{year}-{tier}-v1.yaml"
    return load_files([path]).catalogues[0][0]


def raw(year: int) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(
        (PROGRAMMES / f"fy{year}.yaml").read_text(encoding="utf-8")
    )
    document.pop("kind")
    return document


def test_a_promotion_only_year_is_a_valid_programme():
    body = raw(2020)
    body["budgets"] = {"promotion": body["budgets"]["promotion"]}
    body["rules"] = {"promotion": body["rules"]["promotion"]}
    body["eligibility"] = {}

    spec = ProgrammeSpec.model_validate(body)

    assert list(spec.budgets) == ["promotion"]


def test_eligibility_for_a_grant_without_a_budget_is_refused():
    body = raw(2020)
    body["budgets"] = {"promotion": body["budgets"]["promotion"]}
    body["rules"] = {"promotion": body["rules"]["promotion"]}
    body["eligibility"] = {}
    body["eligibility"] = {
        "effort_support": {"municipal": "effort_support_eligibility@1"}
    }

    with pytest.raises(
        ValidationError, match="eligibility names a tier of effort_support"
    ):
        ProgrammeSpec.model_validate(body)


def test_a_rule_for_a_grant_without_a_budget_is_refused():
    body = raw(2020)
    body["budgets"] = {"promotion": body["budgets"]["promotion"]}
    body["rules"] = {"promotion": body["rules"]["promotion"]}
    body["eligibility"] = {}
    body["rules"]["effort_support"] = {"municipal": "banded_score_x_insured_share@1"}

    with pytest.raises(ValidationError, match="without a budget"):
        ProgrammeSpec.model_validate(body)


@pytest.mark.parametrize("period", [2020, 2021])
def test_an_evaluated_period_not_before_the_grant_year_is_refused(period):
    body = raw(2020) | {"evaluated_period": period}

    with pytest.raises(ValidationError, match="must precede the grant year FY2020"):
        ProgrammeSpec.model_validate(body)


def test_a_definition_recorded_before_the_evaluated_period_existed_still_reads():
    transcoder = CanonicalJSONTranscoder()
    mapper = PydanticMapper(transcoder=transcoder)
    defined = ProgrammeYear.define(programme(2020), "system:old")
    current = mapper.to_stored_event(defined.collect_events()[0])
    state = transcoder.decode(current.state)
    # As version 1 stored it: no class version, no evaluated period in the spec.
    del state["class_version"]
    del state["spec"]["evaluated_period"]
    old = StoredEvent(
        originator_id=current.originator_id,
        originator_version=current.originator_version,
        topic=current.topic,
        state=transcoder.encode(state),
    )

    event = mapper.to_domain_event(old)

    assert isinstance(event, ProgrammeYear.Defined)
    assert event.spec.evaluated_period is None
    assert event.spec.budgets == programme(2020).budgets
    again = mapper.to_stored_event(event).state
    assert b'"class_version":2' in again
    assert b'"evaluated_period":null' in again
