"""The hostile-input corpus: malformed, oversized and deceptive inputs, one per row.

`REFUSED` must each be refused with a message naming the file, line or field, exit
code 2 (or 1), and nothing written; `VERBATIM` are harmless but hostile-looking texts
that must be stored exactly and rendered safely. tests/trials/test_abuse.py runs both on
SQLite and PostgreSQL against the world of tests/support/bad_input.py; the rows here
come on top of its table (`len(REFUSED) + len(VERBATIM)` is the corpus size).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from markupsafe import escape

from adapters.common.parsing import MAX_FILE_BYTES
from tests.conftest import SHINJUKU, Kofu, correction, submission
from tests.support.bad_input import (
    AFTER_DEADLINE,
    CATALOGUE_GOALS,
    CATALOGUE_HEAD,
    SERVER_TIME,
    Case,
    json_file,
    plain,
    raw_file,
    text_file,
)

Make = Callable[[Path], list[str]]
ANSWER_CSV = "entity,grant_year,tier,item,value\n"
PROGRAMME = (Path(__file__).parents[2] / "data/programmes/fy2020.yaml").read_text(
    encoding="utf-8"
)


def special(kind: str, name: str, command: str = "submit") -> Make:
    """A path that is not an ordinary small file: huge, a device, a pipe, a folder."""

    def make(folder: Path) -> list[str]:
        path = folder / name
        if kind == "huge":  # sparse: a reader that read it all would never finish
            with path.open("wb") as out:
                out.truncate(2**40)
        elif kind == "just over":
            with path.open("wb") as out:
                out.truncate(MAX_FILE_BYTES + 1)
        elif kind == "device":
            path.symlink_to("/dev/zero")
        elif kind == "pipe":
            os.mkfifo(path)
        else:
            path.mkdir()
        return [*command.split(), str(path)]

    return make


def nested(depth: int) -> str:
    return '{"entity": ' + "[" * depth + "]" * depth + "}"


def yaml_bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 10):
        prev, cur = chr(ord("a") + n - 1), chr(ord("a") + n)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    return "kind: insurers\n" + "\n".join(lines) + "\ninsurers: *j\n"


def answers(**fields: object) -> Make:
    return json_file(submission(**fields))


REFUSED = [
    # --- JSON answers: structure and size
    Case("truncated JSON", 2, "in.json: invalid JSON", json_file('[{"entity": "1310')),
    Case(
        "JSON nested 100,000 deep",
        2,
        "in.json: invalid JSON: nested too deeply",
        json_file(nested(100_000)),
    ),
    Case(
        "duplicate key in a JSON object",
        2,
        "in.json: invalid JSON: duplicate key 'entity'",
        json_file('{"entity": "131041", "entity": "131016", "grant_year": 2020}'),
    ),
    Case(
        "NaN as an answer",
        2,
        "in.json: invalid JSON: NaN is not a number",
        json_file(json.dumps(submission()).replace("true", "NaN")),
    ),
    Case(
        "Infinity as an answer",
        2,
        "in.json: invalid JSON: Infinity is not a number",
        json_file(
            json.dumps(submission(answers={"II-12-b": 1})).replace(" 1}", " Infinity}")
        ),
    ),
    Case(
        "a 5,000-digit integer",
        2,
        "in.json: invalid JSON: an integer of 5000 digits is too long",
        json_file(
            json.dumps(submission(answers={"II-12-b": 1})).replace(
                " 1}", " " + "9" * 5000 + "}"
            )
        ),
    ),
    Case(
        "an exponent of a million",
        2,
        "above the maximum 100 of item II-12-b",
        json_file(
            json.dumps(submission(answers={"II-12-b": 1})).replace(" 1}", " 1e999999}")
        ),
    ),
    Case(
        "a JSON string at the top",
        2,
        "in.json: each submission is a JSON object",
        json_file('"131041"'),
    ),
    Case("an empty JSON file", 2, "in.json: invalid JSON", json_file("")),
    Case(
        "a file over the size limit", 2, "is over the", special("just over", "big.json")
    ),
    Case("a terabyte sparse file", 2, "is over the", special("huge", "tb.json")),
    Case(
        "/dev/zero posing as JSON", 2, "not a regular file", special("device", "z.json")
    ),
    Case(
        "a named pipe posing as CSV", 2, "not a regular file", special("pipe", "p.csv")
    ),
    Case(
        "a folder posing as JSON", 2, "not a regular file", special("folder", "d.json")
    ),
    # --- encodings and invisible bytes
    Case(
        "UTF-16 JSON with its BOM",
        2,
        "not UTF-8",
        raw_file(json.dumps(submission()).encode("utf-16"), "u16.json"),
    ),
    Case(
        "UTF-16 CSV without a BOM",
        2,
        "u16.csv: contains NUL bytes",
        raw_file(
            (ANSWER_CSV + "131041,2020,municipal,I-1-a,true\n").encode("utf-16-le"),
            "u16.csv",
        ),
    ),
    Case(
        "Shift_JIS reference CSV",
        2,
        "not UTF-8",
        raw_file(
            "prefecture_code,jis_code,lg_code,name,name_kana\n13,13104,131041,新宿区,しんじゅくく\n".encode(
                "shift_jis"
            ),
            "m.csv",
            "load",
        ),
    ),
    Case(
        "a NUL byte in a CSV",
        2,
        "NUL",
        raw_file(
            (ANSWER_CSV + "131041,2020,municipal,I-1-a,tr\x00ue\n").encode(), "nul.csv"
        ),
    ),
    Case(
        "a NUL escaped inside a JSON string",
        2,
        "in.json: answers: contains the control character U+0000",
        json_file(json.dumps(submission(answers={"I-1-a\u0000": True}))),
    ),
    Case(
        "a second BOM before the header",
        2,
        "missing entity",
        raw_file(
            b"\xef\xbb\xbf\xef\xbb\xbf"
            + (ANSWER_CSV + "131041,2020,municipal,I-1-a,true\n").encode(),
            "bom.csv",
        ),
    ),
    # --- look-alike codes
    Case(
        "a zero-width space in an LG code",
        2,
        "in.json: entity: LG code must be 6 ASCII digits",
        answers(entity="131041\u200b"),
    ),
    Case(
        "Arabic-Indic digits in an LG code",
        2,
        "in.json: entity: LG code must be 6 ASCII digits",
        answers(entity="١٣١٠٤١"),
    ),
    Case(
        "full-width digits in the grant year",
        2,
        "in.json: grant_year: Input should be a valid integer",
        answers(grant_year="２０２０"),
    ),
    Case(
        "a Greek capital iota for I",
        2,
        "item '\\u0399-1-a' is not in",
        answers(answers={"Ι-1-a": True}),
    ),
    Case(
        "a Cyrillic a in an item code",
        2,
        "item 'I-1-\\u0430' is not in",
        answers(answers={"I-1-а": True}),
    ),
    Case(
        "a zero-width joiner in an item code",
        2,
        "item 'I-1\\u200d-a' is not in",
        answers(answers={"I-1\u200d-a": True}),
    ),
    Case(
        "full-width digits in an answer CSV code",
        2,
        "a.csv:2",
        raw_file(
            (ANSWER_CSV + "１３１０４１,2020,municipal,I-1-a,true\n").encode(), "a.csv"
        ),
    ),
    Case(
        "a Cyrillic letter in a municipality code",
        2,
        "m.csv:2",
        text_file(
            "prefecture_code,jis_code,lg_code,name,name_kana\n13,13104,13104а,新宿区,しんじゅくく\n",
            "m.csv",
        ),
    ),
    Case(
        "full-width digits in an insured count",
        2,
        "i.csv:2: category1_insured must be a whole number",
        text_file(
            "lg_code,fiscal_year,category1_insured,source,as_of\n131041,2020,６６２１０,x,2019-10-01\n",
            "i.csv",
        ),
    ),
    # --- dates and numbers out of range (a recording time is never the caller's)
    Case(
        "year 0 in a date",
        2,
        "in.json: received_on: received_on " + SERVER_TIME,
        answers(received_on="0000-01-01"),
    ),
    Case(
        "year 10000 in a date",
        2,
        "in.json: received_on: received_on " + SERVER_TIME,
        answers(received_on="10000-01-01"),
    ),
    Case(
        "month 13",
        2,
        "in.json: received_on: received_on " + SERVER_TIME,
        answers(received_on="2019-13-01"),
    ),
    Case(
        "an announced date in year 0",
        2,
        "publish: announced_on: Input should be a valid date",
        plain(
            "publish", "R-1", "--actor", "ministry:x", "--announced-on", "0000-01-01"
        ),
    ),
    Case(
        "an announced date in year 10000",
        2,
        "publish: announced_on: Input should be a valid date",
        plain(
            "publish", "R-1", "--actor", "ministry:x", "--announced-on", "10000-01-01"
        ),
    ),
    Case(
        "an announced date in month 13",
        2,
        "publish: announced_on: Input should be a valid date",
        plain(
            "publish", "R-1", "--actor", "ministry:x", "--announced-on", "2019-13-01"
        ),
    ),
    Case(
        "an announced date of 2019-02-30",
        2,
        "publish: announced_on: Input should be a valid date",
        plain(
            "publish", "R-1", "--actor", "ministry:x", "--announced-on", "2019-02-30"
        ),
    ),
    Case(
        "a grant year in 2101",
        2,
        "in.json: grant_year: Input should be less than or equal to 2100",
        answers(grant_year=2101),
    ),
    Case(
        "a decimal insured count",
        2,
        "i.csv:2: category1_insured must be a whole number",
        text_file(
            "lg_code,fiscal_year,category1_insured,source,as_of\n131041,2020,66210.5,x,2019-10-01\n",
            "i.csv",
        ),
    ),
    Case(
        "NaN spending",
        2,
        "e.csv:2: spending_yen must be a whole number",
        text_file(
            "lg_code,fiscal_year,category,spending_yen,source,as_of\n131041,2019,comprehensive_program,NaN,x,2019-03-31\n",
            "e.csv",
        ),
    ),
    Case(
        "a negative required amount",
        2,
        "r.csv:2: required_yen must be a whole number",
        text_file(
            "lg_code,grant_year,grant,required_yen,source,declared_on\n131041,2020,promotion,-1,x,2019-12-10\n",
            "r.csv",
        ),
    ),
    Case(
        "an insured count dated in year 0",
        2,
        "i.csv:2: as_of: Input should be a valid date",
        text_file(
            "lg_code,fiscal_year,category1_insured,source,as_of\n131041,2020,5000,x,0000-10-01\n",
            "i.csv",
        ),
    ),
    # --- CSV layout
    Case(
        "swapped item and value cells",
        2,
        "a.csv:2: true: item true is not in",
        raw_file(
            (
                ANSWER_CSV.replace("value", "value,actor")
                + "131041,2020,municipal,true,I-1-a,insurer:131041\n"
            ).encode(),
            "a.csv",
        ),
    ),
    Case(
        "a CSV cut off mid-row",
        2,
        "a.csv:3: has 3 cells",
        raw_file(
            (
                ANSWER_CSV + "131041,2020,municipal,I-1-a,true\n131041,2020,muni"
            ).encode(),
            "a.csv",
        ),
    ),
    Case(
        "insured counts without the source column",
        2,
        "i.csv:1: unknown CSV layout",
        text_file(
            "lg_code,fiscal_year,category1_insured,as_of\n131041,2020,5000,2019-10-01\n",
            "i.csv",
        ),
    ),
    Case(
        "a header with a repeated column",
        2,
        "a.csv:1: header repeats a column",
        raw_file(
            b"entity,grant_year,tier,item,value,value\n131041,2020,municipal,I-1-a,true,false\n",
            "a.csv",
        ),
    ),
    Case(
        "a 200,000-character cell",
        2,
        "malformed CSV",
        raw_file(
            (
                ANSWER_CSV + "131041,2020,municipal,I-1-a," + "x" * 200_000 + "\n"
            ).encode(),
            "a.csv",
        ),
    ),
    Case(
        "the same municipality twice with other names",
        2,
        "m.csv:3: lg_code 112011 is listed twice (first at",
        text_file(
            "prefecture_code,jis_code,lg_code,name,name_kana\n11,11201,112011,川越市,かわごえし\n11,11201,112011,偽市,にせし\n",
            "m.csv",
        ),
    ),
    # --- YAML documents
    Case(
        "a YAML alias bomb (billion laughs)",
        2,
        "y.yaml: invalid YAML at line 3: aliases (*name) are not accepted",
        text_file(yaml_bomb(), "y.yaml"),
    ),
    Case(
        "a duplicate key in YAML",
        2,
        "y.yaml: invalid YAML at line 2: duplicate key 'kind'",
        text_file("kind: insurers\nkind: catalogue\ninsurers: []\n", "y.yaml"),
    ),
    Case(
        "YAML nested 50,000 deep",
        2,
        "y.yaml: invalid YAML: nested too deeply",
        text_file("kind: " + "[" * 50_000 + "]" * 50_000 + "\n", "y.yaml"),
    ),
    Case(
        "a Python object tag in YAML",
        2,
        "y.yaml: invalid YAML at line 1: could not determine a constructor",
        text_file("kind: !!python/object/apply:os.system ['true']\n", "y.yaml"),
    ),
    Case(
        "a YAML date in year 0",
        2,
        "p.yaml: invalid YAML at line 24: year 0 is out of range",
        text_file(PROGRAMME.replace("2019-", "0000-", 1), "p.yaml"),
    ),
    Case(
        "a 5,000-digit budget in YAML",
        2,
        "p.yaml: invalid YAML at line 18: an integer of 5000 digits is too long",
        text_file(PROGRAMME.replace("19000000000", "9" * 5000, 1), "p.yaml"),
    ),
    Case(
        "an infinite budget in YAML",
        2,
        "p.yaml: budgets.promotion.municipal: Input should be a valid integer",
        text_file(PROGRAMME.replace("19000000000", ".inf", 1), "p.yaml"),
    ),
    Case(
        "two YAML documents in one file",
        2,
        "y.yaml: invalid YAML",
        text_file("kind: insurers\n---\nkind: insurers\n", "y.yaml"),
    ),
    Case(
        "a YAML list at the top",
        2,
        "y.yaml: expected a mapping",
        text_file("- kind: insurers\n", "y.yaml"),
    ),
    Case(
        "an insurer number in full-width digits",
        2,
        "ins.yaml: insurers.0",
        text_file(
            "kind: insurers\ninsurers:\n  - {insurer_number: '１３１０４９', kind: single, name: x, prefecture_code: '13', members: [{lg_code: '131041', valid_from: 2000-04-01}]}\n",
            "ins.yaml",
        ),
    ),
    # --- command-line arguments
    Case(
        "NaN as a corrected value",
        2,
        "II-12-b: number item II-12-b must be finite",
        plain(*correction(**{"--item": "II-12-b", "--value": "NaN"})),
        day=AFTER_DEADLINE,
    ),
    Case(
        "Infinity as a corrected value",
        2,
        "II-12-b: number item II-12-b must be finite",
        plain(*correction(**{"--item": "II-12-b", "--value": "-Infinity"})),
        day=AFTER_DEADLINE,
    ),
    Case(
        "a correction dated 2019-02-30",
        2,
        "No such option: --on",
        plain(*correction(**{"--on": "2019-02-30"})),
        day=AFTER_DEADLINE,
    ),
    Case(
        "a correction dated in year 0",
        2,
        "No such option: --on",
        plain(*correction(**{"--on": "0000-11-15"})),
        day=AFTER_DEADLINE,
    ),
    Case(
        "SQL in an LG code argument",
        2,
        "correct: entity: LG code must be 6 ASCII digits",
        plain(*correction(**{"--entity": "131041' OR '1'='1"})),
        day=AFTER_DEADLINE,
    ),
    Case(
        "a NUL in a correction reason",
        2,
        "correct: reason: contains the control character U+0000",
        plain(
            *correction(
                **{"--reason": "根拠\x00なし", "--item": "II-12-b", "--value": "77"}
            )
        ),
        day=AFTER_DEADLINE,
    ),
    Case(
        "a terminal escape in a correction reason",
        2,
        "correct: reason: contains the control character U+001B",
        plain(
            *correction(
                **{
                    "--reason": "\x1b[2J\x1b[31m承認済み",
                    "--item": "II-12-b",
                    "--value": "77",
                }
            )
        ),
        day=AFTER_DEADLINE,
    ),
    Case(
        "a right-to-left override in a correction reason",
        2,
        "correct: reason: contains the control character U+202E",
        plain(
            *correction(
                **{"--reason": "理由\u202eなし", "--item": "II-12-b", "--value": "77"}
            )
        ),
        day=AFTER_DEADLINE,
    ),
    Case(
        "an escape sequence in a catalogue title",
        2,
        "c.yaml: title: contains the control character U+001B",
        text_file(
            CATALOGUE_HEAD.replace("title: t", 'title: "t\\e[8m"') + CATALOGUE_GOALS,
            "c.yaml",
        ),
    ),
    Case(
        "a bell character in an answers key",
        2,
        "in.json: answers: contains the control character U+0007",
        answers(answers={"I-1-a\a": True}),
    ),
    Case(
        "an escape character in a municipality name",
        2,
        "m.csv:2: name contains the control character U+001B",
        text_file(
            "prefecture_code,jis_code,lg_code,name,name_kana\n11,11201,112011,川越市\x1b[8m,かわごえし\n",
            "m.csv",
        ),
    ),
    Case(
        "a 201-character idempotency key",
        2,
        "correct: idempotency_key: String should have at most 200 characters",
        plain(*correction(**{"--idempotency-key": "k" * 201})),
        day=AFTER_DEADLINE,
    ),
    Case(
        "a fiscal year of 10^20",
        2,
        "correct: grant_year: Input should be less than or equal to 2100",
        plain(*correction(**{"--fiscal-year": "1" + "0" * 20})),
        day=AFTER_DEADLINE,
    ),
    Case(
        "SQL in a phase name",
        2,
        "--phase",
        plain(
            "allocate",
            "--fiscal-year",
            "2020",
            "--phase",
            "reference'; DROP TABLE kofu_events;--",
        ),
    ),
    Case(
        "a negative fiscal year to allocate",
        2,
        "grant_year: Input should be greater than or equal to 2018",
        plain("allocate", "--fiscal-year", "-1", "--phase", "reference"),
    ),
    Case(
        "an impossible as-of time",
        2,
        "as-of",
        plain(
            "allocations",
            "--fiscal-year",
            "2020",
            "--as-of",
            "2019-13-01T00:00:00+09:00",
        ),
    ),
    Case(
        "an unknown output format",
        2,
        "Invalid value for '--format'",
        plain("entities", "--format", "exe"),
    ),
    Case(
        "a batch size of zero",
        2,
        "Invalid value for '--batch-size'",
        plain("submit", "--batch-size", "0", "x.json"),
    ),
    Case(
        "a schema name with SQL",
        2,
        "schema must be a lower-case SQL identifier",
        plain("--database-url", "postgresql://u@h/db?schema=public;DROP", "entities"),
    ),
    Case(
        "a checkpoint file that is /dev/zero",
        2,
        "not a regular file",
        special("device", "c.json", "verify --against"),
    ),
    Case(
        "a run id with a path",
        2,
        "run: no allocation run ../../etc/passwd",
        plain("replay", "../../etc/passwd"),
    ),
    Case(
        "an actor with a newline",
        2,
        "correct: actor: actor must be ROLE:ID",
        plain(*correction(**{"--actor": "ministry:yamada\nministry:boss"})),
        day=AFTER_DEADLINE,
    ),
]

VERBATIM = [
    "'; DROP TABLE kofu_events; --",
    '<script>alert("交付")</script>',
    "Robert'); DELETE FROM kofu_read_models_v1_g1_audit_trail;--",
    "100% の根拠 \\ %s {0} ${HOME} `id`",
]
"""Reasons that look hostile but are plain text: stored as given, shown escaped."""


def refusal_problems(kofu: Kofu, case: Case, folder: Path) -> list[str]:
    """What is wrong with how `kofu` refused a hostile input (nothing: [])."""
    before = kofu.events()
    code, output = kofu(*case.args(folder))
    problems = []
    if code != case.exit_code:
        problems.append(f"exit {code}, not {case.exit_code}")
    if case.message not in output or "Traceback" in output:
        problems.append("the message does not name the place")
    if kofu.events() != before:
        problems.append(f"{kofu.events() - before} events written")
    return [f"{case.name}: {p}: {output[-300:]}" for p in problems]


def verbatim_problems(kofu: Kofu, reason: str, value: str) -> list[str]:
    """A correction with `reason`: recorded, shown verbatim in JSON, escaped in HTML."""
    code, output = kofu(
        *correction(**{"--reason": reason, "--item": "II-12-b", "--value": value})
    )
    if code != 0:
        return [f"{reason!r} refused: {output}"]
    problems = []
    _, output = kofu("audit", "-e", SHINJUKU, "-y", "2020", "-f", "json")
    if [row.get("reason") for row in json.loads(output)].count(reason) != 1:
        problems.append(f"{reason!r} is not in the audit trail exactly once")
    _, page = kofu("audit", "-e", SHINJUKU, "-y", "2020", "-f", "html")
    if str(escape(reason)) not in page or "<script>" in page:
        problems.append(f"{reason!r} is not escaped in HTML")
    return problems
