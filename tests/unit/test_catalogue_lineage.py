"""Catalogue lineage (data/catalogues/lineage/*.yaml): every item's fate, checked.

Each consecutive pair of shipped years has a lineage file; each tier of it sorts every
item of year N as carried, changed or retired and every item of year N+1 as carried,
changed or new, and the check refuses a lineage that misses, repeats, invents or
mislabels an item, naming it.
"""

from __future__ import annotations

from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.inputs import lineage as files
from adapters.inputs.lineage import check_file, lineage_dir, read_lineage
from domain.errors import InvalidInput
from domain.lineage import CatalogueLineage

YEARS = tuple(range(2018, 2027))
PAIRS = tuple(pairwise(YEARS))


shipped_catalogue = cache(files.shipped_catalogue)


def lineage_of(from_year: int, tier: str) -> CatalogueLineage:
    path = lineage_dir() / f"fy{from_year}-fy{from_year + 1}.yaml"
    return next(x for x in read_lineage(path) if x.tier == tier)


def edited(from_year: int, tier: str, **changes: Any) -> CatalogueLineage:
    return lineage_of(from_year, tier).model_copy(update=changes)


def check(lineage: CatalogueLineage) -> None:
    lineage.check(
        shipped_catalogue(lineage.from_year, lineage.tier),
        shipped_catalogue(lineage.to_year, lineage.tier),
    )


def test_every_consecutive_pair_of_years_has_exactly_one_lineage_file():
    shipped = sorted(p.name for p in lineage_dir().glob("*.yaml"))

    assert shipped == [f"fy{a}-fy{b}.yaml" for a, b in PAIRS]


@pytest.mark.parametrize(("from_year", "to_year"), PAIRS)
def test_each_lineage_file_sorts_every_item_of_both_years_for_both_tiers(
    from_year, to_year
):
    lineages = check_file(lineage_dir() / f"fy{from_year}-fy{to_year}.yaml")

    assert sorted(x.tier for x in lineages) == ["municipal", "prefectural"]
    for lineage in lineages:
        old = shipped_catalogue(from_year, lineage.tier).sub_items()
        new = shipped_catalogue(to_year, lineage.tier).sub_items()
        assert len(old) == len(lineage.carried) + len(lineage.changed) + len(
            lineage.retired
        )
        assert len(new) == len(lineage.carried) + len(lineage.changed) + len(
            lineage.new
        )
        assert lineage.illustrative


def test_fy2019_to_fy2020_items_gain_effort_support_weights_and_nothing_retires():
    lineage = lineage_of(2019, "municipal")

    assert lineage.changed
    assert all("effort_support" in c.note for c in lineage.changed)
    assert not lineage.retired
    assert not lineage.new
    carried = shipped_catalogue(2020, "municipal").sub_items()
    for code in lineage.carried:
        sub, _ = carried[code]
        assert sub.kind == "number" or not sub.points.get("effort_support"), code


def test_fy2020_to_fy2021_raises_thresholds_and_rewords_the_plan_item():
    lineage = lineage_of(2020, "municipal")
    changed = {c.before: c for c in lineage.changed}
    before = shipped_catalogue(2020, "municipal").sub_items()
    after = shipped_catalogue(2021, "municipal").sub_items()

    assert changed["I-3-a"].after == "I-3-b"
    for code in ("II-5-c", "II-22-a"):
        old = [t.at_least for t in before[code][0].thresholds]
        new = [t.at_least for t in after[code][0].thresholds]
        assert all(n > o for o, n in zip(old, new, strict=True)), code
        assert "thresholds raised" in changed[code].note


def test_the_fy2024_restructuring_retires_and_adds_items_and_maps_some_by_theme():
    lineage = lineage_of(2023, "municipal")

    assert not lineage.carried
    assert lineage.retired
    assert lineage.new
    assert {c.before: c.after for c in lineage.changed}["II-22-a"] == "S1-A3-a"


def test_a_lineage_missing_an_item_is_refused_naming_it():
    lineage = lineage_of(2020, "municipal")
    missing = lineage.carried[0]

    with pytest.raises(InvalidInput, match=f"neither carried, changed nor.*{missing}"):
        check(edited(2020, "municipal", carried=lineage.carried[1:]))


def test_an_item_sorted_twice_is_refused_naming_it():
    lineage = lineage_of(2020, "municipal")
    twice = lineage.carried[0]

    with pytest.raises(InvalidInput, match=f"more than once: {twice}"):
        check(edited(2020, "municipal", retired=(twice,)))


def test_an_item_that_is_not_in_the_catalogue_is_refused_naming_it():
    lineage = lineage_of(2020, "municipal")

    with pytest.raises(InvalidInput, match="not items of the FY2021 catalogue: Z-9-z"):
        check(edited(2020, "municipal", new=(*lineage.new, "Z-9-z")))


def test_a_changed_item_listed_as_carried_is_refused():
    lineage = lineage_of(2020, "municipal")
    changed = next(c for c in lineage.changed if c.before == c.after)
    others = tuple(c for c in lineage.changed if c is not changed)

    with pytest.raises(InvalidInput, match=f"{changed.before} is listed as carried"):
        check(
            edited(
                2020,
                "municipal",
                carried=(*lineage.carried, changed.before),
                changed=others,
            )
        )


def test_an_unchanged_item_listed_as_changed_is_refused():
    lineage = lineage_of(2018, "municipal")
    code = lineage.carried[0]
    change = {"before": code, "after": code, "note": "nothing, really"}
    wrong = CatalogueLineage.model_validate(
        lineage.model_dump() | {"carried": lineage.carried[1:], "changed": [change]}
    )

    with pytest.raises(InvalidInput, match=f"{code} is listed as changed"):
        check(wrong)


def test_a_lineage_of_years_that_do_not_follow_each_other_is_refused():
    raw = lineage_of(2020, "municipal").model_dump() | {"to_year": 2022}

    with pytest.raises(ValueError, match="consecutive years"):
        CatalogueLineage.model_validate(raw)


def test_a_lineage_checked_against_the_wrong_catalogue_is_refused():
    lineage = lineage_of(2020, "municipal")

    with pytest.raises(InvalidInput, match="the to catalogue is FY2022"):
        lineage.check(
            shipped_catalogue(2020, "municipal"), shipped_catalogue(2022, "municipal")
        )


def test_a_file_with_a_broken_tier_names_the_file_and_tier(tmp_path: Path):
    source = lineage_dir() / "fy2020-fy2021.yaml"
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    document["tiers"]["prefectural"]["carried"] = document["tiers"]["prefectural"][
        "carried"
    ][1:]
    broken = tmp_path / "fy2020-fy2021.yaml"
    broken.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")

    with pytest.raises(InvalidInput) as raised:
        check_file(broken)

    assert f"{broken}: tiers.prefectural" in str(raised.value)


def test_a_file_that_is_not_a_lineage_is_refused(tmp_path: Path):
    path = tmp_path / "x.yaml"
    path.write_text("kind: catalogue\n", encoding="utf-8")

    with pytest.raises(InvalidInput, match="kind: catalogue_lineage"):
        read_lineage(path)
