"""tastebud's default strategy as the benchmark's contestant, with each of its parts switched off.

The recommender learns as the service does: judged batches arrive in order; each batch is first
predicted from the counts before it (that is what moves the weight on keywords, out of sample),
then counted; the relevance and the similar words are refitted as the history grows (after 100
images, then each time it has grown by half), and once more at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from common import Judgement, Recommender

from tastebud.learning.default import DefaultStrategy
from tastebud.learning.fitted import NOTHING_FITTED, Fitted, refit
from tastebud.learning.keys import StatType, cells
from tastebud.learning.strategy import Evidence

FIRST_REFIT = 100
REFIT_GROWTH = 1.5

Counts = dict[tuple[str, str, str], tuple[float, float]]


def _add(counts: Counts, judged: Sequence[Judgement]) -> None:
    for item in judged:
        kept = 1.0 if item.selected else 0.0
        for cell in cells(item.keywords, item.checkpoint, [name for name, _ in item.loras], ""):
            found = counts.get(cell)
            counts[cell] = (kept, 1.0) if found is None else (found[0] + kept, found[1] + 1.0)


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
        name: str = "tastebud",
        *,
        relevance: bool = True,
        meaning: bool = True,
        use: bool = True,
        fallback: bool = True,
        pool: bool = True,
    ) -> None:
        self.name = name
        self.meaning = meaning
        self.use = use
        self.strategy = DefaultStrategy(
            relevance=relevance, similar=meaning or use, fallback=fallback, pool=pool
        )
        self._evidence = Evidence()

    def _refit(self, counts: Counts, prompts: list[tuple[str, ...]], before: Fitted) -> Fitted:
        return refit(counts, prompts, before, meaning=self.meaning, use=self.use)

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
        candidates = sorted({item.checkpoint for item in history})
        seen = 0
        next_refit = FIRST_REFIT
        for batch in batches(history):
            if counts and self.strategy.fallback:
                evidence = Evidence(counts, counts if everyone is None else everyone)
                strategy = self.strategy.with_fitted(fitted)
                parts = {
                    part.key: part
                    for part in strategy.parts(
                        batch[0].keywords, candidates, evidence, StatType.CHECKPOINT
                    )
                }
                kind = fitted.checkpoints
                weight = kind.weight.scored_with(
                    (
                        parts[item.checkpoint].base + parts[item.checkpoint].lift,
                        parts[item.checkpoint].keywords,
                        item.selected,
                    )
                    for item in batch
                )
                fitted = replace(fitted, checkpoints=replace(kind, weight=weight))
            _add(counts, batch)
            prompts.append(batch[0].keywords)
            seen += len(batch)
            if seen >= next_refit:
                fitted = self._refit(counts, prompts, fitted)
                next_refit = int(next_refit * REFIT_GROWTH)
        self.fitted = self._refit(counts, prompts, fitted)
        self._evidence = Evidence(counts, counts if everyone is None else everyone)
        self._strategy = self.strategy.with_fitted(self.fitted)

    def recommend(self, keywords: Sequence[str], candidates: Sequence[str]) -> str:
        return self._strategy.rank_checkpoints(keywords, candidates, self._evidence)[0].key


def contestants() -> list[tuple[str, Callable[[], Recommender]]]:
    """The new default and the ablations, each a fresh recommender per fold or seed."""
    return [
        ("tastebud", lambda: TastebudRecommender()),
        ("tastebud, no relevance", lambda: TastebudRecommender("tastebud, no relevance", relevance=False)),
        ("tastebud, no meaning", lambda: TastebudRecommender("tastebud, no meaning", meaning=False)),
        ("tastebud, no use", lambda: TastebudRecommender("tastebud, no use", use=False)),
        ("tastebud, no similar words", lambda: TastebudRecommender("tastebud, no similar words", meaning=False, use=False)),
        ("tastebud, no fallback", lambda: TastebudRecommender("tastebud, no fallback", fallback=False)),
        ("tastebud, no pooling", lambda: TastebudRecommender("tastebud, no pooling", pool=False)),
    ]  # fmt: skip
