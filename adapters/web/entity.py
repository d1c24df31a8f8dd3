"""The entity page: its audit timeline and the explanation of each phase.

The timeline is the `audit_trail` read model (what `kofu audit` shows); each
explanation is what `kofu explain` computes, for the run in force of each phase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from adapters.queries.explain import explanation
from adapters.queries.money import chain_of_entity
from adapters.queries.trail import audit_trail, unsigned_positions
from domain.base import GRANTS
from domain.errors import InvalidInput
from domain.programme import PHASES

if TYPE_CHECKING:
    from adapters.kofu import ReadModels
    from domain.ledger import Ledger

_SHOWN_APART = ("change", "changes", "answers", "values")
_RUN_FIELDS = ("run_id", "phase", "grant", "score", "amount_yen", "adjustment_yen")
_NOT_SUMMED = (*_RUN_FIELDS, "basis", "source", "hypothesis")


def answer_text(answer: dict[str, Any] | None) -> str:
    """A stored answer as people read it: ✓/✗ for a checkbox, else the number."""
    if answer is None:
        return "（未回答）"
    if answer.get("checked") is not None:
        return "✓ true" if answer["checked"] else "✗ false"
    return str(answer.get("number"))


def changes(details: dict[str, Any]) -> list[dict[str, str]]:
    """The before/after values an event carries (corrections, revisions, imports)."""
    found = details.get("changes") or (
        [details["change"]] if details.get("change") else []
    )
    return [
        {
            "item": str(c["item"]),
            "before": answer_text(c.get("before")),
            "after": answer_text(c.get("after")),
        }
        for c in found
    ]


def summary(details: dict[str, Any]) -> str:
    """The event's other fields in one line (what before/after does not show)."""
    parts = [
        f"{len(details[key])} answers"
        for key in ("answers", "values")
        if isinstance(details.get(key), dict)
    ]
    parts += [
        f"{key}={_short(value)}"
        for key, value in details.items()
        if key not in _SHOWN_APART and value not in (None, "", [], {})
    ]
    return ", ".join(parts)


def _short(value: object) -> str:
    if isinstance(value, dict):
        inner = ", ".join(f"{k}={_short(v)}" for k, v in value.items() if v is not None)
        text = f"({inner})"
    else:
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= 120 else text[:117] + "…"  # noqa: PLR2004


def timeline(
    store: ReadModels, lg_code: str, year: int, ledger: Ledger
) -> list[dict[str, Any]]:
    """Every event of the entity and year, in ledger order, ready to show.

    An event no trusted signed checkpoint covers is flagged (`unsealed`: 未封印).
    """
    shown = []
    rows = audit_trail(store, lg_code, year)
    unsigned = unsigned_positions(ledger, rows)
    for row in rows:
        details = row.details
        shown.append(
            {
                "position": row.position,
                "unsealed": row.position in unsigned,
                "recorded_at": row.recorded_at,
                "event": row.event,
                "actor": row.actor,
                "reason": row.reason,
                "basis": details.get("basis") or details.get("source"),
                "changes": changes(details),
                "hypothesis": bool(details.get("hypothesis")),
                "run": {k: details.get(k) for k in _RUN_FIELDS}
                if details.get("run_id")
                else None,
                "summary": summary(
                    {k: v for k, v in details.items() if k not in _NOT_SUMMED}
                ),
            }
        )
    return shown


def explanations(ledger: Ledger, lg_code: str, tier: str, year: int) -> list[Any]:
    """The explanation of the entity's amount in the run in force of each phase.

    The runs `kofu explain` would pick (each phase's current run), read in one pass.
    """
    phases = sorted(
        (p for p in ledger.phase_runs(year) if p.tier == tier and p.current),
        key=lambda p: (PHASES.index(p.phase), GRANTS.index(p.grant)),
    )
    runs = [ledger.run(str(p.current)) for p in phases]
    return [
        explanation(ledger, run, lg_code)
        for run in runs
        # An entity registered after a run is not in it: nothing to explain there.
        if any(r.entity == lg_code for r in run.calculated.results)
    ]


def answers(
    ledger: Ledger, lg_code: str, tier: str, year: int, explained: list[Any]
) -> list[dict[str, Any]]:
    """The entity's answers as they stand, with the points of the latest run.

    Each row: the item, the answer, its points in the latest explained run (None
    before any run) and who set it (from that run's explanation). An entity
    without a self-evaluation for the year has no rows.
    """
    try:
        evaluation = ledger.self_evaluation(lg_code, year, tier)
    except InvalidInput:
        return []
    scored = (
        {item["item"]: item for item in explained[-1]["items"]} if explained else {}
    )
    rows = []
    for item in sorted(evaluation.answers):
        answer = evaluation.answers[item]
        found = scored.get(item, {})
        rows.append(
            {
                "item": item,
                "answer": answer_text(answer.model_dump(mode="json")),
                "points": found.get("points"),
                "set_by": found.get("set_by_actor"),
                "set_event": found.get("set_by_event"),
            }
        )
    return rows


def chains(ledger: Ledger, lg_code: str, year: int) -> list[dict[str, Any]]:
    """The money chain each grant's amount of the entity went to (issue 17).

    One row per grant with a chain: its recipient (the insurer it is a member of,
    or the prefecture itself), the step it reached, and its amounts.
    """
    found = (chain_of_entity(ledger, lg_code, year, grant) for grant in GRANTS)
    return [chain.as_dict() for chain in found if chain is not None]
