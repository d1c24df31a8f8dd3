"""The pages that write: an entity's workbook uploaded, a municipality confirmed.

Both are forms posted with the login cookie; `kofu serve` checks the form's CSRF
token and its origin before the handler runs (docs/API.md, "The web pages"). The
handlers check the viewer's right again, write through the facade (the ledger's
rules decide: the window, the catalogue, the confirmer), and show the ledger's
refusal as a page (422 bad input, 409 a rule) with nothing written.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import Form, Request, UploadFile
from fastapi.responses import Response

from adapters.web.deps import KofuDep, LedgerDep, ViewerDep
from adapters.web.errors import PageForbiddenError, PageRefusedError
from adapters.web.site import (
    checked_entity,
    checked_prefecture,
    checked_year,
    confirms_for,
    may_see,
    redirect_to,
    router,
    submits_for,
)
from domain.commands import ConfirmSelfEvaluation
from domain.errors import LedgerError

WORKBOOK_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_STATUS = {1: 409, 2: 422}


def _refused(exc: LedgerError) -> PageRefusedError:
    return PageRefusedError(_STATUS.get(exc.exit_code, 409), str(exc))


@router.get("/entities/{lg_code}/{grant_year}/workbook.xlsx", name="web_workbook")
def workbook(
    lg_code: str, grant_year: str, ledger: LedgerDep, kofu: KofuDep, viewer: ViewerDep
) -> Response:
    """The entity's self-evaluation workbook (該当状況調査票), as XLSX."""
    may_see(viewer, lg_code)
    year = checked_year(ledger, grant_year)
    checked_entity(ledger, lg_code)
    try:
        content = kofu.workbook(lg_code, year, None)
    except LedgerError as exc:
        raise _refused(exc) from None
    name = f"kofu-{lg_code}-FY{year}.xlsx"
    return Response(
        content,
        media_type=WORKBOOK_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/entities/{lg_code}/{grant_year}/workbook", name="web_upload")
async def upload(
    request: Request,
    lg_code: str,
    grant_year: str,
    workbook: UploadFile,
    ledger: LedgerDep,
    kofu: KofuDep,
    viewer: ViewerDep,
) -> Response:
    """Submit (or revise) the entity's answers from its filled-in workbook.

    Every answer in the file must be this entity's and this year's; the ledger's
    rules then decide (the window, the catalogue in force), all or nothing.
    """
    if not submits_for(viewer, lg_code):
        msg = f"団体コード {lg_code} の回答を提出できるのはその団体だけです。"
        raise PageForbiddenError(msg)
    assert viewer is not None  # noqa: S101 - submits_for said so
    year = checked_year(ledger, grant_year)
    checked_entity(ledger, lg_code)
    content = await workbook.read()
    with tempfile.TemporaryDirectory(prefix="kofu-upload-") as folder:
        # The file is read from a name kofu chooses, never the sender's.
        path = Path(folder) / f"{lg_code}.xlsx"
        path.write_bytes(content)
        try:
            commands = kofu.read_submissions([path], viewer.actor_for(lg_code))
        except LedgerError as exc:
            raise _refused(exc) from None
    others = sorted(
        {
            f"{c.entity} FY{c.grant_year}"
            for c in commands
            if c.entity != lg_code or c.grant_year != year
        }
    )
    if others or not commands:
        msg = (
            f"このページからは {lg_code} の {year} 年度の回答だけを提出できます"
            f"（ファイルの回答: {', '.join(others) or 'なし'}）。"
        )
        raise PageRefusedError(422, msg)
    try:
        result = kofu.submit(commands)
    except LedgerError as exc:
        raise _refused(exc) from None
    done = "nothing" if result.noop else "submitted"
    return redirect_to(
        request, "web_entity", f"?done={done}", lg_code=lg_code, grant_year=year
    )


@router.post("/prefectures/{code}/{grant_year}/confirmations", name="web_confirm")
def confirm(
    request: Request,
    code: str,
    grant_year: str,
    entity: Annotated[str, Form()],
    ledger: LedgerDep,
    kofu: KofuDep,
    viewer: ViewerDep,
) -> Response:
    """The prefecture confirms one of its municipalities' answers."""
    if not confirms_for(viewer, code):
        msg = f"都道府県コード {code} の確認ができるのはその都道府県だけです。"
        raise PageForbiddenError(msg)
    assert viewer is not None  # noqa: S101 - confirms_for said so
    year = checked_year(ledger, grant_year)
    checked_prefecture(ledger, code)
    if entity[:2] != code:
        msg = f"団体コード {entity} は都道府県 {code} の団体ではありません。"
        raise PageForbiddenError(msg)
    try:
        command = ConfirmSelfEvaluation.checked(
            {"entity": entity, "grant_year": year, "actor": viewer.actor}
        )
        result = kofu.execute(command)
    except LedgerError as exc:
        raise _refused(exc) from None
    done = "nothing" if result.noop else f"confirmed-{entity}"
    return redirect_to(
        request, "web_prefecture", f"?done={done}", code=code, grant_year=year
    )
