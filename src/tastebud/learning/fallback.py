"""How far to trust the prompt's keywords over the checkpoint's overall standing, learned online.

The score of a candidate is ``base + weight * keywords`` in log-odds: ``base`` its overall
standing (shrunk toward the profile), ``keywords`` what the prompt's words say about it. The
weight is learned from predictions made *before* each judged batch was learned from: every
weight on a small grid is scored by the log-loss it would have had on those images, and the
weight used is their average under exponential weights (a Bayesian average over the grid).
Weight 0 is the checkpoint's overall standing alone, so where keywords have predicted nothing
(real ratings where one model is best at everything, a taste with no structure) the weight falls
toward 0 and the ranking toward best-overall; where they have predicted well it rises.

The regret of exponential weights against the best single grid value is at most
``log(len(GRID))`` nats over the whole history, about 2 nats: never much worse than best-overall.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
"""The weights tried: 0 (overall standing only) up to half as much again as the cells say."""


def _log_loss(logit: float, selected: bool) -> float:
    """-log P(outcome) for a prediction in log-odds, stable far from 0."""
    x = -logit if selected else logit
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))


@dataclass(frozen=True, slots=True)
class KeywordWeight:
    """Each grid weight's summed out-of-sample log-loss, and the weight they give."""

    losses: tuple[float, ...] = (0.0,) * len(GRID)
    scored: int = 0
    """Images scored out of sample so far."""

    @property
    def weight(self) -> float:
        """The exponentially weighted average of the grid: 1.0's neighbourhood with no data."""
        least = min(self.losses)
        shares = [math.exp(least - loss) for loss in self.losses]
        return math.fsum(w * s for w, s in zip(GRID, shares, strict=True)) / math.fsum(shares)

    def scored_with(self, predictions: Iterable[tuple[float, float, bool]]) -> KeywordWeight:
        """This weight after ``(base, keywords, selected)`` images, each predicted out of sample."""
        losses = list(self.losses)
        count = self.scored
        for base, keywords, selected in predictions:
            count += 1
            for index, weight in enumerate(GRID):
                losses[index] += _log_loss(base + weight * keywords, selected)
        return KeywordWeight(tuple(losses), count)

    def as_list(self) -> list[float]:
        return [*self.losses, float(self.scored)]

    @classmethod
    def from_list(cls, values: Sequence[float]) -> KeywordWeight:
        if len(values) != len(GRID) + 1:
            return cls()  # fitted under another grid: start again
        return cls(tuple(float(value) for value in values[:-1]), int(values[-1]))
