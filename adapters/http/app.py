"""`create_app()`: the FastAPI application of `kofu serve` (docs/API.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from adapters import web
from adapters.http import (
    checks,
    commands,
    docs,
    errors,
    grants,
    login,
    pages,
    proofs,
    reads,
    runs,
)
from adapters.http.config import Limits
from adapters.http.errors import KofuJSON
from adapters.http.limits import Guard
from adapters.http.service import Service
from domain import __version__


def create_app(
    database_url: str | None = None, limits: Limits | None = None
) -> FastAPI:
    """The API on the ledger at `database_url` (default: `KOFU_DATABASE_URL`).

    `limits` default to the environment's (`Limits`, docs/API.md).
    """
    limits = limits or Limits()
    service = Service(database_url, limits)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(
        title="kofu (交付) API",
        version=__version__,
        description="The event-sourced ledger of the care incentive grants: "
        "read models and commands, by role (docs/API.md).",
        default_response_class=KofuJSON,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(Guard, limits=limits, authenticate=service.authenticate)
    app.state.service = service
    errors.install(app)
    app.include_router(runs.router)
    app.include_router(reads.router)
    app.include_router(commands.router)
    app.include_router(grants.router)
    app.include_router(checks.router)
    app.include_router(proofs.router)
    # The pages show each role its own (adapters/web/pages.py); their forms that
    # write are CSRF-checked before they run (adapters/http/pages.py).
    app.dependency_overrides[web.deps.get_ledger] = lambda: service.ledger
    app.dependency_overrides[web.deps.get_store] = service.store
    app.dependency_overrides[web.deps.get_kofu] = lambda: service.kofu
    app.dependency_overrides[web.deps.get_viewer] = pages.page_viewer
    app.dependency_overrides[web.deps.get_form_token] = pages.form_token
    app.include_router(
        web.router,
        prefix="/pages",
        dependencies=[Depends(pages.page_viewer)],
        include_in_schema=False,
    )
    app.include_router(login.router)
    app.include_router(docs.router)
    return app
