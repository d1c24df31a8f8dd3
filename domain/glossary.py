"""The project's words, each defined once: labels, 和暦, the hypothesis label, JST.

Everything here is a name people read (docs/DOMAIN.md §9 of the shared docs): the
Japanese labels of the phases, tiers and grants; the 和暦 eras that years are shown
in; the label that marks a modelling hypothesis, with each of its renderings derived
from it; and Japan's time zone, in which every rule's date is judged.
`tests/unit/test_glossary.py` fails if another module defines one of them again.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
"""Japan Standard Time: the zone of every date a rule compares (`domain.clock`)."""

# ------------------------------------------------------------- Japanese labels

PHASE_JA = {
    "reference": "参考値",
    "expected": "交付見込額",
    "provisional": "内示",
    "decision": "交付決定",
    "settlement": "額の確定",
}
"""The phases of a grant year's cycle (`domain.programme.PHASES`)."""

TIER_JA = {"municipal": "市町村分", "prefectural": "都道府県分"}
"""The tiers a budget is split into."""

GRANT_JA = {
    "promotion": "保険者機能強化推進交付金",
    "effort_support": "介護保険保険者努力支援交付金",
}
"""The two grants, by their full names."""

ADJUSTMENT_JA = {
    "refund": "返還",
    "additional": "追加交付",
    "settle_next_year": "翌年度に精算",
}
"""What a settlement's adjustment becomes (`AllocationRun` Adjustment)."""
GRANT_SHORT = {"promotion": "推進", "effort_support": "支援"}
"""The two grants, as tables and workbooks abbreviate them."""

# ------------------------------------------------------------------------ 和暦

ERAS = (("令和", 2019), ("平成", 1989))
"""Era name and the fiscal year of its first year (元年度), newest first.

令和 began on 1 May 2019 and 平成 on 8 January 1989: each within the fiscal year
named (April to March), which is that era's 元年度.
"""


def era(year: int) -> str:
    """A fiscal year in 和暦: 2019 -> '令和元年度', 2020 -> '令和2年度'.

    The first year of an era is 元; a year before every era in the table is shown in
    the oldest one.
    """
    name, first = next(((n, f) for n, f in ERAS if year >= f), ERAS[-1])
    number = year - first + 1
    return f"{name}{'元' if number == 1 else number}年度"


# -------------------------------------------------------------- the hypothesis

HYPOTHESIS_JA = "仮説"
HYPOTHESIS_EN = "HYPOTHESIS"
"""The label of a modelling hypothesis (not a published official rule), each language.

Every rendering below is built from these two words.
"""

HYPOTHESIS_MARKS = (HYPOTHESIS_JA, HYPOTHESIS_EN)
"""One of these must appear in the label of a rule whose status is hypothesis."""

HYPOTHESIS_BADGE = f"【{HYPOTHESIS_JA} {HYPOTHESIS_EN}】"
"""The badge the web pages put beside a hypothesis: 【仮説 HYPOTHESIS】."""

HYPOTHESIS_NOTE = (
    f"{HYPOTHESIS_EN} ({HYPOTHESIS_JA}): this run uses a rule that is not the "
    "published official formula; see its label and reference."
)
"""The note printed and served with the runs that use a hypothesis (English first)."""

HYPOTHESIS_METHOD_JA = (
    f"{HYPOTHESIS_JA}（{HYPOTHESIS_EN}）: 公表されていない算定式による試算"
)
"""The method column and note of the national tables (Japanese first)."""


COUNTERFACTUAL_JA = "反実仮想"
COUNTERFACTUAL_EN = "COUNTERFACTUAL"
COUNTERFACTUAL_BADGE = f"【{COUNTERFACTUAL_JA} {COUNTERFACTUAL_EN}】"
"""The label of a rule applied, on request, to a year outside its valid years
(`kofu what-if --rule R --counterfactual`): never what the ministry did that year."""


def is_labelled_hypothesis(label: str) -> bool:
    """Whether a label says it is a hypothesis (仮説 or HYPOTHESIS)."""
    return any(mark in label for mark in HYPOTHESIS_MARKS)
