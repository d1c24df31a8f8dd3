"""Tamper evidence on the command line: verify, keys, checkpoint, prove (issue 15).

`verify` and `prove` only read; `checkpoint` is the writer's (it needs the signing
key); `keys init` writes a key file, never the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from adapters.kofu import Kofu, Verification

KeyOption = Annotated[
    list[str] | None,
    typer.Option("--key", help="A verifier key to trust (repeatable)."),
]
KeysFileOption = Annotated[
    Path | None,
    typer.Option("--keys-file", help="A file of verifier keys to trust, one a line."),
]


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    session: Callable[[], Kofu],
    out: Console,
) -> None:
    """Add `verify`, `keys init|show`, `checkpoint` and `prove` to the CLI."""
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
        state: Annotated[
            Path | None,
            typer.Option(
                help="The verifier's own state file (kept outside the database): "
                "verify only what came after it, then update it (0600)."
            ),
        ] = None,
    ) -> None:
        """Check the history, the Merkle log and its signed checkpoints (read-only).

        Exit 1 names the first position of any finding; the verifier keys trusted
        come from --key, --keys-file or KOFU_VERIFIER_KEYS, never the database.
        With --state, a history rewritten below the state's tree size is a finding.
        """
        kofu = session()
        try:
            trusted = kofu.trusted_keys(key or [], keys_file)
            found = kofu.verify(against, export, force=force, keys=trusted, state=state)
        finally:
            kofu.close()
        _verdict(found)
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
    ) -> None:
        """Print a proof bundle: the events with their inclusion proofs (JSON)."""
        kofu = session()
        try:
            positions = list(position or [])
            if entity is not None and grant_year is not None:
                positions += kofu.entity_positions(entity, grant_year)
            bundle = kofu.prove(sorted(set(positions)))
        finally:
            kofu.close()
        typer.echo(json.dumps(bundle, ensure_ascii=False, indent=2))


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
    if log is not None and log.demo:
        typer.echo("note: checkpoints signed with the DEMO key (published): no seal")
