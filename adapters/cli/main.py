"""The `kofu` command line (docs/INTERFACE.md).

Entry points only validate input into commands, run them through the application
facade (`adapters.kofu.Kofu`), and render the result. Exit codes: 0 done, 1
refused by a rule, 2 bad input or usage, 3 storage unavailable. A refused or bad
command writes nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from adapters.cli import (
    access,
    admin,
    allocations,
    answers,
    evaluations,
    excel,
    explain,
    integrity,
    money,
    projections,
    proofs,
    reads,
    runtools,
    witness,
    years,
)
from domain import __version__

if TYPE_CHECKING:
    from adapters.kofu import Kofu
    from domain.ledger import Ledger, Result

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="kofu",
    help="kofu (交付): the event-sourced ledger of the care incentive grants.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="KOFU_DATABASE_URL",
        help="sqlite:///PATH (default sqlite:///kofu.db) or postgresql://USER@HOST/DB[?schema=S]",
        show_envvar=True,
    ),
]


def _version(shown: bool) -> None:
    if shown:
        typer.echo(f"kofu {__version__}")
        raise typer.Exit


@app.callback()
def _main(
    database_url: DatabaseOption = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print kofu's version and exit.",
        ),
    ] = False,
) -> None:
    del version  # handled by its callback
    if database_url:
        os.environ["KOFU_DATABASE_URL"] = database_url


def handled(func: Callable[P, R]) -> Callable[P, R]:
    """Map errors to messages and exit codes."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from domain.errors import LedgerError  # noqa: PLC0415 - not for --help

        try:
            return func(*args, **kwargs)
        except LedgerError as exc:
            kind = "bad input" if exc.exit_code == 2 else "refused"  # noqa: PLR2004
            typer.echo(f"kofu: {kind}: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:
            from adapters.kofu import Kofu  # noqa: PLC0415 - only when failing

            if Kofu.unavailable(exc):
                typer.echo(f"kofu: storage unavailable: {exc}", err=True)
                raise typer.Exit(3) from None
            raise

    return wrapper


def session() -> Kofu:
    """The facade of the configured ledger, for one `with` block (a session).

    Its writes are sealed into the Merkle log as they are stored; after a command
    that wrote, the writer signs a checkpoint (a read signs, seals and extends
    nothing). The ledger is closed afterwards.
    """
    from adapters.kofu import Kofu  # noqa: PLC0415 - `kofu --help` loads none of it

    return Kofu()


@contextmanager
def ledger() -> Iterator[Ledger]:
    """The configured ledger of a session (`session`), closed afterwards."""
    with session() as kofu:
        yield kofu.ledger


def report(result: Result, what: str) -> None:
    """Print what a write command did."""
    if result.noop:
        out.print(f"{what}: nothing new ({result.detail or 'already recorded'})")
    else:
        out.print(
            f"{what}: {result.events} events recorded, last position {result.position}"
        )


admin.register_setup(app, handled, session, out)
answers.register(app, handled, session, out, report)
admin.register_checks(app, handled, session, out)
integrity.register(app, handled, session, out)
witness.register(app, handled, session, out)
proofs.register(app, handled, session)
reads.register(app, handled, ledger)
evaluations.register(app, handled, ledger)
years.register(app, handled, ledger)
allocations.register(app, handled, ledger, out)
runtools.register(app, handled, ledger)
projections.register(app, handled, session, out)
explain.register(app, handled, ledger, out)
excel.register(app, handled, session, out)
access.register(app, handled, ledger, session, out, report)
money.register(app, handled, session, out, report)


def main(argv: list[str] | None = None) -> Any:
    """Run the command line."""
    return app(args=argv if argv is not None else sys.argv[1:], prog_name="kofu")
