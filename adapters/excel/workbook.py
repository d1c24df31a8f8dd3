"""The self-evaluation workbook (該当状況調査票) an entity fills in with Excel.

`kofu workbook` writes it for the catalogue version in force; `kofu submit FILE.xlsx`
reads it back (adapters/excel/workbook_import.py). Three sheets:

* 表紙 (cover): entity, prefecture, grant year in 和暦 and Western, tier, catalogue
  id and version, and how to fill the workbook in;
* 回答 (answers): one row per sub-item the entity answers (items the ministry
  computes itself are left out), an answer cell with a drop-down list or a number
  rule, every other cell locked;
* _kofu (very hidden): what the import needs, item code → row, and a SHA-256 of it
  all, so that edited metadata is noticed (a checksum, not a signature: it catches
  mistakes and casual edits, not a forger who recomputes it).
"""

from __future__ import annotations

import hashlib
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.workbook.protection import WorkbookProtection

from adapters.excel.workbook_answers import ANSWERS, BOX, FIRST_ROW, write_answers
from domain.catalogue import CatalogueSeries
from domain.errors import InvalidInput
from domain.glossary import TIER_JA, era

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from domain.catalogue import Answer, CatalogueSpec, Indicator, SubItem
    from domain.ledger import Ledger

FORMAT = "kofu-self-evaluation-workbook"
FORMAT_VERSION = 1
COVER, META = "表紙", "_kofu"
COVER_ENTITY_CELL = "C5"
META_KEYS = (
    "format",
    "format_version",
    "entity",
    "grant_year",
    "tier",
    "catalogue_version",
    "catalogue_fingerprint",
)


