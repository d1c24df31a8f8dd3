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

import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adapters.queries.rows import as_dicts
from adapters.queries.trajectory import national_trend, trajectory
from adapters.web import entity as entity_page
from adapters.web import overview as overview_page
from adapters.web import run as run_page
from adapters.web.board import board
from adapters.web.chart import bar_chart
from adapters.web.deps import (
    FormTokenDep,
    LedgerDep,
    StoreDep,
    Viewer,
    ViewerDep,
)
from adapters.web.errors import (
    PageForbiddenError,
    PageNotFoundError,
    PageRefusedError,
    PageRoute,
)
from adapters.web.formatting import environment, year_label
from domain import clock
from domain.allocation_run import AllocationRun
from domain.base import GRANTS, TIERS
from domain.entities import Entity
from domain.errors import InvalidInput
from domain.glossary import GRANT_JA, TIER_JA, era
from domain.ledger import Ledger

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse)

_YEAR = re.compile(r"^[0-9]{4}$")
_LG_CODE = re.compile(r"^[0-9]{6}$")
_RUN_ID = re.compile(r"^FY[0-9]{4}-[a-z_]+-[a-z]+-[a-z]+-[0-9]+$")
_PREFECTURE = re.compile(r"^[0-9]{2}$")
UNPROCESSABLE = 422


@dataclass(frozen=True)
class TableParams:
    """The entity table's search, filters and page, as the address gives them."""

    query: str = ""
    prefecture: str = ""
    band: str = ""
    page: str = "1"
    per: str = "100"


def table_params(
    q: str = "", prefecture: str = "", band: str = "", page: str = "1", per: str = "100"
) -> TableParams:
    """The entity table's parameters (checked by `overview.entity_table`)."""
    return TableParams(q, prefecture, band, page, per)


TableDep = Annotated[TableParams, Depends(table_params)]
_DONE = re.compile(r"^(submitted|nothing|confirmed-[0-9]{6})$")
OVERSEERS = frozenset({"ministry", "auditor"})
"""The roles that see every page (the national overview and every run)."""
PAGE_ROLES = OVERSEERS | {"insurer", "prefecture"}
"""The roles that have pages (a reader's reads are the API's)."""


def overseer(viewer: Viewer | None) -> None:
    """Refuse (403 page) a viewer who does not oversee the whole ledger."""
    if viewer is not None and viewer.role not in OVERSEERS:
        msg = (
            f"{viewer.role} のトークンでは全国の概要と算定のページは開けません。"
            "ご自分の団体のページをご覧ください。"
        )
        raise PageForbiddenError(msg)


def may_see(viewer: Viewer | None, lg_code: str) -> None:
    """Refuse (403 page) an entity outside the viewer's entities (or role)."""
    if viewer is not None and viewer.role not in PAGE_ROLES:
        msg = (
            f"{viewer.role} のトークンにはページがありません（API をお使いください）。"
        )
        raise PageForbiddenError(msg)
    if viewer is not None and not viewer.sees(lg_code):
        msg = f"団体コード {lg_code} はこのトークンの対象外です。"
        raise PageForbiddenError(msg)


def submits_for(viewer: Viewer | None, lg_code: str) -> bool:
    """Whether the viewer submits this entity's answers (the entity itself).

    An insurer submits its own municipalities' answers, a prefecture its own
    (prefectural) ones, as over the API; the ministry keys in paper only.
    """
    if viewer is None:
        return False
    if viewer.role == "insurer":
        return lg_code in viewer.scope
    return viewer.role == "prefecture" and lg_code == viewer.scope[0]


def confirms_for(viewer: Viewer | None, prefecture: str) -> bool:
    """Whether the viewer confirms this prefecture's municipalities' answers."""
    return (
        viewer is not None
        and viewer.role == "prefecture"
        and viewer.scope[0][:2] == prefecture
    )


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


def done_message(done: str | None) -> str | None:
    """What a form's redirect says was done (`?done=`), in words (None: nothing)."""
    if done is None or not _DONE.fullmatch(done):
        return None
    if done == "submitted":
        return "回答を提出しました。台帳に記録されました。"
    if done == "nothing":
        return "同じ内容がすでに記録されています。新たな記録はありません。"
    return f"団体コード {done.removeprefix('confirmed-')} の回答を確認しました。"


def checked_year(ledger: Ledger, text: str) -> int:
    """The grant year in an address, if the ledger has it (else the 404 page)."""
    if not _YEAR.fullmatch(text) or int(text) not in _years(ledger):
        msg = f"交付年度 {text} の記録はありません。"
        raise PageNotFoundError(msg)
    return int(text)


def checked_entity(ledger: Ledger, lg_code: str) -> Entity.Details:
    """The registered entity of an address's LG code (else the 404 page)."""
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


