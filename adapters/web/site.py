"""What every page shares: the router, the viewer's rights, the checked address parts.

The routes are in `pages.py` (overview, entity, run), `years.py` (years side by
side, the national trend, a prefecture's board) and `forms.py` (the forms that
write); they all add to `router`.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from adapters.queries.runs import grant_years
from adapters.web.deps import Viewer
from adapters.web.errors import PageForbiddenError, PageNotFoundError, PageRoute
from adapters.web.formatting import environment
from domain.allocation_run import AllocationRun
from domain.entities import Entity
from domain.errors import InvalidInput
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


def page(request: Request, template: str, **context: Any) -> HTMLResponse:
    """Render a page's template with its links and the time it was made."""

    # Paths within the application serving the page (its prefixes included), under
    # the path it is mounted at: the pages work wherever the router is included.
    def link(name: str, **params: object) -> str:
        return path_to(request, name, **params)

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


def path_to(request: Request, name: str, **params: object) -> str:
    """The path of a page of this router, under the path it is mounted at."""
    root = request.scope.get("root_path", "")
    found = request.app.url_path_for(name, **{k: str(v) for k, v in params.items()})
    return f"{root}{found}"


def redirect_to(
    request: Request, name: str, query: str = "", **params: object
) -> RedirectResponse:
    """A 303 to a page of this router (`query`: its query string, if any)."""
    return RedirectResponse(path_to(request, name, **params) + query, status_code=303)


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
    if not _YEAR.fullmatch(text) or int(text) not in grant_years(ledger):
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


def checked_run(ledger: Ledger, run_id: str) -> AllocationRun:
    """The recorded run of an address's run id (else the 404 page)."""
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
