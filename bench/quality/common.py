"""What every recommender and explorer of the quality benchmark shares: judged images in, picks out.

The benchmark never touches a database: strategies read counts built here in memory from the same
judged images a person would record, through the same ``cells`` the store keeps.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tastebud.learning.keys import cells
from tastebud.learning.strategy import Evidence, Strategy

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@dataclass(frozen=True, slots=True)
class Judgement:
    """One judged image: what was asked for, what made it, and whether it was kept."""

    keywords: tuple[str, ...]
    checkpoint: str
    selected: bool
    loras: tuple[tuple[str, float], ...] = ()
    time: float = 0.0
    """Days since the history began."""
    propensity: float | None = None
    """The probability with which the checkpoint was chosen, where an explorer chose it."""
    style: tuple[float, ...] | None = None
    """The image's look (``tastebud.style.FEATURES``), where the simulator gives one."""


class Recommender(Protocol):
    """Learns from a history, then names one checkpoint for a prompt.

    ``fit(history, now)`` learns from one person's judged images (``now``: days since the history
    began, for a learner that lets old images count less); ``recommend(keywords, candidates)``
    names one of ``candidates`` for a prompt's keywords, and may be asked many times after a fit.

    Optional: ``fit_profiles(personal, pooled, now)``. Where several people share a server, a
    learner may read everyone's images besides the person's own (as tastebud's ``Evidence`` has
    ``personal`` and ``pooled`` counts). The per-rater ratings benchmark calls it, when a
    recommender has it, with the person's own judgements and everyone's pooled (the person's
    included); a recommender without it is fit on ``personal`` alone.
    """

    name: str

    def fit(self, history: Sequence[Judgement], now: float = 0.0) -> None: ...

    def recommend(self, keywords: Sequence[str], candidates: Sequence[str]) -> str: ...


class Explorer(Protocol):
    """Splits a batch across checkpoints, then learns from how the batch was judged."""

    name: str

    def allocate(
        self, keywords: Sequence[str], candidates: Sequence[str], batch: int, rng: random.Random
    ) -> list[tuple[str, float]]:
        """One ``(checkpoint, propensity)`` per image of the batch."""
        ...

    def learn(self, judged: Sequence[Judgement], now: float = 0.0) -> None: ...


class Tally:
    """The counts a store would hold for one profile, kept up to date as judgements arrive.

    With a ``half_life`` (days), each image counts ``0.5 ** (age / half_life)`` instead of 1.
    """

    def __init__(self, half_life: float | None = None) -> None:
        self.half_life = half_life
        self._history: list[Judgement] = []
        self._counts: dict[tuple[str, str, str], tuple[float, float]] = {}

    def add(self, judged: Sequence[Judgement]) -> None:
        self._history.extend(judged)
        if self.half_life is None:
            _count(self._counts, judged, lambda item: 1.0)

    def evidence(self, now: float = 0.0) -> Evidence:
        if self.half_life is None:
            return Evidence(personal=self._counts, pooled=self._counts)
        half_life = self.half_life
        counts: dict[tuple[str, str, str], tuple[float, float]] = {}
        _count(counts, self._history, lambda item: 0.5 ** ((now - item.time) / half_life))
        return Evidence(personal=counts, pooled=counts)


def _count(
    counts: dict[tuple[str, str, str], tuple[float, float]],
    judged: Sequence[Judgement],
    weight: Callable[[Judgement], float],
) -> None:
    for item in judged:
        w = weight(item)
        kept = w if item.selected else 0.0
        for cell in cells(item.keywords, item.checkpoint, [name for name, _ in item.loras], ""):
            found = counts.get(cell)
            counts[cell] = (kept, w) if found is None else (found[0] + kept, found[1] + w)


def evidence_of(history: Sequence[Judgement]) -> Evidence:
    """The counts a store would hold after recording ``history`` for one profile."""
    tally = Tally()
    tally.add(history)
    return tally.evidence()


class StrategyRecommender:
    """A tastebud strategy as a benchmark recommender (the service's ranking, without storage)."""

    def __init__(
        self, strategy: Strategy, name: str | None = None, half_life: float | None = None
    ) -> None:
        self.strategy = strategy
        self.name = name or strategy.name
        self.half_life = half_life
        self._evidence = Evidence()

    def fit(self, history: Sequence[Judgement], now: float = 0.0) -> None:
        tally = Tally(self.half_life)
        tally.add(history)
        self._evidence = tally.evidence(now)

    def fit_profiles(
        self, personal: Sequence[Judgement], pooled: Sequence[Judgement], now: float = 0.0
    ) -> None:
        """Counts of this person and of everyone, as a shared store would hold them."""
        self.fit(personal, now)
        self._evidence = Evidence(personal=self._evidence.personal, pooled=_counts_of(pooled))

    def recommend(self, keywords: Sequence[str], candidates: Sequence[str]) -> str:
        return self.strategy.rank_checkpoints(keywords, candidates, self._evidence)[0].key


def _counts_of(history: Sequence[Judgement]) -> dict[tuple[str, str, str], tuple[float, float]]:
    counts: dict[tuple[str, str, str], tuple[float, float]] = {}
    _count(counts, history, lambda item: 1.0)
    return counts
