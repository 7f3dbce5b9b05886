"""Each candidate's keyword gap, for all the candidates of a question at once.

The default strategy scores every candidate with the same few formulas (a Beta prior around what
the candidate's overall rate predicts, moved by other profiles' record, shrunk toward by the
cell's counts, read in log-odds); here they run over numpy arrays in the candidates' order, so
that a prompt of twelve words and fifty checkpoints costs a few dozen array operations rather
than six hundred passes of Python. ``rates.py`` holds the same arithmetic for one rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tastebud.learning.keys import StatType
from tastebud.learning.levels import Parents, parents
from tastebud.learning.rates import Counts2, Rates, expits, logits
from tastebud.learning.relevance import prior_pseudo_counts
from tastebud.learning.strategy import Evidence


@dataclass(frozen=True, slots=True)
class Standing:
    """The levels above the cells for a set of candidates, as arrays in the candidates' order."""

    levels: Parents
    rates: Rates
    """Each candidate's overall rate, shrunk (``levels.rates``)."""
    others: Rates
    """Each candidate's rate among other profiles (``levels.others``)."""
    base: Rates
    """The log-odds of ``rates``: each candidate's score before the prompt."""
    own: tuple[Counts2 | None, ...]
    """This profile's (selected, total) of each candidate."""
    position: dict[str, int]
    """Each candidate's place in the arrays."""


def standing_of(candidates: Sequence[str], evidence: Evidence, overall_type: StatType) -> Standing:
    """The candidates' levels, as arrays."""
    mine = evidence.personal.get
    levels = parents(candidates, mine, evidence.pooled.get, overall_type)
    rates = np.array([levels.rates[key] for key in candidates], dtype=np.float64)
    return Standing(
        levels,
        rates,
        np.array([levels.others[key] for key in candidates], dtype=np.float64),
        logits(rates),
        tuple(mine((overall_type, key, "")) for key in candidates),
        {key: index for index, key in enumerate(candidates)},
    )


POOL_EXPONENT = 0.5
"""Pooled counts are divided by (the words' summed relevance) ** this: 1 would average the
words (as if every image had them all), 0 add them up (as if no image had two of them); the
images of a theme's words overlap in part. Chosen on the themes simulator's tuning seeds
(100-107, never the reported 0-7): 300 images 0.77 / 0.80 / 0.81 of the gain for 1 / 0.5 / 0,
800 images 0.883 / 0.886 / 0.877."""


def pooled_gaps(
    words: Sequence[tuple[float, Rates]], standing: Standing, lift: float, typical: float
) -> Rates:
    """Each candidate's keyword part from the prompt's words' counts, added up by relevance.

    ``words`` are each word's variance and counts (rows: selected, total, other profiles'
    selected and total, in the candidates' order)."""
    variances = np.array([variance for variance, _ in words])
    # A word's share: how much of its cells' spread is its own rather than every word's.
    shares = variances / (variances + typical)
    weight = float(shares.sum())  # > 0: every variance is at least relevance.FLOOR
    variance = float(shares @ variances) / weight
    counts = np.tensordot(shares, np.stack([counts for _, counts in words]), axes=1)
    counts *= weight**-POOL_EXPONENT
    return gaps_of(counts, counts[1] > 0, counts[3] > 0, variance, standing, lift)


def gaps_of(
    counts: Rates,
    has_cell: NDArray[np.bool_],
    has_theirs: NDArray[np.bool_],
    variance: float,
    standing: Standing,
    lift: float,
) -> Rates:
    """Each candidate's gap (log-odds) between its keyword cell, shrunk by the prior of this
    variance, and what its overall rate moved by ``lift`` predicts."""
    kept, total, their_kept, their_total = counts
    expected = base = expits(standing.base + lift)  # ``levels.expected_rate`` of each
    pseudo_count = prior_pseudo_counts(variance, expected)
    # Other profiles' record of the words moves the prior.
    theirs = (their_kept + pseudo_count * standing.others) / (their_total + pseudo_count)
    expected = np.where(
        has_theirs, np.clip(expected + theirs - standing.others, 0.01, 0.99), expected
    )
    rate = np.where(has_cell, (kept + pseudo_count * expected) / (total + pseudo_count), expected)
    return logits(rate) - logits(base)


def columns(
    row: Mapping[str, Counts2], position: dict[str, int], size: int
) -> tuple[Rates, Rates, NDArray[np.bool_]]:
    """A row of cells as arrays in the candidates' order: selected, total, and which exist."""
    kept, total, found = [0.0] * size, [0.0] * size, [False] * size
    for key, counts in row.items():
        index = position.get(key)
        if index is not None:
            kept[index], total[index] = counts
            found[index] = True
    return (
        np.array(kept, dtype=np.float64),
        np.array(total, dtype=np.float64),
        np.array(found, dtype=np.bool_),
    )
