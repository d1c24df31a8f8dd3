"""docs/PROGRAMME-YEARS.md and the shipped data say the same, every year.

The doc's three tables (budgets, evaluation and allocation, schedules) are parsed and
each cell compared with data/programmes/fyN.yaml and the year's catalogues; every
figure carries a label (seed, published, hypothesis), a published one names a source
listed under Sources, and a hypothesis is also listed in the year's file.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from adapters.inputs.files import load_files
from adapters.inputs.paths import data_dir
from domain.catalogue import CatalogueSpec
from domain.programme import PHASES, ProgrammeSpec

DOC = Path(__file__).resolve().parents[2] / "docs" / "PROGRAMME-YEARS.md"
YEARS = tuple(range(2018, 2027))
LABELS = {"seed", "published", "hypothesis"}
NONE = "—"


def table(heading: str, text: str | None = None) -> list[dict[str, str]]:
    """The rows of the first table under `## heading`, as dicts by column name."""
    text = DOC.read_text(encoding="utf-8") if text is None else text
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert set(lines[1].replace("|", "").split()) == {"---"}
    return [
        dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True))
        for line in lines[2:]
    ]


def sources() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8").split("\n## Sources\n", 1)[1]
    found = re.findall(
        r"\*\*\[(S\d+)\]\*\* (.*?)(?=\n\* \*\*|\n\n|\Z)", text, re.DOTALL
    )
    return dict(found)


@cache
def programme(year: int) -> ProgrammeSpec:
    return load_files([data_dir() / "programmes" / f"fy{year}.yaml"]).programmes[0][0]


@cache
def catalogue(year: int, tier: str) -> CatalogueSpec:
    path = data_dir() / "catalogues" / f"fy{year}-{tier}-v1.yaml"
    return load_files([path]).catalogues[0][0]


def yen(cell: str) -> int | None:
    return None if cell == NONE else int(cell.replace(",", ""))


def marks(cell: str) -> dict[str, int]:
    promotion, support = (c.strip() for c in cell.split("/"))
    found = {"promotion": int(promotion.replace(",", ""))}
    if support != NONE:
        found["effort_support"] = int(support.replace(",", ""))
    return found


def test_every_table_has_one_row_per_year_or_grant_year():
    budgets = table("Budgets")

    assert [(int(r["grant year"]), r["grant"]) for r in budgets] == [
        (y, g) for y in YEARS for g in ("promotion", "effort_support")
    ]
    for heading in ("Evaluation and allocation", "Schedules"):
        assert [int(r["grant year"]) for r in table(heading)] == list(YEARS)


def mismatched_budgets(text: str | None = None) -> list[tuple[int, str]]:
    """(year, grant) of every budget row whose yen differ from the shipped file."""
    wrong = []
    for row in table("Budgets", text):
        year, grant = int(row["grant year"]), row["grant"]
        budget = programme(year).budgets.get(grant)  # type: ignore[call-overload]
        shipped = (
            (budget["municipal"], budget["prefectural"]) if budget else (None, None)
        )
        if (yen(row["市町村分"]), yen(row["都道府県分"])) != shipped:
            wrong.append((year, grant))
    return wrong


def test_budgets_in_the_doc_are_the_shipped_budgets():
    assert mismatched_budgets() == []


@pytest.mark.parametrize("year", YEARS)
def test_every_budget_figure_is_labelled_and_every_source_is_listed(year):
    listed = sources()
    hypotheses = " ".join(programme(year).hypotheses)

    for row in table("Budgets"):
        if int(row["grant year"]) != year:
            continue
        assert row["total label"] in LABELS, row
        assert row["split label"] in LABELS | {NONE}, row
        for cited in re.findall(r"\[(S\d+)\]", row["source"]):
            assert cited in listed, cited
        if row["total label"] == "published":
            assert re.search(r"\[S\d+\]", row["source"]), row
        if row["total label"] == "hypothesis":
            assert "budget" in hypotheses, (year, row["grant"])
        if row["split label"] == "hypothesis":
            assert "split" in hypotheses, year


def test_every_published_source_but_the_summary_has_an_address():
    for key, text in sources().items():
        if key in {"S0", "S7"}:  # the seed document, and the domain summary
            assert "no public address" in text or "not recorded" in text, key
        else:
            assert "published" in text, key
            assert re.search(r"https?://\S+", text), key


@pytest.mark.parametrize("year", YEARS)
def test_evaluation_and_allocation_in_the_doc_are_the_shipped_ones(year):
    row = next(
        r for r in table("Evaluation and allocation") if int(r["grant year"]) == year
    )
    spec = programme(year)
    municipal, prefectural = (
        catalogue(year, "municipal"),
        catalogue(year, "prefectural"),
    )

    assert row["evaluated period"] == f"FY{spec.evaluated_period}"
    assert row["period label"] in LABELS
    if row["period label"] == "hypothesis":
        assert "evaluated period" in " ".join(spec.hypotheses)
    assert row["municipal rule"] == spec.rules["promotion"]["municipal"]
    assert {t["prefectural"] for t in spec.rules.values()} == {row["prefectural rule"]}
    assert {t["municipal"] for t in spec.rules.values()} == {row["municipal rule"]}
    bands = tuple(int(b.replace(",", "")) for b in row["size bands"].split(", "))
    assert bands == spec.size_bands
    assert row["structure"] == municipal.structure == prefectural.structure
    assert marks(row["full marks 市町村分"]) == municipal.full_marks
    assert marks(row["full marks 都道府県分"]) == prefectural.full_marks
    assert row["full marks label"] in LABELS


@pytest.mark.parametrize("year", YEARS)
def test_schedules_in_the_doc_are_the_shipped_ones(year):
    row = next(r for r in table("Schedules") if int(r["grant year"]) == year)
    schedule = programme(year).schedule

    assert date.fromisoformat(row["indicators issued"]) == schedule.indicators_issued
    assert date.fromisoformat(row["submission opens"]) == schedule.submission_opens
    assert date.fromisoformat(row["submission closes"]) == schedule.submission_closes
    for phase in PHASES:
        assert date.fromisoformat(row[phase]) == schedule.phases[phase], phase


def test_a_budget_changed_in_the_doc_alone_is_caught():
    text = DOC.read_text(encoding="utf-8")
    changed = text.replace("| 9,595,000,000 |", "| 9,595,000,001 |", 1)

    assert changed != text
    assert mismatched_budgets(changed) == [(2025, "promotion")]
