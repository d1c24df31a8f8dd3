"""Proofs over HTTP: the newest signed checkpoint, inclusion and consistency proofs.

Read-only, as `kofu checkpoint`'s reader side and `kofu prove` (docs/INTEGRITY.md):
nothing here signs, seals or extends. A bundle is proved against a checkpoint the
writer signed. Ministry and auditors prove any event; an insurer or a prefecture
proves its own entities' events (by entity and year, never by bare position);
readers see no audit trail, so no proof of events. Checkpoints and consistency
proofs carry hashes only: every token holder may fetch them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import Field

from adapters.http.errors import ApiError, KofuJSON
from adapters.http.reads import Anyone, NotReader
from adapters.http.service import kofu as kofu_dependency
from adapters.kofu import Kofu

router = APIRouter(prefix="/api", tags=["proofs"])
KofuDep = Annotated[Kofu, Depends(kofu_dependency)]
MAX_POSITIONS = 1000
"""Positions one request may name (`position=` repeated)."""
MAX_ENTITY_EVENTS = 10_000
"""Events of one entity and year one bundle may carry."""
MAX_SIZE = 2**63 - 1
FIELDS = {"position": "position", "from": "from_size", "to": "to_size"}
Size = Annotated[int, Field(ge=0, le=MAX_SIZE)]
Position = Annotated[int, Field(ge=1, le=MAX_SIZE)]


@router.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint(kofu: KofuDep, _: Anyone) -> PlainTextResponse:
    """The newest checkpoint the writer signed (a C2SP signed note, text/plain)."""
    stored = kofu.signed_checkpoints()
    if not stored:
        raise ApiError(404, "no signed checkpoint yet", None)
    return PlainTextResponse(stored[-1][1], media_type="text/plain; charset=utf-8")


@router.get("/proofs")
def proofs(
    kofu: KofuDep,
    who: NotReader,
    position: Annotated[
        list[Position] | None,
        Query(max_length=MAX_POSITIONS, description="An event's position (repeat)."),
    ] = None,
    entity: Annotated[
        str | None, Query(pattern=r"^[0-9]{6}$", description="LG code (6 digits).")
    ] = None,
    fiscal_year: Annotated[
        int | None, Query(ge=2018, le=2100, description="Grant year (交付年度).")
    ] = None,
    from_size: Annotated[
        Size | None,
        Query(description="Add the consistency proof from the signed tree of it."),
    ] = None,
    to_size: Annotated[
        Size | None,
        Query(description="Prove against the signed tree of it (default: newest)."),
    ] = None,
) -> KofuJSON:
    """A proof bundle (`kofu-proof-bundle/v1`), as `kofu prove` prints it."""
    if position and not who.sees_all:
        msg = f"the {who.role} proves its entities' events by entity and fiscal_year"
        raise ApiError(403, msg, "position")
    if (entity is None) != (fiscal_year is None):
        missing = "fiscal_year" if fiscal_year is None else "entity"
        raise ApiError(422, f"{missing}: needed with the other", missing)
    positions = list(position or [])
    if entity is not None and fiscal_year is not None:
        who.check_entity(entity)
        found = kofu.entity_positions(entity, fiscal_year)
        if len(found) > MAX_ENTITY_EVENTS:
            msg = f"more than {MAX_ENTITY_EVENTS} events: prove them by position"
            raise ApiError(422, msg, "entity")
        positions += found
    return KofuJSON(kofu.prove(sorted(set(positions)), from_size, to_size, FIELDS))
