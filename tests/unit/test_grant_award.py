"""`GrantAward`'s guards and figures, in memory (issue 17); amounts worked by hand."""

from __future__ import annotations

from datetime import date

import pytest

from domain.confirmation import ConfirmedUse, Tranche
from domain.errors import Refused
from domain.grant_award import Evidence, GrantAward

DAY = date(2020, 7, 31)
PROOF = (Evidence(name="a.pdf", sha256="a" * 64),)


def decided(amount: int = 1_000) -> GrantAward:
    award = GrantAward.open(
        "133058", "insurer", "日の出町", ("133051",), 2020, "promotion", "municipal"
    )
    award.apply(
        {"comprehensive_program": amount},
        amount,
        "run-p",
        "uses@2",
        (date(2020, 5, 15), date(2020, 7, 13)),
        date(2020, 5, 20),
        "insurer:133058",
    )
    award.decide(
        {"comprehensive_program": amount}, amount, "run-d", None, DAY, "ministry:a"
    )
    return award


def confirm(award: GrantAward, amount: int) -> None:
    line = ConfirmedUse(
        use="comprehensive_program",
        permitted=True,
        funding="premium_share",
        spent_yen=amount * 100 // 23,
        share_bp=2300,
        fundable_yen=amount,
        decided_yen=award.decided_yen,
        confirmed_yen=min(amount, award.decided_yen),
    )
    award.confirm((line,), "f", ("r",), (2300, "published"), DAY, "ministry:a")


def test_a_cancellation_before_the_confirmation_caps_what_is_kept() -> None:
    # Decided 1,000, paid 1,000; 200 cancelled before the confirmation → kept 800,
    # 200 ordered back. The confirmation finds 900 fundable: kept stays
    # min(900, 1,000 − 200) = 800, so nothing more is due (not 100 more).
    award = decided()
    award.pay(DAY, 1_000, "bank", DAY, "ministry:a")
    award.cancel(200, "change_of_circumstances", "事情変更", "L§10", DAY, "ministry:a")
    assert award.entitled_yen == 800
    award.order_refund(
        "change_of_circumstances", (Tranche(received_on=DAY, amount_yen=200),),
        DAY, "L§18①", DAY, "ministry:a",
    )  # fmt: skip
    award.report_spending({"comprehensive_program": 4_000}, PROOF, DAY, DAY, "x:y")
    confirm(award, 900)
    assert (award.entitled_yen, award.refund_due_yen) == (800, 0)
    with pytest.raises(Refused, match="nothing to refund"):
        award.order_refund("confirmation", (), DAY, "L§18②", DAY, "ministry:a")


def test_a_cancellation_after_the_confirmation_comes_off_the_confirmed_amount() -> None:
    # Confirmed 700 of 1,000 paid: 300 due; then 100 cancelled for a breach: kept
    # 600, due 400 (of which 300 may already be ordered).
    award = decided()
    award.pay(DAY, 1_000, "bank", DAY, "ministry:a")
    award.report_spending({"comprehensive_program": 1}, PROOF, DAY, DAY, "x:y")
    confirm(award, 700)
    assert award.refund_due_yen == 300
    award.order_refund("confirmation", (), DAY, "L§18②", DAY, "ministry:a")
    award.cancel(100, "breach", "目的外使用", "L§17①", DAY, "ministry:a")
    assert (award.entitled_yen, award.ordered_yen, award.refund_due_yen) == (
        600,
        300,
        100,
    )
    with pytest.raises(Refused, match="exceeds the 600 yen"):
        award.cancel(601, "breach", "目的外使用", "L§17①", DAY, "ministry:a")


def test_the_steps_keep_their_order() -> None:
    award = decided()
    with pytest.raises(Refused, match="no 実績報告 yet"):
        confirm(award, 1)
    with pytest.raises(Refused, match="already decided"):
        award.apply({}, 0, "r", "u", (DAY, DAY), DAY, "insurer:133058")
    with pytest.raises(Refused, match="only when applied"):
        award.return_for_correction("x", DAY, "ministry:a")
    with pytest.raises(Refused, match="precedes the decision"):
        award.pay(date(2020, 7, 30), 1, "bank", DAY, "ministry:a")
    award.pay(DAY, 400, "bank", DAY, "ministry:a")
    with pytest.raises(Refused, match="exceeds the 600 yen still due"):
        award.pay(DAY, 601, "bank", DAY, "ministry:a")
    with pytest.raises(Refused, match="has been paid"):
        award.withdraw("x", DAY, DAY, "insurer:133058")
    award.report_spending({"comprehensive_program": 1}, PROOF, DAY, DAY, "x:y")
    confirm(award, 1)
    with pytest.raises(Refused, match="its report can no longer change"):
        award.report_spending({"comprehensive_program": 2}, PROOF, DAY, DAY, "x:y")


def test_a_report_after_its_due_date_is_recorded_and_flagged_late() -> None:
    award = decided()
    due = date(2021, 4, 10)
    award.report_spending({"comprehensive_program": 1}, PROOF, due, due, "x:y")
    assert award.report is not None
    assert award.report.late is False
    award.report_spending(
        {"comprehensive_program": 1}, PROOF, due, date(2021, 4, 11), "x:y"
    )
    assert award.report.late is True


def test_a_second_order_is_taken_from_what_the_first_left_of_the_receipts() -> None:
    # Received 600 on 08-01 and 400 on 10-01. A first order of 300 takes 300 of
    # the latest (10-01), leaving 100 there; a second of 250 takes that 100 and
    # 150 of 08-01. So 加算金 of the second runs from those days.
    from domain.awarding import _receipts
    from domain.confirmation import attribute

    award = decided()
    first, second = date(2020, 8, 1), date(2020, 10, 1)
    award.pay(first, 600, "bank", second, "ministry:a")
    award.pay(second, 400, "bank", second, "ministry:a")
    award.cancel(300, "breach", "x", "L§17①", second, "ministry:a")
    award.order_refund(
        "breach", attribute(300, _receipts(award)), second, "b", second, "ministry:a"
    )
    assert award.orders[0].tranches == (Tranche(received_on=second, amount_yen=300),)
    assert _receipts(award) == [
        Tranche(received_on=first, amount_yen=600),
        Tranche(received_on=second, amount_yen=100),
    ]
    assert attribute(250, _receipts(award)) == (
        Tranche(received_on=first, amount_yen=150),
        Tranche(received_on=second, amount_yen=100),
    )
