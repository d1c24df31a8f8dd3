"""The auditor's run tools: `kofu replay`, `diff`, `sensitivity`, `what-if`.

Each recomputes or compares recorded runs and writes nothing to the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Annotated

import typer

from adapters.cli.options import FormatOption
from adapters.common.formats import Format
from domain.glossary import COUNTERFACTUAL_BADGE

if TYPE_CHECKING:
    from domain.ledger import Ledger


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    ledger: Callable[[], AbstractContextManager[Ledger]],
) -> None:
    """Add the run tools to the CLI."""

    @app.command()
    @handled
    def replay(
        run_id: Annotated[
            str | None,
            typer.Argument(help="e.g. FY2020-promotion-municipal-expected-1"),
        ] = None,
        grant_year: Annotated[
            int | None, typer.Option("--fiscal-year", "-y", help="Every run of a year.")
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Recompute recorded runs from the ledger prefix each read, and compare."""
        from adapters.queries.recompute import recorded_runs, replays  # noqa: PLC0415
        from adapters.reports.output import render  # noqa: PLC0415
        from domain.errors import InvalidInput  # noqa: PLC0415

        if (run_id is None) == (grant_year is None):
            msg = "give one RUN or --fiscal-year (every run of that year)"
            raise InvalidInput(msg, field="RUN")
        with ledger() as opened:
            outcomes = replays(opened, recorded_runs(opened, run_id, grant_year))
        rows = [
            {
                "run_id": o.run_id,
                "ledger_position": o.position,
                "ledger_sha256": o.ledger_sha256,
                "recorded_ledger_sha256": o.recorded_ledger_sha256,
                "log_tree": _tree(o.log),
                "recorded_log_tree": _tree(o.recorded_log),
                "stored_log_tree": _tree(o.stored_log),
                "recorded_output_sha256": o.recorded_sha256,
                "replayed_output_sha256": o.replayed_sha256,
                "same": o.same,
                "differences": len(o.differences),
            }
            for o in outcomes
        ]
        render(rows[0] if run_id and fmt is Format.json else rows, fmt, "replay")
        differences = [
            d | {"run_id": o.run_id} for o in outcomes for d in o.differences
        ]
        if differences and fmt is Format.table:
            render(differences[:50], fmt, "differences (first 50)")
        if not all(o.same for o in outcomes):
            raise typer.Exit(1)

    @app.command("diff")
    @handled
    def diff_command(
        run_a: Annotated[str, typer.Argument(help="The earlier run.")],
        run_b: Annotated[str, typer.Argument(help="The later run.")],
        fmt: FormatOption = Format.table,
    ) -> None:
        """What changed per entity between two runs, attributed so it adds up."""
        from adapters.queries.recompute import run_diff  # noqa: PLC0415
        from adapters.reports.output import render  # noqa: PLC0415

        with ledger() as opened:
            rows = run_diff(opened, opened.run(run_a), opened.run(run_b))
        render(rows, fmt, f"{run_a} → {run_b}")

    @app.command("sensitivity")
    @handled
    def sensitivity_command(
        run_id: Annotated[str, typer.Argument(help="The recorded run.")],
        threshold: Annotated[
            str, typer.Option(help="Flag corrections moving more than this share.")
        ] = "0.0001",
        entity: Annotated[
            str | None,
            typer.Option("--entity", "-e", help="Yen per sub-item of one entity."),
        ] = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Yen per score point per entity; corrections that moved a lot of money."""
        from fractions import Fraction  # noqa: PLC0415

        from adapters.queries.recompute import sensitivity  # noqa: PLC0415
        from adapters.reports.output import render, render_all  # noqa: PLC0415
        from domain.errors import InvalidInput  # noqa: PLC0415

        try:
            share = Fraction(threshold)
        except (ValueError, ZeroDivisionError):
            msg = f"--threshold takes a share such as 0.0001, got {threshold!r}"
            raise InvalidInput(msg, field="--threshold") from None
        with ledger() as opened:
            found = sensitivity(opened, opened.run(run_id), share, entity)
        if fmt is Format.json:
            render(found, fmt)
            return
        tables = []
        if entity:
            tables.append((f"{entity}: yen at stake per sub-item", found["items"]))
        tables.append(
            (f"corrections moving > {threshold} of the budget", found["flagged"])
        )
        tables.append(("yen per score point", found["entities"]))
        render_all(tables, fmt)

    @app.command("what-if")
    @handled
    def what_if_command(
        run_id: Annotated[str, typer.Argument(help="The recorded run.")],
        without_correction: Annotated[
            int | None,
            typer.Option(
                "--without-correction", help="Ledger position of a correction to undo."
            ),
        ] = None,
        rule: Annotated[str | None, typer.Option(help="Another rule version.")] = None,
        at: Annotated[
            str | None, typer.Option(help="Another ledger position or ISO time.")
        ] = None,
        counterfactual: Annotated[
            bool,
            typer.Option(
                "--counterfactual",
                help="Let --rule apply outside its valid years (labelled 反実仮想).",
            ),
        ] = False,
        fmt: FormatOption = Format.table,
    ) -> None:
        """Recompute a run without a correction, under another rule or position.

        Nothing is written: the ledger prefix is copied into memory. A rule outside
        its valid years needs --counterfactual, and the result says COUNTERFACTUAL.

        Example: kofu what-if FY2020-promotion-municipal-decision-1
        --rule score_x_insured_share@1 --counterfactual
        """
        from adapters.queries.asof import position_as_of  # noqa: PLC0415
        from adapters.queries.recompute import what_if  # noqa: PLC0415
        from adapters.reports.output import render, render_all  # noqa: PLC0415

        with ledger() as opened:
            position = position_as_of(opened, at) if at else None
            again, rows = what_if(
                opened,
                opened.run(run_id),
                without=without_correction,
                rule=rule,
                at=position,
                counterfactual=counterfactual,
            )
        summary = {
            "run_id": f"what-if of {run_id}",
            "budget_yen": again.inputs.budget_yen,
            "allocated_yen": again.totals.allocated_yen,
            "remainder_yen": again.totals.remainder_yen,
            "rule": again.label,
            "changed_entities": len(rows),
            "counterfactual": COUNTERFACTUAL_BADGE in again.label,
        }
        if fmt is Format.json:
            render({"what_if": summary, "diff": rows}, fmt)
            return
        render_all(
            [
                ("what-if (not recorded)", [summary]),
                ("diff against the recorded run", rows),
            ],
            fmt,
        )


def _tree(log: tuple[int, str] | None) -> str | None:
    """A Merkle tree as `size:root` (None: the run recorded none)."""
    return None if log is None else f"{log[0]}:{log[1]}"
