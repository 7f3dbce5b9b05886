"""tastebud's default strategy as the benchmark runs it, with each of its parts switched off.

The recommender learns as the service does: judged batches arrive in order; each is counted, then
predicted from the counts less itself by the service's own ``learn_weights`` (that is what moves
the weight on keywords, out of sample: the counts before it); the relevance and the similar words are refitted as the history grows (after 100
images, then each time it has grown by half), and once more at the end.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import replace

from common import Judgement, Recommender

from tastebud.learning.default import DefaultStrategy
from tastebud.learning.explore import explore
from tastebud.learning.fitted import NOTHING_FITTED, Fitted, refit
from tastebud.learning.keys import cells
from tastebud.learning.refitting import Judged, learn_weights
from tastebud.learning.strategy import Evidence
from tastebud.learning.styles import fit_style
from tastebud.style import Style

FIRST_REFIT = 100
REFIT_GROWTH = 1.5

Counts = dict[tuple[str, str, str], tuple[float, float]]


def _add(counts: Counts, judged: Sequence[Judgement]) -> None:
    for item in judged:
        kept = 1.0 if item.selected else 0.0
        for cell in cells(item.keywords, item.checkpoint, [name for name, _ in item.loras], ""):
            found = counts.get(cell)
            counts[cell] = (kept, 1.0) if found is None else (found[0] + kept, found[1] + 1.0)


def _judged(batch: Sequence[Judgement]) -> list[Judged]:
    """A judged batch by its keys, as the service's refit reads one."""
    return [
        Judged(item.keywords, item.checkpoint, tuple(name for name, _ in item.loras), item.selected)
        for item in batch
    ]


def batches(history: Sequence[Judgement]) -> list[list[Judgement]]:
    """The history as judged batches: consecutive images of one prompt at one time."""
    found: list[list[Judgement]] = []
    for item in history:
        last = found[-1][0] if found else None
        if last is not None and last.keywords == item.keywords and last.time == item.time:
            found[-1].append(item)
        else:
            found.append([item])
    return found


class TastebudRecommender:
    """The default strategy fitted the way the service fits it."""

    def __init__(
        self,
        name: str = "default",
        *,
        relevance: bool = True,
        meaning: bool = True,
        use: bool = True,
        fallback: bool = True,
        pool: bool = True,
        style: bool = True,
    ) -> None:
        self.name = name
        self.meaning = meaning
        self.use = use
        self.strategy = DefaultStrategy(
            relevance=relevance, similar=meaning or use, fallback=fallback, pool=pool, style=style
        )
        self._evidence = Evidence()

    def _refit(self, counts: Counts, prompts: list[tuple[str, ...]], before: Fitted) -> Fitted:
        return refit(counts, prompts, before, meaning=self.meaning, use=self.use)

    def _with_style(self, fitted: Fitted, history: Sequence[Judgement]) -> Fitted:
        """The style model of the judged images that have a look, as the service's refit fits
        it (``refitting.refit_profile``)."""
        if not self.strategy.style:
            return fitted
        looks = [
            (item.checkpoint, item.selected, Style(*item.style), item.keywords)
            for item in history
            if item.style is not None
        ]
        return replace(fitted, style=fit_style(looks))

    def fit_profiles(
        self, personal: Sequence[Judgement], pooled: Sequence[Judgement], now: float = 0.0
    ) -> None:
        everyone: Counts = {}
        _add(everyone, pooled)
        self._learn(personal, everyone)

    def fit(self, history: Sequence[Judgement], now: float = 0.0) -> None:
        self._learn(history, None)

    def _learn(self, history: Sequence[Judgement], everyone: Counts | None) -> None:
        counts: Counts = {}
        prompts: list[tuple[str, ...]] = []
        fitted = NOTHING_FITTED
        seen = 0
        next_refit = FIRST_REFIT
        for batch in batches(history):
            _add(counts, batch)
            if self.strategy.fallback:
                fitted = learn_weights(fitted, counts, [_judged(batch)], self.strategy)
            prompts.append(batch[0].keywords)
            seen += len(batch)
            if seen >= next_refit:
                fitted = self._refit(counts, prompts, fitted)
                next_refit = int(next_refit * REFIT_GROWTH)
        self.fitted = self._with_style(self._refit(counts, prompts, fitted), history)
        self._evidence = Evidence(counts, counts if everyone is None else everyone)
        self._strategy = self.strategy.with_fitted(self.fitted)

    def recommend(self, keywords: Sequence[str], candidates: Sequence[str]) -> str:
        return self._strategy.rank_checkpoints(keywords, candidates, self._evidence)[0].key


class TastebudExplorer:
    """Explore mode with the default strategy, learning as the service does.

    Each judged batch is counted, then moves the weight on keywords (predicted from the counts less
    itself, as the service's refit does); the relevance and similar words are refitted when the history has grown by a tenth
    (at least 20 images), as a server's background refit does.
    """

    def __init__(self, name: str = "default (Explore)", top: int = 3) -> None:
        self.name = name
        self.top = top
        self.strategy = DefaultStrategy()
        self.counts: Counts = {}
        self.prompts: list[tuple[str, ...]] = []
        self.fitted = NOTHING_FITTED
        self.seen = 0

    def allocate(
        self, keywords: Sequence[str], candidates: Sequence[str], batch: int, rng: random.Random
    ) -> list[tuple[str, float]]:
        strategy = self.strategy.with_fitted(self.fitted)
        ranking = strategy.rank_checkpoints(
            keywords, candidates, Evidence(self.counts, self.counts)
        )
        return [(slot.key, slot.propensity) for slot in explore(ranking, batch, self.top, rng)]

    def learn(self, judged: Sequence[Judgement], now: float = 0.0) -> None:
        _add(self.counts, judged)
        if judged:
            self.fitted = learn_weights(self.fitted, self.counts, [_judged(judged)], self.strategy)
        self.prompts.append(judged[0].keywords)
        self.seen += len(judged)
        if self.seen - self.fitted.events >= max(20, 0.1 * self.fitted.events):
            self.fitted = refit(self.counts, self.prompts, self.fitted, events=self.seen)


def ablations() -> list[tuple[str, Callable[[], Recommender]]]:
    """The default with each of its parts switched off, each a fresh recommender per fit."""
    return [
        ("default, no relevance", lambda: TastebudRecommender("default, no relevance", relevance=False)),
        ("default, no meaning", lambda: TastebudRecommender("default, no meaning", meaning=False)),
        ("default, no use", lambda: TastebudRecommender("default, no use", use=False)),
        ("default, no similar words", lambda: TastebudRecommender("default, no similar words", meaning=False, use=False)),
        ("default, no fallback", lambda: TastebudRecommender("default, no fallback", fallback=False)),
        ("default, no pooling", lambda: TastebudRecommender("default, no pooling", pool=False)),
    ]  # fmt: skip
