"""Reading a filled self-evaluation workbook back into a submission.

Two steps. `read_workbook` opens the file and checks what needs no ledger: that it
is a readable .xlsx, that its hidden metadata is intact, that the cover names the
entity it was generated for and that no answer row was moved. `Filled.command`
then checks every answer cell against the catalogue version in force and lists
every bad cell by file, sheet, row and column; nothing is recorded unless all are
good.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.excel.workbook import (
    COVER,
    COVER_ENTITY_CELL,
    FORMAT,
    FORMAT_VERSION,
    META,
    META_KEYS,
    Stamp,
    answerable,
    catalogue_id,
)
from adapters.excel.workbook_answers import ANSWER_COLUMN, ANSWERS, CODE_COLUMN, NO, YES
from adapters.inputs.files import read_answers, validate
from adapters.reports.xlsx import open_workbook
from domain.base import printable
from domain.catalogue import CatalogueSeries
from domain.commands import SubmitSelfEvaluation
from domain.errors import InvalidInput

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook

    from domain.catalogue import SubItem
    from domain.ledger import Ledger

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm"}


@dataclass
class Filled:
    """A workbook as read: its metadata, its answer cells and the problems seen."""

    path: Path
    stamp: Stamp
    cells: dict[str, object]
    formats: dict[str, str] = field(default_factory=dict)
    """Each answer cell's number format: a percent cell holds a fraction."""
    problems: list[str] = field(default_factory=list)

    def where(self, row: int, column: str, code: str | None = None) -> str:
        """`file: sheet 回答 row R column C (item X)`."""
        item = f" (item {code})" if code else ""
        return f"{self.path}: sheet {ANSWERS} row {row} column {column}{item}"

    def command(self, ledger: Ledger, defaults: dict[str, Any]) -> SubmitSelfEvaluation:
        """The submission, once every cell fits the catalogue version in force.

        Raises:
            InvalidInput: another catalogue version, or bad cells (all are listed).
        """
        stamp = self.stamp
        sub_items = self._catalogue(ledger)
        answers: dict[str, object] = {}
        problems = list(self.problems)
        for code, row in stamp.rows.items():
            try:
                answers[code] = _answer(
                    sub_items[code],
                    self.cells.get(code),
                    self.formats.get(code, "General"),
                )
            except InvalidInput as exc:
                where = self.where(row, ANSWER_COLUMN, code)
                problems.append(f"{where}: {exc.message}")
        if problems:
            raise InvalidInput(_listing(self.path, problems))
        role = "prefecture" if stamp.tier == "prefectural" else "insurer"
        record = {
            "entity": stamp.entity,
            "grant_year": stamp.grant_year,
            "tier": stamp.tier,
            "answers": answers,
            "actor": defaults.get("actor") or f"{role}:{stamp.entity}",
            "origin": f"{self.path}: sheet {ANSWERS}",
        }
        return validate(SubmitSelfEvaluation, record, str(self.path))

    def _catalogue(self, ledger: Ledger) -> dict[str, SubItem]:
        stamp = self.stamp
        spec = ledger.catalogue(stamp.grant_year, stamp.tier).spec
        made_for = catalogue_id(stamp.grant_year, stamp.tier, stamp.catalogue_version)
        if spec.version != stamp.catalogue_version:
            msg = (
                f"the workbook was made for catalogue {made_for}, but version "
                f"{spec.version} is in force; answer a new workbook "
                f"(kofu workbook --entity {stamp.entity} "
                f"--fiscal-year {stamp.grant_year})"
            )
            raise InvalidInput(msg, field=str(self.path))
        series = ledger.get(
            CatalogueSeries.id_for(stamp.grant_year, stamp.tier), CatalogueSeries
        )
        published = series.versions.get(spec.version) if series else None
        items = {sub.code: sub for sub, _ in answerable(spec)}
        if published != stamp.catalogue_fingerprint or set(items) != set(stamp.rows):
            msg = (
                f"the workbook's catalogue {made_for} is not the one published in "
                "this ledger (its fingerprint differs); generate the workbook from "
                "this ledger"
            )
            raise InvalidInput(msg, field=str(self.path))
        return items


def _listing(path: Path, problems: list[str]) -> str:
    head = f"{path}: {len(problems)} problem(s); nothing was recorded"
    return "\n".join([head, *(f"  {p}" for p in problems)])


def is_percent(number_format: str) -> bool:
    """Whether a number format shows its value × 100 with % (a percent cell).

    A `%` inside quotes or escaped with a backslash is literal text, not scaling.
    """
    unquoted = re.sub(r'"[^"]*"|\\.', "", number_format)
    return "%" in unquoted


