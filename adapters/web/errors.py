"""Error pages: a page for people, never a traceback.

`PageRoute` wraps every page of the router: an unknown code or run is a 404 page,
an unreachable database a 503 page, anything else a 500 page (the traceback goes
to the server log only). `not_found_page` serves the same 404 page for URLs that
match no route, for an application that wants it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from adapters.kofu import Kofu
from adapters.web.formatting import environment

log = logging.getLogger(__name__)

FORBIDDEN = 403
NOT_FOUND = 404
UNAVAILABLE = 503
SERVER_ERROR = 500


class PageNotFoundError(Exception):
    """An unknown entity, year or run: shown as the 404 page."""


class PageForbiddenError(Exception):
    """A page outside the viewer's role or entities: shown as the 403 page."""


class PageRefusedError(Exception):
    """A form the ledger refused (422 bad input, 409 a rule): nothing was written."""

    def __init__(self, status: int, message: str) -> None:
        """A refusal with its status and the ledger's message."""
        super().__init__(message)
        self.status = status


def error_page(status: int, message: str) -> HTMLResponse:
    """The error page for `status` with a message for people."""
    html = (
        environment()
        .get_template("web/error.html.j2")
        .render(status=status, message=message)
    )
    return HTMLResponse(html, status_code=status)


class PageRoute(APIRoute):
    """A page route whose failures become error pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The handler, wrapped."""
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except PageNotFoundError as exc:
                return error_page(NOT_FOUND, str(exc))
            except PageForbiddenError as exc:
                return error_page(FORBIDDEN, str(exc))
            except PageRefusedError as exc:
                return error_page(exc.status, str(exc))
            except HTTPException:
                raise  # the mounting app's own answers (401/403 of its auth)
            except Exception as exc:
                if Kofu.unavailable(exc):
                    log.warning("storage unavailable: %s", exc)
                    return error_page(
                        UNAVAILABLE, "台帳のデータベースに接続できません。"
                    )
                log.exception("page %s failed", request.url.path)
                return error_page(SERVER_ERROR, "ページを表示できませんでした。")

        return guarded


async def not_found_page(request: Request, exc: Exception) -> Response:  # noqa: ARG001
    """An exception handler for 404s that serves the 404 page."""
    return error_page(NOT_FOUND, "このページはありません。")
