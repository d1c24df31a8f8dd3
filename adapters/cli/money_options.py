"""The options and helpers the `kofu grant …` commands share (issue 17)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

Step = Callable[[str, str, dict[str, Any]], None]
"""Runs one write of the chain: the command's class name (in `domain.commands`),
the step's name, its fields."""
Handled = Callable[[Callable[..., None]], Callable[..., None]]

Recipient = Annotated[
    str,
    typer.Option(
        "--recipient",
        "-r",
        help="保険者番号 (municipal tier) or the prefecture's LG code (prefectural).",
    ),
]
GrantOption = Annotated[str, typer.Option(help="promotion or effort_support")]
TierOption = Annotated[str, typer.Option(help="municipal or prefectural")]
Actor = Annotated[
    str,
    typer.Option(
        help="insurer:<保険者番号 or member LG code>, prefecture:<LG>, ministry:<id>"
    ),
]
Key = Annotated[str | None, typer.Option("--idempotency-key")]
Uses = Annotated[
    list[str] | None, typer.Option("--use", help="USE=YEN, once per use (充当先).")
]


def amounts(pairs: list[str] | None, option: str) -> dict[str, int] | None:
    """`USE=YEN` options as a dict (None if none was given).

    Raises:
        InvalidInput: a pair is malformed, repeated, or its amount not an integer.
    """
    from domain.errors import InvalidInput  # noqa: PLC0415

    if not pairs:
        return None
    found: dict[str, int] = {}
    for pair in pairs:
        code, sep, text = pair.partition("=")
        text = text.strip().replace(",", "").replace("_", "")
        if not sep or not text.lstrip("-").isascii() or not text.lstrip("-").isdigit():
            msg = f"give USE=YEN with an integer amount of yen, got {pair!r}"
            raise InvalidInput(msg, field=option)
        if code in found:
            msg = f"{code} is given twice"
            raise InvalidInput(msg, field=option)
        found[code.strip()] = int(text)
    return found


def evidence_pairs(pairs: list[str]) -> list[tuple[Path, str]]:
    """`PATH=SHA256` options as (path, stated SHA-256) pairs.

    Raises:
        InvalidInput: a pair without `=`.
    """
    from domain.errors import InvalidInput  # noqa: PLC0415

    found = []
    for pair in pairs:
        path, sep, digest = pair.rpartition("=")
        if not sep or not path:
            msg = (
                f"give PATH=SHA256 (the document and its stated SHA-256), got {pair!r}"
            )
            raise InvalidInput(msg, field="--evidence")
        found.append((Path(path), digest))
    return found


def base(
    recipient: str, year: int, grant: str, tier: str, actor: str, key: str | None
) -> dict[str, Any]:
    """The fields every step of a chain has."""
    return {
        "recipient": recipient,
        "grant_year": year,
        "grant": grant,
        "tier": tier,
        "actor": actor,
        "idempotency_key": key,
    }
