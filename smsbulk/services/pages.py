"""One page of a listing: the rows, where it is and how many there are."""

from __future__ import annotations

from dataclasses import dataclass

PER_PAGE = 50


@dataclass(frozen=True)
class Page:
    rows: list
    number: int
    total: int | None  # None: not counted (a table too large to COUNT on every page view)
    per_page: int = PER_PAGE
    more: bool = False  # uncounted: whether a row lies beyond this page

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.more if self.total is None else self.number < self.pages


def page_number(value: object) -> int:
    """A page number from a query string: anything that is not a whole number from 1 is page 1."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() and 0 < len(text) < 7 and int(text) > 0 else 1


def paginate(query, number: int, per_page: int = PER_PAGE, count: bool = True) -> Page:
    """The given page of a query (ordered by the caller); a page past the end is the last one.

    count=False reads one row more instead of counting them all: no total, only whether there is
    a next page (for tables that grow with every purchase)."""
    if not count:
        rows = list(query.offset((max(1, number) - 1) * per_page).limit(per_page + 1))
        return Page(rows[:per_page], max(1, number), None, per_page, len(rows) > per_page)
    total = query.count()
    last = max(1, -(-total // per_page))
    number = min(max(1, number), last)
    return Page(list(query.paginate(number, per_page)), number, total, per_page)
