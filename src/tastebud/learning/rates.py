"""The arithmetic of selection rates, shared by the strategies: shrunk rates, log-odds, and
prior pseudo-counts fitted by the method of moments."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

Rates = NDArray[np.float64]
"""Rates or log-odds of several candidates at once, in the candidates' order."""

Counts2 = tuple[float, float]
"""(selected, total): counts, or weights where a history is decayed."""

DEFAULT_CHECKPOINT_PSEUDO_COUNT = 10.0
"""Images a checkpoint's rate is worth before its own, when too few checkpoints have history to
fit it: ten images move a checkpoint halfway from the profile's average."""
PROFILE_PSEUDO_COUNT = 10.0
"""Images a profile's overall rate is worth before its own, toward all profiles' rate."""
MIN_PSEUDO_COUNT, MAX_PSEUDO_COUNT = 2.0, 1000.0
EDGE = 1e-4


def shrunk_rate(found: Counts2 | None, prior: float, pseudo_count: float) -> float:
    """A Beta posterior mean: ``found`` pulled toward ``prior``, worth ``pseudo_count`` images."""
    if found is None:
        return prior
    return (found[0] + pseudo_count * prior) / (found[1] + pseudo_count)


def logit(p: float) -> float:
    """Log-odds, kept finite at 0 and 1."""
    p = min(max(p, EDGE), 1.0 - EDGE)
    return math.log(p / (1.0 - p))


def expit(x: float) -> float:
    """The probability of log-odds ``x``, stable far from 0."""
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def logits(p: Rates) -> Rates:
    """``logit`` of each rate: the hot path scores every candidate at once."""
    p = np.clip(p, EDGE, 1.0 - EDGE)
    return np.log(p / (1.0 - p))


def expits(x: Rates) -> Rates:
    """``expit`` of each log-odds, stable far from 0 on both sides."""
    low = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + low), low / (1.0 + low))


def clip_rate(p: float) -> float:
    """A rate kept between 1% and 99%."""
    return min(max(p, 0.01), 0.99)


def fitted_pseudo_count(cells: Iterable[tuple[float, float, float]], default: float) -> float:
    """A prior pseudo-count fitted by the method of moments, from (selected, total, prior) of cells.

    Under a Beta-Binomial with pseudo_count ``k``, true rates spread around their priors with
    variance ``p(1-p) / (k + 1)``; what the observed rates spread beyond sampling noise estimates
    it. ``default`` when fewer than 3 cells or 30 images have history.
    """
    spread = expected = images = 0.0
    count = 0
    for selected, total, prior in cells:
        if total <= 0:
            continue
        count += 1
        images += total
        spread += total * (selected / total - prior) ** 2
        expected += prior * (1.0 - prior)
    if count < 3 or images < 30 or images <= count:
        return default
    variance = (spread - expected) / (images - count)
    mean_noise = expected / count
    if variance <= mean_noise / (MAX_PSEUDO_COUNT + 1):
        return (
            MAX_PSEUDO_COUNT  # no more spread than sampling explains: the level above says it all
        )
    return min(max(mean_noise / variance - 1.0, MIN_PSEUDO_COUNT), MAX_PSEUDO_COUNT)


def others_of(pooled: Counts2 | None, own: Counts2 | None) -> Counts2 | None:
    """Other profiles' counts of a cell: all profiles' less this one's (None when nothing)."""
    if pooled is None:
        return None
    if own is None:
        return pooled
    total = pooled[1] - own[1]
    if total <= 0:
        return None
    return (pooled[0] - own[0], total)
