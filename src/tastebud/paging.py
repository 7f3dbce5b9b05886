"""A page of a long listing: how many items, and where the page before ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tastebud.errors import InvalidInput

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
        if not _whole(self.limit) or not 1 <= self.limit <= MAX_PAGE:
            raise InvalidInput("limit", f"must be a whole number from 1 to {MAX_PAGE}")
        if self.cursor is not None and (
            not _whole(self.cursor) or not 1 <= self.cursor <= _MAX_CURSOR
        ):
            raise InvalidInput("cursor", "must be the next_cursor of an earlier page")

    @classmethod
    def from_text(cls, limit: int, cursor: str | None) -> PageRequest:
        """A page from a URL's query, where a cursor is text."""
        if cursor is None:
            return cls(limit)
        if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 19:  # "²" is a digit
            raise InvalidInput("cursor", "must be the next_cursor of an earlier page")
        return cls(limit, int(cursor))


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
