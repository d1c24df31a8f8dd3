"""Catalogue lineage: what became of each item between two consecutive grant years.

A lineage (data/catalogues/lineage/fyN-fyN+1-<tier>.yaml) sorts every answerable item
(sub-item code) of year N's catalogue and of year N+1's catalogue of one tier:

* carried: the same code in both years, and the same item (title, kind, points per
  grant, unit, range, thresholds, and its indicator's title, mode and source);
* changed: an item of year N that continues as an item of year N+1 (the same code or
  another) with something different, with a note saying what changed;
* retired: in year N only; new: in year N+1 only.

Every item of year N is carried, changed or retired exactly once, and every item of
year N+1 is carried, changed or new exactly once. The evaluated period is left out of
the comparison: it moves with the year by design. A grant weighted 0 and a grant not
named are the same (`points_in`). The notes are data, marked illustrative where the
changes are modelled rather than published.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Self

from pydantic import Field, model_validator

from domain.base import FiscalYear, Text, Tier, Value
from domain.catalogue import CatalogueSpec, Code, Indicator, Points, SubItem
from domain.errors import InvalidInput


class Change(Value):
    """An item of year N continued, changed, as an item of year N+1."""

    before: Code
    after: Code
    note: Text


class CatalogueLineage(Value):
    """The fate of every item between the catalogues of two consecutive years."""

    tier: Tier
    from_year: FiscalYear
    to_year: FiscalYear
    from_version: Annotated[int, Field(ge=1)] = 1
    to_version: Annotated[int, Field(ge=1)] = 1
    illustrative: bool
    source: Text
    carried: tuple[Code, ...] = ()
    changed: tuple[Change, ...] = ()
    retired: tuple[Code, ...] = ()
    new: tuple[Code, ...] = ()

    @model_validator(mode="after")
    def _is_consistent(self) -> Self:
        if self.to_year != self.from_year + 1:
            msg = (
                f"a lineage links consecutive years, not FY{self.from_year} "
                f"and FY{self.to_year}"
            )
            raise ValueError(msg)
        return self

    def check(self, before: CatalogueSpec, after: CatalogueSpec) -> None:
        """Check this lineage against the two catalogues it links.

        Raises:
            InvalidInput: a catalogue is not the one named, an item is missing or
                sorted twice, a carried item differs or a changed one does not.
        """
        for spec, year, version, side in (
            (before, self.from_year, self.from_version, "from"),
            (after, self.to_year, self.to_version, "to"),
        ):
            if (spec.grant_year, spec.tier, spec.version) != (year, self.tier, version):
                msg = (
                    f"the {side} catalogue is FY{spec.grant_year} {spec.tier} "
                    f"v{spec.version}; the lineage names FY{year} {self.tier} "
                    f"v{version}"
                )
                raise InvalidInput(msg, field=side)
        old, new = before.sub_items(), after.sub_items()
        _partition(
            f"FY{self.from_year}",
            set(old),
            [*self.carried, *(c.before for c in self.changed), *self.retired],
        )
        _partition(
            f"FY{self.to_year}",
            set(new),
            [*self.carried, *(c.after for c in self.changed), *self.new],
        )
        for code in self.carried:
            if signature(*old[code]) != signature(*new[code]):
                msg = (
                    f"item {code} is listed as carried but differs between "
                    f"FY{self.from_year} and FY{self.to_year}: list it as changed"
                )
                raise InvalidInput(msg, field=code)
        for change in self.changed:
            if change.before == change.after and signature(
                *old[change.before]
            ) == signature(*new[change.after]):
                msg = (
                    f"item {change.before} is listed as changed but is the same in "
                    f"FY{self.from_year} and FY{self.to_year}: list it as carried"
                )
                raise InvalidInput(msg, field=change.before)


def _partition(year: str, codes: set[str], listed: list[str]) -> None:
    twice = sorted(code for code, n in Counter(listed).items() if n > 1)
    if twice:
        msg = f"{year} items sorted more than once: {', '.join(twice)}"
        raise InvalidInput(msg, field=twice[0])
    unknown = sorted(set(listed) - codes)
    if unknown:
        msg = f"not items of the {year} catalogue: {', '.join(unknown)}"
        raise InvalidInput(msg, field=unknown[0])
    missing = sorted(codes - set(listed))
    if missing:
        msg = f"{year} items neither carried, changed nor retired/new: " + ", ".join(
            missing
        )
        raise InvalidInput(msg, field=missing[0])


Signature = tuple[object, ...]


def signature(sub: SubItem, indicator: Indicator) -> Signature:
    """What must stay equal for an item to be carried over (not its code or period)."""
    return (
        sub.title,
        sub.kind,
        _points(sub.points),
        sub.unit,
        sub.minimum,
        sub.maximum,
        tuple((t.at_least, _points(t.points)) for t in sub.thresholds),
        indicator.title,
        indicator.mode,
        indicator.source,
        _points(indicator.max_points),
    )


def _points(points: Points) -> tuple[tuple[str, int], ...]:
    # A grant weighted 0 and a grant not named carry the same points.
    return tuple(sorted((g, p) for g, p in points.items() if p))


def compare(before: CatalogueSpec, after: CatalogueSpec) -> dict[str, list[str]]:
    """Sort the items of two catalogues by code alone: carried, changed, retired, new.

    A starting point for a lineage file (scripts/make_catalogues.py uses it); an item
    that continues under another code shows here as retired and new.
    """
    old, new = before.sub_items(), after.sub_items()
    result: dict[str, list[str]] = {
        "carried": [],
        "changed": [],
        "retired": [],
        "new": [c for c in new if c not in old],
    }
    for code, item in old.items():
        if code not in new:
            result["retired"].append(code)
        elif signature(*item) == signature(*new[code]):
            result["carried"].append(code)
        else:
            result["changed"].append(code)
    return result
