"""The bad-input table: each case a command that must be refused, writing nothing.

Each case runs on SQLite and on PostgreSQL against a small world (Tokyo and Kanagawa,
FY2020, one submission recorded) at the case's day on the simulated clock: inside the
submission window (`IN_WINDOW_DAY`), or after the deadline (`AFTER_DEADLINE`, where
the world also holds one keyed correction). Run by tests/trials/test_bad_input.py;
shared with tests/trials/test_abuse.py, tests/trials/test_server_time.py and
scripts/fault_suite.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from domain import clock as ledger_clock
from domain.clock import SimulatedClock
from tests.conftest import (
    IN_WINDOW,
    PG_BASE,
    SHINJUKU,
    Kofu,
    _drop_schema,
    correction,
    submission,
    write_world,
)

CHIYODA = "131016"
TOKYO = "130001"
KANAGAWA = "140007"
IN_WINDOW_DAY = IN_WINDOW.date()
"""Inside the FY2020 submission window (2019-10-01..2019-10-31): answers accepted."""
AFTER_DEADLINE = date(2019, 11, 15)
"""After the FY2020 deadline: ministry corrections accepted, answers refused."""
SERVER_TIME = "cannot be given: kofu records every action at the ledger's own time"


@dataclass(frozen=True)
class Case:
    name: str
    exit_code: int
    message: str
    args: Callable[[Path], list[str]]
    day: date = IN_WINDOW_DAY
    """The ledger's date (the simulated clock) when the command runs."""


def json_file(content: object, name: str = "in.json") -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        path = folder / name
        text = (
            content
            if isinstance(content, str)
            else json.dumps(content, ensure_ascii=False)
        )
        path.write_text(text, encoding="utf-8")
        return ["submit", str(path)]

    return make


def raw_file(
    data: bytes, name: str, command: str = "submit"
) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        path = folder / name
        path.write_bytes(data)
        return [command, str(path)]

    return make


def text_file(
    text: str, name: str, command: str = "load"
) -> Callable[[Path], list[str]]:
    return raw_file(text.encode("utf-8"), name, command)


def plain(*args: str) -> Callable[[Path], list[str]]:
    return lambda _: list(args)


CATALOGUE_HEAD = (
    "kind: catalogue\ngrant_year: 2020\ntier: municipal\nversion: 1\nstructure: sections\n"
    "title: t\nillustrative: true\nsource: s\npublished_on: 2019-09-30\n"
    "grants: [promotion]\n"
)
CATALOGUE_GOALS = (
    "goals:\n  - code: I\n    title: t\n    max_points: {promotion: 10}\n    groups:\n"
    "      - code: G\n        title: g\n        kind: section\n        max_points: {promotion: 10}\n"
    "        indicators:\n          - code: I-1\n            title: i\n"
    "            evaluated_period: FY2019\n            max_points: {promotion: 10}\n"
    "            sub_items:\n              - {code: I-1-a, title: a, kind: checkbox, points: {promotion: 10}}\n"
)

