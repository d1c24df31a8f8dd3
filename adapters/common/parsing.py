"""Reading untrusted files safely: bounded reads and strict JSON and YAML parsers.

* Only regular files are read (a folder, a device like /dev/zero or a named pipe is
  refused before it is opened), and at most `MAX_FILE_BYTES`: a larger file is
  refused from its size alone, without reading it.
* JSON: numbers become exact decimals; NaN and Infinity, integers of more than
  `MAX_DIGITS` digits and a key repeated in one object are refused.
* YAML: the safe loader, without aliases (`*name`: "billion laughs" documents expand
  exponentially), without repeated keys, and with every out-of-range value (a date in
  year 0, a 5,000-digit integer) reported at its line.
* Documents nested deeper than the parser's recursion are refused, and so are keys
  and strings holding control characters (`domain.base.printable`).
"""

from __future__ import annotations

import json
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from domain.base import printable
from domain.errors import InvalidInput

MAX_FILE_BYTES = 64 * 1024 * 1024
"""The largest input file kofu reads (64 MiB: the national data are about 10 MiB)."""
MAX_DIGITS = 30
"""The most digits an integer in a JSON or YAML document may have."""


def read_bytes(path: Path) -> bytes:
    """The bytes of a regular file of at most `MAX_FILE_BYTES`.

    Raises:
        InvalidInput: missing, not a regular file, or too large.
    """
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            msg = "not a regular file (a folder, a device or a pipe); give a file"
            raise InvalidInput(msg, field=str(path))
        if info.st_size > MAX_FILE_BYTES:
            raise _too_large(path, info.st_size)
        with path.open("rb") as source:
            data = source.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        msg = f"cannot read: {exc.strerror}"
        raise InvalidInput(msg, field=str(path)) from None
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(path, len(data))
    return data


def _too_large(path: Path, size: int) -> InvalidInput:
    msg = f"{size:,} bytes is over the {MAX_FILE_BYTES:,}-byte limit"
    return InvalidInput(msg, field=str(path))


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            msg = f"duplicate key {key!r} in one object"
            raise ValueError(msg)
        found[key] = value
    return found


def _constant(name: str) -> Any:
    msg = f"{name} is not a number kofu accepts"
    raise ValueError(msg)


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        msg = f"an integer of {len(text)} digits is too long (at most {MAX_DIGITS})"
        raise ValueError(msg)
    return int(text)


def check_strings(document: Any, where: str, *, by_field: bool = False) -> Any:
    """`document`, if none of its keys and strings holds a control character.

    The error's field is `where` (the file), or with `by_field` the path of the
    value in the document (an HTTP body: `reason`, `answers.I-1-a`).

    Raises:
        InvalidInput: one does; the message names its field path.
    """
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                stack.append((f"{path}.{key}" if path else str(key), item))
                stack.append((path or "(keys)", key))
        elif isinstance(value, list):
            stack.extend(
                (f"{path}.{n}" if path else f"[{n}]", v) for n, v in enumerate(value)
            )
        elif isinstance(value, str):
            try:
                printable(value)
            except ValueError as exc:
                field = (path or None) if by_field else where
                raise InvalidInput(
                    f"{path or '(document)'}: {exc}", field=field
                ) from None
    return document


def parse_json(
    text: str, where: str, *, decimals: bool = True, by_field: bool = False
) -> Any:
    """Parse JSON strictly (see the module docstring), naming `where` in errors.

    With `decimals` False a number with a fraction stays a binary float, for the
    caller to refuse naming its field (the HTTP API takes decimals as text);
    `by_field`: see `check_strings`.

    Raises:
        InvalidInput: the text is not acceptable JSON.
    """
    try:
        document = json.loads(
            text,
            parse_float=Decimal if decimals else float,
            parse_int=_integer,
            parse_constant=_constant,
            object_pairs_hook=_no_repeats,
        )
    except json.JSONDecodeError as exc:
        msg = f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise InvalidInput(msg, field=where) from None
    except ValueError as exc:
        raise InvalidInput(f"invalid JSON: {exc}", field=where) from None
    except RecursionError:
        msg = "invalid JSON: nested too deeply"
        raise InvalidInput(msg, field=where) from None
    return check_strings(document, where, by_field=by_field)


class StrictLoader(yaml.SafeLoader):
    """The safe loader without aliases or repeated keys, reporting bad values."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Refuse an alias (`*name`) instead of following it."""
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            msg = "aliases (*name) are not accepted; write the value out"
            raise ComposerError(None, None, msg, event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """A mapping, refusing a key given twice."""
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, str | int) and key in seen:
                    msg = f"duplicate key {key!r}"
                    raise ConstructorError(None, None, msg, key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        """A value; one out of range (a date in year 0, a huge integer) at its line."""
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":int"):
            digits = sum(ch.isdigit() for ch in node.value)
            if digits > MAX_DIGITS:
                msg = f"an integer of {digits} digits is too long (max {MAX_DIGITS})"
                raise ConstructorError(None, None, msg, node.start_mark)
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:
            raise ConstructorError(None, None, str(exc), node.start_mark) from None


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML strictly (see the module docstring), naming `where` in errors.

    Raises:
        InvalidInput: the text is not acceptable YAML.
    """
    try:
        document = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        msg = f"invalid YAML{line}: {getattr(exc, 'problem', None) or exc}"
        raise InvalidInput(msg, field=where) from None
    except RecursionError:
        msg = "invalid YAML: nested too deeply"
        raise InvalidInput(msg, field=where) from None
    return check_strings(document, where)
