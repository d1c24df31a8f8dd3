"""The `run_publications` read model: the allocation runs the ministry has published.

One row per `AllocationRun.Published` (公表); readers join on `run_id` to see
published amounts only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from projections.schema import Change, Column, Row, Table, row

if TYPE_CHECKING:
    from domain.allocation_run import AllocationRun
    from projections.context import Context

RUN_PUBLICATIONS = Table(
    "run_publications",
    "The allocation runs the ministry has published (公表), one row per run: join "
    "on run_id to show readers published amounts only.",
    (
        Column("run_id", "text", "the published run"),
        Column("grant_year", "integer", "交付年度"),
        Column("grant", "text", "promotion or effort_support"),
        Column("tier", "text", "municipal or prefectural"),
        Column("phase", "text", "the run's phase"),
        Column("published_on", "text", "date of publication (ISO 8601)"),
        Column("actor", "text", "who published it"),
        Column("position", "integer", "ledger position of the publication"),
    ),
    ("run_id",),
)


@row
class PublicationRow(Row):
    """A published run."""

    table = RUN_PUBLICATIONS
    run_id: str
    grant_year: int
    grant: str
    tier: str
    phase: str
    published_on: str
    actor: str
    position: int


def published(
    event: AllocationRun.Published, position: int, context: Context
) -> list[Change]:
    """The publication of a run (what it is a run of: from its calculation)."""
    run = context.run(event.originator_id)
    return [
        PublicationRow(
            run_id=run.run_id,
            grant_year=run.grant_year,
            grant=run.grant,
            tier=run.tier,
            phase=run.phase,
            published_on=event.published_on.isoformat(),
            actor=event.actor,
            position=position,
        )
    ]
