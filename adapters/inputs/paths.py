"""Where the data shipped with kofu lives (the repository's data/, or the wheel's)."""

from __future__ import annotations

from pathlib import Path

_ADAPTERS = (
    Path(__file__).resolve().parents[1]
)  # adapters/ (this file is in adapters/inputs/)


def data_dir() -> Path:
    """The folder of shipped data: reference, catalogues, programmes."""
    for candidate in (_ADAPTERS.parent / "data", _ADAPTERS / "_data"):
        if (candidate / "reference").is_dir():
            return candidate
    msg = f"kofu's data folder is missing (looked beside {_ADAPTERS})"
    raise FileNotFoundError(msg)
