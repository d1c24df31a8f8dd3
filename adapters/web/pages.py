"""The pages, HTML for reading and printing (no JavaScript), for every role.

`/` and `/years/{grant_year}`: the national overview of a grant year (ministry,
auditor); `/entities/{lg_code}/{grant_year}`: an entity's timeline and explanations,
with its workbook to download and (for the entity itself, inside the window) to
upload; `/prefectures/{code}/{grant_year}`: a prefecture's submission-status board,
where the prefecture confirms its municipalities' answers; `/runs/{run_id}`: a
run's receipt and diff. `/` sends an insurer to its entity and a prefecture to its
board. A page outside the viewer's role or entities is the 403 page.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from adapters.queries.runs import grant_years
from adapters.web import entity as entity_page
from adapters.web import overview as overview_page
from adapters.web import run as run_page
from adapters.web.deps import FormTokenDep, LedgerDep, StoreDep, ViewerDep
from adapters.web.errors import PageNotFoundError, PageRefusedError
from adapters.web.site import (
    OVERSEERS,
    UNPROCESSABLE,
    TableDep,
    TableParams,
    checked_entity,
    checked_run,
    checked_year,
    done_message,
    may_see,
    overseer,
    page,
    redirect_to,
    router,
    submits_for,
)
from adapters.web.table import PAGE_SIZES, entity_table
from domain import clock
from domain.errors import InvalidInput
from domain.glossary import MONEY_CHAIN_NOTE, era
from domain.ledger import Ledger


@router.get("/", name="web_home", response_model=None)
def home(
    request: Request,
    ledger: LedgerDep,
    store: StoreDep,
    viewer: ViewerDep,
    table: TableDep,
) -> Response:
    """The overview of the latest grant year with allocation runs.

    An insurer is sent to its entity's latest year, a prefecture to its board.
    """
    years = grant_years(ledger)
    if not years:
        msg = "台帳にはまだ交付年度がありません。"
        raise PageNotFoundError(msg)
    with_runs = [y for y in years if ledger.phase_runs(y)]
    latest = (with_runs or years)[-1]
    if viewer is not None and viewer.role == "insurer":
        return redirect_to(
            request, "web_entity", lg_code=viewer.scope[0], grant_year=latest
        )
    if viewer is not None and viewer.role == "prefecture":
        return redirect_to(
            request, "web_prefecture", code=viewer.scope[0][:2], grant_year=latest
        )
    overseer(viewer)
    return _overview(request, ledger, store, latest, years, table)


@router.get("/years/{grant_year}", name="web_year")
def year(
    request: Request,
    grant_year: str,
    ledger: LedgerDep,
    store: StoreDep,
    viewer: ViewerDep,
    table: TableDep,
) -> HTMLResponse:
    """The national allocation overview of one grant year."""
    overseer(viewer)
    found = checked_year(ledger, grant_year)
    return _overview(request, ledger, store, found, grant_years(ledger), table)


def _overview(
    request: Request,
    ledger: Ledger,
    store: Any,
    year: int,
    years: list[int],
    table: TableParams,
) -> HTMLResponse:
    programme = None
    with suppress(InvalidInput):  # a catalogue published before its programme year
        programme = ledger.programme(year).spec
    found = overview_page.sections(ledger, year)
    labels = overview_page.band_labels(programme.size_bands if programme else ())
    try:
        shown = entity_table(overview_page.entity_rows(store, found), **table.__dict__)
    except InvalidInput as exc:
        raise PageRefusedError(UNPROCESSABLE, str(exc)) from None
    prefectures = sorted(
        (e.prefecture_code, e.name) for e in ledger.entities() if e.kind == "prefecture"
    )
    return page(
        request,
        "overview.html.j2",
        year=year,
        years=years,
        programme=programme,
        sections=found,
        charts=overview_page.band_charts(store, found, labels),
        table=shown,
        prefectures=prefectures,
        page_sizes=PAGE_SIZES,
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
    viewer: ViewerDep,
    form_token: FormTokenDep,
    done: str | None = None,
) -> HTMLResponse:
    """One entity's year: its audit timeline and each phase's explanation."""
    may_see(viewer, lg_code)
    year_found = checked_year(ledger, grant_year)
    details = checked_entity(ledger, lg_code)
    tier = "municipal" if details.kind == "municipality" else "prefectural"
    explained = entity_page.explanations(ledger, lg_code, tier, year_found)
    window = None
    with suppress(InvalidInput):
        schedule = ledger.programme(year_found).spec.schedule
        window = (schedule.submission_opens, schedule.submission_closes)
    return page(
        request,
        "entity.html.j2",
        years=grant_years(ledger),
        viewer=viewer,
        overseer=viewer is None or viewer.role in OVERSEERS,
        submits=submits_for(viewer, lg_code),
        window=window,
        window_open=window is not None and window[0] <= clock.today() <= window[1],
        form_token=form_token,
        done=done_message(done),
        entity=details,
        tier=tier,
        year=year_found,
        era=era(year_found),
        trail=entity_page.timeline(store, lg_code, year_found, ledger),
        explanations=explained,
        answers=entity_page.answers(ledger, lg_code, tier, year_found, explained),
        chains=entity_page.chains(ledger, lg_code, year_found),
        chain_note=MONEY_CHAIN_NOTE,
        hypothesis=any(x["hypothesis"] for x in explained),
    )


@router.get("/runs/{run_id}", name="web_run")
def run(
    request: Request, run_id: str, ledger: LedgerDep, viewer: ViewerDep
) -> HTMLResponse:
    """A run's receipt and its diff against the run before it."""
    overseer(viewer)
    found = checked_run(ledger, run_id)
    before = run_page.previous(ledger, found)
    return page(
        request,
        "run.html.j2",
        run=found.calculated,
        receipt=run_page.receipt(found),
        before=before[0].calculated if before else None,
        before_label=before[1] if before else None,
        diff=run_page.changes(ledger, before[0], found) if before else [],
        rule=found.calculated.rule,
    )
