"""`kofu workbook`, `kofu export results|allocations`: Excel in the ministry layouts.

The workbook is the questionnaire an entity answers (read back by `kofu submit`);
the exports are the national tables the ministry publishes, in XLSX or CSV with the
same columns.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console

from adapters.cli.exports import (
    EncodingOption,
    ExportFormat,
    ExportFormatOption,
    emit,
)
from adapters.cli.options import AnyTierOption, PhaseOption, YearOption

if TYPE_CHECKING:
    from adapters.kofu import Kofu

Tier = Literal["municipal", "prefectural"]
Grant = Literal["promotion", "effort_support"]

OutputOption = Annotated[
    Path, typer.Option("--output", "-o", help="The file to write (.xlsx or .csv).")
]
ExportPathOption = Annotated[Path | None, typer.Option("--output", "-o")]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force", help="Replace the output file if it exists (a link, not its target)."
    ),
]
TierChoice = Annotated[Tier, typer.Option(help="municipal or prefectural")]
GrantChoice = Annotated[Grant, typer.Option(help="promotion or effort_support")]


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    session: Callable[[], Kofu],
    console: Console,
) -> None:
    """Add the Excel commands to the CLI."""

    @app.command()
    @handled
    def workbook(
        entity: Annotated[str, typer.Option("--entity", "-e", help="LG code.")],
        grant_year: YearOption,
        output: OutputOption,
        tier: AnyTierOption = None,
        blank: Annotated[
            bool,
            typer.Option("--blank", help="Empty answer cells (default: the current)."),
        ] = False,
        force: ForceOption = False,
    ) -> None:
        """Write the self-evaluation workbook (該当状況調査票) of an entity and year.

        Its answer cells hold the entity's answers as they stand (a revision
        changes only what changes); --blank leaves them empty.

        Example: kofu workbook --entity 131041 --fiscal-year 2024 --output 131041.xlsx
        """
        from adapters.common.writing import write_file  # noqa: PLC0415
        from domain.errors import InvalidInput  # noqa: PLC0415

        if output.suffix.lower() != ".xlsx":
            msg = "the workbook is written as .xlsx"
            raise InvalidInput(msg, field="--output")
        with session() as kofu:
            data = kofu.workbook(entity, grant_year, tier, blank=blank)
        write_file(output, data, force=force)
        note = "blank" if blank else "with the current answers"
        console.print(f"workbook written to {output} ({note})")

    export = typer.Typer(
        help="The ministry's national tables (XLSX or CSV).", no_args_is_help=True
    )
    app.add_typer(export, name="export")

    @export.command("results")
    @handled
    def results(
        grant_year: YearOption,
        tier: TierChoice = "municipal",
        grant: GrantChoice = "promotion",
        fmt: ExportFormatOption = ExportFormat.xlsx,
        output: ExportPathOption = None,
        encoding: EncodingOption = None,
        force: ForceOption = False,
    ) -> None:
        """評価結果: a row per entity, points per sub-item, total, rank, statistics.

        Example: kofu export results -y 2020 -f csv -o results.csv --encoding shift_jis
        """
        with session() as kofu:
            data = kofu.results_file(
                grant_year, tier, grant, csv=fmt is ExportFormat.csv
            )
        emit(data, fmt, output, force=force, encoding=encoding)

    @export.command("allocations")
    @handled
    def allocations(
        grant_year: YearOption,
        tier: TierChoice = "municipal",
        grant: GrantChoice = "promotion",
        phase: PhaseOption = None,
        fmt: ExportFormatOption = ExportFormat.xlsx,
        output: ExportPathOption = None,
        encoding: EncodingOption = None,
        force: ForceOption = False,
    ) -> None:
        """交付額: the run in force, one row per entity, amounts in 千円 (exact).

        Example: kofu export allocations -y 2020 -f csv -o allocations.csv
        """
        with session() as kofu:
            data = kofu.allocations_file(
                grant_year, tier, grant, phase, csv=fmt is ExportFormat.csv
            )
        emit(data, fmt, output, force=force, encoding=encoding)
