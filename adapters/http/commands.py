"""Command endpoints: a body (and the caller's actor) to a command, to the Ledger.

The actor is always the caller's token's, never a field of the body. An
`Idempotency-Key` header travels as the command's idempotency key, whose receipt is
saved in the same transaction: a repeat with the same content records nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from adapters.http.auth import Principal, require_roles
from adapters.http.errors import ApiError, KofuJSON
from adapters.http.schemas import (
    Allocation,
    Confirmation,
    Correction,
    IdempotencyHeader,
    MinistryValues,
    Outcome,
    PaperSubmission,
    Publication,
    Submission,
)
from adapters.http.service import kofu
from adapters.http.strict import StrictJSONRoute
from adapters.kofu import allocate_phase
from domain.commands import (
    Command,
    ConfirmSelfEvaluation,
    CorrectAnswer,
    EnterPaperSubmission,
    ImportMinistryValues,
    PublishRun,
    SubmitSelfEvaluation,
)
from domain.ledger import Result

router = APIRouter(prefix="/api", tags=["commands"], route_class=StrictJSONRoute)
Submitter = Annotated[Principal, Depends(require_roles("insurer", "prefecture"))]
Prefecture = Annotated[Principal, Depends(require_roles("prefecture"))]
Ministry = Annotated[Principal, Depends(require_roles("ministry"))]


def _command(model: type[Command], body: BaseModel, **more: Any) -> Any:
    """Build the domain command; a field it refuses is named (422)."""
    return model.checked(body.model_dump() | more)


def _reply(
    command: str, result: Result, actor: str, runs: list[str] | None = None
) -> KofuJSON:
    outcome = Outcome(
        command=command,
        events=result.events,
        position=result.position,
        noop=result.noop,
        detail=result.detail,
        actor=actor,
        runs=runs or [],
    )
    return KofuJSON(outcome.model_dump(), status_code=200 if result.noop else 201)


@router.post("/submissions", response_model=Outcome, status_code=201)
def submit(
    request: Request,
    body: Submission,
    who: Submitter,
    idempotency_key: IdempotencyHeader = None,
) -> KofuJSON:
    """Submit a self-evaluation (again: a revision, inside the window)."""
    if who.role == "prefecture" and body.entity != who.scope[0]:
        msg = "a prefecture submits its own answers; it confirms its municipalities'"
        raise ApiError(403, msg, "entity")
    who.check_entity(body.entity)
    cmd = _command(
        SubmitSelfEvaluation,
        body,
        actor=who.actor_for(body.entity),
        idempotency_key=idempotency_key,
    )
    return _reply("submit", kofu(request).execute(cmd), cmd.actor)


@router.post("/confirmations", response_model=Outcome, status_code=201)
def confirm(
    request: Request,
    body: Confirmation,
    who: Prefecture,
    idempotency_key: IdempotencyHeader = None,
) -> KofuJSON:
    """A prefecture confirms one of its municipalities' answers."""
    who.check_entity(body.entity)
    cmd = _command(
        ConfirmSelfEvaluation, body, actor=who.actor, idempotency_key=idempotency_key
    )
    return _reply("confirm", kofu(request).execute(cmd), cmd.actor)


@router.post("/corrections", response_model=Outcome, status_code=201)
def correct(
    request: Request,
    body: Correction,
    who: Ministry,
    idempotency_key: IdempotencyHeader = None,
) -> KofuJSON:
    """Ministry staff correct one answer after the deadline (reason and basis)."""
    cmd = _command(
        CorrectAnswer, body, actor=who.actor, idempotency_key=idempotency_key
    )
    return _reply("correct", kofu(request).execute(cmd), cmd.actor)


@router.post("/ministry-values", response_model=Outcome, status_code=201)
def ministry_values(
    request: Request,
    body: MinistryValues,
    who: Ministry,
    idempotency_key: IdempotencyHeader = None,
) -> KofuJSON:
    """Import values the ministry computes itself (outcome indicators)."""
    cmd = _command(
        ImportMinistryValues, body, actor=who.actor, idempotency_key=idempotency_key
    )
    return _reply("ministry-values", kofu(request).execute(cmd), cmd.actor)


@router.post("/paper-submissions", response_model=Outcome, status_code=201)
def enter_paper(
    request: Request,
    body: PaperSubmission,
    who: Ministry,
    idempotency_key: IdempotencyHeader = None,
) -> KofuJSON:
    """Key in answers an entity sent on paper (紙提出の入力; ministry only).

    The window is checked against `stated_on`, the date the paper states; the
    ledger records its own time beside it, with the caller, reason and basis.
    """
    cmd = _command(
        EnterPaperSubmission, body, actor=who.actor, idempotency_key=idempotency_key
    )
    return _reply("enter-paper", kofu(request).execute(cmd), cmd.actor)


@router.post("/allocations", response_model=Outcome, status_code=201)
def allocate(
    request: Request,
    body: Allocation,
    who: Ministry,
    idempotency_key: IdempotencyHeader = None,
) -> KofuJSON:
    """Score and allocate a phase (both grants, both tiers); record the runs."""
    cmd = allocate_phase(body.grant_year, body.phase, who.actor, idempotency_key)
    result = kofu(request).execute(cmd)
    return _reply("allocate", result, who.actor, result.run_ids)


@router.post("/runs/{run_id}/publish", response_model=Outcome, status_code=201)
def publish(
    request: Request,
    run_id: str,
    who: Ministry,
    body: Publication | None = None,
    idempotency_key: IdempotencyHeader = None,
) -> KofuJSON:
    """Publish a recorded run so readers may see it (publishing again: no-op)."""
    cmd = _command(
        PublishRun,
        body or Publication(),
        run_id=run_id,
        actor=who.actor,
        idempotency_key=idempotency_key,
    )
    return _reply("publish", kofu(request).execute(cmd), cmd.actor)
