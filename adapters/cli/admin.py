"""The ledger's own commands: init, load, demo and verify."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from adapters.cli.options import YearOption

if TYPE_CHECKING:
    from rich.console import Console

    from adapters.kofu import Kofu


def register_setup(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    session: Callable[[], Kofu],
    out: Console,
) -> None:
    """Add `init` and `load` to the CLI."""

    @app.command()
    @handled
    def init() -> None:
        """Create or upgrade the storage (safe to run twice)."""
        with session() as kofu:
            protected = kofu.init()
            out.print(
                f"kofu ledger ready: {kofu.describe()}, "
                f"{kofu.ledger.count_events()} events"
                + ("; event rows protected from UPDATE/DELETE" if protected else "")
            )

    @app.command()
    @handled
    def load(
        files: Annotated[list[Path], typer.Argument(help="CSV / YAML / JSON files.")],
        actor: Annotated[
            str, typer.Option(help="Who loads the data.")
        ] = "ministry:reference",
    ) -> None:
        """Load reference data: entities, insurers, counts, catalogues, years."""
        with session() as kofu:
            for line in kofu.load(files, actor, out):
                out.print(line)


def register_checks(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    session: Callable[[], Kofu],
    out: Console,
) -> None:
    """Add `demo` and `verify` to the CLI."""

    @app.command()
    @handled
    def demo(
        grant_year: YearOption = 2020,
        seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 1,
    ) -> None:
        """Load the reference data and run a whole synthetic national year."""
        with session() as kofu:
            kofu.demo(grant_year, seed, out)

    @app.command()
    @handled
    def verify(
        export: Annotated[
            Path | None, typer.Option(help="Write the checkpoints to this file.")
        ] = None,
        against: Annotated[
            Path | None, typer.Option(help="Check against an exported checkpoint file.")
        ] = None,
        force: Annotated[
            bool,
            typer.Option("--force", help="Replace the --export file if it exists."),
        ] = False,
    ) -> None:
        """Check the stored history for tampering (exit 1 names the first position)."""
        kofu = session()
        try:
            # An export seals a checkpoint at the head, so it covers everything now.
            found = kofu.verify(against, export, force=force)
        finally:
            kofu.close()
        if found.finding is not None:
            typer.echo(
                f"kofu: TAMPERED at position {found.finding.position} "
                f"({found.finding.kind}): {found.finding.detail}; "
                f"{found.checked} events verified before it",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo(
            f"intact: {found.checked} events verified; chain sealed to position "
            f"{found.head}"
        )
        if export:
            typer.echo(
                f"checkpoints written to {export}; keep its SHA-256 apart: "
                f"{found.digest}"
            )
