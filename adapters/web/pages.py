"""The audit pages, HTML for reading and printing (no JavaScript).

`/` and `/years/{grant_year}`: the national overview of a grant year;
`/entities/{lg_code}/{grant_year}`: an entity's timeline and explanations;
`/runs/{run_id}`: a run's receipt and diff.
"""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from adapters.web import entity as entity_page
from adapters.web import overview as overview_page
from adapters.web import run as run_page
from adapters.web.deps import LedgerDep, StoreDep
from adapters.web.errors import PageNotFoundError, PageRoute
from adapters.web.formatting import environment
from domain.allocation_run import AllocationRun
from domain.entities import Entity
from domain.errors import InvalidInput
from domain.glossary import era
from domain.ledger import Ledger

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse)

_YEAR = re.compile(r"^[0-9]{4}$")
_LG_CODE = re.compile(r"^[0-9]{6}$")
_RUN_ID = re.compile(r"^FY[0-9]{4}-[a-z_]+-[a-z]+-[a-z]+-[0-9]+$")


def _page(request: Request, template: str, **context: Any) -> HTMLResponse:
    # Paths within the application serving the page (its prefixes included), under
    # the path it is mounted at: the pages work wherever the router is included.
    root = request.scope.get("root_path", "")

    def link(name: str, **params: object) -> str:
        found = request.app.url_path_for(name, **{k: str(v) for k, v in params.items()})
        return f"{root}{found}"

    html = (
        environment()
        .get_template(f"web/{template}")
        .render(
            link=link,
            generated_at=datetime.now(tz=UTC),
            **context,
        )
    )
    return HTMLResponse(html)


def _years(ledger: Ledger) -> list[int]:
    return sorted({year for year, _, _ in ledger.catalogue_versions()})


def _year(ledger: Ledger, text: str) -> int:
    if not _YEAR.fullmatch(text) or int(text) not in _years(ledger):
        msg = f"交付年度 {text} の記録はありません。"
        raise PageNotFoundError(msg)
    return int(text)


def _entity(ledger: Ledger, lg_code: str) -> Entity.Details:
    if _LG_CODE.fullmatch(lg_code):
        with suppress(InvalidInput):
            return ledger.entity(lg_code)
    msg = f"団体コード {lg_code} の団体は登録されていません。"
    raise PageNotFoundError(msg)


def _run(ledger: Ledger, run_id: str) -> AllocationRun:
    if _RUN_ID.fullmatch(run_id):
        with suppress(InvalidInput):
            return ledger.run(run_id)
    msg = f"算定 {run_id} は記録されていません。"
    raise PageNotFoundError(msg)


@router.get("/", name="web_home")
def home(request: Request, ledger: LedgerDep, store: StoreDep) -> HTMLResponse:
    """The overview of the latest grant year with allocation runs."""
    years = _years(ledger)
    if not years:
        msg = "台帳にはまだ交付年度がありません。"
        raise PageNotFoundError(msg)
    with_runs = [y for y in years if ledger.phase_runs(y)]
    return _overview(request, ledger, store, (with_runs or years)[-1], years)


@router.get("/years/{grant_year}", name="web_year")
def year(
    request: Request, grant_year: str, ledger: LedgerDep, store: StoreDep
) -> HTMLResponse:
    """The national allocation overview of one grant year."""
    return _overview(request, ledger, store, _year(ledger, grant_year), _years(ledger))


def _overview(
    request: Request, ledger: Ledger, store: Any, year: int, years: list[int]
) -> HTMLResponse:
    programme = None
    with suppress(InvalidInput):  # a catalogue published before its programme year
        programme = ledger.programme(year).spec
    found = overview_page.sections(ledger, year)
    labels = overview_page.band_labels(programme.size_bands if programme else ())
    return _page(
        request,
        "overview.html.j2",
        year=year,
        years=years,
        programme=programme,
        sections=found,
        charts=overview_page.band_charts(store, found, labels),
        entities=overview_page.entity_rows(store, found),
        band_labels=labels,
        hypothesis=any(run.hypothesis for s in found for run, _ in s.runs),
    )


@router.get("/entities/{lg_code}/{grant_year}", name="web_entity")
def entity(
    request: Request,
    lg_code: str,
    grant_year: str,
    ledger: LedgerDep,
    store: StoreDep,
) -> HTMLResponse:
    """One entity's year: its audit timeline and each phase's explanation."""
    year_found = _year(ledger, grant_year)
    details = _entity(ledger, lg_code)
    tier = "municipal" if details.kind == "municipality" else "prefectural"
    explained = entity_page.explanations(ledger, lg_code, tier, year_found)
    return _page(
        request,
        "entity.html.j2",
        entity=details,
        tier=tier,
        year=year_found,
        era=era(year_found),
        trail=entity_page.timeline(store, lg_code, year_found, ledger),
        explanations=explained,
        hypothesis=any(x["hypothesis"] for x in explained),
    )


@router.get("/runs/{run_id}", name="web_run")
def run(request: Request, run_id: str, ledger: LedgerDep) -> HTMLResponse:
    """A run's receipt and its diff against the run before it."""
    found = _run(ledger, run_id)
    before = run_page.previous(ledger, found)
    return _page(
        request,
        "run.html.j2",
        run=found.calculated,
        receipt=run_page.receipt(found),
        before=before[0].calculated if before else None,
        before_label=before[1] if before else None,
        diff=run_page.changes(ledger, before[0], found) if before else [],
        rule=found.calculated.rule,
    )
