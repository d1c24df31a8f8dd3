"""Rules the application service enforces, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from adapters.inputs.files import load_files
from adapters.inputs.paths import data_dir
from adapters.storage.bootstrap import open_ledger
from domain import clock as ledger_clock
from domain.clock import SimulatedClock
from domain.commands import (
    ConfirmSelfEvaluation,
    CorrectAnswer,
    EndMembership,
    ImportMinistryValues,
    PublishCatalogue,
    RecordInsuredCounts,
    RegisterInsurers,
    SubmitSelfEvaluation,
)
from domain.entities import InsuredCount, InsurerDetails, Membership
from domain.errors import InvalidInput, Refused
from domain.ledger import Ledger
from domain.self_evaluation import SelfEvaluation
from tests.conftest import Kofu

SHINJUKU = "131041"
OKUTAMA = "133086"
HINOHARA = "133078"


@pytest.fixture
def ledger(world: Kofu) -> Iterator[Ledger]:
    opened = open_ledger(world.url)
    yield opened
    opened.close()


def on_day(day: str) -> None:
    """Move the ledger's (simulated) clock forward to 10:00 JST on `day`."""
    simulated = ledger_clock.current()
    assert isinstance(simulated, SimulatedClock)
    simulated.set_day(date.fromisoformat(day))


def submit(
    ledger: Ledger, key: str | None = None, on: str = "2019-10-10", **answers: object
) -> int:
    on_day(on)
    result = ledger.submit(
        [
            SubmitSelfEvaluation(
                entity=SHINJUKU,
                grant_year=2020,
                tier="municipal",
                answers=answers or {"I-1-a": True},
                actor=f"insurer:{SHINJUKU}",
                idempotency_key=key,
            )
        ]
    )
    return result.events


def test_a_repeated_idempotency_key_with_the_same_content_is_a_no_op(
    ledger: Ledger,
) -> None:
    assert submit(ledger, "k1", **{"I-1-a": True}) == 3
    before = ledger.count_events()
    assert submit(ledger, "k1", **{"I-1-a": True}) == 0
    assert ledger.count_events() == before


def test_a_repeated_idempotency_key_with_other_content_is_refused(
    ledger: Ledger,
) -> None:
    submit(ledger, "k1", **{"I-1-a": True})
    before = ledger.count_events()
    with pytest.raises(Refused, match="already used for a different command"):
        submit(ledger, "k1", **{"I-1-a": False})
    assert ledger.count_events() == before


def test_a_resubmission_records_only_the_changed_answers_as_a_revision(
    ledger: Ledger,
) -> None:
    submit(ledger, **{"I-1-a": True, "II-12-b": "50"})
    submit(ledger, on="2019-10-20", **{"I-1-a": True, "II-12-b": "60.5"})
    assert submit(ledger, on="2019-10-21", **{"I-1-a": True, "II-12-b": "60.5"}) == 0
    evaluation = ledger.self_evaluation(SHINJUKU, 2020, "municipal")
    revised = [
        e
        for e in ledger.history(evaluation.id)
        if isinstance(e, SelfEvaluation.Revised)
    ]
    assert len(revised) == 1
    assert [
        (c.item, c.before.number if c.before else None, c.after.number)
        for c in revised[0].changes
    ] == [("II-12-b", Decimal(50), Decimal("60.5"))]


def test_a_prefecture_confirms_again_only_after_a_revision(ledger: Ledger) -> None:
    submit(ledger)
    confirm = ConfirmSelfEvaluation(
        entity=SHINJUKU,
        grant_year=2020,
        actor="prefecture:130001",
    )
    on_day("2019-10-25")
    assert ledger.confirm(confirm).events == 1
    assert ledger.confirm(confirm).noop
    submit(ledger, on="2019-10-26", **{"I-1-a": False})
    assert ledger.confirm(confirm).events == 1


def test_ministry_values_are_imported_by_the_ministry_only(ledger: Ledger) -> None:
    values = {
        "entity": SHINJUKU,
        "grant_year": 2020,
        "tier": "municipal",
        "values": {"II-24-a": "78.5"},
        "source": "介護DB (synthetic)",
    }
    on_day("2019-11-01")
    with pytest.raises(Refused, match="only ministry staff"):
        ledger.import_ministry_values(
            [ImportMinistryValues(**values, actor=f"insurer:{SHINJUKU}")]
        )
    with pytest.raises(Refused, match="self-reported"):
        ledger.import_ministry_values(
            [
                ImportMinistryValues(
                    **(values | {"values": {"I-1-a": True}}), actor="ministry:db"
                )
            ]
        )
    assert (
        ledger.import_ministry_values(
            [ImportMinistryValues(**values, actor="ministry:db")]
        ).events
        == 2
    )
    evaluation = ledger.self_evaluation(SHINJUKU, 2020, "municipal")
    assert evaluation.answers["II-24-a"].number == Decimal("78.5")
    assert not evaluation.submitted


