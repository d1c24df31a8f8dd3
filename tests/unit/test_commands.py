"""Command models: one calling style for every command of the ledger (issue 13)."""

from __future__ import annotations

from datetime import date

import pytest

from adapters.inputs.files import load_files
from adapters.inputs.paths import data_dir
from domain.commands import (
    DeclareRequiredAmounts,
    RecordInsuredCounts,
    RegisterEntities,
    Unkeyed,
)
from domain.entities import InsuredCount, RequiredAmount
from domain.errors import InvalidInput

UNKEYED = {
    "RegisterEntities",
    "RegisterInsurers",
    "RecordInsuredCounts",
    "RecordExpenditures",
    "DeclareRequiredAmounts",
    "PublishRules",
    "PublishCatalogue",
    "DefineProgramme",
    "IssueToken",
    "RevokeToken",
    "EndMembership",
}


def test_the_reference_token_and_rule_commands_are_the_unkeyed_ones() -> None:
    assert {c.__name__ for c in Unkeyed.__subclasses__()} == UNKEYED


@pytest.mark.parametrize("command", Unkeyed.__subclasses__(), ids=lambda c: c.__name__)
def test_an_unkeyed_command_refuses_a_key_instead_of_ignoring_it(
    command: type[Unkeyed],
) -> None:
    # These commands record no receipt: a key would promise what is not kept.
    with pytest.raises(InvalidInput, match="takes no idempotency key") as refused:
        command.checked({"idempotency_key": "load-2020"})
    assert refused.value.field == "idempotency_key"


def test_a_bulk_command_holds_the_validated_details_it_was_given() -> None:
    # 1,788 entities: held as given (pydantic's revalidate_instances "never"),
    # not copied or validated again.
    reference = data_dir() / "reference"
    loaded = load_files(
        [reference / "prefectures.csv", reference / "municipalities.csv"]
    )
    command = RegisterEntities(entities=loaded.entities)
    assert len(command.entities) == len(loaded.entities) > 1700
    assert all(a is b for a, b in zip(command.entities, loaded.entities, strict=True))


def test_pairs_are_checked_when_the_command_is_made() -> None:
    count = InsuredCount(
        fiscal_year=2020, count=1, source="synthetic", as_of=date(2019, 9, 30)
    )
    made = RecordInsuredCounts(counts=[("131041", count)], actor="ministry:x")
    assert made.counts == (("131041", count),)
    with pytest.raises(InvalidInput, match="amounts"):
        DeclareRequiredAmounts.checked(
            {"amounts": [("131041", count)], "actor": "ministry:x"}
        )
    required = RequiredAmount(
        grant_year=2020,
        grant="promotion",
        required_yen=1_000,
        source="synthetic",
        declared_on=date(2020, 4, 1),
    )
    assert DeclareRequiredAmounts.checked(
        {"amounts": [("131041", required)], "actor": "ministry:x"}
    ).amounts == (("131041", required),)
