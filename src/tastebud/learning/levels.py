"""The levels above the keyword cells: all profiles -> this profile -> each candidate.

Shared by the default strategy's ranking and by the fit of its keyword relevance, so that both
measure a keyword's cells against the same expectation: the candidate's overall rate, shrunk
toward the profile's (and moved by what other profiles saw of it), moved by the keyword's own
effect (some subjects are kept less whatever made them).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tastebud.learning.keys import Cell, StatType
from tastebud.learning.rates import (
    DEFAULT_CHECKPOINT_PSEUDO_COUNT,
    PROFILE_PSEUDO_COUNT,
    Counts2,
    clip_rate,
    expit,
    fitted_pseudo_count,
    logit,
    others_of,
    shrunk_rate,
)

Lookup = Callable[[Cell], "Counts2 | None"]
_NO_ROW: Mapping[str, Counts2] = {}


class ByRow(abc.ABC):
    """Counts that hand over all the cells of one first key at once (a keyword's cells with
    every candidate), rather than one look-up per candidate."""

    __slots__ = ()

    @abc.abstractmethod
    def row(self, stat_type: str, key1: str) -> Mapping[str, Counts2]:
        """The cells ``(stat_type, key1, *)`` by their second key; empty when there are none."""


class SettledCounts(dict[Cell, tuple[int, int]], ByRow):
    """Counts whose cells, once present, never change (a store's snapshot of its statistics).

    A strategy may remember what it worked out from such a map for as long as it is handed the
    same map; any other map (a benchmark's counts, updated in place) is read afresh every time.
    ``rows`` holds the same counts by (stat type, key1), then key2: the cells of one keyword,
    without a look-up per candidate.
    """

    __slots__ = ("rows",)

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}

    def row(self, stat_type: str, key1: str) -> Mapping[str, Counts2]:
        return self.rows.get((stat_type, key1), _NO_ROW)

    def put(self, cell: Cell, counts: tuple[int, int]) -> None:
        """Set a cell's counts (once, or again while the map is still being filled)."""
        self[cell] = counts
        first = (cell[0], cell[1])
        row = self.rows.get(first)
        if row is None:
            row = self.rows[first] = {}
        row[cell[2]] = counts


@dataclass(frozen=True, slots=True)
class Parents:
    """The profile's rate and each candidate's shrunk overall rate (the keyword cells' base)."""

    profile_rate: float
    others_rate: float
    pseudo_count: float
    """Images a candidate's prior is worth (fitted from the candidates' spread)."""
    rates: Mapping[str, float]
    """Each candidate's overall rate, shrunk toward the profile's and moved by other profiles."""
    others: Mapping[str, float]
    """Each candidate's rate among other profiles (shrunk), to read their keyword cells against."""


def parents(
    candidates: Sequence[str], mine: Lookup, everyone: Lookup, overall_type: StatType
) -> Parents:
    """The levels above the cells for these candidates."""
    profile = mine((StatType.PROFILE, "", ""))
    others_profile = others_of(everyone((StatType.PROFILE, "", "")), profile)
    others_rate = shrunk_rate(others_profile, 0.5, 2.0)
    profile_rate = shrunk_rate(profile, others_rate, PROFILE_PSEUDO_COUNT)
    pseudo_count = fitted_pseudo_count(
        (
            (found[0], found[1], profile_rate)
            for found in (mine((overall_type, key, "")) for key in candidates)
            if found is not None
        ),
        DEFAULT_CHECKPOINT_PSEUDO_COUNT,
    )
    rates: dict[str, float] = {}
    others: dict[str, float] = {}
    for key in candidates:
        cell: Cell = (overall_type, key, "")
        own = mine(cell)
        theirs = others_of(everyone(cell), own)
        lift = 0.0
        if theirs is not None:
            lift = shrunk_rate(theirs, others_rate, pseudo_count) - others_rate
        rates[key] = shrunk_rate(own, clip_rate(profile_rate + lift), pseudo_count)
        others[key] = shrunk_rate(theirs, others_rate, pseudo_count)
    return Parents(profile_rate, others_rate, pseudo_count, rates, others)


def keyword_lift(
    cells: Mapping[str, Counts2], rates: Mapping[str, float], pseudo_count: float
) -> float:
    """How far a keyword moves the candidates' rates whatever the candidate (log-odds).

    ``cells`` are the keyword's (selected, total) with each candidate; 0.0 when it has none.
    A keyword's own effect shows only across candidates: seen with one alone, its images say as
    much about that pair as about the keyword ("forest" kept 2 of 18 with epicrealismXL, never
    tried elsewhere, counts against epicrealismXL, not against forests); with ``m`` candidates
    it takes ``(m - 1) / m`` of the difference.
    """
    kept = seen = expected = 0.0
    tried = 0
    for key, found in cells.items():
        if found[1] <= 0:
            continue
        tried += 1
        kept += found[0]
        seen += found[1]
        expected += found[1] * rates[key]
    if tried < 2:
        return 0.0
    base = expected / seen
    share = (tried - 1) / tried
    return share * (logit(shrunk_rate((kept, seen), base, pseudo_count)) - logit(base))


def expected_rate(parent: float, lift: float) -> float:
    """A keyword cell's rate with no preference for the pair: the parent moved by the lift."""
    return expit(logit(parent) + lift)
