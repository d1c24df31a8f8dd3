"""Where the data shipped with kofu lives (the repository's data/, or the wheel's)."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def data_dir() -> Path:
    """The folder of shipped data: reference, catalogues, programmes."""
    for candidate in (_HERE.parent / "data", _HERE / "_data"):
        if (candidate / "reference").is_dir():
            return candidate
    msg = f"kofu's data folder is missing (looked beside {_HERE})"
    raise FileNotFoundError(msg)