def test_a_retired_item_is_refused_after_an_erratum(ledger: Ledger) -> None:
    ((spec, _),) = load_files(
        [data_dir() / "catalogues" / "fy2020-municipal-v1.yaml"]
    ).catalogues
    goals = list(spec.goals)
    first_group = goals[0].groups[0]
    indicators = list(first_group.indicators)
    first = indicators[0]
    trimmed_indicator = first.model_copy(update={"sub_items": first.sub_items})
    # The erratum drops indicator I-2 (and its items) from section I; points stay consistent
    dropped = indicators.pop(1)
    group = first_group.model_copy(
        update={"indicators": (trimmed_indicator, *indicators[1:])}
    )
    goal = goals[0].model_copy(update={"groups": (group, *goals[0].groups[1:])})
    erratum = spec.model_copy(update={"version": 2, "goals": (goal, *goals[1:])})
    with pytest.raises(Refused, match="needs a reason"):
        ledger.publish_catalogue(PublishCatalogue(spec=erratum))
    assert (
        ledger.publish_catalogue(
            PublishCatalogue(spec=erratum, reason="I-2 withdrawn (事務連絡)")
        ).events
        == 2
    )
    retired = dropped.sub_items[0].code
    with pytest.raises(
        Refused,
        match=f"item {retired} was retired in FY2020 municipal catalogue version 2",
    ):
        submit(ledger, **{retired: True})
    assert submit(ledger, **{"I-1-a": True}) == 2


def test_a_correction_keeps_the_value_it_replaces(ledger: Ledger) -> None:
    submit(ledger, **{"II-12-b": "50"})
    on_day("2019-11-20")
    ledger.correct(
        CorrectAnswer(
            entity=SHINJUKU,
            grant_year=2020,
            tier="municipal",
            item="II-12-b",
            value="45",
            reason="実績報告との不一致",
            basis="老認発第1号",
            actor="ministry:yamada",
        )
    )
    evaluation = ledger.self_evaluation(SHINJUKU, 2020, "municipal")
    corrected = ledger.history(evaluation.id)[-1]
    assert isinstance(corrected, SelfEvaluation.Corrected)
    assert corrected.change.before is not None
    assert (corrected.change.before.number, corrected.change.after.number) == (
        Decimal(50),
        Decimal(45),
    )
    assert evaluation.answers["II-12-b"].number == Decimal(45)


def test_a_union_needs_registered_members_and_records_their_validity(
    ledger: Ledger,
) -> None:
    union = InsurerDetails(
        insurer_number="138016",
        kind="wide_area_union",
        name="西多摩介護保険広域連合（架空）",
        prefecture_code="13",
        members=(
            Membership(lg_code=OKUTAMA, valid_from=date(2000, 4, 1)),
            Membership(lg_code=HINOHARA, valid_from=date(2000, 4, 1)),
        ),
        synthetic=True,
    )
    assert ledger.register_insurers(RegisterInsurers(insurers=[union])).events == 1
    assert ledger.register_insurers(RegisterInsurers(insurers=[union])).noop
    unknown = union.model_copy(
        update={
            "insurer_number": "138024",
            "members": (
                *union.members,
                Membership(lg_code="011002", valid_from=date(2000, 4, 1)),
            ),
        }
    )
    with pytest.raises(InvalidInput, match="011002"):
        ledger.register_insurers(RegisterInsurers(insurers=[unknown]))
    leaves = EndMembership(
        insurer_number="138016",
        lg_code=HINOHARA,
        valid_to=date(2021, 3, 31),
        actor="ministry:x",
    )
    assert ledger.end_membership(leaves).events == 1
    again = next(i for i in ledger.insurers() if i.details.insurer_number == "138016")
    assert again.members_on(date(2021, 4, 1)) == [OKUTAMA]
    assert again.members_on(date(2020, 4, 1)) == [OKUTAMA, HINOHARA]
    # Told again: the same end, and the same registration, record nothing
    assert ledger.end_membership(leaves).noop
    assert ledger.register_insurers(RegisterInsurers(insurers=[union])).noop
    before = ledger.count_events()
    later = leaves.model_copy(update={"valid_to": date(2022, 3, 31)})
    with pytest.raises(Refused, match="not a current member"):
        ledger.end_membership(later)
    stranger = leaves.model_copy(update={"insurer_number": "138024"})
    with pytest.raises(InvalidInput, match="no insurer 138024"):
        ledger.end_membership(stranger)
    assert ledger.count_events() == before


def test_insured_counts_are_recorded_per_year_with_their_source(ledger: Ledger) -> None:
    count = InsuredCount(
        fiscal_year=2020,
        count=66_000,
        source="介護保険事業状況報告 (synthetic)",
        as_of=date(2019, 9, 30),
    )
    counts = RecordInsuredCounts(counts=[(SHINJUKU, count)], actor="ministry:x")
    assert ledger.record_insured_counts(counts).events == 1
    assert ledger.record_insured_counts(counts).noop
    entity = ledger.entity_aggregate(SHINJUKU)
    assert entity.insured[2020] == count
