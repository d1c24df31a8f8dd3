"""Pages of the years side by side and of a prefecture's board.

`/entities/{lg_code}`: an entity's years, each change of amount explained, charted;
`/trends`: the nation year by year; `/prefectures/{code}/{grant_year}`: a
prefecture's submission-status board, where it confirms its municipalities.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from adapters.queries.rows import as_dicts
from adapters.queries.runs import grant_years
from adapters.queries.trajectory import national_trend, trajectory
from adapters.web.board import board
from adapters.web.chart import bar_chart
from adapters.web.deps import FormTokenDep, LedgerDep, StoreDep, ViewerDep
from adapters.web.formatting import year_label
from adapters.web.site import (
    OVERSEERS,
    PAGE_ROLES,
    checked_entity,
    checked_prefecture,
    checked_year,
    confirms_for,
    done_message,
    may_see,
    overseer,
    page,
    router,
)
from domain import clock
from domain.base import GRANTS, TIERS
from domain.glossary import GRANT_JA, TIER_JA


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
    return page(
        request,
        "trajectory.html.j2",
        entity=details,
        rows=rows,
        charts=charts,
        years=grant_years(ledger),
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
    return page(
        request,
        "trends.html.j2",
        rows=rows,
        charts=charts,
        years=grant_years(ledger),
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
    return page(
        request,
        "prefecture.html.j2",
        prefecture=details,
        year=year_found,
        years=grant_years(ledger),
        board=found,
        today=clock.today(),
        confirms=confirms_for(viewer, code),
        overseer=viewer is None or viewer.role in OVERSEERS,
        form_token=form_token,
        done=done_message(done),
    )
