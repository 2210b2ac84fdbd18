"""One page of a listing: the rows, where it is and how many there are."""

from __future__ import annotations

from dataclasses import dataclass

PER_PAGE = 50


@dataclass(frozen=True)
class Page:
    rows: list
    number: int
    total: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_number(value: object) -> int:
    """A page number from a query string: anything that is not a whole number from 1 is page 1."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() and 0 < len(text) < 7 and int(text) > 0 else 1


def paginate(query, number: int, per_page: int = PER_PAGE) -> Page:
    """The given page of a query (ordered by the caller); a page past the end is the last one."""
    total = query.count()
    last = max(1, -(-total // per_page))
    number = min(max(1, number), last)
    return Page(list(query.paginate(number, per_page)), number, total, per_page)
