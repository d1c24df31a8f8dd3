"""The options that many commands share, declared once.

Each is checked against its choices: a typo is exit 2 with a suggestion, never
"nothing to show".
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated

import typer

from adapters.common.formats import Format
from domain.glossary import GRANT_JA, PHASE_JA, TIER_JA

FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
YearOption = Annotated[
    int, typer.Option("--fiscal-year", "-y", help="Grant year (交付年度).")
]
EntityOption = Annotated[
    str, typer.Option("--entity", "-e", help="LG code (6 digits).")
]
KeyOption = Annotated[
    list[str] | None,
    typer.Option("--key", help="A verifier key to trust (repeatable)."),
]
KeysFileOption = Annotated[
    Path | None,
    typer.Option("--keys-file", help="A file of verifier keys to trust, one a line."),
]


def _refuse(value: str, kind: str, choices: tuple[str, ...]) -> typer.BadParameter:
    starting = [c for c in choices if c.startswith(value)]
    close = starting or difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return typer.BadParameter(
        f"{value!r} is not a {kind}{hint} (one of: {', '.join(choices)})"
    )


def choice(kind: str, choices: tuple[str, ...]) -> Callable[[str | None], str | None]:
    """A callback that lets only `choices` through (None: the option not given)."""

    def check(value: str | None) -> str | None:
        if value is None or value in choices:
            return value
        raise _refuse(value, kind, choices)

    return check


GRANT_CHOICES = tuple(GRANT_JA)
TIER_CHOICES = tuple(TIER_JA)
PHASE_CHOICES = tuple(PHASE_JA)

GrantRequired = Annotated[
    str,
    typer.Option(
        help="promotion or effort_support.", callback=choice("grant", GRANT_CHOICES)
    ),
]
GrantOption = Annotated[
    str | None,
    typer.Option(
        help="promotion or effort_support.", callback=choice("grant", GRANT_CHOICES)
    ),
]
TierOption = Annotated[
    str,
    typer.Option(
        "--tier",
        help="municipal or prefectural.",
        callback=choice("tier", TIER_CHOICES),
    ),
]
AnyTierOption = Annotated[
    str | None,
    typer.Option(
        "--tier",
        help="municipal or prefectural.",
        callback=choice("tier", TIER_CHOICES),
    ),
]
PhaseRequired = Annotated[
    str,
    typer.Option(
        help=f"One of: {', '.join(PHASE_CHOICES)}.",
        callback=choice("phase", PHASE_CHOICES),
    ),
]
PhaseOption = Annotated[
    str | None,
    typer.Option(
        help=f"One of: {', '.join(PHASE_CHOICES)} (default: the latest run).",
        callback=choice("phase", PHASE_CHOICES),
    ),
]


@cache
def _prefectures() -> dict[str, str]:
    """Prefecture name (and English name) → 2-digit code (the shipped file's)."""
    from adapters.kofu import Kofu  # noqa: PLC0415 - only when --prefecture is given

    return Kofu.prefecture_codes()


def prefecture_code(value: str | None) -> str | None:
    """A prefecture by its 2-digit code or its name (東京都 or 東京) → its code.

    Raises:
        typer.BadParameter: no such prefecture (with the closest name).
    """
    if value is None:
        return None
    names = _prefectures()
    codes = tuple(sorted(names.values()))
    text = value.strip()
    if text.lower() in names:  # English: tokyo, Tokyo
        return names[text.lower()]
    if text in codes:
        return text
    for name, code in names.items():
        if text in (name, name.rstrip("都道府県")) or (
            len(text) > 1 and text == name[:-1]
        ):
            return code
    if text.isdigit():
        msg = f"{value!r} is not a prefecture code (01 to 47)"
        raise typer.BadParameter(msg)
    close = difflib.get_close_matches(text, list(names), n=1, cutoff=0.3)
    hint = f"; did you mean {close[0]} ({names[close[0]]})?" if close else ""
    raise typer.BadParameter(f"{value!r} is not a prefecture{hint}")


PrefectureOption = Annotated[
    str | None,
    typer.Option(
        help="Prefecture: its 2-digit code or its name (13, 東京都 or 東京).",
        callback=prefecture_code,
    ),
]
