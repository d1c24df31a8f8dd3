"""Reading input files into domain values and commands, naming the place of errors.

Formats (docs/FORMATS.md has an example of each):
* CSV (UTF-8, with or without BOM; a header row decides what the file holds):
  prefectures, municipalities, designated-city wards, insured counts, spending
  (事業費, one row per category), required amounts (所要見込額), answers.
* YAML or JSON documents with a top-level `kind`: `catalogue`, `programme_year`,
  `insurers`; JSON answers (one object or a list) for `kofu submit`.
Every error names the file and line (CSV) or the field path (YAML/JSON).

Over 300 lines (STYLE): one reader per format listed above, sharing the checks and
the error messages that name the file and line or the field path; each reader is short.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from adapters.common.parsing import parse_json, parse_yaml, read_bytes
from domain.base import printable
from domain.catalogue import CatalogueSpec
from domain.codes import insurer_number_for
from domain.commands import (
    SERVER_TIME_FIELDS,
    SubmitSelfEvaluation,
    server_time_message,
)
from domain.entities import (
    Entity,
    Expenditure,
    InsuredCount,
    InsurerDetails,
    Membership,
    RequiredAmount,
    WardNumber,
)
from domain.errors import InvalidInput
from domain.programme import ProgrammeSpec
from domain.rule import RuleSpec

M = TypeVar("M", bound=BaseModel)

PREFECTURE_HEADER = ("prefecture_code", "lg_code", "name", "name_kana", "name_en")
MUNICIPALITY_HEADER = ("prefecture_code", "jis_code", "lg_code", "name", "name_kana")
WARD_HEADER = (
    "prefecture_code",
    "jis_code",
    "lg_code",
    "city_name",
    "ward_name",
    "name_kana",
)
INSURED_HEADER = ("lg_code", "fiscal_year", "category1_insured", "source", "as_of")
EXPENDITURE_HEADER = (
    "lg_code",
    "fiscal_year",
    "category",
    "spending_yen",
    "source",
    "as_of",
)
REQUIRED_HEADER = (
    "lg_code",
    "grant_year",
    "grant",
    "required_yen",
    "source",
    "declared_on",
)
ANSWER_HEADER = ("entity", "grant_year", "tier", "item", "value")
ANSWER_OPTIONAL = ("actor", "idempotency_key")


@dataclass
class Loaded:
    """Everything read from a set of files, grouped by kind, in dependency order."""

    entities: list[Entity.Details] = field(default_factory=list)
    wards: list[Ward] = field(default_factory=list)
    insurers: list[InsurerDetails] = field(default_factory=list)
    insured: list[tuple[str, InsuredCount]] = field(default_factory=list)
    expenditures: list[tuple[str, Expenditure]] = field(default_factory=list)
    required: list[tuple[str, RequiredAmount]] = field(default_factory=list)
    catalogues: list[tuple[CatalogueSpec, str | None]] = field(default_factory=list)
    programmes: list[tuple[ProgrammeSpec, str | None]] = field(default_factory=list)
    rules: list[RuleSpec] = field(default_factory=list)
    first_line: dict[str, str] = field(default_factory=dict)
    """Where each entity was read (file:line), by LG code."""
    origins: dict[int, str] = field(default_factory=dict)
    """Where each record came from (file or file:line), by the record's id()."""

    def count(self) -> int:
        """How many records were read."""
        return sum(
            len(getattr(self, name))
            for name in (
                "entities",
                "wards",
                "insurers",
                "insured",
                "expenditures",
                "required",
                "catalogues",
                "programmes",
                "rules",
            )
        )


@dataclass(frozen=True)
class Ward:
    """A ward (行政区) of a designated city."""

    prefecture_code: str
    jis_code: str
    lg_code: str
    city_name: str
    ward_name: str


