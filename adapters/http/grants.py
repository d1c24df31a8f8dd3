"""The money chain over HTTP (issue 17): `POST /api/grants/{step}`, the statements.

A step's body holds the fields of its command (docs/MONEY-CHAIN.md, `kofu grant`);
the actor is the caller's token's, never a field of the body. The recipient's own
steps (applications, withdrawals, reports) take an insurer token whose scope holds
one of the insurer's member municipalities (it acts as that member: `insurer:<LG>`),
or the prefecture's own token in the prefectural tier; every other step takes a
ministry token. Reads: a recipient's statement (its members' insurers and their
prefecture, ministry and auditors) and the national totals (not readers).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request

from adapters.http.auth import Principal, require_roles
from adapters.http.commands import _reply
from adapters.http.errors import ApiError, KofuJSON
from adapters.http.schemas import IdempotencyHeader, Outcome, Year
from adapters.http.service import kofu
from adapters.http.service import ledger as ledger_dependency
from adapters.http.strict import StrictJSONRoute
from adapters.queries.money import national_totals, statement
from adapters.queries.rows import as_dicts
from domain.commands import (
    ApplyForGrant,
    AwardCommand,
    CancelGrant,
    ConfirmGrantAmount,
    DecideGrant,
    OrderRefund,
    RecordGrantPayment,
    RecordRefundPayment,
    ReportSpending,
    ReturnApplication,
    WithdrawGrant,
)
from domain.entities import Insurer
from domain.glossary import MONEY_CHAIN_NOTE
from domain.ledger import Ledger

router = APIRouter(
    prefix="/api/grants", tags=["money chain"], route_class=StrictJSONRoute
)
LedgerDep = Annotated[Ledger, Depends(ledger_dependency)]
Writer = Annotated[
    Principal, Depends(require_roles("insurer", "prefecture", "ministry"))
]
NotReader = Annotated[
    Principal, Depends(require_roles("insurer", "prefecture", "ministry", "auditor"))
]

RECIPIENT_STEPS: dict[str, type[AwardCommand]] = {
    "applications": ApplyForGrant,
    "withdrawals": WithdrawGrant,
    "reports": ReportSpending,
}
"""The steps a recipient takes for itself."""
MINISTRY_STEPS: dict[str, type[AwardCommand]] = {
    "returns": ReturnApplication,
    "decisions": DecideGrant,
    "payments": RecordGrantPayment,
    "confirmations": ConfirmGrantAmount,
    "refund-orders": OrderRefund,
    "refund-payments": RecordRefundPayment,
    "cancellations": CancelGrant,
}
"""The steps ministry staff take."""


def _members(ledger: Ledger, recipient: str, tier: object) -> tuple[str, ...]:
    """The LG codes a recipient stands for (its members, or the prefecture)."""
    if tier == "prefectural":
        return (recipient,)
    insurer = ledger.get(Insurer.id_for(recipient), Insurer)
    return tuple(m.lg_code for m in insurer.details.members) if insurer else ()


def _actor(who: Principal, ledger: Ledger, kind: str, body: dict[str, Any]) -> str:
    """The actor of a step: refuse (403) a caller who may not take it."""
    if kind == "ministry":
        if who.role != "ministry":
            msg = f"the {who.role} role may not do this (needs ministry)"
            raise ApiError(403, msg, "Authorization")
        return who.actor
    recipient = str(body.get("recipient", ""))
    members = _members(ledger, recipient, body.get("tier", "municipal"))
    own = [m for m in members if m in who.scope]
    if who.role == "ministry" or not own:
        msg = f"only {recipient or 'the recipient'} itself takes this step"
        raise ApiError(403, msg, "recipient")
    return f"{who.role}:{own[0]}"


@router.post("/{step}", response_model=Outcome, status_code=201)
def take_step(
    request: Request,
    step: str,
    body: Annotated[dict[str, Any], Body()],
    who: Writer,
    opened: LedgerDep,
    idempotency_key: IdempotencyHeader = None,
) -> KofuJSON:
    """One step of a recipient's chain (`kofu grant …`, docs/MONEY-CHAIN.md)."""
    kind = "recipient" if step in RECIPIENT_STEPS else "ministry"
    command = RECIPIENT_STEPS.get(step) or MINISTRY_STEPS.get(step)
    if command is None:
        known = ", ".join([*RECIPIENT_STEPS, *MINISTRY_STEPS])
        raise ApiError(404, f"no step {step!r}; steps: {known}", "step")
    if "actor" in body:
        msg = "the actor is the caller's token's, never a field of the body"
        raise ApiError(422, msg, "actor")
    actor = _actor(who, opened, kind, body)
    cmd = command.checked(body | {"actor": actor, "idempotency_key": idempotency_key})
    return _reply(f"grant {step}", kofu(request).execute(cmd), actor)


@router.get("/statement")
def grant_statement(
    recipient: Annotated[str, Query(pattern=r"^[0-9]{6}$")],
    fiscal_year: Year,
    who: NotReader,
    opened: LedgerDep,
    tier: Annotated[str, Query(pattern=r"^(municipal|prefectural)$")] = "municipal",
) -> dict[str, Any]:
    """A recipient's chains of a grant year: the summed rows and every step."""
    if not who.sees_all and not any(
        who.sees(m) for m in _members(opened, recipient, tier)
    ):
        msg = f"the {who.role} {', '.join(who.scope)} may not see {recipient}"
        raise ApiError(403, msg, "recipient")
    heads, steps = statement(opened, recipient, fiscal_year)
    return {
        "chains": as_dicts(heads),
        "steps": as_dicts(steps),
        "notes": [MONEY_CHAIN_NOTE],
    }


@router.get("/totals")
def grant_totals(fiscal_year: Year, _: NotReader, opened: LedgerDep) -> dict[str, Any]:
    """National totals per grant and tier of every recipient's chain."""
    return {
        "items": as_dicts(national_totals(opened, fiscal_year)),
        "notes": [MONEY_CHAIN_NOTE],
    }
