"""The answer commands: submit, enter-paper, confirm, correct, ministry-values.

Each validates its input into command models and runs them through the application
facade (`adapters.kofu.Kofu`); the ledger's clock records them (no date options).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from adapters.cli.options import EntityOption, TierOption, YearOption

if TYPE_CHECKING:
    from rich.console import Console

    from adapters.kofu import Kofu
    from domain.ledger import Result


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    session: Callable[[], Kofu],
    out: Console,
    report: Callable[[Result, str], None],
) -> None:
    """Add the answer commands to the CLI."""

    @app.command()
    @handled
    def submit(
        files: Annotated[
            list[Path],
            typer.Argument(help="JSON, CSV or XLSX (kofu workbook) answers."),
        ],
        actor: Annotated[
            str | None, typer.Option(help="Default: the entity itself.")
        ] = None,
        batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
    ) -> None:
        """Record self-evaluations (a resubmission inside the window is a revision)."""
        from adapters.common.progress import progress  # noqa: PLC0415

        with session() as kofu:
            commands = kofu.read_submissions(files, actor)
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
        reason: Annotated[
            str, typer.Option(help="Why it is keyed in by the ministry.")
        ],
        basis: Annotated[str, typer.Option(help="The document or instruction (根拠).")],
        actor: Annotated[str, typer.Option(help="ministry:<staff id>")],
    ) -> None:
        """Ministry staff key in answers an entity sent on paper (紙提出の入力)."""
        from adapters.kofu import Kofu  # noqa: PLC0415
        from domain.commands import EnterPaperSubmission  # noqa: PLC0415

        commands = [
            EnterPaperSubmission.checked(
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
            for c in Kofu.read_answers(files, None)
        ]
        with session() as kofu:
            result = kofu.enter_paper(commands)
        report(result, f"enter-paper ({len(commands)} self-evaluations)")

    @app.command()
    @handled
    def confirm(
        entity: EntityOption,
        grant_year: YearOption,
        actor: Annotated[str, typer.Option(help="prefecture:<LG code>")],
        tier: TierOption = "municipal",
        idempotency_key: Annotated[
            str | None, typer.Option("--idempotency-key")
        ] = None,
    ) -> None:
        """A prefecture confirms a municipality's answers."""
        from domain.commands import ConfirmSelfEvaluation  # noqa: PLC0415

        cmd = ConfirmSelfEvaluation.checked(
            {
                "entity": entity,
                "grant_year": grant_year,
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
        grant_year: YearOption,
        item: Annotated[str, typer.Option(help="Catalogue item code.")],
        value: Annotated[str, typer.Option(help="New value (true/false or a number).")],
        reason: Annotated[str, typer.Option(help="Why (修正理由).")],
        basis: Annotated[str, typer.Option(help="Legal basis or instruction (根拠).")],
        actor: Annotated[str, typer.Option(help="ministry:<staff id>")],
        tier: TierOption = "municipal",
        idempotency_key: Annotated[
            str | None, typer.Option("--idempotency-key")
        ] = None,
    ) -> None:
        """Record a ministry correction of one answer (after the deadline)."""
        from domain.commands import CorrectAnswer  # noqa: PLC0415

        cmd = CorrectAnswer.checked(
            {
                "entity": entity,
                "grant_year": grant_year,
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
        from adapters.kofu import Kofu  # noqa: PLC0415
        from domain.commands import ImportMinistryValues  # noqa: PLC0415

        read = Kofu.read_answers(files, actor)
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