def read_text(path: Path) -> str:
    """The text of a UTF-8 file (a BOM is allowed), read within the size limit.

    Raises:
        InvalidInput: missing, not a regular file, too large, or not UTF-8.
    """
    data = read_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        msg = (
            f"not UTF-8 (byte {exc.start}); save the file as UTF-8 "
            "(Excel: CSV UTF-8 (コンマ区切り))"
        )
        raise InvalidInput(msg, field=str(path)) from None
    if "\x00" in text:
        msg = "contains NUL bytes: not a UTF-8 text file (UTF-16?); save it as UTF-8"
        raise InvalidInput(msg, field=str(path))
    return text


def _validation_message(error: ValidationError) -> str:
    parts = []
    for detail in error.errors()[:5]:
        where = ".".join(str(p) for p in detail["loc"]) or "(document)"
        message = detail["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    more = len(error.errors()) - 5
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def validate(model: type[M], data: object, where: str) -> M:
    """Validate `data` as `model`, naming `where` (file, file:line) in errors."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc), field=where) from None
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field=f"{where}: {exc.field}") from None


def read_csv(path: Path) -> tuple[tuple[str, ...], list[tuple[int, dict[str, str]]]]:
    """The header and the (line number, row) pairs of a CSV file.

    Raises:
        InvalidInput: empty, malformed, or a row with the wrong number of cells.
    """
    text = read_text(path)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        msg = f"malformed CSV: {exc}"
        raise InvalidInput(msg, field=str(path)) from None
    if not rows:
        msg = "is empty; expected a header row"
        raise InvalidInput(msg, field=str(path))
    header = tuple(h.strip() for h in rows[0])
    if len(set(header)) != len(header):
        msg = f"header repeats a column: {', '.join(header)}"
        raise InvalidInput(msg, field=f"{path}:1")
    records = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            msg = f"has {len(row)} cells, the header has {len(header)}"
            raise InvalidInput(msg, field=f"{path}:{number}")
        record = dict(zip(header, (c.strip() for c in row), strict=True))
        _check_printable(record, f"{path}:{number}")
        records.append((number, record))
    return header, records


def _check_printable(record: dict[str, str], where: str) -> None:
    for column, cell in record.items():
        try:
            printable(cell)
        except ValueError as exc:
            raise InvalidInput(f"{column} {exc}", field=where) from None


CSV_LAYOUTS = (
    ("prefectures", PREFECTURE_HEADER),
    ("wards", WARD_HEADER),
    ("municipalities", MUNICIPALITY_HEADER),
    ("insured", INSURED_HEADER),
    ("expenditures", EXPENDITURE_HEADER),
    ("required", REQUIRED_HEADER),
    ("answers", ANSWER_HEADER),
)
"""CSV kinds by the columns they need, in the order a header is matched."""


def _csv_kind(header: tuple[str, ...]) -> str | None:
    columns = set(header)
    for kind, needed in CSV_LAYOUTS:
        if set(needed) <= columns:
            return kind
    return None


def _nearest_layout(header: tuple[str, ...]) -> str:
    """A hint naming the missing columns of the layout the header comes closest to."""
    columns = set(header)
    kind, needed = max(CSV_LAYOUTS, key=lambda layout: len(columns & set(layout[1])))
    missing = [c for c in needed if c not in columns]
    if len(missing) * 2 > len(needed):
        return ""
    return f"; the {kind} layout also needs {', '.join(missing)}"


def read_document(path: Path) -> Any:
    """Parse a YAML or JSON file strictly (common/parsing.py; decimals stay exact).

    Raises:
        InvalidInput: the file does not parse.
    """
    text = read_text(path)
    if path.suffix.lower() == ".json":
        return parse_json(text, str(path))
    return parse_yaml(text, str(path))


def load_files(paths: list[Path]) -> Loaded:
    """Read reference-data files of any supported kind.

    Raises:
        InvalidInput: a file is unreadable, of an unknown kind, or has a bad record.
    """
    loaded = Loaded()
    for path in paths:
        suffix = path.suffix.lower()
        if suffix == ".csv":
            _load_csv(path, loaded)
        elif suffix in {".yaml", ".yml", ".json"}:
            _load_document(path, loaded)
        else:
            msg = "unsupported file type; expected .csv, .yaml, .yml or .json"
            raise InvalidInput(msg, field=str(path))
    return loaded


def _load_csv(path: Path, loaded: Loaded) -> None:
    header, records = read_csv(path)
    kind = _csv_kind(header)
    if kind is None or kind == "answers":
        msg = (
            "unknown CSV layout (header: "
            f"{', '.join(header)}); see docs/FORMATS.md for the headers kofu reads"
            + ("; answers go to `kofu submit`" if kind == "answers" else "")
            + ("" if kind else _nearest_layout(header))
        )
        raise InvalidInput(msg, field=f"{path}:1")
    if kind == "expenditures":
        _load_expenditures(path, records, loaded)
        return
    if kind == "required":
        _load_required(path, records, loaded)
        return
    for line, row in records:
        where = f"{path}:{line}"
        if kind == "prefectures":
            _add_entity(
                loaded,
                where,
                validate(
                    Entity.Details,
                    {
                        "lg_code": row["lg_code"],
                        "kind": "prefecture",
                        "prefecture_code": row["prefecture_code"],
                        "name": row["name"],
                        "name_kana": row["name_kana"],
                    },
                    where,
                ),
            )
        elif kind == "municipalities":
            _check_jis(row, where)
            _add_entity(
                loaded,
                where,
                validate(
                    Entity.Details,
                    {
                        "lg_code": row["lg_code"],
                        "kind": "municipality",
                        "prefecture_code": row["prefecture_code"],
                        "name": row["name"],
                        "name_kana": row["name_kana"],
                        "special_ward": row["jis_code"].startswith("131"),
                    },
                    where,
                ),
            )
        elif kind == "wards":
            _check_jis(row, where)
            loaded.wards.append(
                Ward(
                    row["prefecture_code"],
                    row["jis_code"],
                    row["lg_code"],
                    row["city_name"],
                    row["ward_name"],
                )
            )
        else:
            count = validate(
                InsuredCount,
                {
                    "fiscal_year": row["fiscal_year"],
                    "count": _integer(row, "category1_insured", where),
                    "source": row["source"],
                    "as_of": row["as_of"],
                },
                where,
            )
            _check_lg_code(row["lg_code"], where)
            loaded.insured.append((row["lg_code"], count))
            loaded.origins[id(count)] = where


def _add_entity(loaded: Loaded, where: str, details: Entity.Details) -> None:
    """Add an entity read at `where`; one listed twice (in any file) is refused."""
    first = loaded.first_line.setdefault(details.lg_code, where)
    if first != where:
        msg = f"lg_code {details.lg_code} is listed twice (first at {first})"
        raise InvalidInput(msg, field=where)
    loaded.entities.append(details)


def _load_expenditures(
    path: Path, records: list[tuple[int, dict[str, str]]], loaded: Loaded
) -> None:
    """事業費 in long form: one row per category, one record per entity and year.

    Rows of one entity and fiscal year are combined into one `Expenditure`; they must
    share `source` and `as_of`, and name each category once.
    """
    groups: dict[tuple[str, int], tuple[Expenditure, dict[str, int]]] = {}
    for line, row in records:
        where = f"{path}:{line}"
        part = validate(
            Expenditure,
            {
                "fiscal_year": row["fiscal_year"],
                "spending_yen": {row["category"]: _integer(row, "spending_yen", where)},
                "source": row["source"],
                "as_of": row["as_of"],
            },
            where,
        )
        _check_lg_code(row["lg_code"], where)
        key = (row["lg_code"], part.fiscal_year)
        if key not in groups:
            groups[key] = (part, {row["category"]: line})
            continue
        first, lines = groups[key]
        what = f"FY{part.fiscal_year} spending of {row['lg_code']}"
        if row["category"] in lines:
            msg = (
                f"{what} names category {row['category']} twice "
                f"(first on line {lines[row['category']]})"
            )
            raise InvalidInput(msg, field=where)
        if (part.source, part.as_of) != (first.source, first.as_of):
            msg = (
                f"{what} has another source or as_of than on line "
                f"{min(lines.values())}; one record per entity and fiscal year"
            )
            raise InvalidInput(msg, field=where)
        lines[row["category"]] = line
        spending = {**first.spending_yen, **part.spending_yen}
        groups[key] = (first.model_copy(update={"spending_yen": spending}), lines)
    for (lg_code, _), (combined, lines) in groups.items():
        where = _lines(path, sorted(lines.values()))
        record = validate(Expenditure, combined.model_dump(), where)
        loaded.expenditures.append((lg_code, record))
        loaded.origins[id(record)] = where


def _load_required(
    path: Path, records: list[tuple[int, dict[str, str]]], loaded: Loaded
) -> None:
    """所要見込額: one row per entity, grant year and grant."""
    seen: dict[tuple[str, int, str], int] = {}
    for line, row in records:
        where = f"{path}:{line}"
        required = validate(
            RequiredAmount,
            {
                "grant_year": row["grant_year"],
                "grant": row["grant"],
                "required_yen": _integer(row, "required_yen", where),
                "source": row["source"],
                "declared_on": row["declared_on"],
            },
            where,
        )
        _check_lg_code(row["lg_code"], where)
        key = (row["lg_code"], required.grant_year, required.grant)
        if key in seen:
            msg = (
                f"the FY{required.grant_year} {required.grant} required amount of "
                f"{row['lg_code']} is declared twice (first: line {seen[key]})"
            )
            raise InvalidInput(msg, field=where)
        seen[key] = line
        loaded.required.append((row["lg_code"], required))
        loaded.origins[id(required)] = where


def _lines(path: Path, lines: list[int]) -> str:
    """`file:line`, or `file:first-last` for a record read from several rows."""
    if len(lines) == 1:
        return f"{path}:{lines[0]}"
    return f"{path}:{lines[0]}-{lines[-1]}"


def _check_lg_code(lg_code: str, where: str) -> None:
    """Validate an LG code's digits as registration does, naming `where`."""
    validate(Entity.Details, {**_probe(lg_code)}, where)


def _probe(lg_code: str) -> dict[str, str]:
    # Validates an LG code's digits through the same model as registration.
    return {
        "lg_code": lg_code,
        "kind": "prefecture" if lg_code[2:5] == "000" else "municipality",
        "prefecture_code": lg_code[:2],
        "name": "-",
    }


_WHOLE_NUMBER = re.compile(r"[0-9]+|[0-9]{1,3}(,[0-9]{3})+")


def _integer(row: dict[str, str], column: str, where: str) -> int:
    """A whole number ≥ 0 from a cell; commas only as thousands separators."""
    text = row[column]
    if not _WHOLE_NUMBER.fullmatch(text):
        msg = f"{column} must be a whole number, got {text!r}"
        raise InvalidInput(msg, field=where)
    return int(text.replace(",", ""))


def _check_jis(row: dict[str, str], where: str) -> None:
    if row["lg_code"][:5] != row["jis_code"]:
        msg = f"jis_code {row['jis_code']} does not match lg_code {row['lg_code']}"
        raise InvalidInput(msg, field=where)


def _load_document(path: Path, loaded: Loaded) -> None:
    document = read_document(path)
    where = str(path)
    if not isinstance(document, dict) or "kind" not in document:
        msg = (
            "expected a mapping with a top-level `kind` "
            "(catalogue, programme_year, insurers)"
        )
        raise InvalidInput(msg, field=where)
    if _is_rule(document):
        rule = validate(RuleSpec, document, where)
        loaded.rules.append(rule)
        loaded.origins[id(rule)] = where
        return
    body = dict(document)
    kind = body.pop("kind")
    reason = body.pop("reason", None)
    if kind == "catalogue":
        catalogue = validate(CatalogueSpec, body, where)
        loaded.catalogues.append((catalogue, reason))
        loaded.origins[id(catalogue)] = where
    elif kind == "programme_year":
        programme = validate(ProgrammeSpec, body, where)
        loaded.programmes.append((programme, reason))
        loaded.origins[id(programme)] = where
    elif kind == "insurers":
        items = body.get("insurers")
        if not isinstance(items, list):
            msg = "an insurers document has a list `insurers`"
            raise InvalidInput(msg, field=where)
        for index, item in enumerate(items):
            loaded.insurers.append(
                validate(InsurerDetails, item, f"{where}: insurers.{index}")
            )
    else:
        msg = (
            f"unknown kind {kind!r}; expected catalogue, programme_year, insurers "
            "or a rule (a document with id, kind, valid_from and status)"
        )
        raise InvalidInput(msg, field=f"{where}: kind")


def _is_rule(document: dict[str, Any]) -> bool:
    # A rule version's `kind` names its formula; it is known by its other keys.
    return {"id", "valid_from", "status", "parameters"} <= set(document)


def designated_city_insurers(
    entities: list[Entity.Details], wards: list[Ward], valid_from: str
) -> list[InsurerDetails]:
    """One insurer per 政令指定都市, holding one insurer number per ward.

    The city's own number is built on its JIS code; each ward's on the ward's.
    """
    by_city: dict[tuple[str, str], list[Ward]] = {}
    for ward in wards:
        by_city.setdefault((ward.prefecture_code, ward.city_name), []).append(ward)
    insurers = []
    for entity in entities:
        city_wards = by_city.get((entity.prefecture_code, entity.name))
        if entity.kind != "municipality" or not city_wards:
            continue
        insurers.append(
            InsurerDetails(
                insurer_number=insurer_number_for(entity.lg_code[:5]),
                kind="designated_city",
                name=entity.name,
                prefecture_code=entity.prefecture_code,
                members=(
                    Membership.model_validate(
                        {"lg_code": entity.lg_code, "valid_from": valid_from}
                    ),
                ),
                wards=tuple(
                    WardNumber(
                        ward_lg_code=w.lg_code,
                        ward_name=w.ward_name,
                        insurer_number=insurer_number_for(w.jis_code),
                    )
                    for w in city_wards
                ),
            )
        )
    return insurers


def read_answers(
    paths: list[Path], defaults: dict[str, Any]
) -> list[SubmitSelfEvaluation]:
    """Read submissions from JSON and CSV files (`defaults` fill missing fields).

    Raises:
        InvalidInput: a file or a record is malformed.
    """
    commands: list[SubmitSelfEvaluation] = []
    for path in paths:
        suffix = path.suffix.lower()
        if suffix == ".json":
            document = read_document(path)
            records = document if isinstance(document, list) else [document]
            for index, record in enumerate(records):
                where = (
                    f"{path}: [{index}]" if isinstance(document, list) else str(path)
                )
                if not isinstance(record, dict):
                    msg = "each submission is a JSON object"
                    raise InvalidInput(msg, field=where)
                commands.append(
                    validate(
                        SubmitSelfEvaluation,
                        {**_defaults_for(record, defaults), **record, "origin": where},
                        where,
                    )
                )
        elif suffix == ".csv":
            commands.extend(_answers_from_csv(path, defaults))
        else:
            msg = "unsupported file type for answers; expected .json or .csv"
            raise InvalidInput(msg, field=str(path))
    return commands


def _defaults_for(record: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    filled = {k: v for k, v in defaults.items() if v is not None and k != "actor"}
    if "actor" not in record:
        entity = str(record.get("entity", ""))
        role = "prefecture" if entity[2:5] == "000" else "insurer"
        filled["actor"] = defaults.get("actor") or f"{role}:{entity}"
    return filled


def _answers_from_csv(
    path: Path, defaults: dict[str, Any]
) -> list[SubmitSelfEvaluation]:
    header, records = read_csv(path)
    refused = [c for c in header if c in SERVER_TIME_FIELDS]
    if refused:
        raise InvalidInput(
            f"column {server_time_message(refused[0])}", field=f"{path}:1"
        )
    missing = [c for c in ANSWER_HEADER if c not in header]
    unknown = [c for c in header if c not in ANSWER_HEADER + ANSWER_OPTIONAL]
    if missing or unknown:
        msg = (
            f"answer CSV needs columns {', '.join(ANSWER_HEADER)} "
            f"(optional {', '.join(ANSWER_OPTIONAL)}); "
            + (
                f"missing {', '.join(missing)}"
                if missing
                else f"unknown {', '.join(unknown)}"
            )
        )
        raise InvalidInput(msg, field=f"{path}:1")
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for line, row in records:
        key = tuple(
            row.get(c, "") for c in ("entity", "grant_year", "tier", *ANSWER_OPTIONAL)
        )
        group = groups.get(key)
        if group is None:
            group = {
                **_defaults_for(row, defaults),
                **{c: row[c] for c in ("entity", "grant_year", "tier")},
                **{c: row[c] for c in ANSWER_OPTIONAL if row.get(c)},
                "answers": {},
                "first": line,
                "last": line,
            }
            groups[key] = group
        if not row["item"]:
            msg = "item is empty"
            raise InvalidInput(msg, field=f"{path}:{line}")
        if row["item"] in group["answers"]:
            msg = f"item {row['item']} is answered twice for {row['entity']}"
            raise InvalidInput(msg, field=f"{path}:{line}")
        group["answers"][row["item"]] = row["value"]
        group["last"] = line
    commands = []
    for group in groups.values():
        first, last = group.pop("first"), group.pop("last")
        where = f"{path}:{first}" if first == last else f"{path}:{first}-{last}"
        commands.append(
            validate(SubmitSelfEvaluation, {**group, "origin": where}, where)
        )
    return commands


MAX_EVIDENCE_BYTES = 1024 * 1024 * 1024
"""The largest evidence document hashed (1 GiB, read in chunks: bounded memory)."""
MAX_EVIDENCE_FILES = 100
"""The most evidence documents one report names (as `ReportSpending` allows)."""


def evidence_of(documents: Sequence[tuple[Path, str]]) -> list[dict[str, str]]:
    """Each evidence file's name and SHA-256, checked against the one stated.

    Raises:
        InvalidInput: more than `MAX_EVIDENCE_FILES`; a file unreadable, not a
            regular file, over `MAX_EVIDENCE_BYTES`, or its SHA-256 not the one
            stated (the file is named).
    """
    if len(documents) > MAX_EVIDENCE_FILES:
        msg = f"{len(documents)} documents; a report names at most {MAX_EVIDENCE_FILES}"
        raise InvalidInput(msg, field="evidence")
    found = []
    for path, stated in documents:
        try:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_EVIDENCE_BYTES:
                msg = (
                    "not a regular file of at most "
                    f"{MAX_EVIDENCE_BYTES:,} bytes; give the document itself"
                )
                raise InvalidInput(msg, field=str(path))
            with path.open("rb") as source:
                digest = hashlib.file_digest(source, "sha256").hexdigest()
        except OSError as exc:
            msg = f"cannot read: {exc.strerror}"
            raise InvalidInput(msg, field=str(path)) from None
        if digest != stated.strip().lower():
            msg = (
                f"the document's SHA-256 is {digest}, not the {stated!r} stated: "
                "the evidence does not match"
            )
            raise InvalidInput(msg, field=str(path))
        found.append({"name": path.name, "sha256": digest})
    return found
