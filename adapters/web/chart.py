"""A horizontal bar chart as inline SVG, drawn on the server (no JavaScript).

Bar lengths are integer pixels computed with integer arithmetic from integer yen,
so no float ever touches an amount; the page shows the same numbers as a table.
"""

from __future__ import annotations

from dataclasses import dataclass

BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 170
BAR_SPACE = 420
VALUE_WIDTH = 150


@dataclass(frozen=True)
class Bar:
    """One bar: its label, amount and geometry in pixels."""

    label: str
    amount_yen: int
    y: int
    length: int


@dataclass(frozen=True)
class Chart:
    """The bars of one chart and the SVG canvas size."""

    title: str
    bars: tuple[Bar, ...]
    width: int
    height: int
    label_width: int = LABEL_WIDTH


def bar_chart(title: str, values: list[tuple[str, int]]) -> Chart:
    """Bars proportional to the amounts (the longest fills the bar space)."""
    largest = max((amount for _, amount in values), default=0)
    bars = tuple(
        Bar(
            label=label,
            amount_yen=amount,
            y=GAP + index * (BAR_HEIGHT + GAP),
            length=amount * BAR_SPACE // largest if largest > 0 else 0,
        )
        for index, (label, amount) in enumerate(values)
    )
    return Chart(
        title=title,
        bars=bars,
        width=LABEL_WIDTH + BAR_SPACE + VALUE_WIDTH,
        height=GAP + len(bars) * (BAR_HEIGHT + GAP),
    )
