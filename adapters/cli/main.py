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
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from adapters.bootstrap import storage_unavailable
from adapters.cli import access, allocations, excel, explain, projections, reads
from adapters.cli.options import EntityOption, TierOption, YearOption
from adapters.integrity import Chain, export_checkpoints, protect, read_checkpoints
from adapters.kofu import Kofu
from adapters.progress import progress
from adapters.writing import check_target
from domain.errors import LedgerError
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


@app.callback()
def _main(database_url: DatabaseOption = None) -> None:
    if database_url:
        os.environ["KOFU_DATABASE_URL"] = database_url


def handled(func: Callable[P, R]) -> Callable[P, R]:
    """Map errors to messages and exit codes."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except LedgerError as exc:
            kind = "bad input" if exc.exit_code == 2 else "refused"  # noqa: PLR2004
            typer.echo(f"kofu: {kind}: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:
            if storage_unavailable(exc):
                typer.echo(f"kofu: storage unavailable: {exc}", err=True)
                raise typer.Exit(3) from None
            raise

    return wrapper


def session() -> Kofu:
    """The facade of the configured ledger, for one `with` block (a session).

    Its writes extend the tamper-evidence chain; after a command that succeeded,
    the chain is extended over whatever else it recorded (`kofu verify` checks it).
    The ledger is closed afterwards.
    """
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


@app.command()
@handled
def init() -> None:
    """Create or upgrade the storage (safe to run twice)."""
    with ledger() as opened:
        from adapters.settings import database  # noqa: PLC0415

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
    """Load reference data: entities, insurers, insured counts, catalogues, years."""
    from adapters.loading import load_reference  # noqa: PLC0415

    with ledger() as opened:
        for line in load_reference(opened, files, actor, out):
            out.print(line)


@app.command()
@handled
def submit(
    files: Annotated[
        list[Path], typer.Argument(help="JSON, CSV or XLSX (kofu workbook) answers.")
    ],
    actor: Annotated[
        str | None, typer.Option(help="Default: the entity itself.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
) -> None:
    """Record self-evaluations (a resubmission inside the window is a revision)."""
    from adapters.workbook_import import read_submissions  # noqa: PLC0415

    pending = read_submissions(files, {"actor": actor})
    with session() as kofu:
        commands = pending.commands(kofu.ledger)
        with progress(out, "submitting", len(commands)) as advance:
            result = kofu.submit(commands, batch_size=batch_size, progress=advance)
    report(result, f"submit ({len(commands)} self-evaluations)")


@app.command("enter-paper")
@handled
def enter_paper(
    files: Annotated[
        list[Path], typer.Argument(help="JSON or CSV answers, as for kofu submit.")
    ],
    stated_on: Annotated[
        str,
        typer.Option(
            "--stated-on",
            help="The date the paper states it was received (YYYY-MM-DD): the "
            "window is checked against it; the ledger records its own time beside.",
        ),
    ],
    reason: Annotated[str, typer.Option(help="Why it is keyed in by the ministry.")],
    basis: Annotated[str, typer.Option(help="The document or instruction (根拠).")],
    actor: Annotated[str, typer.Option(help="ministry:<staff id>")],
) -> None:
    """Ministry staff key in answers an entity sent on paper (紙提出の入力)."""
    from adapters.files import read_answers, validate  # noqa: PLC0415
    from domain.commands import EnterPaperSubmission  # noqa: PLC0415

    commands = [
        validate(
            EnterPaperSubmission,
            {
                "entity": c.entity,
                "grant_year": c.grant_year,
                "tier": c.tier,
                "answers": c.answers,
                "stated_on": stated_on,
                "reason": reason,
                "basis": basis,
                "actor": actor,
                "idempotency_key": c.idempotency_key,
                "origin": c.origin,
            },
            c.origin or "enter-paper",
        )
        for c in read_answers(files, {"actor": None})
    ]
    with session() as kofu:
        result = kofu.enter_paper(commands)
    report(result, f"enter-paper ({len(commands)} self-evaluations)")


@app.command()
@handled
def confirm(
    entity: EntityOption,
    fiscal_year: YearOption,
    actor: Annotated[str, typer.Option(help="prefecture:<LG code>")],
    tier: TierOption = "municipal",
    idempotency_key: Annotated[str | None, typer.Option("--idempotency-key")] = None,
) -> None:
    """A prefecture confirms a municipality's answers."""
    from adapters.files import validate  # noqa: PLC0415
    from domain.commands import ConfirmSelfEvaluation  # noqa: PLC0415

    cmd = validate(
        ConfirmSelfEvaluation,
        {
            "entity": entity,
            "grant_year": fiscal_year,
            "tier": tier,
            "actor": actor,
            "idempotency_key": idempotency_key,
        },
        "confirm",
    )
    with session() as kofu:
        report(kofu.execute(cmd), "confirm")


