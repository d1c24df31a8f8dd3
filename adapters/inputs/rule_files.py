"""Reading rule versions (data/rules/<id>.yaml) into `RuleSpec` (docs/DOMAIN.md §6)."""

from __future__ import annotations

from pathlib import Path

from adapters.inputs.files import read_document, validate
from adapters.inputs.paths import data_dir
from domain.errors import InvalidInput
from domain.rule import RuleSpec


def rules_dir() -> Path:
    """The folder of shipped rule versions."""
    return data_dir() / "rules"


def load_rule(rule_id: str) -> RuleSpec:
    """The rule version with this id, e.g. `score_x_insured_share@1`.

    Raises:
        InvalidInput: no such file, or it does not validate or names another id.
    """
    path = rules_dir() / f"{rule_id}.yaml"
    if "/" in rule_id or "\\" in rule_id or not path.is_file():
        known = ", ".join(sorted(load_rules()))
        msg = f"no rule {rule_id!r}; known: {known}"
        raise InvalidInput(msg, field="rule")
    return _read(path)


def load_rules() -> dict[str, RuleSpec]:
    """Every shipped rule version by id.

    Raises:
        InvalidInput: a file does not validate or its id differs from its name.
    """
    rules = (_read(path) for path in sorted(rules_dir().glob("*.yaml")))
    return {rule.id: rule for rule in rules}


def _read(path: Path) -> RuleSpec:
    rule = validate(RuleSpec, read_document(path), str(path))
    if rule.id != path.stem:
        msg = f"the file is named {path.stem} but holds rule {rule.id}"
        raise InvalidInput(msg, field=str(path))
    return rule
