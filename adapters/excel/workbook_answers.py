"""The answer sheet (回答) of the self-evaluation workbook: one row per sub-item.

Only the answer cells (column E) are unlocked; each has an Excel data-validation
rule: a drop-down 該当/非該当 for a checkbox, a decimal range for a number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.worksheet.datavalidation import DataValidation

from domain.catalogue import max_points
from domain.glossary import GRANT_SHORT

if TYPE_CHECKING:
    from collections.abc import Mapping

    from openpyxl.worksheet.worksheet import Worksheet

    from domain.catalogue import Answer, CatalogueSpec, Indicator, SubItem

ANSWERS = "回答"
HEADER_ROW = 4
FIRST_ROW = HEADER_ROW + 1
CODE_COLUMN, ANSWER_COLUMN = "C", "E"
YES, NO = "該当", "非該当"

THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_ANSWER_FILL = PatternFill("solid", fgColor="FFF2CC")
_WRAP = Alignment(wrap_text=True, vertical="top")


def write_answers(
    sheet: Worksheet,
    spec: CatalogueSpec,
    items: list[tuple[SubItem, Indicator]],
    name: str,
    current: Mapping[str, Answer] | None = None,
) -> None:
    """Fill the answer sheet: header, one row per sub-item, rules, protection.

    `current` answers (the ledger's, as they stand) pre-fill the answer cells;
    number cells are plain numbers ("General"): a percentage is typed as its
    number (55.5 for 55.5 %), and a cell typed with % is read as Excel shows it.
    """
    current = current or {}
    sheet["A1"] = f"{spec.title}　該当状況調査票"
    sheet["A1"].font = Font(bold=True, size=12)
    filled = "現在の回答を記入済み" if current else "未回答"
    sheet["A2"] = (
        f"団体名: {name}　／　回答欄（E列・黄色）に記入してください（{filled}）。"
    )
    goals = {
        ind.code: goal.code
        for goal in spec.goals
        for group in goal.groups
        for ind in group.indicators
    }
    headers = [
        "目標",
        "評価指標",
        "枝番",
        "内容",
        "回答",
        "回答方法",
        *(f"配点（{GRANT_SHORT[g]}）" for g in spec.grants),
        "評価対象期間",
    ]
    for column, header in enumerate(headers, start=1):
        cell = sheet.cell(HEADER_ROW, column, header)
        cell.font, cell.fill, cell.border = Font(bold=True), _HEAD_FILL, BOX
    checkbox = _checkbox_rule()
    sheet.add_data_validation(checkbox)
    for row, (sub, indicator) in enumerate(items, start=FIRST_ROW):
        values = [
            goals[indicator.code],
            f"{indicator.code} {indicator.title}",
            sub.code,
            sub.title,
            None,
            _how(sub, indicator),
            *(max_points(sub, g) for g in spec.grants),
            indicator.evaluated_period,
        ]
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row, column, value)
            cell.border, cell.alignment = BOX, _WRAP
        answer = sheet[f"{ANSWER_COLUMN}{row}"]
        answer.fill, answer.protection = _ANSWER_FILL, Protection(locked=False)
        answer.number_format = "General"
        given = current.get(sub.code)
        if given is not None and given.checked is not None:
            answer.value = YES if given.checked else NO
        elif given is not None:
            answer.value = given.number
        if sub.kind == "checkbox":
            checkbox.add(answer.coordinate)
        else:
            rule = _number_rule(sub)
            sheet.add_data_validation(rule)
            rule.add(answer.coordinate)
    widths = {"A": 6, "B": 40, "C": 10, "D": 50, "E": 10, "F": 30}
    for letter, width in widths.items():
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = f"A{FIRST_ROW}"
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.protection.sheet = True


def _checkbox_rule() -> DataValidation:
    rule = DataValidation(type="list", formula1=f'"{YES},{NO}"', allow_blank=True)
    rule.errorTitle, rule.error = "回答", f"「{YES}」または「{NO}」を選んでください。"
    rule.showErrorMessage = True
    return rule


def _number_rule(sub: SubItem) -> DataValidation:
    low = str(sub.minimum) if sub.minimum is not None else "-1E+15"
    high = str(sub.maximum) if sub.maximum is not None else "1E+15"
    rule = DataValidation(
        type="decimal", operator="between", formula1=low, formula2=high
    )
    rule.errorTitle = "回答"
    rule.error = f"{_range(sub)}の数値を記入してください。"
    rule.promptTitle, rule.prompt = "数値", _range(sub)
    rule.showErrorMessage = rule.showInputMessage = True
    return rule


def _range(sub: SubItem) -> str:
    unit = sub.unit or ""
    low = f"{sub.minimum}{unit}以上" if sub.minimum is not None else ""
    high = f"{sub.maximum}{unit}以下" if sub.maximum is not None else ""
    return f"数値（{unit or '単位なし'}）" + (f" {low}{high}" if low or high else "")


def _how(sub: SubItem, indicator: Indicator) -> str:
    if sub.kind == "checkbox":
        text = f"{YES}／{NO}"
    else:
        steps = "、".join(
            f"{t.at_least}{sub.unit or ''}以上: "
            + "・".join(f"{GRANT_SHORT[g]}{p}点" for g, p in t.points.items())
            for t in sub.thresholds
        )
        text = f"{_range(sub)}。{steps}"
    if indicator.mode == "best":
        text += "（枝番のうち最も高い得点を採用）"
    return text