CASES = [
    # --- answer files: JSON
    Case(
        "malformed JSON", 2, "invalid JSON at line 1", json_file('{"entity": "131041",')
    ),
    Case("JSON list holding a non-object", 2, "[0]", json_file([1])),
    Case(
        "unknown entity",
        2,
        "no entity with LG code 011002",
        json_file(submission(entity="011002")),
    ),
    Case(
        "LG code with a bad check digit",
        2,
        "fails its check digit",
        json_file(submission(entity="131040")),
    ),
    Case(
        "full-width digits in a code",
        2,
        "6 ASCII digits",
        json_file(submission(entity="１３１０４１")),
    ),
    Case(
        "unknown item",
        2,
        "item ZZ-9 is not in",
        json_file(submission(answers={"ZZ-9": True})),
    ),
    Case(
        "number above the item's maximum",
        2,
        "above the maximum 100 of item II-12-b",
        json_file(submission(answers={"II-12-b": "150"})),
    ),
    Case(
        "text for a number item",
        2,
        "takes a decimal number",
        json_file(submission(answers={"II-12-b": "abc"})),
    ),
    Case(
        "nonsense for a checkbox",
        2,
        "checkbox item I-1-a",
        json_file(submission(answers={"I-1-a": "maybe"})),
    ),
    Case(
        "answer outside the window",
        1,
        "a submission on 2019-11-15 is outside the FY2020 submission window",
        json_file(submission()),
        day=AFTER_DEADLINE,
    ),
    Case(
        "ministry-computed item from an insurer",
        1,
        "computed by the ministry",
        json_file(submission(answers={"II-24-a": "80"})),
    ),
    Case(
        "wrong tier for the entity",
        2,
        "tier is municipal",
        json_file(submission(tier="prefectural")),
    ),
    Case(
        "submitted by another entity",
        1,
        "only the entity itself",
        json_file(submission(actor=f"insurer:{CHIYODA}")),
    ),
    Case(
        "missing grant year",
        2,
        "grant_year: Field required",
        json_file({k: v for k, v in submission().items() if k != "grant_year"}),
    ),
    Case(
        "grant year with no programme",
        2,
        "FY2023 has no programme year",
        json_file(submission(grant_year=2023)),
    ),
    Case("empty answers", 2, "answers", json_file(submission(answers={}))),
    Case(
        "unknown field",
        2,
        "colour: Extra inputs are not permitted",
        json_file(submission(colour="red")),
    ),
    Case(
        "a received_on, even an impossible date",
        2,
        "in.json: received_on: received_on " + SERVER_TIME,
        json_file(submission(received_on="2019-02-30")),
    ),
    Case(
        "grant year before the grants existed",
        2,
        "grant_year",
        json_file(submission(grant_year=2017)),
    ),
    Case(
        "SQL metacharacters in an item code",
        2,
        "is not in",
        json_file(submission(answers={"I-1-a'; DROP TABLE kofu_events;--": True})),
    ),
    # --- answer files: encoding, CSV, file types
    Case(
        "Shift_JIS file",
        2,
        "not UTF-8",
        raw_file(
            "entity,grant_year,tier,item,value\n131041,2020,municipal,I-1-a,該当\n".encode(
                "shift_jis"
            ),
            "sjis.csv",
        ),
    ),
    Case(
        "missing file", 2, "cannot read", plain("submit", "/nonexistent/answers.json")
    ),
    Case(
        "unsupported file type",
        2,
        "unsupported file type",
        raw_file(b"x", "answers.txt"),
    ),
    Case(
        "CSV without the value column",
        2,
        "missing value",
        raw_file(
            b"entity,grant_year,tier,item\n131041,2020,municipal,I-1-a\n", "a.csv"
        ),
    ),
    Case(
        "CSV row with an extra cell",
        2,
        "a.csv:3: has 6 cells",
        raw_file(
            b"entity,grant_year,tier,item,value\n131041,2020,municipal,I-1-a,true\n131041,2020,municipal,I-2-a,true,x\n",
            "a.csv",
        ),
    ),
    Case(
        "CSV answering one item twice",
        2,
        "a.csv:3: item I-1-a is answered twice",
        raw_file(
            b"entity,grant_year,tier,item,value\n131041,2020,municipal,I-1-a,true\n131041,2020,municipal,I-1-a,false\n",
            "a.csv",
        ),
    ),
    Case(
        "CSV with an unterminated quote",
        2,
        "malformed CSV",
        raw_file(
            b'entity,grant_year,tier,item,value\n131041,2020,municipal,"I-1-a,true\n',
            "a.csv",
        ),
    ),
    Case("empty CSV", 2, "is empty", raw_file(b"", "a.csv")),
    Case(
        "CSV value error names its lines",
        2,
        "a.csv:2-3: ",
        raw_file(
            b"entity,grant_year,tier,item,value,actor\n131041,2020,municipal,I-1-a,true,insurer:131041\n131041,2020,municipal,II-12-b,-5,insurer:131041\n",
            "a.csv",
        ),
    ),
    # --- corrections
    Case(
        "correction without a reason",
        2,
        "reason",
        plain(*correction(**{"--reason": "   "})),
        day=AFTER_DEADLINE,
    ),
    Case(
        "correction before the deadline",
        1,
        "a correction on 2019-10-10 (JST, the ledger's date) comes before the "
        "deadline 2019-10-31",
        plain(*correction()),
    ),
    Case(
        "correction by an insurer",
        1,
        "only ministry staff",
        plain(*correction(**{"--actor": f"insurer:{SHINJUKU}"})),
        day=AFTER_DEADLINE,
    ),
    Case(
        "actor without a role",
        2,
        "actor must be ROLE:ID",
        plain(*correction(**{"--actor": "yamada"})),
        day=AFTER_DEADLINE,
    ),
    Case(
        "correction of an entity that never answered",
        2,
        "has no FY2020",
        plain(*correction(**{"--entity": CHIYODA})),
        day=AFTER_DEADLINE,
    ),
    Case(
        "correction that changes nothing",
        1,
        "is already true",
        plain(*correction(**{"--value": "true", "--item": "I-2-a"})),
        day=AFTER_DEADLINE,
    ),
    Case(
        "correction of an unknown item",
        2,
        "item X-1 is not in",
        plain(*correction(**{"--item": "X-1"})),
        day=AFTER_DEADLINE,
    ),
    Case(
        "idempotency key reused for other content",
        1,
        "already used for a different command",
        plain(
            *correction(
                **{
                    "--idempotency-key": "fix-1",
                    "--item": "II-12-b",
                    "--value": "90",
                }
            )
        ),
        day=AFTER_DEADLINE,
    ),
    Case(
        "correction without a basis",
        2,
        "basis",
        plain(*correction(**{"--basis": ""})),
        day=AFTER_DEADLINE,
    ),
    # --- confirmations
    Case(
        "confirmation by another prefecture",
        1,
        "only the prefecture of 131041",
        plain(
            "confirm",
            "--entity",
            SHINJUKU,
            "--fiscal-year",
            "2020",
            "--actor",
            f"prefecture:{KANAGAWA}",
        ),
    ),
    Case(
        "confirmation of the prefecture's own (prefectural) answers",
        1,
        "130001 is a prefecture: its own answers are not confirmed",
        plain(
            *("confirm", "--entity", TOKYO, "--fiscal-year", "2020"),
            *("--tier", "prefectural", "--actor", f"prefecture:{TOKYO}"),
        ),
    ),
    Case(
        "confirmation by a municipality posing as its prefecture",
        1,
        "only the prefecture of 131041",
        plain(
            *("confirm", "--entity", SHINJUKU, "--fiscal-year", "2020"),
            *("--actor", f"prefecture:{CHIYODA}"),
        ),
    ),
    Case(
        "confirmation of nothing submitted",
        2,
        "has no FY2020",
        plain(
            "confirm",
            "--entity",
            CHIYODA,
            "--fiscal-year",
            "2020",
            "--actor",
            f"prefecture:{TOKYO}",
        ),
    ),
    # --- reference data
    Case(
        "municipality with a bad check digit",
        2,
        "m.csv:2",
        text_file(
            "prefecture_code,jis_code,lg_code,name,name_kana\n13,13104,131040,新宿区,しんじゅくく\n",
            "m.csv",
        ),
    ),
    Case(
        "catalogue whose full marks do not add up",
        2,
        "full_marks[promotion] is 99",
        text_file(
            CATALOGUE_HEAD + "full_marks: {promotion: 99}\n" + CATALOGUE_GOALS, "c.yaml"
        ),
    ),
    Case(
        "document of an unknown kind",
        2,
        "unknown kind 'budget'",
        text_file("kind: budget\n", "b.yaml"),
    ),
    Case(
        "published catalogue changed in place",
        1,
        "c.yaml: version: FY2020 municipal catalogue version 1 is already published with other content; published catalogues are immutable",
        text_file(
            CATALOGUE_HEAD + "full_marks: {promotion: 10}\n" + CATALOGUE_GOALS, "c.yaml"
        ),
    ),
    Case(
        "negative insured count",
        2,
        "category1_insured must be a whole number",
        text_file(
            "lg_code,fiscal_year,category1_insured,source,as_of\n131041,2020,-5,x,2019-10-01\n",
            "i.csv",
        ),
    ),
    Case(
        "insured count for an unknown entity",
        2,
        "i.csv:2: entity: no entity with LG code 011002",
        text_file(
            "lg_code,fiscal_year,category1_insured,source,as_of\n011002,2020,5000,x,2019-10-01\n",
            "i.csv",
        ),
    ),
    Case(
        "single insurer with a bad number",
        2,
        "fails its check digit",
        text_file(
            "kind: insurers\ninsurers:\n  - {insurer_number: '131040', kind: single, name: x, prefecture_code: '13', members: [{lg_code: '131041', valid_from: 2000-04-01}]}\n",
            "ins.yaml",
        ),
    ),
    Case(
        "insurer number confused with the LG code",
        2,
        "fails its check digit",
        text_file(
            "kind: insurers\ninsurers:\n  - {insurer_number: '131041', kind: single, name: x, prefecture_code: '13', members: [{lg_code: '131041', valid_from: 2000-04-01}]}\n",
            "ins.yaml",
        ),
    ),
    Case(
        "programme redefined without a reason",
        1,
        "p.yaml: reason: FY2020 is already defined differently; an amendment needs a reason",
        text_file(
            (Path(__file__).parents[2] / "data/programmes/fy2020.yaml")
            .read_text(encoding="utf-8")
            .replace("19000000000", "18000000000", 1),
            "p.yaml",
        ),
    ),
    Case(
        "budget as a float",
        2,
        "budgets.promotion.municipal",
        text_file(
            (Path(__file__).parents[2] / "data/programmes/fy2020.yaml")
            .read_text(encoding="utf-8")
            .replace("19000000000", "1.9e10", 1),
            "p.yaml",
        ),
    ),
    Case(
        "rule with an unknown formula",
        2,
        "unknown kind 'lottery'; known: pooled_share",
        text_file(
            (Path(__file__).parents[2] / "data/rules/score_x_insured_share@1.yaml")
            .read_text(encoding="utf-8")
            .replace("kind: pooled_share", "kind: lottery"),
            "r.yaml",
        ),
    ),
    Case(
        "hypothesis rule not labelled as one",
        2,
        "HYPOTHESIS",
        text_file(
            (
                Path(__file__).parents[2]
                / "data/rules/banded_score_x_insured_share@1.yaml"
            )
            .read_text(encoding="utf-8")
            .replace("【仮説 HYPOTHESIS】", ""),
            "r.yaml",
        ),
    ),
    Case(
        "unsupported database URL",
        2,
        "KOFU_DATABASE_URL must start",
        plain("--database-url", "mysql://x/y", "entities"),
    ),
    Case("unknown command option", 2, "No such option", plain("entities", "--colour")),
]


