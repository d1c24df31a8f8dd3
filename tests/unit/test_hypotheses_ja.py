"""Every hypothesis a programme year states has its Japanese (data/glossary)."""

from __future__ import annotations

import yaml

from adapters.inputs.glossary import hypotheses_ja, in_japanese
from adapters.inputs.paths import data_dir


def _stated() -> set[str]:
    stated: set[str] = set()
    for path in sorted((data_dir() / "programmes").glob("fy*.yaml")):
        with path.open(encoding="utf-8") as source:
            stated |= set(yaml.safe_load(source).get("hypotheses", []))
    return stated


def test_every_shipped_hypothesis_is_translated_and_no_translation_is_stale() -> None:
    stated = _stated()
    assert stated
    translated = set(hypotheses_ja())
    assert stated - translated == set(), "hypotheses without Japanese"
    assert translated - stated == set(), "translations of no shipped hypothesis"


def test_a_hypothesis_reads_japanese_first_then_its_english() -> None:
    text = "size bands of the FY2026 file applied to FY2020"
    assert in_japanese(text) == f"{hypotheses_ja()[text]}（{text}）"
    assert in_japanese("not shipped") == "not shipped"
