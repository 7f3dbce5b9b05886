"""Explore mode: split a batch across the most promising checkpoints by Thompson sampling.

Each candidate's score is read as a Beta posterior, ``Beta(score * pseudo_count, (1 - score) *
pseudo_count)`` (``Scored.pseudo_count`` is how many images the score is worth). A draw from every
posterior picks the checkpoint whose draw is highest: a checkpoint with little history has a wide
posterior and wins some draws while it is promising, and a checkpoint that keeps disappointing
stops winning. The batch goes to the ``top`` checkpoints most likely to be best, one draw per
image, so a batch of 8 is, say, 5 / 2 / 1.

Each image carries its *propensity*, the probability that the draw gave it that checkpoint. The
caller records it with the judgement, so that later evaluation can weigh each choice by how likely
it was (inverse propensity scoring) and stay unbiased.

With no history at all every posterior is the same, and the batch is spread evenly.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from tastebud.learning.strategy import Scored

DRAWS = 1000
"""Monte Carlo draws behind each propensity: within about 0.016 of the true probability (one
standard error at worst), enough to weigh a choice and quick enough for every request."""
_MIN_SHAPE = 1e-3


@dataclass(frozen=True, slots=True)
class Slot:
    """One image of the batch: the checkpoint it is given, and the probability of that choice."""

    key: str
    propensity: float


def explore(
    ranking: Sequence[Scored], batch: int, top: int, rng: random.Random, draws: int = DRAWS
) -> list[Slot]:
    """One slot per image of ``batch``, among at most ``top`` of the ranked candidates."""
    if batch < 1 or top < 1 or not ranking:
        return []
    if all(item.overall[1] == 0 and not item.keywords for item in ranking):
        return _spread(ranking[:top], batch)
    shapes = [_shape(item) for item in ranking]
    wins = _wins(shapes, range(len(ranking)), rng, draws)
    # The `top` most likely to be best; ties keep the ranking's order.
    chosen = sorted(range(len(ranking)), key=lambda index: -wins[index])[:top]
    chosen.sort()
    if len(chosen) == 1:
        return [Slot(ranking[chosen[0]].key, 1.0)] * batch
    among = _wins(shapes, chosen, rng, draws)
    propensity = {index: among[index] / draws for index in chosen}
    slots = []
    for _ in range(batch):
        index = max(chosen, key=lambda i: rng.betavariate(*shapes[i]))
        slots.append(Slot(ranking[index].key, propensity[index]))
    return slots


def _shape(item: Scored) -> tuple[float, float]:
    pseudo_count = max(item.pseudo_count, 2.0)
    return (
        max(item.score * pseudo_count, _MIN_SHAPE),
        max((1.0 - item.score) * pseudo_count, _MIN_SHAPE),
    )


def _wins(
    shapes: Sequence[tuple[float, float]], among: Sequence[int], rng: random.Random, draws: int
) -> dict[int, int]:
    """How many of ``draws`` joint draws each of ``among`` wins (at least one, for the odds)."""
    wins = dict.fromkeys(among, 0)
    beta = rng.betavariate
    for _ in range(draws):
        best = max(among, key=lambda index: beta(*shapes[index]))
        wins[best] += 1
    # A candidate that won no draw still has some chance; one win keeps its propensity above 0.
    for index in among:
        wins[index] = max(wins[index], 1)
    return wins


def _spread(candidates: Sequence[Scored], batch: int) -> list[Slot]:
    share = 1.0 / len(candidates)
    return [Slot(candidates[index % len(candidates)].key, share) for index in range(batch)]
