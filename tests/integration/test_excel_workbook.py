"""The self-evaluation workbook: generated, filled with openpyxl, read back by submit.

Every ledger test runs on SQLite and on PostgreSQL (the `world` fixture). A refused
workbook names each bad cell by file, sheet, row and column and records nothing.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from adapters.inputs.paths import data_dir
from adapters.storage.bootstrap import open_ledger
from domain.catalogue import Answer
from tests.conftest import SHINJUKU, Kofu, submission

TOKYO = "130001"


def generate(kofu: Kofu, folder: Path, entity: str = SHINJUKU) -> Path:
    path = folder / f"{entity}.xlsx"
    code, output = kofu(
        "workbook", "--entity", entity, "--fiscal-year", "2020", "--output", path
    )
    assert code == 0, output
    return path


def fill(path: Path, target: Path) -> dict[str, Answer]:
    """Answer every row: checkboxes alternately 該当/非該当, numbers a valid decimal."""
    book = load_workbook(path)
    sheet = book["回答"]
    expected = {}
    for row in range(5, sheet.max_row + 1):
        code = sheet[f"C{row}"].value
        if sheet[f"F{row}"].value.startswith("該当"):
            checked = row % 2 == 0
            sheet[f"E{row}"] = "該当" if checked else "非該当"
            expected[code] = Answer(checked=checked)
        else:
            sheet[f"E{row}"] = 2.5
            expected[code] = Answer(number=Decimal("2.5"))
    book.save(target)
    return expected


def answers_in_ledger(
    url: str, entity: str = SHINJUKU, tier: str = "municipal"
) -> dict[str, Answer]:
    opened = open_ledger(url)
    try:
        return dict(opened.self_evaluation(entity, 2020, tier).answers)
    finally:
        opened.close()


@pytest.mark.parametrize(
    ("entity", "tier"), [(SHINJUKU, "municipal"), (TOKYO, "prefectural")]
)
def test_filled_workbook_records_exactly_its_answers(
    world: Kofu, tmp_path: Path, entity: str, tier: str
) -> None:
    # Given a workbook generated for the entity and filled in
    expected = fill(generate(world, tmp_path, entity), tmp_path / "filled.xlsx")
    # When it is submitted
    code, output = world("submit", tmp_path / "filled.xlsx")
    # Then the ledger holds exactly those answers, and again submitting records nothing
    assert code == 0, output
    assert answers_in_ledger(world.url, entity, tier) == expected
    events = world.events()
    code, output = world("submit", tmp_path / "filled.xlsx")
    assert (code, world.events()) == (0, events), output


def test_workbook_lists_answerable_items_with_locked_cells(
    world: Kofu, tmp_path: Path
) -> None:
    book = load_workbook(generate(world, tmp_path))
    assert book.sheetnames == ["表紙", "回答", "_kofu"]
    assert book["_kofu"].sheet_state == "veryHidden"
    cover = book["表紙"]
    assert (cover["C5"].value, cover["C6"].value, cover["C7"].value) == (
        SHINJUKU,
        "新宿区",
        "東京都",
    )
    assert cover["C8"].value == "令和2年度（2020年度）"
    assert cover["C10"].value == "FY2020-municipal-v1"
    sheet = book["回答"]
    codes = [sheet[f"C{r}"].value for r in range(5, sheet.max_row + 1)]
    assert "I-1-a" in codes
    assert "II-24-a" not in codes  # computed by the ministry, not answered
    assert sheet.protection.sheet
    assert not sheet["E5"].protection.locked
    assert sheet["D5"].protection.locked
    lists = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert lists[0].formula1 == '"該当,非該当"'
    assert "E5" in lists[0].sqref


def test_bad_cells_are_all_named_and_nothing_recorded(
    world: Kofu, tmp_path: Path
) -> None:
    # Given a filled workbook with an unknown value, a blank, text and a logical
    # value in number cells, and a number above its maximum
    fill(generate(world, tmp_path), tmp_path / "filled.xlsx")
    book = load_workbook(tmp_path / "filled.xlsx")
    sheet = book["回答"]
    rows = {sheet[f"C{r}"].value: r for r in range(5, sheet.max_row + 1)}
    sheet[f"E{rows['I-2-a']}"] = "たぶん"
    sheet[f"E{rows['I-2-b']}"] = None
    sheet[f"E{rows['II-5-c']}"] = "約50"
    sheet[f"E{rows['II-12-b']}"] = True
    sheet[f"E{rows['III-4-a']}"] = 12.5
    book.save(tmp_path / "bad.xlsx")
    events = world.events()
    # When it is submitted
    code, output = world("submit", tmp_path / "bad.xlsx")
    # Then every bad cell is named and nothing is written
    assert code == 2, output
    assert world.events() == events
    where = f"{tmp_path / 'bad.xlsx'}: sheet 回答"
    for item, what in (
        ("I-2-a", "choose 該当 or 非該当"),
        ("I-2-b", "no answer"),
        ("II-5-c", "takes a decimal number, got '約50'"),
        ("II-12-b", "takes a number, got the logical value True"),
        ("III-4-a", "above the maximum 5"),
    ):
        assert f"{where} row {rows[item]} column E (item {item}): " in output
        assert what in output.split(f"(item {item}): ")[1].splitlines()[0]
    assert "5 problem(s)" in output


def test_workbook_of_another_entity_is_refused(world: Kofu, tmp_path: Path) -> None:
    fill(generate(world, tmp_path), tmp_path / "filled.xlsx")
    book = load_workbook(tmp_path / "filled.xlsx")
    book["表紙"]["C5"] = "131016"
    book.save(tmp_path / "other.xlsx")
    events = world.events()
    code, output = world("submit", tmp_path / "other.xlsx")
    assert code == 2, output
    assert (
        "sheet 表紙 row 5 column C: the workbook was generated for entity 131041"
        in output
    )
    assert world.events() == events


@pytest.mark.parametrize(
    ("cell", "value"),
    [("B3", "131016"), ("C12", 99), ("B6", "2")],
    ids=["entity", "row-of-an-item", "catalogue-version"],
)
def test_tampered_metadata_is_refused(
    world: Kofu, tmp_path: Path, cell: str, value: object
) -> None:
    fill(generate(world, tmp_path), tmp_path / "filled.xlsx")
    book = load_workbook(tmp_path / "filled.xlsx")
    book["_kofu"][cell] = value
    book.save(tmp_path / "tampered.xlsx")
    events = world.events()
    code, output = world("submit", tmp_path / "tampered.xlsx")
    assert code == 2, output
    assert "sheet _kofu: the hidden metadata was altered" in output
    assert world.events() == events


def test_moved_rows_are_named(world: Kofu, tmp_path: Path) -> None:
    fill(generate(world, tmp_path), tmp_path / "filled.xlsx")
    book = load_workbook(tmp_path / "filled.xlsx")
    book["回答"].protection.sheet = False
    book["回答"].delete_rows(6)
    book.save(tmp_path / "moved.xlsx")
    code, output = world("submit", tmp_path / "moved.xlsx")
    assert code == 2, output
    assert "sheet 回答 row 6 column C: expected item I-2-a here, found I-2-b" in output


def test_workbook_of_a_superseded_catalogue_version_is_refused(
    world: Kofu, tmp_path: Path
) -> None:
    # Given a workbook made for version 1, then an erratum published as version 2
    fill(generate(world, tmp_path), tmp_path / "filled.xlsx")
    source = data_dir() / "catalogues" / "fy2020-municipal-v1.yaml"
    erratum = tmp_path / "v2.yaml"
    erratum.write_text(
        source.read_text(encoding="utf-8").replace(
            "\nversion: 1\n", "\nversion: 2\nreason: 正誤表\n"
        ),
        encoding="utf-8",
    )
    code, output = world("load", erratum)
    assert code == 0, output
    events = world.events()
    # When the old workbook is submitted
    code, output = world("submit", tmp_path / "filled.xlsx")
    # Then it is refused, naming both versions
    assert code == 2, output
    assert "made for catalogue FY2020-municipal-v1, but version 2 is in force" in output
    assert world.events() == events


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.xlsx", b"entity,grant_year\n", "not a readable Excel workbook (.xlsx)"),
        (
            "old.xls",
            b"\xd0\xcf\x11\xe0",
            "expected .json, .csv or .xlsx (save the old .xls",
        ),
        ("empty.xlsx", b"", "not a readable Excel workbook (.xlsx)"),
    ],
)
def test_unreadable_workbook_is_refused_with_a_message(
    world: Kofu, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    events = world.events()
    code, output = world("submit", path)
    assert code == 2, output
    assert f"{path}: " in output
    assert message in output
    assert world.events() == events


def test_truncated_workbook_is_refused(world: Kofu, tmp_path: Path) -> None:
    whole = generate(world, tmp_path).read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole[: len(whole) // 2])
    code, output = world("submit", cut)
    assert code == 2, output
    assert "may be truncated, damaged or of another format" in output
    assert "Traceback" not in output


def test_workbook_of_another_tier_is_not_generated(world: Kofu, tmp_path: Path) -> None:
    code, output = world(
        "workbook",
        "--entity",
        SHINJUKU,
        "--fiscal-year",
        "2020",
        "--tier",
        "prefectural",
        "--output",
        tmp_path / "x.xlsx",
    )
    assert code == 2, output
    assert "answers the municipal catalogue, not prefectural" in output
    assert not (tmp_path / "x.xlsx").exists()


def test_workbook_not_made_by_kofu_is_refused(world: Kofu, tmp_path: Path) -> None:
    book = Workbook()
    book.active["A1"] = "回答"
    book.save(tmp_path / "own.xlsx")
    code, output = world("submit", tmp_path / "own.xlsx")
    assert code == 2, output
    assert "not a kofu self-evaluation workbook (no metadata sheet)" in output


def test_workbook_and_json_are_submitted_together(world: Kofu, tmp_path: Path) -> None:
    expected = fill(generate(world, tmp_path), tmp_path / "filled.xlsx")
    chiyoda = submission(entity="131016")
    (tmp_path / "chiyoda.json").write_text(json.dumps(chiyoda), encoding="utf-8")
    code, output = world("submit", tmp_path / "chiyoda.json", tmp_path / "filled.xlsx")
    assert code == 0, output
    assert "submit (2 self-evaluations)" in output
    assert answers_in_ledger(world.url) == expected
    assert answers_in_ledger(world.url, "131016") == {"I-1-a": Answer(checked=True)}


def _row_of(sheet: object, code: str) -> int:
    for row in range(5, sheet.max_row + 1):  # type: ignore[attr-defined]
        if sheet[f"C{row}"].value == code:  # type: ignore[index]
            return row
    raise AssertionError(code)


def test_a_percentage_typed_with_percent_is_read_as_excel_shows_it(
    world: Kofu, tmp_path: Path
) -> None:
    # Given a filled workbook where II-12-b (a rate in %) was typed as "55.5%":
    # Excel keeps 0.555 in a cell formatted 0.0%
    fill(generate(world, tmp_path), tmp_path / "filled.xlsx")
    book = load_workbook(tmp_path / "filled.xlsx")
    sheet = book["回答"]
    cell = sheet[f"E{_row_of(sheet, 'II-12-b')}"]
    cell.value, cell.number_format = 0.555, "0.0%"
    book.save(tmp_path / "percent.xlsx")
    # When it is submitted, then the ledger holds 55.5 (worth 10 points), not 0.555
    code, output = world("submit", tmp_path / "percent.xlsx")
    assert code == 0, output
    answers = answers_in_ledger(world.url, SHINJUKU, "municipal")
    assert answers["II-12-b"] == Answer(number=Decimal("55.5"))


def test_a_percentage_in_an_item_not_counted_in_percent_is_refused_by_cell(
    world: Kofu, tmp_path: Path
) -> None:
    fill(generate(world, tmp_path), tmp_path / "filled.xlsx")
    book = load_workbook(tmp_path / "filled.xlsx")
    sheet = book["回答"]
    row = next(
        r
        for r in range(5, sheet.max_row + 1)
        if not str(sheet[f"F{r}"].value).startswith("該当")
        and "（%）" not in str(sheet[f"F{r}"].value)
    )
    code_of = sheet[f"C{row}"].value
    sheet[f"E{row}"].number_format = "0%"
    book.save(tmp_path / "wrong.xlsx")
    events = world.events()
    code, output = world("submit", tmp_path / "wrong.xlsx")
    assert code == 2
    assert f"row {row} column E (item {code_of}): typed as a percentage" in output
    assert world.events() == events


def test_the_workbook_holds_the_current_answers_unless_blank(
    world: Kofu, tmp_path: Path
) -> None:
    expected = fill(generate(world, tmp_path), tmp_path / "filled.xlsx")
    code, output = world("submit", tmp_path / "filled.xlsx")
    assert code == 0, output
    # A new workbook holds the answers as they stand: sent back unchanged, it
    # records nothing; --blank gives empty answer cells.
    again = tmp_path / "again.xlsx"
    code, output = world(
        "workbook", "--entity", SHINJUKU, "--fiscal-year", "2020", "--output", again
    )
    assert code == 0, output
    assert "with the current answers" in " ".join(output.split())
    sheet = load_workbook(again)["回答"]
    for item, answer in expected.items():
        shown = sheet[f"E{_row_of(sheet, item)}"].value
        if answer.checked is not None:
            assert shown == ("該当" if answer.checked else "非該当"), item
        else:
            assert Decimal(str(shown)) == answer.number, item
    events = world.events()
    code, output = world("submit", again)
    assert (code, world.events()) == (0, events), output
    blank = tmp_path / "blank.xlsx"
    code, output = world(
        "workbook",
        "--entity",
        SHINJUKU,
        "--fiscal-year",
        "2020",
        "--output",
        blank,
        "--blank",
    )
    assert code == 0, output
    sheet = load_workbook(blank)["回答"]
    assert all(sheet[f"E{_row_of(sheet, item)}"].value is None for item in expected)
