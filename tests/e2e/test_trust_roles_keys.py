"""Roles by rule and idempotency keys per principal, on both backends.

Each HTTP case is a short script of calls against the demo ledger; every call says
what it must answer and whether the event count grows. The cases of a backend share
one ledger, so each makes its own state first (new answers to confirm, its own keys).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import pytest

from adapters.storage.bootstrap import open_ledger
from domain.clock import JST, SimulatedClock
from domain.commands import SubmitSelfEvaluation
from domain.errors import Refused
from domain.ledger import Ledger
from domain.receipts import CommandReceipt
from tests.conftest import SHINJUKU, Api, Kofu

CHIYODA = "131016"
TOKYO = "130001"
KANAGAWA = "140007"
SETUP = 0
"""The status of a call that only prepares a case: any 2xx, recorded or not."""
ALREADY = "already confirmed as they stand"
_fresh = itertools.count(1)


def new_value() -> str:
    """An answer to II-12-b (0 to 100) sent nowhere else: 1.007, 1.017, ..."""
    n = next(_fresh)
    return f"{1 + n // 100}.{n % 100:02d}7"


def answers(entity: str, value: str, tier: str = "municipal") -> dict[str, Any]:
    """A FY2024 submission (its window is open on the `api` ledger's clock):
    P1-A1-a of a municipality, or P1-S1-a of a prefecture."""
    item = "P1-A1-a" if tier == "municipal" else "P1-S1-a"
    answer: object = value if tier == "municipal" else value == "checked"
    return {
        "entity": entity,
        "grant_year": 2024,
        "tier": tier,
        "answers": {item: answer},
    }


@dataclass(frozen=True)
class Call:
    """One request, what it must answer, and whether it must record events."""

    holder: str
    path: str
    body: dict[str, Any]
    status: int
    writes: bool
    key: str | None = None
    says: str = ""


def records(holder: str, path: str, body: dict[str, Any], **more: Any) -> Call:
    """A call that must answer 201 and record events."""
    return Call(holder, path, body, 201, writes=True, **more)


def nothing(
    holder: str, path: str, body: dict[str, Any], status: int, **more: Any
) -> Call:
    """A call that must record nothing (a no-op 200, or a refusal)."""
    return Call(holder, path, body, status, writes=False, **more)


def revision() -> Call:
    """Shinjuku's revision to a value never sent before: new answers to confirm."""
    return records("insurer", "/api/submissions", answers(SHINJUKU, new_value()))


def confirm(
    holder: str,
    status: int = 201,
    entity: str = SHINJUKU,
    tier: str = "municipal",
    **more: Any,
) -> Call:
    """A confirmation: 201 records, anything else records nothing."""
    body = {"entity": entity, "grant_year": 2024, "tier": tier}
    if status == 201:
        return records(holder, "/api/confirmations", body, **more)
    return nothing(holder, "/api/confirmations", body, status, **more)


def submit(value: str, entity: str = SHINJUKU) -> dict[str, Any]:
    return answers(entity, value)


CASES: dict[str, list[Call]] = {
    # --- who confirms
    "a prefecture confirms its municipality": [revision(), confirm("prefecture")],
    "a prefecture may not confirm its own prefectural answers": [
        # its own answers exist (the demo may have them already)
        Call(
            "prefecture",
            "/api/submissions",
            answers(TOKYO, "checked", "prefectural"),
            SETUP,
            writes=False,
        ),
        confirm(
            "prefecture",
            403,
            TOKYO,
            "prefectural",
            says="its own answers are not confirmed",
        ),
    ],
    "nor with the tier left at municipal": [
        confirm("prefecture", 403, TOKYO, says="is a prefecture"),
    ],
    "a prefecture may not confirm another prefecture's municipality": [
        revision(),
        confirm("other_prefecture", 403),
    ],
    "nor another prefecture's own answers": [
        confirm("prefecture", 403, KANAGAWA, "prefectural"),
    ],
    "an insurer may not confirm its own answers": [
        revision(),
        confirm("insurer", 403),
    ],
    # --- what changes nothing records nothing, and says so
    "an unkeyed confirmation of confirmed answers records nothing": [
        revision(),
        confirm("prefecture"),
        confirm("prefecture", 200, says=ALREADY),
    ],
    "a keyed confirmation repeated records nothing": [
        revision(),
        confirm("prefecture", key="confirm-once"),
        confirm("prefecture", 200, key="confirm-once", says="repeat"),
    ],
    "a keyed confirmation of confirmed answers records nothing, not even its key": [
        revision(),
        confirm("prefecture"),
        confirm("prefecture", 200, key="confirm-late", says=ALREADY),
        # the key was not used up: once there are new answers it confirms them
        revision(),
        confirm("prefecture", key="confirm-late"),
    ],
    "a submission that changes nothing records nothing": [
        records("insurer", "/api/submissions", submit("31.5")),
        nothing("insurer", "/api/submissions", submit("31.5"), 200, says="nothing"),
    ],
    # --- keys per principal
    "two principals with one key: both recorded": [
        records("insurer", "/api/submissions", submit("32.5"), key="shared"),
        records(
            "other_insurer", "/api/submissions", submit("32.5", CHIYODA), key="shared"
        ),
    ],
    "the same principal, key and content: a no-op": [
        records("insurer", "/api/submissions", submit("33.5"), key="mine"),
        nothing(
            "insurer",
            "/api/submissions",
            submit("33.5"),
            200,
            key="mine",
            says="nothing new",
        ),
    ],
    "the same principal and key, other content: refused": [
        records("insurer", "/api/submissions", submit("34.5"), key="other"),
        nothing(
            "insurer",
            "/api/submissions",
            submit("35.5"),
            409,
            key="other",
            says="already used for a different command",
        ),
    ],
}


@pytest.mark.parametrize("case", list(CASES))
def test_roles_and_keys(api: Api, case: str) -> None:
    run = next(_fresh)  # the keys of this case only
    for n, call in enumerate(CASES[case]):
        before = api.events()
        headers = {"Idempotency-Key": f"{call.key}-{run}"} if call.key else {}
        response = api.call(call.holder, "POST", call.path, call.body, **headers)
        where = (case, n, call.holder, response.text)
        if call.status == SETUP:
            assert response.status_code in {200, 201}, where
            continue
        assert response.status_code == call.status, where
        assert (api.events() > before) is call.writes, where
        if call.status < 300:
            assert response.json()["noop"] is (not call.writes), where
            assert call.says in response.json()["detail"], where
        else:
            assert call.says in response.json()["error"], where


# --- explain: readers see amounts and scores, never who set an answer and why

EXPLAIN = f"/api/explain?entity={SHINJUKU}&fiscal_year=2020"
SEES_TRAIL = {
    "reader": False,
    "auditor": True,
    "ministry": True,
    "insurer": True,
    "prefecture": True,
}


@pytest.mark.parametrize(("holder", "trail"), SEES_TRAIL.items())
def test_explain_shows_the_trail_behind_answers_only_to_who_may_read_it(
    api: Api, holder: str, trail: bool
) -> None:
    response = api.call(holder, "GET", EXPLAIN)
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["amount_yen"] > 0
    assert found["score"] > 0
    assert all(isinstance(item["points"], int) for item in found["items"])
    provenance = [k for item in found["items"] for k in item if k.startswith("set_by")]
    assert bool(provenance) is trail
    actors = {i.get("set_by_actor") for i in found["items"]} - {None}
    assert bool(actors) is trail
    if not trail:
        assert "insurer:" not in response.text
        assert "set_by" not in response.text


# --- a keyed retry after midnight in Japan is the same command


def test_a_keyed_retry_after_midnight_is_a_no_op(
    api: Api, clock: SimulatedClock
) -> None:
    body = answers(SHINJUKU, new_value())
    key = {"Idempotency-Key": f"midnight-{next(_fresh)}"}
    clock.set(datetime.combine(clock.now().astimezone(JST).date(), time(23, 59), JST))
    first = api.call("insurer", "POST", "/api/submissions", body, **key)
    assert first.status_code == 201, first.text
    after_first = api.events()
    clock.advance(timedelta(minutes=2))  # the next day in Japan
    again = api.call("insurer", "POST", "/api/submissions", body, **key)
    assert again.status_code == 200, again.text
    assert again.json()["noop"] is True
    assert api.events() == after_first


# --- receipts recorded while keys were global


@pytest.fixture
def ledger(world: Kofu) -> Iterator[Ledger]:
    opened = open_ledger(world.url)
    yield opened
    opened.close()


def _submission(entity: str, value: str, key: str) -> SubmitSelfEvaluation:
    return SubmitSelfEvaluation(
        entity=entity,
        grant_year=2020,
        tier="municipal",
        answers={"II-12-b": value},
        actor=f"insurer:{entity}",
        idempotency_key=key,
    )


def _legacy_receipt(cmd: SubmitSelfEvaluation) -> CommandReceipt:
    """A receipt as kofu recorded it while keys were global: its id from the key
    alone."""
    assert cmd.idempotency_key
    return CommandReceipt._create(
        CommandReceipt.Recorded,
        id=CommandReceipt.legacy_id_for(cmd.idempotency_key),
        key=cmd.idempotency_key,
        command=type(cmd).__name__,
        fingerprint=cmd.fingerprint(),
        actor=cmd.actor,
    )


LEGACY = [
    # (who sends the old key again, with what value, what happens)
    ("the same actor, the same content", SHINJUKU, "40.5", "no-op"),
    ("the same actor, other content", SHINJUKU, "41.5", "refused"),
    ("another actor", CHIYODA, "40.5", "recorded"),
]


@pytest.mark.parametrize(
    ("entity", "value", "outcome"), [c[1:] for c in LEGACY], ids=[c[0] for c in LEGACY]
)
def test_a_legacy_receipt_counts_for_the_actor_that_recorded_it_only(
    ledger: Ledger, entity: str, value: str, outcome: str
) -> None:
    first = _submission(SHINJUKU, "40.5", "old-key")
    # an old ledger: the keyed submission and its receipt under the global id
    ledger.submit([first.model_copy(update={"idempotency_key": None})])
    ledger.save(_legacy_receipt(first))
    before = ledger.count_events()
    again = _submission(entity, value, "old-key")
    if outcome == "refused":
        with pytest.raises(Refused, match="already used for a different command"):
            ledger.submit([again])
    else:
        result = ledger.submit([again])
        assert result.noop is (outcome == "no-op")
    assert (ledger.count_events() > before) is (outcome == "recorded")
    mine = ledger.receipt(again.actor, "old-key")
    assert mine is not None
    assert mine.actor == again.actor


def test_a_receipt_id_is_the_actor_s_and_never_a_legacy_one() -> None:
    one = CommandReceipt.id_for("insurer:131041", "k")
    assert one != CommandReceipt.id_for("insurer:131016", "k")
    assert one != CommandReceipt.legacy_id_for("k")
    # no legacy key spells an (actor, key) pair
    assert one != CommandReceipt.legacy_id_for("insurer:131041/k")
