"""The ledger's own commands: init, load and demo."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

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
    def init(
        app_role: Annotated[
            str | None,
            typer.Option(
                help="PostgreSQL: create/grant the running application's role "
                "(records and reads; cannot change or remove events or log rows)."
            ),
        ] = None,
    ) -> None:
        """Create or upgrade the storage (safe to run twice); run as the owner."""
        with session() as kofu:
            protected = kofu.init()
            out.print(
                f"kofu ledger ready: {kofu.describe()}, "
                f"{kofu.ledger.count_events()} events"
                + (
                    "; event and log rows protected from UPDATE/DELETE/TRUNCATE"
                    if protected
                    else ""
                )
            )
            for path in kofu.owner_only_file():
                out.print(f"{path}: made owner-only (0600); SQLite has no roles")
            if app_role is not None:
                for statement in kofu.grant_app_role(app_role):
                    out.print(f"  {statement}", highlight=False)
                out.print(
                    f"role {app_role}: records and reads, cannot change or remove "
                    "stored events or log rows; run the application as it"
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
    """Add `demo` to the CLI (`verify` is in `cli/integrity.py`)."""

    @app.command()
    @handled
    def demo(
        grant_year: Annotated[
            str,
            typer.Option(
                "--fiscal-year",
                "-y",
                help="Grant year (交付年度), or all: FY2018-FY2026 on one ledger.",
            ),
        ] = "2020",
        seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 1,
    ) -> None:
        """Load the reference data and run a whole synthetic national year (or all)."""
        year = _demo_year(grant_year)
        with session() as kofu:
            kofu.demo(year, seed, out)
        out.print(
            "checkpoints signed with the DEMO key (published in docs/INTEGRITY.md: "
            "no seal); verify with KOFU_VERIFIER_KEYS or --key from `kofu keys show`"
        )


def _demo_year(value: str) -> int | Literal["all"]:
    """`--fiscal-year` of the demo: a grant year, or `all`.

    Raises:
        InvalidInput: anything else.
    """
    from domain.errors import InvalidInput  # noqa: PLC0415

    if value.strip().lower() == "all":
        return "all"
    if value.strip().isdigit():
        return int(value)
    msg = f"takes a grant year (e.g. 2020) or all, not {value!r}"
    raise InvalidInput(msg, field="--fiscal-year")
