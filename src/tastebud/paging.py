"""A page of a long listing: how many items, and where the page before ended."""

from __future__ import annotations

from dataclasses import dataclass

from tastebud.errors import InvalidInput
from tastebud.problems import whole_number

MAX_PAGE = 500
# Cursors are row ids: PostgreSQL's bigint holds ids up to 2^63 - 1.
_MAX_CURSOR = 2**63 - 1


@dataclass(frozen=True, slots=True)
class PageRequest:
    """``limit`` items (1 to ``MAX_PAGE``) after ``cursor``, the ``next_cursor`` of the page
    before (``None``: the first page). Checked when made: raises ``InvalidInput``."""

    limit: int = 50
    cursor: int | None = None

    def __post_init__(self) -> None:
        whole_number("limit", self.limit, 1, MAX_PAGE)
        if self.cursor is not None:
            try:
                whole_number("cursor", self.cursor, 1, _MAX_CURSOR)
            except InvalidInput:
                raise InvalidInput("cursor", "must be the next_cursor of an earlier page") from None

    @classmethod
    def from_text(cls, limit: int, cursor: str | None) -> PageRequest:
        """A page from a URL's query, where a cursor is text."""
        if cursor is None:
            return cls(limit)
        if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 19:  # "²" is a digit
            raise InvalidInput("cursor", "must be the next_cursor of an earlier page")
        return cls(limit, int(cursor))
