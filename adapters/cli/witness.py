"""`kofu witness init|cosign`: a witness's own key and state, and cosigning (issue 16).

`init` writes the witness's file (never the database); `cosign` checks the
ledger's newest signed checkpoint against what the witness cosigned before and,
if consistent, records its new state and stores its cosignature with the
checkpoint (docs/INTEGRITY.md, "Witnesses").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from adapters.cli.options import KeyOption, KeysFileOption

if TYPE_CHECKING:
    from rich.console import Console

    from adapters.kofu import Kofu, Verification


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    session: Callable[[], Kofu],
    out: Console,
) -> None:
    """Add `witness init` and `witness cosign` to the CLI."""
    witness = typer.Typer(
        help="A witness: its own key and state (a file kept with it), cosigning."
    )
    app.add_typer(witness, name="witness")

    @witness.command("init")
    @handled
    def witness_init(
        state: Annotated[
            Path, typer.Option("--state", help="Where to write the witness's file.")
        ],
        name: Annotated[
            str, typer.Option("--name", help="The witness's name, e.g. pref13.example.")
        ],
    ) -> None:
        """Make a witness's key and state file (0600; never overwrites one)."""
        verifier = session().witness_init(state, name)  # opens no ledger
        out.print(f"witness key and state written to {state} (mode 0600); keep it")
        typer.echo(f"witness key (add it to readers' KOFU_WITNESS_KEYS): {verifier}")

    @witness.command("cosign")
    @handled
    def witness_cosign(
        state: Annotated[Path, typer.Option("--state", help="The witness's file.")],
        key: KeyOption = None,
        keys_file: KeysFileOption = None,
    ) -> None:
        """Cosign the ledger's newest signed checkpoint if it extends what was cosigned.

        The consistency proof from the tree size this witness last cosigned is
        checked; on a mismatch: exit 1, nothing recorded, the state unchanged.
        Prints the checkpoint with the cosignature line (C2SP cosignature/v1).
        """
        kofu = session()
        try:
            trusted = (
                kofu.trusted_keys(key or [], keys_file) if key or keys_file else None
            )
            made = kofu.witness_cosign(state, trusted)
        finally:
            kofu.close()
        out.print(
            f"cosigned tree size {made.size} at {made.timestamp} "
            f"(the witness's clock, POSIX seconds)"
        )
        typer.echo(made.note, nl=False)


def witnessed_lines(found: Verification) -> list[str]:
    """What `verify` says of the witnesses: who cosigned up to where."""
    log = found.log
    if log is None:
        return []
    lines = [
        f"witness {name} cosigned up to tree size {size}"
        for name, size in sorted(log.witnesses.items())
    ]
    if log.unknown_cosignatures:
        lines.append(
            f"note: {log.unknown_cosignatures} cosignatures by witnesses not in "
            "KOFU_WITNESS_KEYS (not counted)"
        )
    return lines
