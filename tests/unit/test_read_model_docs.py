"""docs/READ-MODELS.md lists every column of every read model, as the code has them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_read_schema_document_matches_the_code() -> None:
    spec = importlib.util.spec_from_file_location(
        "document_read_models", ROOT / "scripts" / "document_read_models.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "READ-MODELS.md").read_text(
        encoding="utf-8"
    ) == module.render()
