"""The Japanese of the programme years' hypotheses (data/glossary/hypotheses-ja.yaml).

The programme data states each hypothesis in English (its record); the people who
read the national tables read Japanese. `in_japanese` gives a hypothesis as the
table's 説明 sheet shows it: the Japanese, then the English it translates.
"""

from __future__ import annotations

from functools import cache

import yaml

from adapters.inputs.paths import data_dir

GLOSSARY = "glossary/hypotheses-ja.yaml"


@cache
def hypotheses_ja() -> dict[str, str]:
    """English hypothesis text → its Japanese (the shipped translations)."""
    with (data_dir() / GLOSSARY).open(encoding="utf-8") as source:
        loaded = yaml.safe_load(source)
    return {str(k): str(v) for k, v in loaded["translations"].items()}


def in_japanese(text: str) -> str:
    """`日本語（English）`, or the English alone where no translation is shipped."""
    found = hypotheses_ja().get(text)
    return f"{found}（{text}）" if found else text
