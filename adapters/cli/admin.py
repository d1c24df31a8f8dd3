"""The ledger's own commands: init, load, demo and verify."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from adapters.cli.options import YearOption
from adapters.common.writing import check_target
from adapters.storage.integrity import (
    Chain,
    export_checkpoints,
    protect,
    read_checkpoints,
)

if TYPE_CHECKING:
    from rich.console import Console

    from adapters.kofu import Kofu
    from domain.ledger import Ledger


def register_setup(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    ledger: Callable[[], AbstractContextManager[Ledger]],
    out: Console,
) -> None:
    """Add `init` and `load` to the CLI."""

    @app.command()
    @handled
    def init() -> None:
        """Create or upgrade the storage (safe to run twice)."""
        with ledger() as opened:
            from adapters.storage.settings import database  # noqa: PLC0415

            protected = protect(opened)
            out.print(
                f"kofu ledger ready: {database().describe()}, "
                f"{opened.count_events()} events"
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
        from adapters.inputs.loading import load_reference  # noqa: PLC0415

        with ledger() as opened:
            for line in load_reference(opened, files, actor, out):
                out.print(line)


def register_checks(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    ledger: Callable[[], AbstractContextManager[Ledger]],
    session: Callable[[], Kofu],
    out: Console,
) -> None:
    """Add `demo` and `verify` to the CLI."""

    @app.command()
    @handled
    def demo(
        fiscal_year: YearOption = 2020,
        seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 1,
    ) -> None:
        """Load the reference data and run a whole synthetic national year."""
        from adapters.demo.demo import run_demo  # noqa: PLC0415

        with ledger() as opened:
            run_demo(opened, fiscal_year, seed, out)

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
        expected = read_checkpoints(against) if against else None
        if export:
            check_target(
                export, force=force
            )  # before the seal: a bad path writes nothing
        kofu = session()
        try:
            chain = Chain(kofu.ledger)
            finding, checked = chain.verify(expected)
            if finding is not None:
                typer.echo(
                    f"kofu: TAMPERED at position {finding.position} ({finding.kind}): "
                    f"{finding.detail}; {checked} events verified before it",
                    err=True,
                )
                raise typer.Exit(1)
            # An export seals a checkpoint at the head, so it covers everything now.
            head = chain.extend(sealed_for="export" if export else None)
            typer.echo(
                f"intact: {checked} events verified; chain sealed to position {head}"
            )
            if export:
                digest = export_checkpoints(chain, export, force=force)
                typer.echo(
                    f"checkpoints written to {export}; keep its SHA-256 apart: {digest}"
                )
        finally:
            kofu.close()
