"""Worlds worked out by hand: small catalogues whose points a test computes itself.

Shared by tests/e2e/test_hand_worked.py and tests/integration/test_formula_kinds.py.
"""

from __future__ import annotations


def catalogue_yaml(
    tier: str,
    items: dict[str, tuple[int, int]],
    used_by: str = "tests/e2e/test_hand_worked.py",
) -> str:
    """A one-section catalogue of checkbox items: code → (promotion, 支援) points."""
    promotion = sum(p for p, _ in items.values())
    support = sum(s for _, s in items.values())
    indicators = "".join(
        f"""
          - code: {code[:-2]}
            title: 手計算検証用の指標 {code[:-2]}
            evaluated_period: FY2019
            max_points: {{promotion: {p}, effort_support: {s}}}
            sub_items:
              - code: {code}
                title: 手計算検証用の設問 {code}
                kind: checkbox
                points: {{promotion: {p}, effort_support: {s}}}"""
        for code, (p, s) in items.items()
    )
    return f"""\
# A hand-worked test catalogue (illustrative: true): checkbox items only, points
# chosen so that {used_by} computes by hand. Not a published table.
kind: catalogue
grant_year: 2020
tier: {tier}
version: 1
structure: sections
title: 令和2年度 手計算検証用 評価指標（{tier}）
illustrative: true
source: >-
  Modelled for {used_by} only; no published point table.
published_on: 2019-09-30
grants: [promotion, effort_support]
full_marks: {{promotion: {promotion}, effort_support: {support}}}
goals:
  - code: I
    title: Ⅰ 手計算検証用
    max_points: {{promotion: {promotion}, effort_support: {support}}}
    groups:
      - code: I-A
        title: 手計算検証用の区分
        kind: section
        max_points: {{promotion: {promotion}, effort_support: {support}}}
        indicators:{indicators}
"""
