"""How the pages show years, amounts and times (Jinja filters).

Amounts are integer yen: shown with separators, or in 千円 where tables are long
(exact: a remainder below 1,000 yen is shown after the point, never rounded away).
Years are shown as 和暦 with the Western fiscal year, e.g. 令和2年度 (FY2020).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from jinja2 import Environment

from adapters.reports.output import templates
from domain.glossary import GRANT_JA, HYPOTHESIS_BADGE, JST, PHASE_JA, TIER_JA, era


def yen(amount: int | None) -> str:
    """1234567 -> '1,234,567 円'."""
    return "—" if amount is None else f"{amount:,} 円"


def sen(amount: int | None) -> str:
    """1234567 -> '1,234.567' (千円); 1234000 -> '1,234'."""
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    thousands, rest = divmod(abs(amount), 1000)
    return f"{sign}{thousands:,}" + (f".{rest:03d}" if rest else "")


def year_label(year: int) -> str:
    """2020 -> '令和2年度 (FY2020)'."""
    return f"{era(year)} (FY{year})"


def japan_time(value: object) -> str:
    """An ISO time (or datetime) shown in Japan time with its offset."""
    moment = (
        value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    )
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S JST")


@cache
def environment() -> Environment:
    """The shipped templates with the page filters and labels."""
    env = templates()
    env.filters |= {
        "yen": yen,
        "sen": sen,
        "year_label": year_label,
        "japan_time": japan_time,
    }
    env.globals |= {
        "grant_ja": GRANT_JA,
        "phase_ja": PHASE_JA,
        "tier_ja": TIER_JA,
        "HYPOTHESIS": HYPOTHESIS_BADGE,
    }
    return env
