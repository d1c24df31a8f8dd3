"""The national tables in the ministry's layout, and formula injection in exports.

A small nation (Tokyo and Kanagawa, FY2020) on SQLite and on PostgreSQL: five
municipalities answer, one of them registered under a hostile name; a reference run
allocates. Statistics are recomputed here from the rows, independently of kofu.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from adapters.cli.main import app
from adapters.excel.national_tables import thousands
from adapters.inputs.paths import data_dir
from adapters.reports.cells import neutralise
from adapters.reports.xlsx import cell_value
from domain.clock import SimulatedClock
from domain.ledger import Ledger
from tests.conftest import Kofu, write_world

CHIYODA = "131016"
HOSTILE = '=HYPERLINK("http://evil.example","千代田区")'
ENTITY_COLUMNS = ["団体コード", "都道府県", "団体名", "規模区分"]
STATISTICS = ["配点", "平均点", "平均得点率（%）", "中央値", "標準偏差"]


def _nation_files(folder: Path) -> tuple[list[Path], list[str]]:
    paths = write_world(folder)
    municipalities = folder / "municipalities.csv"
    rows = list(csv.reader(municipalities.open(encoding="utf-8")))
    for row in rows:
        if row[2] == CHIYODA:
            row[3] = HOSTILE
    with municipalities.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(rows)
    insured = folder / "insured.csv"
    with insured.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["lg_code", "fiscal_year", "category1_insured", "source", "as_of"]
        )
        for i, row in enumerate(rows[1:]):
            writer.writerow([row[2], 2020, 1000 + i * 1733, "test", "2020-01-01"])
    # The programme without the 支援 eligibility rule (it needs 事業費 data).
    programme = folder / "programme.yaml"
    programme.write_text(
        (data_dir() / "programmes" / "fy2020.yaml")
        .read_text(encoding="utf-8")
        .replace(
            "eligibility:\n  effort_support:\n    municipal: effort_support_eligibility@1\n",
            "",
        ),
        encoding="utf-8",
    )
    files = [p for p in paths if p.suffix == ".csv"] + [insured, programme]
    files += [p for p in paths if "catalogues" in str(p)]
    files += sorted((data_dir() / "rules").glob("*.yaml"))
    return files, [r[2] for r in rows[1:6]]


@pytest.fixture
def nation(kofu: Kofu, tmp_path: Path) -> Kofu:
    files, answering = _nation_files(tmp_path / "nation")
    code, output = kofu("load", *files)
    assert code == 0, output
    submissions = [
        {
            "entity": lg_code,
            "grant_year": 2020,
            "tier": "municipal",
            "answers": {
                "I-1-a": i % 2 == 0,
                "I-2-a": i % 3 == 0,
                "II-12-b": str(i * 37 % 100),
            },
        }
        for i, lg_code in enumerate(answering)
    ]
    (tmp_path / "answers.json").write_text(json.dumps(submissions), encoding="utf-8")
    code, output = kofu("submit", tmp_path / "answers.json")
    assert code == 0, output
    code, output = kofu("allocate", "--fiscal-year", "2020", "--phase", "reference")
    assert code == 0, output
    return kofu


def _csv(kofu: Kofu, *args: str) -> list[list[str]]:
    code, output = kofu(*args, "--format", "csv")
    assert code == 0, output
    return list(csv.reader(io.StringIO(output)))


def _binary(kofu: Kofu, *args: str) -> bytes:
    result = CliRunner().invoke(app, list(args), env={"KOFU_DATABASE_URL": kofu.url})
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def test_results_table_has_a_row_per_entity_and_the_statistics_of_each_column(
    nation: Kofu,
) -> None:
    table = _csv(nation, "export", "results", "--fiscal-year", "2020")
    header, body = table[0], table[1:]
    entities, stats = body[:-5], body[-5:]
    scores = json.loads(
        nation("scores", "--fiscal-year", "2020", "--items", "--format", "json")[1]
    )
    # One row per entity that answered, with its total and rank as the read model has them
    assert header[:4] == ENTITY_COLUMNS
    assert header[-2:] == ["合計", "順位"]
    goals = [h for h in header[4:-2] if h.endswith("計")]
    items = [h for h in header[4:-2] if h not in goals]
    assert goals == ["I計", "II計", "III計"]
    assert {r[0] for r in entities} == {s["entity"] for s in scores}
    by_entity = {s["entity"]: s for s in scores}
    for row in entities:
        assert int(row[-2]) == by_entity[row[0]]["total"]
        assert int(row[-1]) == by_entity[row[0]]["rank"]
        for code in items:
            assert int(row[header.index(code)]) == by_entity[row[0]][code]
        # The goals' capped points add up to the total
        assert sum(int(row[header.index(g)]) for g in goals) == int(row[-2])
    # Only sub-items weighted in the promotion grant are columns
    assert "I-1-a" in header
    assert "I-5-a" in header
    assert [r[2] for r in stats] == STATISTICS
    full_marks = by_entity[entities[0][0]]["max_total"]
    for column in range(4, len(header) - 1):
        values = [int(r[column]) for r in entities]
        full = int(stats[0][column])
        mean = sum(values) / len(values)
        ordered = sorted(values)
        middle = len(ordered) // 2
        median = (
            ordered[middle]
            if len(ordered) % 2
            else (ordered[middle - 1] + ordered[middle]) / 2
        )
        deviation = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        assert float(stats[1][column]) == pytest.approx(mean, abs=0.006)
        assert float(stats[2][column]) == pytest.approx(mean * 100 / full, abs=0.006)
        assert float(stats[3][column]) == pytest.approx(median, abs=0.006)
        assert float(stats[4][column]) == pytest.approx(deviation, abs=0.006)
    assert int(stats[0][header.index("合計")]) == full_marks
    assert stats[0][header.index("I-1-a")] == "20"
    assert [stats[0][header.index(g)] for g in goals] == ["135", "1020", "200"]


def _same(text: str) -> object:
    """A cell as compared across formats: 12, 12.0 and "12.0" are one number."""
    try:
        return Decimal(text)
    except ArithmeticError:
        return text


def test_results_xlsx_has_the_layout_of_the_csv(nation: Kofu, tmp_path: Path) -> None:
    table = _csv(nation, "export", "results", "--fiscal-year", "2020")
    code, output = nation(
        "export", "results", "--fiscal-year", "2020", "--output", tmp_path / "r.xlsx"
    )
    assert code == 0, output
    book = load_workbook(tmp_path / "r.xlsx")
    assert book.sheetnames == ["評価結果", "説明"]
    sheet = book["評価結果"]
    cells = [
        [_same("" if v is None else str(v)) for v in row]
        for row in sheet.iter_rows(values_only=True)
    ]
    assert cells == [[_same(v) for v in row] for row in table]
    # Points are numbers, codes are text
    assert isinstance(sheet["E2"].value, int)
    assert isinstance(sheet["A2"].value, str)
    notes = dict(book["説明"].iter_rows(min_row=2, values_only=True))
    assert notes["評価指標"] == "FY2020-municipal-v1"


def test_allocation_table_shows_each_amount_in_thousands_exactly(nation: Kofu) -> None:
    table = _csv(nation, "export", "allocations", "--fiscal-year", "2020")
    header, body = table[0], table[1:]
    rows, total = body[:-1], body[-1]
    allocations = json.loads(
        nation(
            "allocations",
            "-y",
            "2020",
            "--grant",
            "promotion",
            "--tier",
            "municipal",
            "--format",
            "json",
        )[1]
    )
    amounts = {a["entity"]: a["amount_yen"] for a in allocations}
    thousand, yen, rest = (
        header.index(h) for h in ("交付額（千円）", "交付額（円）", "千円未満（円）")
    )
    assert {r[0] for r in rows} == set(amounts)
    for row in rows:
        assert int(row[yen]) == amounts[row[0]]
        assert Decimal(row[thousand]) * 1000 == amounts[row[0]]
        assert int(row[rest]) == amounts[row[0]] % 1000
        assert row[-1].startswith("仮説（HYPOTHESIS）")
    assert total[3] == "合計"
    assert int(total[yen]) == sum(amounts.values())
    assert sum(amounts.values()) > 0


def test_allocation_xlsx_notes_the_rule_and_the_remainders(
    nation: Kofu, tmp_path: Path
) -> None:
    code, output = nation(
        "export", "allocations", "--fiscal-year", "2020", "-o", tmp_path / "a.xlsx"
    )
    assert code == 0, output
    book = load_workbook(tmp_path / "a.xlsx")
    assert book.sheetnames == ["交付額", "説明"]
    notes = list(book["説明"].iter_rows(min_row=2, values_only=True))
    assert notes[0][0] == "仮説"
    assert dict(notes)["千円未満の端数"] == "なし（すべての額が千円単位）"
    assert any(key == "前提（仮説）" and "size bands" in value for key, value in notes)


def test_thousands_are_exact_and_never_rounded() -> None:
    assert thousands(86_732_000) == 86_732
    assert isinstance(thousands(86_732_000), int)
    assert thousands(1_234_567) == Decimal("1234.567")
    assert thousands(999) == Decimal("0.999")
    assert thousands(0) == 0


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+2", "'=1+2"),
        ("+SUM(A1:A9)", "'+SUM(A1:A9)"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-Infinity", "'-Infinity"),
        ("-5", "-5"),
        ("+3.5", "+3.5"),
        ("千代田区", "千代田区"),
    ],
)
def test_text_a_spreadsheet_would_run_is_quoted(text: str, safe: str) -> None:
    assert neutralise(text) == safe
    assert cell_value(text) == safe


def test_numbers_stay_numbers_in_xlsx_cells() -> None:
    assert cell_value(-5) == -5
    assert cell_value(Decimal("-1234.567")) == Decimal("-1234.567")
    assert cell_value("bad\x01char") == "bad\ufffdchar"


def test_hostile_name_is_neutralised_in_every_export(
    nation: Kofu, tmp_path: Path
) -> None:
    # CSV: the ministry tables and the plain read commands
    for args in (
        ("export", "results", "--fiscal-year", "2020"),
        ("export", "allocations", "--fiscal-year", "2020"),
        ("allocations", "-y", "2020"),
    ):
        flat = [cell for row in _csv(nation, *args) for cell in row]
        assert "'" + HOSTILE in flat, args
        assert HOSTILE not in flat
    # XLSX: the ministry table and a read command, as text cells, never formulas
    code, output = nation(
        "export", "allocations", "--fiscal-year", "2020", "-o", tmp_path / "a.xlsx"
    )
    assert code == 0, output
    for data in (
        (tmp_path / "a.xlsx").read_bytes(),
        _binary(nation, "allocations", "-y", "2020", "--format", "xlsx"),
    ):
        book = load_workbook(io.BytesIO(data))
        cells = [c for row in book.worksheets[0].iter_rows() for c in row]
        hostile = [c for c in cells if isinstance(c.value, str) and HOSTILE in c.value]
        assert hostile
        assert all(c.value == "'" + HOSTILE and c.data_type == "s" for c in hostile)
        assert not any(c.data_type == "f" for c in cells)
        assert any(isinstance(c.value, int) and c.value > 0 for c in cells)


def test_hostile_correction_reason_is_neutralised_in_the_audit_trail(
    nation: Kofu, clock: SimulatedClock
) -> None:
    hostile = "=cmd|' /C calc'!A0"
    clock.set_day(date(2019, 11, 15))  # after the FY2020 deadline: corrections open
    code, output = nation(
        "correct",
        "--entity",
        CHIYODA,
        "--fiscal-year",
        "2020",
        "--item",
        "I-1-a",
        "--value",
        "false",
        "--reason",
        hostile,
        "--basis",
        "老認発第1号",
        "--actor",
        "ministry:yamada",
    )
    assert code == 0, output
    flat = [
        c
        for row in _csv(nation, "audit", "--entity", CHIYODA, "--fiscal-year", "2020")
        for c in row
    ]
    assert "'" + hostile in flat
    assert hostile not in flat
    book = load_workbook(
        io.BytesIO(
            _binary(
                nation,
                "audit",
                "--entity",
                CHIYODA,
                "--fiscal-year",
                "2020",
                "--format",
                "xlsx",
            )
        )
    )
    values = [c.value for row in book.worksheets[0].iter_rows() for c in row]
    assert "'" + hostile in values
    assert hostile not in values


def test_export_without_runs_is_refused_with_a_message(world: Kofu) -> None:
    code, output = world(
        "export", "allocations", "--fiscal-year", "2020", "--format", "csv"
    )
    assert code == 2, output
    assert "no FY2020 promotion municipal allocation run is recorded" in output
    code, output = world(
        "export", "results", "--fiscal-year", "2020", "--format", "csv"
    )
    assert code == 2, output
    assert "no FY2020 municipal promotion scores" in output


@pytest.mark.parametrize(
    ("command", "sheets"),
    [
        ("what-if", ["1 what-if (not recorded)", "2 diff against the recorded run"]),
        ("sensitivity", ["1 corrections moving > 0.0001 o", "2 yen per score point"]),
    ],
)
def test_commands_with_several_tables_write_one_workbook(
    nation: Kofu, command: str, sheets: list[str]
) -> None:
    run = "FY2020-promotion-municipal-reference-1"
    book = load_workbook(io.BytesIO(_binary(nation, command, run, "--format", "xlsx")))
    assert book.sheetnames == sheets


def test_a_csv_file_for_excel_gets_a_bom_and_shift_jis_on_request(
    nation: Kofu, tmp_path: Path
) -> None:
    args = ("export", "allocations", "--fiscal-year", "2020", "--format", "csv")
    code, plain = nation(*args)
    assert code == 0, plain
    assert not plain.startswith("\ufeff")  # standard output stays plain for scripts
    code, output = nation(*args, "--output", tmp_path / "a.csv")
    assert code == 0, output
    written = (tmp_path / "a.csv").read_bytes()
    assert written.startswith(b"\xef\xbb\xbf")  # the BOM Japanese Excel needs
    assert written[3:].decode("utf-8") == plain
    code, output = nation(*args, "-o", tmp_path / "s.csv", "--encoding", "shift_jis")
    assert code == 0, output
    assert (tmp_path / "s.csv").read_bytes().decode("cp932") == plain
    code, output = nation(*args, "-o", tmp_path / "u.csv", "--encoding", "utf-8")
    assert (tmp_path / "u.csv").read_bytes().decode("utf-8") == plain
    code, output = nation(
        "export",
        "allocations",
        "--fiscal-year",
        "2020",
        "-o",
        tmp_path / "x.xlsx",
        "--encoding",
        "shift_jis",
    )
    assert code == 2
    assert "--encoding" in output
    assert not (tmp_path / "x.xlsx").exists()


def test_a_character_shift_jis_cannot_hold_is_named_and_nothing_written() -> None:
    from adapters.cli.exports import Encoding, encoded
    from domain.errors import InvalidInput

    text = "団体,金額\n新宿区,1\n𠮷野町,2\n"
    with pytest.raises(InvalidInput) as refused:
        encoded(text, Encoding.shift_jis)
    assert refused.value.field == "--encoding"
    assert "line 3, character 1" in str(refused.value)
    assert "U+20BB7" in str(refused.value)
    assert encoded(text, Encoding.utf_8_sig).startswith(b"\xef\xbb\xbf")


def test_the_settlement_export_has_its_adjustments_and_numbers_as_numbers(
    ledger: Ledger, database_url: str, tmp_path: Path
) -> None:
    from rich.console import Console

    from adapters.kofu import run_demo
    from adapters.queries.runs import current_runs

    run_demo(ledger, 2020, 1, Console(quiet=True), prefectures={"13"})
    (run,) = current_runs(ledger, 2020, "promotion", "municipal", "settlement", None)
    settled = run.calculated
    assert any(r.adjustment_yen for r in settled.results)  # the demo's story
    kofu = Kofu(database_url)
    target = tmp_path / "settlement.xlsx"
    code, output = kofu(
        "export", "allocations", "-y", "2020", "--phase", "settlement", "-o", target
    )
    assert code == 0, output
    book = load_workbook(target)
    sheet = book["交付額"]
    header = [c.value for c in sheet[1]]
    assert header[-3:] == ["交付決定額（円）", "精算調整（円）", "精算の扱い"]
    column = {name: i for i, name in enumerate(header)}
    rows = list(sheet.iter_rows(min_row=2))
    body, total = rows[:-1], rows[-1]
    by_entity = {r.entity: r for r in settled.results}
    labels = {
        "refund": "返還",
        "additional": "追加交付",
        "settle_next_year": "翌年度に精算",
    }
    for row in body:
        result = by_entity[row[column["団体コード"]].value]
        yen = row[column["交付額（円）"]]
        assert yen.value == result.amount_yen
        assert yen.number_format == "#,##0"  # a number with separators, not text
        assert row[column["精算調整（円）"]].value == result.adjustment_yen
        assert row[column["交付決定額（円）"]].value == result.decided_yen
        shown = row[column["精算の扱い"]].value or ""
        assert shown == (labels[result.adjustment] if result.adjustment else "")
        assert row[column["第1号被保険者数"]].number_format == "#,##0"
    assert total[column["精算調整（円）"]].value == settled.totals.adjustments_yen
    notes = dict(book["説明"].iter_rows(min_row=2, values_only=True))
    assert notes["予算額（円）"] == settled.inputs.budget_yen  # a number, not text
    assert notes["残額（円）"] == settled.totals.remainder_yen
    hypotheses = [
        value
        for key, value in book["説明"].iter_rows(min_row=2, values_only=True)
        if key == "前提（仮説）"
    ]
    assert hypotheses
    assert all(
        "（" in h and h[0] not in "abcdefghijklmnopqrstuvwxyz" for h in hypotheses
    )
