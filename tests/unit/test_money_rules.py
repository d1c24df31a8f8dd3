"""The money chain's rule data and arithmetic, worked by hand (issue 17).

Every figure below is computed in the comment beside it: integer yen, the share in
basis points (2300 = 23%), charges at 1095 basis points a year on 365 days, i.e.
0.0003 yen per yen per day, summed exactly and rounded down once.
"""

from __future__ import annotations

from datetime import date

import pytest

from adapters.inputs.rule_files import load_rule, load_rules
from domain.confirmation import (
    Repayment,
    Tranche,
    additional_charge,
    attribute,
    late_charge,
    premium_share_capped_per_use,
)
from domain.errors import Refused
from domain.glossary import is_labelled_hypothesis
from domain.money_rules import (
    ChainScheduleParameters,
    PermittedUsesParameters,
    PremiumShareParameters,
    RefundChargesParameters,
)

SHARE = 2300


def uses(rule_id: str) -> PermittedUsesParameters:
    return load_rule(rule_id).money_parameters(PermittedUsesParameters)


def charges() -> RefundChargesParameters:
    return load_rule("refund_charges@1").money_parameters(RefundChargesParameters)


def confirmed(rule_id: str, spent: dict[str, int], decided: dict[str, int]) -> dict:
    lines = premium_share_capped_per_use(spent, decided, uses(rule_id), SHARE)
    return {line.use: line.confirmed_yen for line in lines}


def test_promotion_fy2018_2019_funds_the_premium_share_of_community_support() -> None:
    # 総合事業 1,000,000 × 23% = 230,000 (decided 300,000: not capped);
    # 市町村特別給付 100,000 × 23% = 23,000; 一般会計 is not a use before FY2020: 0.
    assert confirmed(
        "promotion_municipal_uses@1",
        {
            "comprehensive_program": 1_000_000,
            "special_benefits": 100_000,
            "general_account_prevention": 500_000,
        },
        {"comprehensive_program": 300_000, "special_benefits": 50_000},
    ) == {
        "comprehensive_program": 230_000,
        "special_benefits": 23_000,
        "general_account_prevention": 0,
    }


def test_promotion_from_fy2020_also_funds_general_account_prevention_in_full() -> None:
    # 一般会計 300,000 in full [hypothesis], capped per use by the decided 250,000.
    assert confirmed(
        "promotion_municipal_uses@2",
        {"general_account_prevention": 300_000, "health_welfare_projects": 100_000},
        {"general_account_prevention": 250_000, "health_welfare_projects": 100_000},
    ) == {"general_account_prevention": 250_000, "health_welfare_projects": 23_000}


def test_effort_support_funds_prevention_only_and_rounds_the_share_down() -> None:
    # 包括的支援事業・任意事業: not permitted → 0 although decided;
    # 充実分 1,000,001 × 23% = 230,000.23 → 230,000 (floor to the yen).
    assert confirmed(
        "effort_support_municipal_uses@1",
        {
            "comprehensive_support_and_optional": 1_000_000,
            "comprehensive_support_enhanced": 1_000_001,
        },
        {
            "comprehensive_support_and_optional": 100_000,
            "comprehensive_support_enhanced": 500_000,
        },
    ) == {
        "comprehensive_support_and_optional": 0,
        "comprehensive_support_enhanced": 230_000,
    }


def test_prefectural_tiers_fund_their_programmes_in_full() -> None:
    # 推進: 1,500,000 spent, decided 2,000,000 → 1,500,000.
    assert confirmed(
        "promotion_prefectural_uses@1",
        {"municipal_support_programmes": 1_500_000},
        {"municipal_support_programmes": 2_000_000},
    ) == {"municipal_support_programmes": 1_500_000}
    # 支援: prevention support 800,000 (decided 600,000 → 600,000); other support 0.
    assert confirmed(
        "effort_support_prefectural_uses@1",
        {"prevention_support_programmes": 800_000, "municipal_support_programmes": 1},
        {"prevention_support_programmes": 600_000},
    ) == {"prevention_support_programmes": 600_000, "municipal_support_programmes": 0}


