"""The money chain after the allocation (issue 17), through `kofu grant`, both backends.

The world (tests/support/money.py): 日の出町 (insurer 133058), a union of 檜原村 and
奥多摩町 (139907) and 東京都, with FY2020 provisional and decision runs of given
amounts. Every rule is the shipped one: the 第1号保険料 share of FY2020 is 23%
(`premium_share@1`, published period), 加算金 and 延滞金 10.95% a year on 365 days
(`refund_charges@1`), applications from the 内示 (2020-05-15) for 60 days, reports
due 2021-04-10, refunds due 30 days after the order (`grant_chain_schedule@1`).

The story, every figure by hand:

日の出町 (133058), 推進 市町村分, provisional 1,000,000:
  applies 総合事業 600,000 + 保健福祉事業 400,000 = 1,000,000 (≤ 1,000,000); decided as
  applied (≤ the decision run's 1,000,000); paid 1,000,000 on 2020-08-01.
  Report (on time, 2021-04-05): 総合事業 2,000,000; 保健福祉事業 2,000,000; 保険給付費
  5,000,000 (not a permitted use).
    総合事業:     2,000,000 × 23% = 460,000, decided 600,000 → 460,000
    保健福祉事業: 2,000,000 × 23% = 460,000, decided 400,000 → 400,000 (cap per use)
    保険給付費:   not permitted → 0 (decided 0)
  confirmed 860,000; refund ordered 1,000,000 − 860,000 = 140,000, deadline 2021-06-30.
  Paid back on 2021-07-30, 30 days late (07-01 … 07-30): 延滞金 = 140,000 × 10.95% ×
  30 / 365 = 140,000 × 0.0003 × 30 = 1,260; payable 141,260 (141,261 is refused).

Union (139907), 支援 市町村分, provisional 200,000 + 250,000 = 450,000:
  a member (檜原村) applies 総合事業 300,000 + 包括的支援事業（充実分） 200,000 = 500,000:
  refused (> 450,000); applies 300,000 + 150,000, returned (差戻し), applies again the
  same; decided amended to 300,000 + 100,000 (a reason given); paid 400,000 on
  2020-08-01. Report late (2021-04-20 > 2021-04-10): 1,000,000 each.
    総合事業:     1,000,000 × 23% = 230,000, decided 300,000 → 230,000
    充実分:       1,000,000 × 23% = 230,000, decided 100,000 → 100,000
  confirmed 330,000; refund 400,000 − 330,000 = 70,000 ordered 2021-06-01, deadline
  (default) 2021-07-01; 50,000 paid back on 2021-06-15 (on time); 20,000 outstanding.
  On 2021-08-02 its 延滞金 stands at 20,000 × 0.0003 × 32 days (07-02 … 08-02) = 192.

東京都 (130001), 推進 都道府県分, provisional 2,000,000 (funded in full):
  applies 市町村支援事業 2,000,000; decided; paid 1,200,000 on 2020-08-03 and 800,000
  on 2020-10-01. Report 2,500,000 → fundable 2,500,000, capped → confirmed 2,000,000;
  nothing to refund. On 2021-07-01 500,000 is cancelled for a breach (L§17①) after
  the confirmation: kept 1,500,000, refund 500,000 ordered (deadline 2021-07-31),
  taken from the latest receipt (2020-10-01). Paid back on 2021-07-20: 加算金 from
  2020-10-01 to 2021-07-20, both days counted: 31+30+31+31+28+31+30+31+30+20 = 293
  days, 500,000 × 0.0003 × 293 = 43,950; payable 543,950, on time (no 延滞金).

Reconciliation (per recipient, then national):
  kept + ordered = paid:  860,000 + 140,000 = 1,000,000; 330,000 + 70,000 = 400,000;
                          1,500,000 + 500,000 = 2,000,000; Σ 2,690,000 + 710,000 = 3,400,000
  received + outstanding = ordered: 140,000 + 0; 50,000 + 20,000; 500,000 + 0;
                          Σ 690,000 + 20,000 = 710,000
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.clock import JST, SimulatedClock
from tests.conftest import Kofu
from tests.support.money import (
    HINODE,
    HINODE_INSURER,
    OKUTAMA,
    TOKYO,
    UNION,
    load_money_world,
)

YEAR = "2020"
MINISTRY = "ministry:sato"


def grant(kofu: Kofu, step: str, recipient: str, *args: str) -> tuple[int, str]:
    return kofu("grant", step, "-r", recipient, "-y", YEAR, *args)


def ok(kofu: Kofu, step: str, recipient: str, *args: str) -> str:
    code, output = grant(kofu, step, recipient, *args)
    assert code == 0, output
    return output


def evidence(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return f"{path}={hashlib.sha256(text.encode()).hexdigest()}"


def statement(kofu: Kofu, recipient: str) -> dict[str, Any]:
    code, output = kofu("grant", "statement", "-r", recipient, "-y", YEAR, "-f", "json")
    assert code == 0, output
    return json.loads(output)


@pytest.fixture
def world(kofu: Kofu, tmp_path: Path) -> Kofu:
    load_money_world(kofu, tmp_path / "world")
    return kofu


def test_the_chain_golden_story_and_its_reconciliation(
    world: Kofu, clock: SimulatedClock, tmp_path: Path
) -> None:
    kofu = world
    promotion = ("--grant", "promotion")
    support = ("--grant", "effort_support")
    prefectural = ("--grant", "promotion", "--tier", "prefectural")
    hinode = ("--actor", "insurer:133058")
    member = ("--actor", "insurer:133078")  # 檜原村, a member of the union
    tokyo = ("--actor", "prefecture:130001")
    ministry = ("--actor", MINISTRY)

    clock.set_day(date(2020, 5, 20))
    ok(kofu, "apply", HINODE_INSURER, *promotion, *hinode,
       "--use", "comprehensive_program=600000", "--use", "health_welfare_projects=400000")  # fmt: skip
    code, output = grant(kofu, "apply", UNION, *support, *member,
                         "--use", "comprehensive_program=300000",
                         "--use", "comprehensive_support_enhanced=200000")  # fmt: skip
    assert code == 1
    assert "500,000 yen, above the provisional amount of 450,000" in output
    union_uses = ("--use", "comprehensive_program=300000",
                  "--use", "comprehensive_support_enhanced=150000")  # fmt: skip
    ok(kofu, "apply", UNION, *support, *member, *union_uses)
    ok(kofu, "apply", TOKYO, *prefectural, *tokyo, "--use", "municipal_support_programmes=2000000")  # fmt: skip

    clock.set_day(date(2020, 5, 22))
    ok(kofu, "return", UNION, *support, *ministry, "--reason", "事業計画書の添付漏れ")
    clock.set_day(date(2020, 5, 25))
    ok(kofu, "apply", UNION, *support, *member, *union_uses)

    clock.set_day(date(2020, 7, 31))
    ok(kofu, "decide", HINODE_INSURER, *promotion, *ministry)
    code, output = grant(kofu, "decide", UNION, *support, *ministry,
                         "--use", "comprehensive_program=300000",
                         "--use", "comprehensive_support_enhanced=100000")  # fmt: skip
    assert code == 1
    assert "needs a reason" in output
    ok(kofu, "decide", UNION, *support, *ministry,
       "--use", "comprehensive_program=300000",
       "--use", "comprehensive_support_enhanced=100000", "--reason", "充実分の対象経費を精査")  # fmt: skip
    ok(kofu, "decide", TOKYO, *prefectural, *ministry)

    clock.set_day(date(2020, 10, 5))
    ok(kofu, "pay", HINODE_INSURER, *promotion, *ministry, "--paid-on", "2020-08-01", "--amount", "1000000", "--reference", "振込 0801-1")  # fmt: skip
    ok(kofu, "pay", UNION, *support, *ministry, "--paid-on", "2020-08-01", "--amount", "400000", "--reference", "振込 0801-2")  # fmt: skip
    ok(kofu, "pay", TOKYO, *prefectural, *ministry, "--paid-on", "2020-08-03", "--amount", "1200000", "--reference", "振込 0803")  # fmt: skip
    ok(kofu, "pay", TOKYO, *prefectural, *ministry, "--paid-on", "2020-10-01", "--amount", "800000", "--reference", "振込 1001")  # fmt: skip

    clock.set_day(date(2021, 4, 5))
    proof = evidence(tmp_path, "jisseki.pdf", "実績報告書 日の出町")
    ok(kofu, "report", HINODE_INSURER, *promotion, *hinode,
       "--spent", "comprehensive_program=2000000", "--spent", "health_welfare_projects=2000000",
       "--spent", "insurance_benefits=5000000", "--evidence", proof)  # fmt: skip
    ok(kofu, "report", TOKYO, *prefectural, *tokyo,
       "--spent", "municipal_support_programmes=2500000",
       "--evidence", evidence(tmp_path, "tokyo.pdf", "実績報告書 東京都"))  # fmt: skip
    clock.set_day(date(2021, 4, 20))
    ok(kofu, "report", UNION, *support, *member,
       "--spent", "comprehensive_program=1000000",
       "--spent", "comprehensive_support_enhanced=1000000",
       "--evidence", evidence(tmp_path, "union.pdf", "実績報告書 組合"))  # fmt: skip

    clock.set_day(date(2021, 5, 10))
    for recipient, which in ((HINODE_INSURER, promotion), (UNION, support), (TOKYO, prefectural)):  # fmt: skip
        ok(kofu, "confirm", recipient, *which, *ministry)

    clock.set_day(date(2021, 6, 1))
    ok(kofu, "order-refund", HINODE_INSURER, *promotion, *ministry, "--deadline", "2021-06-30")  # fmt: skip
    ok(kofu, "order-refund", UNION, *support, *ministry)
    code, output = grant(kofu, "order-refund", TOKYO, *prefectural, *ministry)
    assert code == 1
    assert "nothing to refund" in output

    clock.set_day(date(2021, 6, 15))
    ok(kofu, "refund-paid", UNION, *support, *ministry, "--order", "1", "--paid-on", "2021-06-15", "--amount", "50000", "--reference", "返納 0615")  # fmt: skip

    clock.set_day(date(2021, 7, 1))
    ok(kofu, "cancel", TOKYO, *prefectural, *ministry, "--amount", "500000",
       "--cause", "breach", "--reason", "市町村支援事業以外（備品購入）への使用",
       "--legal-basis", "適正化法第17条第1項", "--deadline", "2021-07-31")  # fmt: skip

    clock.set_day(date(2021, 8, 2))
    before = kofu.events()
    code, output = grant(kofu, "refund-paid", HINODE_INSURER, *promotion, *ministry, "--order", "1", "--paid-on", "2021-07-30", "--amount", "141261", "--reference", "返納")  # fmt: skip
    assert code == 1
    assert "exceeds the 141,260 yen payable" in output
    assert kofu.events() == before
    ok(kofu, "refund-paid", HINODE_INSURER, *promotion, *ministry, "--order", "1", "--paid-on", "2021-07-30", "--amount", "141260", "--reference", "返納 0730")  # fmt: skip
    code, output = grant(kofu, "refund-paid", TOKYO, *prefectural, *ministry, "--order", "1", "--paid-on", "2021-07-20", "--amount", "543951", "--reference", "返納")  # fmt: skip
    assert code == 1
    assert "exceeds the 543,950 yen payable" in output
    ok(kofu, "refund-paid", TOKYO, *prefectural, *ministry, "--order", "1", "--paid-on", "2021-07-20", "--amount", "543950", "--reference", "返納 0720")  # fmt: skip

    # --- each recipient's statement, by hand
    hinode_chain = statement(kofu, HINODE_INSURER)["chains"][0]
    assert {k: hinode_chain[k] for k in (
        "provisional_yen", "applied_yen", "decided_yen", "paid_yen", "spent_yen",
        "report_late", "confirmed_yen", "kept_yen", "refunds_ordered_yen",
        "refunds_received_yen", "refunds_outstanding_yen", "late_charge_yen",
        "additional_charge_yen", "charges_paid_yen")} == {
        "provisional_yen": 1_000_000, "applied_yen": 1_000_000,
        "decided_yen": 1_000_000, "paid_yen": 1_000_000, "spent_yen": 9_000_000,
        "report_late": False, "confirmed_yen": 860_000, "kept_yen": 860_000,
        "refunds_ordered_yen": 140_000, "refunds_received_yen": 140_000,
        "refunds_outstanding_yen": 0, "late_charge_yen": 1_260,
        "additional_charge_yen": 0, "charges_paid_yen": 1_260}  # fmt: skip
    confirmed = {
        s["use"]: s["amount_yen"]
        for s in statement(kofu, HINODE_INSURER)["steps"]
        if s["step"] == "額の確定"
    }
    assert confirmed == {
        "comprehensive_program": 460_000,
        "health_welfare_projects": 400_000,
        "insurance_benefits": 0,
    }

    union = statement(kofu, UNION)["chains"][0]
    assert union["members"] == "133078 133086"
    assert union["provisional_yen"] == 450_000
    assert union["decision_run_yen"] == 450_000
    assert union["decided_yen"] == 400_000
    assert union["report_late"] is True
    assert union["confirmed_yen"] == 330_000
    assert union["refunds_outstanding_yen"] == 20_000
    assert union["late_charge_yen"] == 192
    assert union["status"] == "交付決定"
    steps = [s["step"] for s in statement(kofu, UNION)["steps"]]
    assert steps.count("差戻し") == 1
    assert steps.count("交付申請") == 4  # two uses, applied twice

    tokyo_chain = statement(kofu, TOKYO)["chains"][0]
    assert tokyo_chain["confirmed_yen"] == 2_000_000
    assert tokyo_chain["cancelled_yen"] == 500_000
    assert tokyo_chain["kept_yen"] == 1_500_000
    assert tokyo_chain["additional_charge_yen"] == 43_950
    assert tokyo_chain["late_charge_yen"] == 0
    assert tokyo_chain["charges_paid_yen"] == 43_950

    # --- reconciliation: per recipient, then the national totals against the hand sums
    chains = [hinode_chain, union, tokyo_chain]
    for chain in chains:
        assert chain["kept_yen"] + chain["refunds_ordered_yen"] == chain["paid_yen"]
        assert (
            chain["refunds_received_yen"] + chain["refunds_outstanding_yen"]
            == chain["refunds_ordered_yen"]
        )
    code, output = kofu("grant", "totals", "-y", YEAR, "-f", "json")
    assert code == 0, output
    totals = json.loads(output)
    assert sum(t["paid_yen"] for t in totals) == 3_400_000
    assert sum(t["kept_yen"] for t in totals) == 2_690_000
    assert sum(t["refunds_ordered_yen"] for t in totals) == 710_000
    assert sum(t["refunds_received_yen"] for t in totals) == 690_000
    assert sum(t["refunds_outstanding_yen"] for t in totals) == 20_000
    assert {(t["grant"], t["tier"]): t["recipients"] for t in totals} == {
        ("effort_support", "municipal"): 1,
        ("promotion", "municipal"): 1,
        ("promotion", "prefectural"): 1,
    }
    code, output = kofu("grant", "statement", "-r", UNION, "-y", YEAR)
    assert code == 0
    assert "額の確定" in output
    assert "仮説 HYPOTHESIS" in output
    for fmt in ("csv", "html"):
        code, output = kofu("grant", "statement", "-r", UNION, "-y", YEAR, "-f", fmt)
        assert code == 0, output
        assert "comprehensive_support_enhanced" in output
    code, output = kofu("grant", "totals", "-y", YEAR, "-f", "csv")
    assert code == 0
    assert output.splitlines()[0].startswith("fiscal_year,grant,grant_ja,tier")


def test_the_bad_input_table_writes_nothing(
    world: Kofu, clock: SimulatedClock, tmp_path: Path
) -> None:
    kofu = world
    promotion = ("--grant", "promotion")
    hinode = ("--actor", "insurer:133058")
    ministry = ("--actor", MINISTRY)
    proof = evidence(tmp_path, "a.pdf", "実績")
    wrong = proof.rsplit("=", 1)[0] + "=" + "0" * 64

    def refused(code: int, message: str, step: str, recipient: str, *args: str) -> None:
        before = kofu.events()
        got, output = grant(kofu, step, recipient, *args)
        assert (got, message in output) == (code, True), output
        assert "Traceback" not in output
        assert kofu.events() == before

    clock.set_day(date(2020, 5, 14))
    refused(1, "outside the FY2020 application window 2020-05-15 to 2020-07-13",
            "apply", HINODE_INSURER, *promotion, *hinode, "--use", "comprehensive_program=1")  # fmt: skip
    clock.set_day(date(2020, 5, 20))
    refused(1, "above the provisional amount of 1,000,000 yen",
            "apply", HINODE_INSURER, *promotion, *hinode, "--use", "comprehensive_program=1000001")  # fmt: skip
    refused(1, "health_welfare_projects is not a permitted use of effort_support",
            "apply", HINODE_INSURER, "--grant", "effort_support", *hinode,
            "--use", "health_welfare_projects=100")  # fmt: skip
    refused(1, "only 133058 itself applies",
            "apply", HINODE_INSURER, *promotion, "--actor", "insurer:133078",
            "--use", "comprehensive_program=1")  # fmt: skip
    refused(2, "the recipient of the municipal tier is an insurer number",
            "apply", "133050", *promotion, *hinode, "--use", "comprehensive_program=1")  # fmt: skip
    ok(kofu, "apply", HINODE_INSURER, *promotion, *hinode, "--use", "comprehensive_program=500000")  # fmt: skip
    ok(kofu, "decide", HINODE_INSURER, *promotion, *ministry)
    refused(1, "no 実績報告 yet", "confirm", HINODE_INSURER, *promotion, *ministry)
    refused(2, "lies after today", "pay", HINODE_INSURER, *promotion, *ministry,
            "--paid-on", "2020-05-21", "--amount", "1", "--reference", "x")  # fmt: skip
    refused(1, "exceeds the 500,000 yen still due", "pay", HINODE_INSURER, *promotion, *ministry,
            "--paid-on", "2020-05-20", "--amount", "500001", "--reference", "x")  # fmt: skip
    refused(2, "unknown use 'mystery_use'", "report", HINODE_INSURER, *promotion, *hinode,
            "--spent", "mystery_use=1", "--evidence", proof)  # fmt: skip
    refused(2, "greater than or equal to 0", "report", HINODE_INSURER, *promotion, *hinode,
            "--spent", "comprehensive_program=-5", "--evidence", proof)  # fmt: skip
    refused(2, "the evidence does not match", "report", HINODE_INSURER, *promotion, *hinode,
            "--spent", "comprehensive_program=5", "--evidence", wrong)  # fmt: skip
    refused(2, "give USE=YEN with an integer amount", "report", HINODE_INSURER, *promotion,
            *hinode, "--spent", "comprehensive_program=1.5", "--evidence", proof)  # fmt: skip
    ok(kofu, "pay", HINODE_INSURER, *promotion, *ministry,
       "--paid-on", "2020-05-20", "--amount", "500000", "--reference", "x")  # fmt: skip
    ok(kofu, "report", HINODE_INSURER, *promotion, *hinode,
       "--spent", "comprehensive_program=1000000", "--evidence", proof)  # fmt: skip
    refused(
        1, "only ministry staff confirm", "confirm", HINODE_INSURER, *promotion, *hinode
    )
    ok(kofu, "confirm", HINODE_INSURER, *promotion, *ministry)
    # 1,000,000 × 23% = 230,000 confirmed of 500,000 paid: 270,000 to order back.
    ok(kofu, "order-refund", HINODE_INSURER, *promotion, *ministry, "--deadline", "2020-06-30")  # fmt: skip
    refused(1, "exceeds the 270,000 yen payable", "refund-paid", HINODE_INSURER, *promotion,
            *ministry, "--order", "1", "--paid-on", "2020-05-20", "--amount", "270001",
            "--reference", "x")  # fmt: skip
    refused(2, "has 1 refund orders, not 2", "refund-paid", HINODE_INSURER, *promotion,
            *ministry, "--order", "2", "--paid-on", "2020-05-20", "--amount", "1",
            "--reference", "x")  # fmt: skip
    refused(1, "already confirmed", "confirm", HINODE_INSURER, *promotion, *ministry)


def test_a_withdrawal_inside_its_period_voids_the_decision(
    world: Kofu, clock: SimulatedClock
) -> None:
    kofu = world
    args = ("--grant", "promotion")
    clock.set_day(date(2020, 5, 20))
    ok(kofu, "apply", UNION, *args, "--actor", "insurer:139907", "--use", "comprehensive_program=780000")  # fmt: skip
    ok(kofu, "apply", UNION, "--grant", "effort_support", "--actor", "insurer:139907", "--use", "comprehensive_program=450000")  # fmt: skip
    clock.set_day(date(2020, 7, 31))
    # The union's decision-run amount is 300,000 + 480,000 = 780,000.
    ok(kofu, "decide", UNION, *args, "--actor", MINISTRY)
    ok(kofu, "decide", UNION, "--grant", "effort_support", "--actor", MINISTRY)
    # The last minute of the 15th day after the decision (JST): still inside.
    clock.set(datetime(2020, 8, 15, 23, 59, tzinfo=JST))
    ok(kofu, "withdraw", UNION, "--grant", "effort_support", "--actor", "insurer:133078", "--reason", "辞退")  # fmt: skip
    clock.set(datetime(2020, 8, 16, 0, 0, tzinfo=JST))  # the period has ended
    code, output = grant(kofu, "withdraw", UNION, *args, "--actor", "insurer:133086", "--reason", "辞退")  # fmt: skip
    assert code == 1
    assert "the withdrawal period ended on 2020-08-15" in output


def test_the_decision_cannot_exceed_the_decision_runs_amount(
    world: Kofu, clock: SimulatedClock
) -> None:
    kofu = world
    args = ("--grant", "promotion")
    clock.set_day(date(2020, 5, 20))
    # Provisional 800,000 (300,000 + 500,000) allows the application...
    ok(kofu, "apply", UNION, *args, "--actor", "insurer:139907", "--use", "comprehensive_program=800000")  # fmt: skip
    clock.set_day(date(2020, 7, 31))
    # ...but the decision run gives the union 780,000: deciding as applied is refused.
    code, output = grant(kofu, "decide", UNION, *args, "--actor", MINISTRY)
    assert code == 1
    assert (
        "above 139907's 780,000 yen in FY2020-promotion-municipal-decision-1" in output
    )
    ok(kofu, "decide", UNION, *args, "--actor", MINISTRY, "--use", "comprehensive_program=780000", "--reason", "交付決定額に合わせ修正")  # fmt: skip
    clock.set_day(date(2020, 8, 10))
    ok(kofu, "withdraw", UNION, *args, "--actor", "insurer:133086", "--reason", "辞退")
    chain = statement(kofu, UNION)["chains"][0]
    assert (chain["status"], chain["decided_yen"]) == ("取下げ", 0)


def test_the_application_window_is_judged_on_the_ledgers_date_in_japan(
    world: Kofu, clock: SimulatedClock
) -> None:
    kofu = world
    args = ("--grant", "promotion", "--actor", "insurer:133058")
    # 2020-05-14 23:59 JST is the day before the 内示: refused, whatever UTC says.
    clock.set(datetime(2020, 5, 14, 23, 59, tzinfo=JST))
    code, output = grant(kofu, "apply", HINODE_INSURER, *args, "--use", "comprehensive_program=1")  # fmt: skip
    assert code == 1
    assert "outside the FY2020 application window" in output
    # The last minute of the window's last day (2020-07-13) is inside.
    clock.set(datetime(2020, 7, 13, 23, 59, tzinfo=JST))
    ok(kofu, "apply", HINODE_INSURER, *args, "--use", "comprehensive_program=1")
    clock.set(datetime(2020, 7, 14, 0, 0, tzinfo=JST))
    code, output = grant(kofu, "apply", UNION, "--grant", "promotion", "--actor", "insurer:139907", "--use", "comprehensive_program=1")  # fmt: skip
    assert code == 1
    assert "2020-05-15 to 2020-07-13" in output


def test_every_step_refuses_the_wrong_role_and_writes_nothing(
    world: Kofu, clock: SimulatedClock
) -> None:
    kofu = world
    clock.set_day(date(2020, 5, 20))
    promotion = ("--grant", "promotion")
    prefectural = ("--grant", "promotion", "--tier", "prefectural")

    def forbidden(message: str, step: str, recipient: str, *args: str) -> None:
        before = kofu.events()
        code, output = grant(kofu, step, recipient, *args)
        assert (code, message in output) == (1, True), output
        assert kofu.events() == before

    use = ("--use", "comprehensive_program=1")
    forbidden("only 133058 itself applies", "apply", HINODE_INSURER, *promotion, "--actor", MINISTRY, *use)  # fmt: skip
    forbidden("only 133058 itself applies", "apply", HINODE_INSURER, *promotion, "--actor", "prefecture:130001", *use)  # fmt: skip
    forbidden("only 139907 itself applies", "apply", UNION, *promotion, "--actor", "insurer:133051", *use)  # fmt: skip
    forbidden("only 130001 itself applies", "apply", TOKYO, *prefectural, "--actor", "insurer:133058", "--use", "municipal_support_programmes=1")  # fmt: skip
    ok(kofu, "apply", HINODE_INSURER, *promotion, "--actor", "insurer:133051", *use)
    forbidden("only ministry staff decide", "decide", HINODE_INSURER, *promotion, "--actor", "insurer:133058")  # fmt: skip
    forbidden("only ministry staff return", "return", HINODE_INSURER, *promotion, "--actor", "prefecture:130001", "--reason", "x")  # fmt: skip
    ok(kofu, "decide", HINODE_INSURER, *promotion, "--actor", MINISTRY)
    forbidden("only ministry staff record payments", "pay", HINODE_INSURER, *promotion, "--actor", "insurer:133058", "--paid-on", "2020-05-20", "--amount", "1", "--reference", "x")  # fmt: skip
    forbidden("only 133058 itself reports", "report", HINODE_INSURER, *promotion, "--actor", MINISTRY, "--spent", "comprehensive_program=1", "--evidence", f"{__file__}={hashlib.sha256(Path(__file__).read_bytes()).hexdigest()}")  # fmt: skip
    forbidden("only ministry staff cancel", "cancel", HINODE_INSURER, *promotion, "--actor", "insurer:133058", "--amount", "1", "--cause", "breach", "--reason", "x", "--legal-basis", "y")  # fmt: skip
    forbidden("only 133058 itself withdraws", "withdraw", HINODE_INSURER, *promotion, "--actor", "insurer:133078", "--reason", "x")  # fmt: skip


def test_a_repeated_payment_with_its_key_records_nothing(
    world: Kofu, clock: SimulatedClock
) -> None:
    kofu = world
    args = ("--grant", "promotion")
    clock.set_day(date(2020, 5, 20))
    ok(kofu, "apply", HINODE_INSURER, *args, "--actor", "insurer:133058", "--use", "comprehensive_program=1000000")  # fmt: skip
    ok(kofu, "decide", HINODE_INSURER, *args, "--actor", MINISTRY)
    pay = ("pay", HINODE_INSURER, *args, "--actor", MINISTRY, "--paid-on", "2020-05-20", "--reference", "振込", "--idempotency-key", "pay-1")  # fmt: skip
    ok(kofu, *pay, "--amount", "600000")
    before = kofu.events()
    assert "nothing new" in ok(kofu, *pay, "--amount", "600000")
    assert kofu.events() == before
    code, output = grant(kofu, *pay, "--amount", "600001")
    assert code == 1
    assert "already used for a different command" in output
    assert statement(kofu, HINODE_INSURER)["chains"][0]["paid_yen"] == 600_000


def test_racing_payments_never_pay_more_than_was_decided(
    world: Kofu, clock: SimulatedClock
) -> None:
    # Decided 1,000,000; four writers, each on its own ledger (connection), pay
    # 400,000 at once: two succeed, two are refused, paid is 800,000.
    import threading

    from adapters.storage.bootstrap import open_ledger
    from domain.commands import RecordGrantPayment
    from domain.errors import Refused

    kofu = world
    args = ("--grant", "promotion")
    clock.set_day(date(2020, 5, 20))
    ok(kofu, "apply", HINODE_INSURER, *args, "--actor", "insurer:133058", "--use", "comprehensive_program=1000000")  # fmt: skip
    ok(kofu, "decide", HINODE_INSURER, *args, "--actor", MINISTRY)
    ledgers = [open_ledger(kofu.url) for _ in range(4)]
    start = threading.Barrier(len(ledgers))
    outcomes: list[str] = []

    def pay(index: int) -> None:
        command = RecordGrantPayment(
            recipient=HINODE_INSURER,
            grant_year=2020,
            grant="promotion",
            tier="municipal",
            actor=MINISTRY,
            paid_on=date(2020, 5, 20),
            amount_yen=400_000,
            reference=f"振込 {index}",
        )
        start.wait()
        try:
            ledgers[index].record_grant_payment(command)
            outcomes.append("paid")
        except Refused as error:
            outcomes.append("refused" if "exceeds" in error.message else str(error))

    threads = [threading.Thread(target=pay, args=(i,)) for i in range(len(ledgers))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for ledger in ledgers:
            ledger.close()
    assert sorted(outcomes) == ["paid", "paid", "refused", "refused"]
    assert statement(kofu, HINODE_INSURER)["chains"][0]["paid_yen"] == 800_000


def test_explain_finds_the_chain_an_entitys_amount_went_to(
    world: Kofu, clock: SimulatedClock
) -> None:
    # 奥多摩町 (133086) is a member of the union: its amount goes to 139907's chain.
    from io import StringIO

    from rich.console import Console

    from adapters.cli.explain import _print_chain
    from adapters.queries.money import chain_of_entity
    from adapters.storage.bootstrap import open_ledger

    kofu = world
    clock.set_day(date(2020, 5, 20))
    ok(kofu, "apply", UNION, "--grant", "effort_support", "--actor", "insurer:133086", "--use", "comprehensive_program=450000")  # fmt: skip
    opened = open_ledger(kofu.url)
    try:
        chain = chain_of_entity(opened, "133086", 2020, "effort_support")
        assert chain is not None
        assert (chain.recipient, chain.applied_yen) == (UNION, 450_000)
        assert chain_of_entity(opened, "133086", 2020, "promotion") is None
    finally:
        opened.close()
    console = Console(file=StringIO(), width=200)
    _print_chain(console, chain)
    printed = console.file.getvalue()  # type: ignore[attr-defined]
    assert "139907" in printed
    assert "交付申請 450,000" in printed


def test_the_entity_page_lists_the_chain_its_amount_went_to(
    world: Kofu, clock: SimulatedClock
) -> None:
    # 奥多摩町 (133086), a member of the union 139907: its page lists the union's
    # chain with the amounts the ledger holds; 日の出町's lists none yet. (This
    # world's runs are recorded with given amounts and no answers, so the page's
    # explanations cannot be drawn here; tests/e2e/test_web_pages.py draws pages.)
    from adapters.storage.bootstrap import open_ledger
    from adapters.web.entity import chains

    kofu = world
    clock.set_day(date(2020, 5, 20))
    ok(kofu, "apply", UNION, "--grant", "effort_support", "--actor", "insurer:133086", "--use", "comprehensive_program=450000")  # fmt: skip
    opened = open_ledger(kofu.url)
    try:
        (shown,) = chains(opened, OKUTAMA, 2020)
        assert (shown["recipient"], shown["grant"]) == (UNION, "effort_support")
        assert shown["applied_yen"] == 450_000
        assert OKUTAMA in shown["members"]
        assert chains(opened, HINODE, 2020) == []
    finally:
        opened.close()