def checked_prefecture(ledger: Ledger, code: str) -> Entity.Details:
    """The registered prefecture of an address's 2-digit code (else the 404 page)."""
    if _PREFECTURE.fullmatch(code):
        for details in ledger.entities():
            if details.kind == "prefecture" and details.prefecture_code == code:
                return details
    msg = f"都道府県コード {code} の都道府県は登録されていません。"
    raise PageNotFoundError(msg)


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
    years = _years(ledger)
    if not years:
        msg = "台帳にはまだ交付年度がありません。"
        raise PageNotFoundError(msg)
    with_runs = [y for y in years if ledger.phase_runs(y)]
    latest = (with_runs or years)[-1]
    root = request.scope.get("root_path", "")
    if viewer is not None and viewer.role == "insurer":
        where = request.app.url_path_for(
            "web_entity", lg_code=viewer.scope[0], grant_year=str(latest)
        )
        return RedirectResponse(f"{root}{where}", status_code=303)
    if viewer is not None and viewer.role == "prefecture":
        where = request.app.url_path_for(
            "web_prefecture", code=viewer.scope[0][:2], grant_year=str(latest)
        )
        return RedirectResponse(f"{root}{where}", status_code=303)
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
    return _overview(request, ledger, store, found, _years(ledger), table)


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
        shown = overview_page.entity_table(
            overview_page.entity_rows(store, found), **table.__dict__
        )
    except InvalidInput as exc:
        raise PageRefusedError(UNPROCESSABLE, str(exc)) from None
    prefectures = sorted(
        (e.prefecture_code, e.name) for e in ledger.entities() if e.kind == "prefecture"
    )
    return _page(
        request,
        "overview.html.j2",
        year=year,
        years=years,
        programme=programme,
        sections=found,
        charts=overview_page.band_charts(store, found, labels),
        table=shown,
        prefectures=prefectures,
        page_sizes=overview_page.PAGE_SIZES,
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
    return _page(
        request,
        "entity.html.j2",
        years=_years(ledger),
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
        trail=entity_page.timeline(store, lg_code, year_found),
        explanations=explained,
        answers=entity_page.answers(ledger, lg_code, tier, year_found, explained),
        hypothesis=any(x["hypothesis"] for x in explained),
    )


@router.get("/entities/{lg_code}", name="web_trajectory")
def entity_years(
    request: Request, lg_code: str, ledger: LedgerDep, viewer: ViewerDep
) -> HTMLResponse:
    """An entity's years side by side, each change of amount explained, charted."""
    may_see(viewer, lg_code)
    details = checked_entity(ledger, lg_code)
    rows = as_dicts(trajectory(ledger, lg_code))
    charts = [
        (
            grant,
            bar_chart(
                f"{details.name} {GRANT_JA[grant]} 交付額の推移（千円）",
                [
                    (year_label(r["grant_year"]), r["amount_yen"])
                    for r in rows
                    if r["grant"] == grant
                ],
            ),
        )
        for grant in GRANTS
        if any(r["grant"] == grant for r in rows)
    ]
    return _page(
        request,
        "trajectory.html.j2",
        entity=details,
        rows=rows,
        charts=charts,
        years=_years(ledger),
        hypothesis=any(r["hypothesis"] for r in rows),
    )


@router.get("/trends", name="web_trends")
def trends(request: Request, ledger: LedgerDep, viewer: ViewerDep) -> HTMLResponse:
    """The nation year by year: budgets, totals, mean score by band, quartiles."""
    if viewer is not None and viewer.role not in PAGE_ROLES:
        overseer(viewer)
    rows = as_dicts(national_trend(ledger))
    charts = [
        (
            (grant, tier),
            bar_chart(
                f"{GRANT_JA[grant]}・{TIER_JA[tier]} 配分額の推移（千円）",
                [
                    (year_label(r["grant_year"]), r["allocated_yen"])
                    for r in rows
                    if (r["grant"], r["tier"]) == (grant, tier)
                ],
            ),
        )
        for grant in GRANTS
        for tier in TIERS
        if any((r["grant"], r["tier"]) == (grant, tier) for r in rows)
    ]
    return _page(
        request,
        "trends.html.j2",
        rows=rows,
        charts=charts,
        years=_years(ledger),
        overseer=viewer is None or viewer.role in OVERSEERS,
        hypothesis=any(r["hypothesis"] for r in rows),
    )


@router.get("/prefectures/{code}/{grant_year}", name="web_prefecture")
def prefecture(
    request: Request,
    code: str,
    grant_year: str,
    ledger: LedgerDep,
    store: StoreDep,
    viewer: ViewerDep,
    form_token: FormTokenDep,
    done: str | None = None,
) -> HTMLResponse:
    """A prefecture's submission-status board for one grant year."""
    if not confirms_for(viewer, code):
        overseer(viewer)
    year_found = checked_year(ledger, grant_year)
    details = checked_prefecture(ledger, code)
    found = board(ledger, store, code, year_found)
    return _page(
        request,
        "prefecture.html.j2",
        prefecture=details,
        year=year_found,
        years=_years(ledger),
        board=found,
        today=clock.today(),
        confirms=confirms_for(viewer, code),
        overseer=viewer is None or viewer.role in OVERSEERS,
        form_token=form_token,
        done=done_message(done),
    )


@router.get("/runs/{run_id}", name="web_run")
def run(
    request: Request, run_id: str, ledger: LedgerDep, viewer: ViewerDep
) -> HTMLResponse:
    """A run's receipt and its diff against the run before it."""
    overseer(viewer)
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
