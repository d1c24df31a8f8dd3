"""Identifiers and their check digits (docs/DOMAIN.md §3).

全国地方公共団体コード (LG code): 5-digit JIS code + check digit, weights 6,5,4,3,2,
check = (11 - sum mod 11) mod 10.
介護保険 保険者番号 (insurer number): 5 digits + check digit, weights 2,1,2,1,2, the
digits of each product added, check = (10 - sum mod 10) mod 10.
The two are never confused: each has its own type and validator.
"""

from __future__ import annotations

from typing import Annotated, NewType

from pydantic import AfterValidator

from domain.errors import InvalidInput

LgCodeStr = NewType("LgCodeStr", str)
InsurerNumberStr = NewType("InsurerNumberStr", str)

_LG_WEIGHTS = (6, 5, 4, 3, 2)
_INSURER_WEIGHTS = (2, 1, 2, 1, 2)


def _five_digits(body: str, what: str) -> None:
    if len(body) != 5 or not body.isascii() or not body.isdigit():  # noqa: PLR2004
        msg = f"{what} body must be 5 ASCII digits, got {body!r}"
        raise InvalidInput(msg)


def lg_check_digit(jis_code: str) -> str:
    """Return the LG-code check digit for a 5-digit JIS X 0402 code."""
    _five_digits(jis_code, "JIS code")
    total = sum(int(d) * w for d, w in zip(jis_code, _LG_WEIGHTS, strict=True))
    return str((11 - total % 11) % 10)


def insurer_check_digit(body: str) -> str:
    """Return the insurer-number check digit for a 5-digit body."""
    _five_digits(body, "insurer number")
    total = 0
    for digit, weight in zip(body, _INSURER_WEIGHTS, strict=True):
        product = int(digit) * weight
        total += product // 10 + product % 10
    return str((10 - total % 10) % 10)


def lg_code(value: str) -> LgCodeStr:
    """Validate a 6-digit 全国地方公共団体コード and return it."""
    if len(value) != 6 or not value.isascii() or not value.isdigit():  # noqa: PLR2004
        msg = f"LG code must be 6 ASCII digits, got {value!r}"
        raise InvalidInput(msg)
    if lg_check_digit(value[:5]) != value[5]:
        expected = lg_check_digit(value[:5])
        msg = f"LG code {value} fails its check digit (expected {expected})"
        raise InvalidInput(msg)
    return LgCodeStr(value)


def insurer_number(value: str) -> InsurerNumberStr:
    """Validate a 6-digit 介護保険 保険者番号 and return it."""
    if len(value) != 6 or not value.isascii() or not value.isdigit():  # noqa: PLR2004
        msg = f"insurer number must be 6 ASCII digits, got {value!r}"
        raise InvalidInput(msg)
    expected = insurer_check_digit(value[:5])
    if expected != value[5]:
        msg = f"insurer number {value} fails its check digit (expected {expected})"
        raise InvalidInput(msg)
    return InsurerNumberStr(value)


def insurer_number_for(jis_code: str) -> InsurerNumberStr:
    """Return the insurer number built on a 5-digit JIS code (single-municipality)."""
    return InsurerNumberStr(jis_code + insurer_check_digit(jis_code))


def _lg(value: str) -> str:
    try:
        return lg_code(value)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


def _ins(value: str) -> str:
    try:
        return insurer_number(value)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


LgCode = Annotated[str, AfterValidator(_lg)]
"""A validated LG code, for use in pydantic models and events."""

InsurerNumber = Annotated[str, AfterValidator(_ins)]
"""A validated insurer number, for use in pydantic models and events."""