def test_one_uses_rule_per_grant_tier_and_year() -> None:
    rules = [r for r in load_rules().values() if r.kind == "permitted_uses"]
    for year in range(2018, 2027):
        for grant in ("promotion", "effort_support"):
            for tier in ("municipal", "prefectural"):
                found = [
                    r.id
                    for r in rules
                    if r.in_force(year)
                    and (p := r.money_parameters(PermittedUsesParameters)).grant
                    == grant
                    and p.tier == tier
                ]
                # 支援 begins in FY2020.
                expected = 0 if grant == "effort_support" and year < 2020 else 1
                assert len(found) == expected, (year, grant, tier, found)


def test_every_money_rule_item_names_its_basis_and_hypotheses_say_so() -> None:
    for rule in load_rules().values():
        if rule.kind not in {"permitted_uses", "premium_share", "refund_charges"}:
            continue
        parameters = rule.parameters
        items = (
            [*parameters.uses, *parameters.not_permitted]
            if isinstance(parameters, PermittedUsesParameters)
            else parameters.periods  # type: ignore[union-attr]
        )
        assert {i.basis for i in items} <= {"seed", "published", "hypothesis"}
        if any(i.basis == "hypothesis" for i in items) and rule.status == "confirmed":
            assert "HYPOTHESIS" in rule.description, rule.id
    assert is_labelled_hypothesis(load_rule("grant_chain_schedule@1").label)


def test_the_premium_share_is_dated_data() -> None:
    share = load_rule("premium_share@1").money_parameters(PremiumShareParameters)
    by_year = {
        year: (p.share_bp, p.basis) if (p := share.period_for(year)) else None
        for year in (2018, 2020, 2021, 2024, 2026, 2027)
    }
    assert by_year == {
        2018: (2300, "published"),
        2020: (2300, "published"),
        2021: (2300, "hypothesis"),
        2024: (2300, "hypothesis"),
        2026: (2300, "hypothesis"),
        2027: None,
    }


def test_the_schedule_gives_the_window_and_the_report_due_date() -> None:
    schedule = load_rule("grant_chain_schedule@1").money_parameters(
        ChainScheduleParameters
    )
    # 60 days from the 内示 of 2020-05-15, both ends included: to 2020-07-13.
    assert schedule.application_window(date(2020, 5, 15)) == (
        date(2020, 5, 15),
        date(2020, 7, 13),
    )
    assert schedule.report_due(2020) == date(2021, 4, 10)


def test_a_refund_is_taken_from_the_latest_receipts_first() -> None:
    receipts = [
        Tranche(received_on=date(2021, 4, 1), amount_yen=600_000),
        Tranche(received_on=date(2021, 7, 1), amount_yen=400_000),
    ]
    assert attribute(500_000, receipts) == (
        Tranche(received_on=date(2021, 4, 1), amount_yen=100_000),
        Tranche(received_on=date(2021, 7, 1), amount_yen=400_000),
    )
    with pytest.raises(Refused, match="exceeds the 1,000,000 received"):
        attribute(1_000_001, receipts)


def test_additional_charge_with_two_receipts_and_a_partial_repayment() -> None:
    # Parts: 100,000 received 2021-04-01 and 400,000 received 2021-07-01.
    # 2021-09-30: 200,000 repaid, earliest part first: all of the first part and
    # 100,000 of the second; 2021-10-31: the other 300,000.
    #   100,000 × 0.0003 × 183 days (04-01 … 09-30) =  5,490
    #   100,000 × 0.0003 ×  92 days (07-01 … 09-30) =  2,760
    #   300,000 × 0.0003 × 123 days (07-01 … 10-31) = 11,070
    #                                                  19,320
    tranches = (
        Tranche(received_on=date(2021, 4, 1), amount_yen=100_000),
        Tranche(received_on=date(2021, 7, 1), amount_yen=400_000),
    )
    repayments = [
        Repayment(paid_on=date(2021, 9, 30), amount_yen=200_000),
        Repayment(paid_on=date(2021, 10, 31), amount_yen=319_320),
    ]
    assert (
        additional_charge(tranches, repayments, charges(), date(2021, 10, 31)) == 19_320
    )
    # Unpaid: the whole 500,000 accrues to the day asked.
    #   100,000 × 0.0003 × 30 (04-01 … 04-30) = 900; the July part not yet received
    #   would accrue nothing before 07-01.
    early = additional_charge(tranches[:1], [], charges(), date(2021, 4, 30))
    assert early == 900