def _answer(sub: SubItem, raw: object, number_format: str = "General") -> object:
    """A cell's value as the ledger reads it (checked here to name the cell).

    Read as its number format shows it: a value typed as 55.5% is stored by Excel
    as 0.555 in a percent-formatted cell, and means 55.5 (the item's unit is %).
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        msg = "no answer (回答がありません); every item needs one"
        raise InvalidInput(msg, field=sub.code)
    if isinstance(raw, str):
        try:
            printable(raw)
        except ValueError as exc:
            raise InvalidInput(str(exc), field=sub.code) from None
    if isinstance(raw, float):
        # Excel keeps numbers as binary doubles: read the shortest decimal that
        # round-trips, which is what Excel shows and what the person typed.
        raw = Decimal(repr(raw))
    if (
        isinstance(raw, int | Decimal)
        and not isinstance(raw, bool)
        and is_percent(number_format)
    ):
        if sub.kind == "number" and sub.unit != "%":
            msg = (
                f"typed as a percentage ({number_format}), but item {sub.code} is "
                f"counted in {sub.unit or 'plain numbers'}; type the number itself"
            )
            raise InvalidInput(msg, field=sub.code)
        raw = Decimal(raw) * 100
    if sub.kind == "number" and isinstance(raw, bool):
        msg = f"number item {sub.code} takes a number, got the logical value {raw}"
        raise InvalidInput(msg, field=sub.code)
    if not isinstance(raw, bool | int | Decimal | str):
        wanted = "該当/非該当" if sub.kind == "checkbox" else "a number"
        msg = f"takes {wanted}, got {raw!r}"
        raise InvalidInput(msg, field=sub.code)
    if sub.kind == "checkbox" and not isinstance(raw, bool | int | Decimal):
        text = raw.strip()
        if text not in {YES, NO}:
            msg = f"choose {YES} or {NO} (「{YES}」か「{NO}」を選択), got {raw!r}"
            raise InvalidInput(msg, field=sub.code)
        return text == YES
    answer = sub.parse(raw)
    return answer.checked if answer.checked is not None else str(answer.number)


def read_workbook(path: Path) -> Filled:
    """Open a workbook made by `kofu workbook` and read its answer cells.

    Raises:
        InvalidInput: not a readable .xlsx, not a kofu workbook, or tampered with.
    """
    book = open_workbook(path)
    stamp = _stamp(path, book)
    filled = Filled(path=path, stamp=stamp, cells={})
    if COVER not in book.sheetnames or ANSWERS not in book.sheetnames:
        found = ", ".join(book.sheetnames)
        msg = f"sheets {COVER} and {ANSWERS} are needed; found {found}"
        raise InvalidInput(msg, field=str(path))
    shown = _text(book[COVER][COVER_ENTITY_CELL].value)
    if shown != stamp.entity:
        cell = book[COVER][COVER_ENTITY_CELL]
        filled.problems.append(
            f"{path}: sheet {COVER} row {cell.row} column {cell.column_letter}: "
            f"the workbook was generated for entity {stamp.entity}, but the cover "
            f"names {shown or 'no entity'}; each entity answers its own workbook"
        )
    sheet = book[ANSWERS]
    for code, row in stamp.rows.items():
        found = _text(sheet[f"{CODE_COLUMN}{row}"].value)
        if found != code:
            filled.problems.append(
                f"{filled.where(row, CODE_COLUMN)}: expected item {code} here, found "
                f"{found or 'nothing'}; rows must not be added, deleted or moved"
            )
        cell = sheet[f"{ANSWER_COLUMN}{row}"]
        filled.cells[code] = cell.value
        filled.formats[code] = cell.number_format or "General"
    return filled


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _stamp(path: Path, book: Workbook) -> Stamp:
    where = f"{path}: sheet {META}"
    if META not in book.sheetnames:
        msg = (
            "not a kofu self-evaluation workbook (no metadata sheet); "
            "generate one with `kofu workbook`"
        )
        raise InvalidInput(msg, field=str(path))
    rows = [tuple(r[:3]) for r in book[META].iter_rows(values_only=True)]
    head = {str(r[0]): _text(r[1]) for r in rows[: len(META_KEYS) + 1]}
    named = (head.get("format"), head.get("format_version"))
    if named != (FORMAT, str(FORMAT_VERSION)):
        msg = f"metadata names format {named}; expected {FORMAT} {FORMAT_VERSION}"
        raise InvalidInput(msg, field=where)
    try:
        stamp = Stamp(
            entity=head["entity"],
            grant_year=int(head["grant_year"]),
            tier=head["tier"],
            catalogue_version=int(head["catalogue_version"]),
            catalogue_fingerprint=head["catalogue_fingerprint"],
            rows={
                str(r[1]): int(str(r[2]))
                for r in rows[len(META_KEYS) + 1 :]
                if r[0] == "item"
            },
        )
    except (KeyError, ValueError, TypeError):
        stamp = None
    if stamp is None or stamp.checksum() != head.get("checksum"):
        msg = (
            "the hidden metadata was altered (its checksum does not match); "
            "answer a freshly generated workbook"
        )
        raise InvalidInput(msg, field=where)
    return stamp


@dataclass
class Pending:
    """Submissions read from files, in file order; workbooks still to be checked."""

    parts: list[SubmitSelfEvaluation | Filled]
    defaults: dict[str, Any]

    def commands(self, ledger: Ledger) -> list[SubmitSelfEvaluation]:
        """Every submission, workbooks checked against the catalogue in force.

        Raises:
            InvalidInput: a workbook does not fit (every workbook's problems listed).
        """
        commands, problems = [], []
        for part in self.parts:
            if not isinstance(part, Filled):
                commands.append(part)
                continue
            try:
                commands.append(part.command(ledger, self.defaults))
            except InvalidInput as exc:
                problems.append(str(exc))
        if problems:
            raise InvalidInput("\n".join(problems))
        return commands


def read_submissions(paths: list[Path], defaults: dict[str, Any]) -> Pending:
    """Read answer files of any kind `kofu submit` takes (JSON, CSV, XLSX).

    Raises:
        InvalidInput: a file is unreadable or malformed.
    """
    parts: list[SubmitSelfEvaluation | Filled] = []
    for path in paths:
        suffix = path.suffix.lower()
        if suffix in WORKBOOK_SUFFIXES:
            parts.append(read_workbook(path))
        elif suffix in {".json", ".csv"}:
            parts.extend(read_answers([path], defaults))
        else:
            msg = "unsupported file type for answers; expected .json, .csv or .xlsx" + (
                " (save the old .xls format as an Excel ブック .xlsx)"
                if suffix == ".xls"
                else ""
            )
            raise InvalidInput(msg, field=str(path))
    return Pending(parts, defaults)
