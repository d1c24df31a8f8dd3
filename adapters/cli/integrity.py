"""Tamper evidence on the command line: verify, keys, checkpoint (issue 15).

`verify` only reads (as `prove` does, in proofs.py); `checkpoint` is the writer's
(it needs the signing key); `keys init` writes a key file, never the database.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from adapters.cli.options import KeyOption, KeysFileOption
from adapters.cli.witness import witnessed_lines

if TYPE_CHECKING:
    from rich.console import Console

    from adapters.kofu import Kofu, RowsChecked, Verification


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    session: Callable[[], Kofu],
    out: Console,
) -> None:
    """Add `verify`, `keys init|show` and `checkpoint` to the CLI."""
    keys = typer.Typer(help="The ledger's signing key (kept outside the database).")
    app.add_typer(keys, name="keys")

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
        key: KeyOption = None,
        keys_file: KeysFileOption = None,
        read_models: Annotated[
            bool,
            typer.Option(
                "--read-models",
                help="Also recompute every read model from the events and compare.",
            ),
        ] = False,
        state: Annotated[
            Path | None,
            typer.Option(
                help="The verifier's own state file (kept outside the database): "
                "verify only what came after it, then update it (0600)."
            ),
        ] = None,
        against_witness: Annotated[
            Path | None,
            typer.Option(
                "--against-witness",
                help="A witness's state file: the log must hold the tree it cosigned.",
            ),
        ] = None,
    ) -> None:
        """Check the history, the Merkle log and its signed checkpoints (read-only).

        Exit 1 names the first position of any finding; the verifier keys trusted
        come from --key, --keys-file or KOFU_VERIFIER_KEYS, never the database.
        With --read-models, every read-model row that is not what the events
        make it is named (table and key); exit 1. Nothing is repaired. With
        --state, a history rewritten below the state's tree size is a finding.
        Cosignatures by the witnesses of KOFU_WITNESS_KEYS are checked and
        reported (which witness cosigned up to which tree size).
        """
        kofu = session()
        try:
            trusted = kofu.trusted_keys(key or [], keys_file)
            found = kofu.verify(
                against,
                export,
                force=force,
                keys=trusted,
                read_models=read_models,
                state=state,
                witness=against_witness,
            )
        finally:
            kofu.close()
        _verdict(found)
        if found.read_models is not None:
            _read_models_verdict(found.read_models)
        if export:
            typer.echo(
                f"checkpoints written to {export}; keep its SHA-256 apart: "
                f"{found.digest}"
            )

    @keys.command("init")
    @handled
    def keys_init(
        key_file: Annotated[
            Path, typer.Option("--key-file", help="Where to write the new key (0600).")
        ],
        origin: Annotated[
            str, typer.Option(help="The log's name, e.g. kofu.example.jp/ledger.")
        ],
    ) -> None:
        """Make the ledger's signing key in a new file (never overwrites one)."""
        verifier = session().new_key(key_file, origin)  # opens no ledger
        out.print(f"signing key written to {key_file} (mode 0600); keep it apart")
        out.print(f"set KOFU_SIGNING_KEY_FILE={key_file} for the writer")
        typer.echo(f"verifier key (give it to readers): {verifier}")

    @keys.command("show")
    @handled
    def keys_show(
        demo_key: Annotated[
            bool, typer.Option("--demo", help="The published DEMO key's instead.")
        ] = False,
    ) -> None:
        """Print the verifier key of the configured signing key (or the DEMO's)."""
        with session() as kofu:
            verifier, demo = kofu.verifier_key(demo=demo_key)
        typer.echo(
            verifier + ("  # DEMO key: its private half is public" if demo else "")
        )

    @app.command()
    @handled
    def checkpoint() -> None:
        """Sign a checkpoint of the Merkle log now (the writer's key)."""
        with session() as kofu:
            note = kofu.checkpoint()
        typer.echo(note, nl=False)


def _verdict(found: Verification) -> None:
    log = found.log
    if found.finding is not None:
        typer.echo(
            f"kofu: TAMPERED at position {found.finding.position} "
            f"({found.finding.kind}): {found.finding.detail}; "
            f"{found.checked} events verified before it",
            err=True,
        )
        raise typer.Exit(1)
    signed = f"; signed checkpoints to tree size {log.signed}" if log else ""
    since = f" (since tree size {log.since})" if log and log.since else ""
    typer.echo(f"intact: {found.checked} events verified{since}{signed}")
    for line in witnessed_lines(found):
        typer.echo(line)
    if log is not None and log.demo:
        typer.echo("note: checkpoints signed with the DEMO key (published): no seal")


def _read_models_verdict(found: RowsChecked) -> None:
    if found.stale:
        typer.echo(
            "kofu: read models built by another version of kofu: not compared; "
            "`kofu projections rebuild` rebuilds them from the events",
            err=True,
        )
        raise typer.Exit(1)
    rows = sum(found.rows.values())
    behind = (
        f"; events {found.position + 1}..{found.head} not projected yet"
        if found.head > found.position
        else ""
    )
    if found.intact:
        typer.echo(
            f"read models intact: {rows} rows in {len(found.rows)} tables recomputed "
            f"from events 1..{found.position} and matched{behind}"
        )
        return
    typer.echo(
        f"kofu: read models TAMPERED: {found.count} rows differ from the events "
        f"(recomputed from events 1..{found.position}, {rows} rows){behind}",
        err=True,
    )
    for difference in found.differences:
        typer.echo(f"  {difference}", err=True)
    if found.count > len(found.differences):
        typer.echo(f"  … and {found.count - len(found.differences)} more", err=True)
    typer.echo(
        "verify repairs nothing: `kofu projections rebuild` (a writer's command) "
        "rebuilds the read models from the events",
        err=True,
    )
    raise typer.Exit(1)
