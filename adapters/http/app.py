"""`create_app()`: the FastAPI application of `kofu serve` (docs/API.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from adapters.http import checks, commands, errors, reads
from adapters.http.errors import KofuJSON
from adapters.http.service import Service
from domain import __version__


def create_app(database_url: str | None = None) -> FastAPI:
    """The API on the ledger at `database_url` (default: `KOFU_DATABASE_URL`)."""
    service = Service(database_url)

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
    )
    app.state.service = service
    errors.install(app)
    app.include_router(reads.router)
    app.include_router(commands.router)
    app.include_router(checks.router)
    return app
