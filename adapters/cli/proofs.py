"""`kofu prove`: proof bundles of events and of consistency between trees (issue 15).

It only reads: the bundle is proved against checkpoints the writer signed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from adapters.kofu import Kofu

MAX_SIZE = 2**63 - 1
"""The largest tree size an option takes (a BIGINT in the database)."""


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    session: Callable[[], Kofu],
) -> None:
    """Add `prove` to the CLI."""

    @app.command()
    @handled
    def prove(
        position: Annotated[
            list[int] | None, typer.Option("--position", help="An event's position.")
        ] = None,
        entity: Annotated[
            str | None, typer.Option("--entity", "-e", help="LG code (6 digits).")
        ] = None,
        grant_year: Annotated[
            int | None, typer.Option("--fiscal-year", "-y", help="Grant year.")
        ] = None,
        from_size: Annotated[
            int | None,
            typer.Option(
                "--from-size",
                min=0,
                max=MAX_SIZE,
                help="Add the consistency proof from the signed checkpoint at "
                "exactly this tree size.",
            ),
        ] = None,
        to_size: Annotated[
            int | None,
            typer.Option(
                "--to-size",
                min=0,
                max=MAX_SIZE,
                help="Prove against the signed checkpoint at exactly this tree "
                "size (default: the newest).",
            ),
        ] = None,
    ) -> None:
        """Print a proof bundle: events with inclusion proofs, consistency (JSON).

        Against the newest signed checkpoint (or the one at --to-size); with
        --from-size, also proves that its tree extends the signed one at that size.
        """
        kofu = session()
        try:
            positions = list(position or [])
            if entity is not None and grant_year is not None:
                positions += kofu.entity_positions(entity, grant_year)
            bundle = kofu.prove(sorted(set(positions)), from_size, to_size)
        finally:
            kofu.close()
        typer.echo(json.dumps(bundle, ensure_ascii=False, indent=2))