def test_late_charge_runs_from_the_day_after_the_deadline_on_the_unpaid_part() -> None:
    # 100,000 due 2021-06-30; 40,000 paid on 06-20 (on time, no charge); 60,000 on
    # 07-10: 60,000 × 0.0003 × 10 days (07-01 … 07-10) = 180.
    repayments = [
        Repayment(paid_on=date(2021, 6, 20), amount_yen=40_000),
        Repayment(paid_on=date(2021, 7, 10), amount_yen=60_000),
    ]
    assert (
        late_charge(100_000, date(2021, 6, 30), repayments, charges(), date(2022, 1, 1))
        == 180
    )


def test_a_leap_day_counts_as_a_day_of_a_365_day_year() -> None:
    # 365,000 due 2024-02-28, paid 2024-03-01: 02-29 and 03-01, 2 days:
    # 365,000 × 1095 × 2 / (10,000 × 365) = 219.
    paid = [Repayment(paid_on=date(2024, 3, 1), amount_yen=365_000)]
    assert (
        late_charge(365_000, date(2024, 2, 28), paid, charges(), date(2024, 3, 1))
        == 219
    )


def test_a_charge_is_rounded_down_to_the_yen() -> None:
    # 33,333 × 1095 × 1 / 3,650,000 = 9.9999 → 9 (never rounded up to 10).
    paid = [Repayment(paid_on=date(2021, 7, 1), amount_yen=33_333)]
    assert (
        late_charge(33_333, date(2021, 6, 30), paid, charges(), date(2021, 7, 1)) == 9
    )


def test_no_charge_before_the_rates_first_date() -> None:
    # The rate's period begins 2018-04-01: a day before it accrues nothing.
    rule = charges()
    assert rule.rate_on(date(2018, 3, 31)) == 0
    assert rule.rate_on(date(2018, 4, 1)) == 1095


def test_rate_days_sums_each_day_of_each_rate_period() -> None:
    # Two periods: 1,095 bp to 2021-12-31, then 730 bp. 2021-12-30 … 2022-01-02 is
    # 2 days at 1,095 and 2 at 730: 2 × 1,095 + 2 × 730 = 3,650. A span reversed
    # is empty, and every span equals the day-by-day sum.
    from datetime import timedelta

    from domain.confirmation import rate_days
    from domain.money_rules import RatePeriod

    rule = charges().model_copy(
        update={
            "periods": (
                RatePeriod(
                    valid_from=date(2018, 4, 1),
                    valid_to=date(2021, 12, 31),
                    rate_bp=1095,
                    basis="hypothesis",
                    source="test",
                ),
                RatePeriod(
                    valid_from=date(2022, 1, 1),
                    rate_bp=730,
                    basis="hypothesis",
                    source="test",
                ),
            )
        }
    )
    assert rate_days(rule, date(2021, 12, 30), date(2022, 1, 2)) == 3_650
    assert rate_days(rule, date(2022, 1, 2), date(2021, 12, 30)) == 0
    first = date(2018, 1, 1)
    for length in (0, 1, 90, 1_400, 2_000):
        last = first + timedelta(days=length)
        by_day = sum(rule.rate_on(first + timedelta(days=n)) for n in range(length + 1))
        assert rate_days(rule, first, last) == by_day
