"""The national overview's entity table: searched, filtered and paged by its address.

No JavaScript: the form sends `q`, `prefecture`, `band`, `per` and `page` as the
address's query, and the page links keep them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from domain.errors import InvalidInput

PAGE_SIZES = (50, 100, 200, 500, 2000)
"""Rows per page the entity table offers (2000: every entity, for printing)."""
MAX_QUERY = 50
"""The longest search text (characters)."""


@dataclass(frozen=True)
class EntityTable:
    """One page of the entity table, after the search and the filters."""

    rows: list[dict[str, Any]]
    total: int
    matched: int
    page: int
    pages: int
    per: int
    query: str
    prefecture: str
    band: int | None

    @property
    def first(self) -> int:
        """The 1-based number of the page's first row (0 when nothing matched)."""
        return (self.page - 1) * self.per + 1 if self.matched else 0

    @property
    def last(self) -> int:
        """The 1-based number of the page's last row."""
        return (self.page - 1) * self.per + len(self.rows)

    def page_numbers(self) -> list[int | None]:
        """The pages to link, None for each gap between them.

        The first two, the last two, and two either side of this one.
        """
        wanted = {1, 2, self.pages - 1, self.pages}
        wanted |= set(range(self.page - 2, self.page + 3))
        shown: list[int | None] = []
        for number in sorted(n for n in wanted if 1 <= n <= self.pages):
            if shown and shown[-1] is not None and number > shown[-1] + 1:
                shown.append(None)
            shown.append(number)
        return shown

    def params(self, **changed: object) -> str:
        """The query string of this table with some parameters changed."""
        values: dict[str, object] = {
            "q": self.query,
            "prefecture": self.prefecture,
            "band": self.band if self.band is not None else "",
            "per": self.per,
            "page": self.page,
        } | changed
        kept = {k: v for k, v in values.items() if v not in ("", None)}
        return urlencode(kept)


def entity_table(
    rows: list[dict[str, Any]],
    query: str = "",
    prefecture: str = "",
    band: str = "",
    page: str = "1",
    per: str = "100",
) -> EntityTable:
    """Search (code or name), filter (prefecture, band) and page the entity rows.

    Raises:
        InvalidInput: a parameter out of its choices, naming it.
    """
    query = query.strip()
    if len(query) > MAX_QUERY:
        msg = f"検索語 q は {MAX_QUERY} 文字までです。"
        raise InvalidInput(msg, field="q")
    if prefecture and not (len(prefecture) == 2 and prefecture.isdigit()):  # noqa: PLR2004
        msg = f"都道府県 prefecture は2桁のコードです（{prefecture!r}）。"
        raise InvalidInput(msg, field="prefecture")
    if band and not band.isdigit():
        msg = f"規模区分 band は番号です（{band!r}）。"
        raise InvalidInput(msg, field="band")
    if not per.isdigit() or int(per) not in PAGE_SIZES:
        sizes = ", ".join(str(size) for size in PAGE_SIZES)
        msg = f"表示件数 per は {sizes} のいずれかです（{per!r}）。"
        raise InvalidInput(msg, field="per")
    if not page.isdigit() or int(page) < 1:
        msg = f"ページ page は1以上の番号です（{page!r}）。"
        raise InvalidInput(msg, field="page")
    wanted_band = int(band) if band else None
    matched = [
        row
        for row in rows
        if (not query or query in row["entity"] or query in row["name"])
        and (not prefecture or row["entity"][:2] == prefecture)
        and (wanted_band is None or row["size_band"] == wanted_band)
    ]
    size = int(per)
    pages = max(1, -(-len(matched) // size))
    number = min(int(page), pages)
    start = (number - 1) * size
    return EntityTable(
        rows=matched[start : start + size],
        total=len(rows),
        matched=len(matched),
        page=number,
        pages=pages,
        per=size,
        query=query,
        prefecture=prefecture,
        band=wanted_band,
    )