@app.command()
@handled
def correct(
    entity: EntityOption,
    fiscal_year: YearOption,
    item: Annotated[str, typer.Option(help="Catalogue item code.")],
    value: Annotated[str, typer.Option(help="New value (true/false or a number).")],
    reason: Annotated[str, typer.Option(help="Why (修正理由).")],
    basis: Annotated[str, typer.Option(help="Legal basis or instruction (根拠).")],
    actor: Annotated[str, typer.Option(help="ministry:<staff id>")],
    tier: TierOption = "municipal",
    idempotency_key: Annotated[str | None, typer.Option("--idempotency-key")] = None,
) -> None:
    """Record a ministry correction of one answer (after the deadline)."""
    from adapters.files import validate  # noqa: PLC0415
    from domain.commands import CorrectAnswer  # noqa: PLC0415

    cmd = validate(
        CorrectAnswer,
        {
            "entity": entity,
            "grant_year": fiscal_year,
            "tier": tier,
            "item": item,
            "value": value,
            "reason": reason,
            "basis": basis,
            "actor": actor,
            "idempotency_key": idempotency_key,
        },
        "correct",
    )
    with session() as kofu:
        report(kofu.execute(cmd), "correct")


@app.command("ministry-values")
@handled
def ministry_values(
    files: Annotated[
        list[Path], typer.Argument(help="CSV files in the answer layout.")
    ],
    actor: Annotated[str, typer.Option(help="ministry:<id>")],
    source: Annotated[
        str, typer.Option(help="Where the values come from (e.g. 介護DB).")
    ],
) -> None:
    """Import values the ministry computes itself (outcome indicators)."""
    from adapters.files import read_answers  # noqa: PLC0415
    from domain.commands import ImportMinistryValues  # noqa: PLC0415

    read = read_answers(files, {"actor": actor})
    commands = [
        ImportMinistryValues(
            entity=c.entity,
            grant_year=c.grant_year,
            tier=c.tier,
            values=c.answers,
            source=source,
            actor=c.actor,
            idempotency_key=c.idempotency_key,
            origin=c.origin,
        )
        for c in read
    ]
    with session() as kofu:
        report(kofu.import_ministry_values(commands), "ministry-values")


@app.command()
@handled
def demo(
    fiscal_year: YearOption = 2020,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 1,
) -> None:
    """Load the reference data and run a whole synthetic national year."""
    from adapters.demo import run_demo  # noqa: PLC0415

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
        bool, typer.Option("--force", help="Replace the --export file if it exists.")
    ] = False,
) -> None:
    """Check the stored history for tampering (exit 1 names the first position)."""
    expected = read_checkpoints(against) if against else None
    if export:
        check_target(export, force=force)  # before the seal: a bad path writes nothing
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


reads.register(app, handled, ledger)
allocations.register(app, handled, ledger, out)
projections.register(app, handled, ledger, out)
explain.register(app, handled, ledger, out)
excel.register(app, handled, ledger, out)
access.register(app, handled, ledger, session, out, report)


def main(argv: list[str] | None = None) -> Any:
    """Run the command line."""
    return app(args=argv if argv is not None else sys.argv[1:], prog_name="kofu")