@dataclass(frozen=True)
class Stamp:
    """What a workbook was generated for (kept in its hidden sheet)."""

    entity: str
    grant_year: int
    tier: str
    catalogue_version: int
    catalogue_fingerprint: str
    rows: dict[str, int]
    """Answer-sheet row of each sub-item code."""

    def content(self) -> dict[str, object]:
        """The metadata as one mapping (what the checksum covers)."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "entity": self.entity,
            "grant_year": self.grant_year,
            "tier": self.tier,
            "catalogue_version": self.catalogue_version,
            "catalogue_fingerprint": self.catalogue_fingerprint,
            "rows": self.rows,
        }

    def checksum(self) -> str:
        """SHA-256 of the metadata (canonical JSON)."""
        data = orjson.dumps(self.content(), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(data).hexdigest()


def catalogue_id(grant_year: int, tier: str, version: int) -> str:
    """How people name a catalogue version, e.g. FY2020-municipal-v1."""
    return f"FY{grant_year}-{tier}-v{version}"


def answerable(spec: CatalogueSpec) -> list[tuple[SubItem, Indicator]]:
    """The sub-items an entity answers itself, in catalogue order."""
    return [pair for pair in spec.sub_items().values() if pair[1].source == "self"]


def build_workbook(
    ledger: Ledger, lg_code: str, year: int, tier: str | None, *, blank: bool = False
) -> Workbook:
    """The workbook for an entity and grant year (its own tier unless `tier`).

    Its answer cells hold the entity's answers as they stand in the ledger (so a
    revision changes only what changes), unless `blank` or it has none yet.

    Raises:
        InvalidInput: unknown entity, a tier that does not fit it, or no catalogue.
    """
    details = ledger.entity(lg_code, field="--entity")
    own = "municipal" if details.kind == "municipality" else "prefectural"
    if tier is not None and tier != own:
        msg = f"{lg_code} ({details.name}) answers the {own} catalogue, not {tier}"
        raise InvalidInput(msg, field="--tier")
    catalogue = ledger.catalogue(year, own)
    spec = catalogue.spec
    series = ledger.get(CatalogueSeries.id_for(year, own), CatalogueSeries)
    fingerprint = series.versions[spec.version] if series else ""
    items = answerable(spec)
    stamp = Stamp(
        entity=lg_code,
        grant_year=year,
        tier=own,
        catalogue_version=spec.version,
        catalogue_fingerprint=fingerprint,
        rows={sub.code: FIRST_ROW + i for i, (sub, _) in enumerate(items)},
    )
    prefecture = next(
        (
            e.name
            for e in ledger.entities()
            if e.kind == "prefecture" and e.prefecture_code == details.prefecture_code
        ),
        details.prefecture_code,
    )
    book = Workbook()
    cover = book.active
    assert cover is not None  # noqa: S101 - a new workbook has one sheet
    _cover(cover, spec, stamp, details.name, prefecture)
    current: dict[str, Answer] = {}
    if not blank:
        with suppress(InvalidInput):  # no self-evaluation yet: a blank workbook
            current = dict(ledger.self_evaluation(lg_code, year, own).answers)
    write_answers(book.create_sheet(ANSWERS), spec, items, details.name, current)
    _metadata(book.create_sheet(META), stamp)
    book.active = 1
    book.security = WorkbookProtection(lockStructure=True)
    return book


def _cover(
    sheet: Worksheet, spec: CatalogueSpec, stamp: Stamp, name: str, prefecture: str
) -> None:
    sheet.title = COVER
    year = stamp.grant_year
    sheet["B2"] = spec.title
    sheet["B2"].font = Font(bold=True, size=14)
    sheet["B3"] = "該当状況調査票（自己評価）"
    sheet["B3"].font = Font(bold=True, size=12)
    facts = [
        ("団体コード", stamp.entity),
        ("団体名", name),
        ("都道府県", prefecture),
        ("交付年度", f"{era(year)}（{year}年度）"),
        ("区分", TIER_JA[stamp.tier]),
        ("評価指標", catalogue_id(year, stamp.tier, stamp.catalogue_version)),
        ("評価指標の版", f"第{stamp.catalogue_version}版（{spec.published_on}公表）"),
        ("回答項目数", f"{len(stamp.rows)}項目"),
    ]
    for row, (label, value) in enumerate(facts, start=5):
        sheet.cell(row, 2, label).font = Font(bold=True)
        sheet.cell(row, 3, value).border = BOX
    if spec.illustrative:
        sheet.cell(13, 2, "例示（illustrative）").font = Font(bold=True, color="C00000")
        sheet.cell(13, 3, ILLUSTRATIVE_NOTE)
    for row, line in enumerate(_INSTRUCTIONS, start=15):
        sheet.cell(row, 2, line).alignment = Alignment(wrap_text=False)
    sheet.column_dimensions["B"].width = 18
    sheet.column_dimensions["C"].width = 60
    sheet.protection.sheet = True


ILLUSTRATIVE_NOTE = "この評価指標は例示です。項目の内容と配点は公表資料ではありません。"
_INSTRUCTIONS = (
    "記入方法",
    "1. 「回答」シートの黄色の回答欄（E列）だけを記入してください。",
    "　  ほかのセルは保護されています。",
    "2. チェック項目は「該当」または「非該当」を選んでください。",
    "3. 数値項目は半角の数値で記入してください（単位と範囲は「回答方法」欄のとおり）。",
    "　  割合（%）は数値で（55.5% なら 55.5）。「55.5%」と入力しても同じに読みます。",
    "4. すべての項目に回答してください。空欄のままでは取り込めません。",
    "　  回答欄には台帳の現在の回答が記入済みです（変える項目だけ直してください）。",
    "5. 行の追加・削除・並べ替えや、シート名の変更はしないでください。",
    "6. 成果指標など国が算出する項目は、この調査票には含まれません。",
    "7. 提出: kofu submit このファイル.xlsx",
    "　  誤りがあれば、シート・行・列を示して差し戻されます。",
)


def _metadata(sheet: Worksheet, stamp: Stamp) -> None:
    content = stamp.content()
    for row, key in enumerate(META_KEYS, start=1):
        sheet.cell(row, 1, key)
        sheet.cell(row, 2, str(content[key]))
    row = len(META_KEYS) + 1
    sheet.cell(row, 1, "checksum")
    sheet.cell(row, 2, stamp.checksum())
    for offset, (code, answer_row) in enumerate(stamp.rows.items(), start=1):
        sheet.cell(row + offset, 1, "item")
        sheet.cell(row + offset, 2, code)
        sheet.cell(row + offset, 3, answer_row)
    sheet.sheet_state = "veryHidden"
    sheet.protection.sheet = True
