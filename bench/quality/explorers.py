"""tastebud's strategies as explorers of the quality benchmark's online half.

* :class:`TastebudExplorer`: Explore mode as the service runs it: the strategy ranks the
  checkpoints from the counts so far, and :func:`~tastebud.learning.explore.explore` splits the
  batch among the ``top`` of them by Thompson sampling, each image with its propensity.
* :class:`GreedyExplorer`: a strategy without exploration: every image of the batch goes to its
  top pick (propensity 1.0), which is what a person gets by always taking the recommendation.

Both learn the way the service does: every judged image is added to an in-memory :class:`Tally`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from common import Judgement, Tally

from tastebud.learning.explore import explore
from tastebud.learning.strategy import Strategy


class TastebudExplorer:
    """tastebud's Explore mode: Thompson sampling over the strategy's ranking, among its top few."""

    def __init__(self, strategy: Strategy, top: int = 3, name: str = "default (Explore)") -> None:
        self.strategy = strategy
        self.top = top
        self.name = name
        self.tally = Tally()
        self._now = 0.0

    def allocate(
        self, keywords: Sequence[str], candidates: Sequence[str], batch: int, rng: random.Random
    ) -> list[tuple[str, float]]:
        ranking = self.strategy.rank_checkpoints(
            keywords, candidates, self.tally.evidence(self._now)
        )
        return [(slot.key, slot.propensity) for slot in explore(ranking, batch, self.top, rng)]

    def learn(self, judged: Sequence[Judgement], now: float = 0.0) -> None:
        self.tally.add(judged)
        self._now = now


class GreedyExplorer:
    """A strategy's top pick for every image of the batch: no exploration at all."""

    def __init__(self, strategy: Strategy, name: str | None = None) -> None:
        self.strategy = strategy
        self.name = name or f"{strategy.name} (greedy)"
        self.tally = Tally()
        self._now = 0.0

    def allocate(
        self, keywords: Sequence[str], candidates: Sequence[str], batch: int, rng: random.Random
    ) -> list[tuple[str, float]]:
        ranking = self.strategy.rank_checkpoints(
            keywords, candidates, self.tally.evidence(self._now)
        )
        return [(ranking[0].key, 1.0)] * batch

    def learn(self, judged: Sequence[Judgement], now: float = 0.0) -> None:
        self.tally.add(judged)
        self._now = now
