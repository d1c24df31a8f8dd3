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
    "settlement": "精算",
}
"""The phases of a grant year's cycle (`domain.programme.PHASES`). `settlement` is
the 精算 of the allocation after late corrections; 額の確定 (L§15) is the money
chain's `confirmation` (`AWARD_STEP_JA`)."""

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

AWARD_STEP_JA = {
    "provisional": "内示額",
    "application": "交付申請",
    "return": "差戻し",
    "decision": "交付決定",
    "withdrawal": "取下げ",
    "payment": "交付",
    "report": "実績報告",
    "confirmation": "額の確定",
    "cancellation": "取消",
    "refund_order": "返還命令",
    "refund": "返還",
}
"""The steps of the money chain after the allocation (`domain.grant_award`)."""

AWARD_STATUS_JA = {
    "applied": "申請中",
    "returned": "差戻し",
    "decided": "交付決定",
    "withdrawn": "取下げ",
}
"""Where a recipient's application stands."""

REFUND_CAUSE_JA = {
    "confirmation": "額の確定による返還（適正化法第18条第2項）",
    "breach": "取消（違反）による返還（同法第17条第1項・第18条第1項、加算金）",
    "change_of_circumstances": "取消（事情変更）による返還（同法第10条・第18条第1項）",
}
"""Why a refund was ordered, with its articles of 適正化法 (docs/MONEY-CHAIN.md)."""

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


MONEY_CHAIN_NOTE = (
    f"{HYPOTHESIS_JA} {HYPOTHESIS_EN}: the municipal tier's recipient is the insurer "
    "(保険者番号), summing its member municipalities' amounts in the runs; 額の確定 "
    "uses premium_share_capped_per_use (第1号保険料相当部分 of permitted spending, "
    "capped per use by the decision); 加算金・延滞金 day count and rounding are "
    "hypotheses (docs/MONEY-CHAIN.md)."
)
"""The note printed and served with every statement of the money chain."""


COUNTERFACTUAL_JA = "反実仮想"
COUNTERFACTUAL_EN = "COUNTERFACTUAL"
COUNTERFACTUAL_BADGE = f"【{COUNTERFACTUAL_JA} {COUNTERFACTUAL_EN}】"
"""The label of a rule applied, on request, to a year outside its valid years
(`kofu what-if --rule R --counterfactual`): never what the ministry did that year."""


def is_labelled_hypothesis(label: str) -> bool:
    """Whether a label says it is a hypothesis (仮説 or HYPOTHESIS)."""
    return any(mark in label for mark in HYPOTHESIS_MARKS)
