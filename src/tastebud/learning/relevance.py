"""How much each keyword says about a person's taste: its own prior variance (relevance).

A keyword's cells with the candidates (keyword x checkpoint, keyword x LoRA) differ from what the
candidates' own rates predict by two things: sampling noise, and a real preference ("beach" goes
better with one checkpoint than another). The method of moments of the Beta-Binomial separates
them: what the observed rates spread beyond the noise estimates the variance of the real part.
Each keyword gets its own (automatic relevance determination), pulled toward all keywords'
variance in proportion to how few images it has, so a word seen five times is not judged on
five images alone:

    V(word) = (images(word) * spread(word) + PULL * V(all)) / (images(word) + PULL)

A word that never separated the checkpoints ("solo", "masterpiece") ends with a variance near
zero: its cells are shrunk all the way to the checkpoint's rate and it weighs nothing when a
prompt's words are combined. A word that did ("beach") keeps a large one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from tastebud.learning.rates import Rates

PULL = 20.0
"""Images a keyword's own spread must have to weigh as much as all keywords' together."""
FLOOR = 1e-5
"""The least variance a keyword keeps (probability scale): a tiny weight, never a division by 0."""
DEFAULT_VARIANCE = 0.01
"""All keywords' variance before any keyword has the images to say (or before the first fit): a
cell's prior is then worth about 20 images at a rate of 0.5, as the previous default's was."""
MIN_IMAGES = 30
"""Images across all keywords' cells before all keywords' variance is estimated at all."""


@dataclass(frozen=True, slots=True)
class Spread:
    """One keyword's raw estimate: variance beyond noise, and the images behind it."""

    variance: float
    images: float


def spread(cells: Iterable[tuple[float, float, float]]) -> Spread:
    """The variance of real preferences among ``(selected, total, expected rate)`` cells.

    Under a Beta-Binomial, ``E[sum n (r - e)^2] = sum e(1-e) + V * sum (n - 1)``; ``V`` may come
    out below zero when the cells agree better than noise alone would (then: no preference).
    """
    squares = noise = degrees = 0.0
    for selected, total, expected in cells:
        if total <= 0:
            continue
        squares += total * (selected / total - expected) ** 2
        noise += expected * (1.0 - expected)
        degrees += total - 1.0
    if degrees <= 0:
        return Spread(0.0, 0.0)
    return Spread((squares - noise) / degrees, degrees)


def typical_variance(spreads: Iterable[Spread]) -> float:
    """All keywords' variance: their spreads weighed by their images (a default when few)."""
    weighed = images = 0.0
    for found in spreads:
        weighed += found.variance * found.images
        images += found.images
    if images < MIN_IMAGES:
        return DEFAULT_VARIANCE
    return max(weighed / images, FLOOR)


def pooled_variance(own: Spread | None, typical: float, borrowed: Iterable[Spread] = ()) -> float:
    """A keyword's variance: its own spread and those it borrows, pulled toward ``typical``."""
    weighed = PULL * typical
    images = PULL
    if own is not None:
        weighed += own.images * own.variance
        images += own.images
    for found in borrowed:
        weighed += found.images * found.variance
        images += found.images
    return max(weighed / images, FLOOR)


def prior_pseudo_count(variance: float, expected: float, most: float = 1000.0) -> float:
    """Images a cell's prior is worth, for a Beta prior of this variance around ``expected``."""
    room = expected * (1.0 - expected)
    if variance >= room / 3.0:
        return 2.0
    return min(room / variance - 1.0, most)


def prior_pseudo_counts(variance: float, expected: Rates, most: float = 1000.0) -> Rates:
    """``prior_pseudo_count`` for each of several expected rates."""
    room = expected * (1.0 - expected)
    return np.where(variance >= room / 3.0, 2.0, np.minimum(room / variance - 1.0, most))


def relevance_of(spreads: Mapping[str, Spread]) -> tuple[dict[str, float], float]:
    """Every keyword's pooled variance, and all keywords' (typical) variance."""
    typical = typical_variance(spreads.values())
    return {word: pooled_variance(found, typical) for word, found in spreads.items()}, typical
