"""Options are checked against their choices: a typo is exit 2 with a suggestion.

Before, `--grant effort`, `--prefecture 東京都` or `99` printed "nothing to show"
with exit 0 (issue 19). Each is refused before any ledger is opened, naming the
option, the closest choice and every choice; a prefecture is also taken by name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from adapters.cli.main import app
from adapters.cli.options import choice, prefecture_code


@pytest.mark.parametrize(
    ("args", "option", "suggested"),
    [
        (
            ["allocations", "-y", "2020", "--grant", "effort"],
            "--grant",
            "effort_support",
        ),
        (
            ["explain", "-e", "131041", "-y", "2020", "--grant", "promo"],
            "--grant",
            "promotion",
        ),
        (["allocations", "-y", "2020", "--tier", "muni"], "--tier", "municipal"),
        (["allocations", "-y", "2020", "--phase", "decison"], "--phase", "decision"),
        (
            ["trajectory", "-e", "131041", "--grant", "suport"],
            "--grant",
            "effort_support",
        ),
        (["entities", "--prefecture", "東京県"], "--prefecture", "東京都"),
        (["entities", "--prefecture", "99"], "--prefecture", None),
        (["scores", "-y", "2020", "--grant", "x"], "--grant", None),
    ],
)
def test_a_value_outside_the_choices_is_exit_2_with_a_suggestion(
    tmp_path: Path, args: list[str], option: str, suggested: str | None
) -> None:
    database = tmp_path / "untouched.db"
    result = CliRunner().invoke(
        app, args, env={"KOFU_DATABASE_URL": f"sqlite:///{database}"}
    )
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.replace("│", " ").split())
    assert f"Invalid value for '{option}'" in text
    if suggested:
        assert (
            f"did you mean {suggested!r}" in text
            or f"did you mean {suggested} " in text
        )
    assert not database.exists()  # refused before any ledger was opened


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("13", "13"),
        ("東京都", "13"),
        ("東京", "13"),
        ("京都", "26"),
        ("Tokyo", "13"),
        ("北海道", "01"),
        (None, None),
    ],
)
def test_a_prefecture_is_taken_by_code_or_name(
    given: str | None, code: str | None
) -> None:
    assert prefecture_code(given) == code


def test_a_choice_lets_its_choices_and_none_through() -> None:
    check = choice("grant", ("promotion", "effort_support"))
    assert check("promotion") == "promotion"
    assert check(None) is None
    with pytest.raises(typer.BadParameter, match="one of: promotion, effort_support"):
        check("")