class Worlds:
    """The same small world twice: one inside the window, one after the deadline."""

    def __init__(self, in_window: Kofu, after_deadline: Kofu) -> None:
        self.in_window = in_window
        self.after_deadline = after_deadline

    def on(self, day: date) -> Kofu:
        """The world whose newest event a command on `day` comes after."""
        return self.after_deadline if day >= AFTER_DEADLINE else self.in_window


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def prepared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worlds]:
    schemas = []
    worlds = []
    for day in (IN_WINDOW_DAY, AFTER_DEADLINE):
        folder = tmp_path_factory.mktemp("bad-input")
        if request.param == "sqlite":
            url = f"sqlite:///{folder / 'kofu.db'}"
        else:
            schemas.append(f"kofu_bad_{uuid.uuid4().hex[:12]}")
            url = f"{PG_BASE.split('?')[0]}?schema={schemas[-1]}"
        worlds.append(prepare_world(url, folder, day))
    yield Worlds(*worlds)
    for schema in schemas:
        _drop_schema(schema)


def prepare_world(url: str, folder: Path, day: date) -> Kofu:
    """The small world with one submission, recorded in the window; by `day` after
    the deadline, one keyed correction too. Its own simulated clock ends on `day`."""
    kofu = Kofu(url)
    with ledger_clock.installed(SimulatedClock(IN_WINDOW)) as simulated:
        assert isinstance(simulated, SimulatedClock)
        assert kofu("load", *write_world(folder / "world"))[0] == 0
        answers = folder / "ok.json"
        answers.write_text(
            json.dumps(
                submission(answers={"I-1-a": True, "I-2-a": True, "II-12-b": "60"})
            ),
            encoding="utf-8",
        )
        assert kofu("submit", answers)[0] == 0
        simulated.set_day(day)
        if day >= AFTER_DEADLINE:
            code, output = kofu(*correction(**{"--idempotency-key": "fix-1"}))
            assert code == 0, output
    return kofu
