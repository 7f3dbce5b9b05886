"""Recommending checkpoints for a prompt: ranked, the best one, an Explore batch.

Each call asks the strategy which statistics it needs, fetches them from the store, and turns
its scores into answers with the names the caller gave and the reasons in words.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from tastebud.learning.explain import (
    explain_choice,
    label,
)
from tastebud.learning.explore import explore as explore_batch
from tastebud.learning.strategy import Scored
from tastebud.problems import whole_number
from tastebud.prompt import parse_prompt
from tastebud.recommendations import (
    Allocation,
    Exploration,
    RankedCheckpoint,
    Recommendation,
)
from tastebud.service.base import StoreOpener, _profile
from tastebud.service.candidates import candidates, prompt_text
from tastebud.service.fitting import Fitting

MAX_BATCH = 64
STRENGTH_HISTORY = 1000


class Recommending:
    """Checkpoints for a prompt: ranked, the best one with why, and an Explore batch."""

    def __init__(self, store: StoreOpener, fitting: Fitting, half_life_days: float | None) -> None:
        self.store = store
        self.fitting = fitting
        self.half_life_days = half_life_days

    async def rank_checkpoints(
        self,
        prompt: str,
        available_checkpoints: Sequence[str] | None = None,
        *,
        user_id: str = "default",
    ) -> list[RankedCheckpoint]:
        """Every candidate checkpoint for the prompt, best first.

        Candidates are ``available_checkpoints`` (names in any form; a model name finds its
        recorded versions, "epicrealismXL" finds "epicrealismXL_pureFix") or, without it, the
        checkpoints this profile has used. Unknown candidates score 0.5, the seed's neutral rate.
        """
        _, scored, names = await self._ranked(prompt, available_checkpoints, user_id)
        return [
            RankedCheckpoint(names[item.key], item.score, item.evidence, item.evidence_level)
            for item in scored
        ]

    async def _ranked(
        self, prompt: str, available: Sequence[str] | None, user_id: str
    ) -> tuple[tuple[str, ...], list[Scored], dict[str, str]]:
        """The prompt's keywords, the candidates' scores best first, and key -> name."""
        user_id = _profile(user_id)
        store = await self.store.get()
        keywords = parse_prompt(prompt_text(prompt)).keywords
        names = await candidates(store, "checkpoint", available, user_id, "available_checkpoints")
        strategy, evidence = await self.fitting.with_evidence(
            user_id,
            lambda strategy: strategy.checkpoint_blocks(keywords, list(names)),
            self.half_life_days,
        )
        scored = strategy.rank_checkpoints(keywords, list(names), evidence)
        return keywords, scored, names

    async def recommend(
        self,
        prompt: str,
        available_checkpoints: Sequence[str] | None = None,
        *,
        user_id: str = "default",
    ) -> Recommendation:
        """The best checkpoint for the prompt with its confidence, label, reasons and ranking.

        ``confidence`` keeps the seed's meaning (the estimated selection rate); the evidence
        level and label say how much history stands behind it; ``why`` says which, in words.
        """
        keywords, scored, names = await self._ranked(prompt, available_checkpoints, user_id)
        ranking = [
            RankedCheckpoint(names[item.key], item.score, item.evidence, item.evidence_level)
            for item in scored
        ]
        explained = explain_choice(keywords, scored, names, "checkpoint")
        best = scored[0] if scored else None
        return Recommendation(
            checkpoint=names[best.key] if best else None,
            confidence=best.score if best else 0.0,
            evidence=best.evidence if best else 0,
            evidence_level=best.evidence_level if best else 0.0,
            label=label(best.evidence_level if best else 0.0),
            why=explained.why,
            reasons=explained.evidence,
            keywords=list(keywords),
            ranking=ranking,
        )

    async def explore(
        self,
        prompt: str,
        batch: int = 8,
        available_checkpoints: Sequence[str] | None = None,
        *,
        top: int = 3,
        seed: int | None = None,
        user_id: str = "default",
    ) -> Exploration:
        """Split a batch of ``batch`` images across the ``top`` most promising checkpoints.

        Thompson sampling on each checkpoint's posterior: uncertain but promising checkpoints
        get some images, ones that keep disappointing fade; with no history the batch is spread
        evenly. Each image carries its propensity: pass it as ``propensity`` when recording the
        judgement. ``seed`` makes the split repeatable.
        """
        whole_number("batch", batch, 1, MAX_BATCH)
        whole_number("top", top, 1, 20)
        if seed is not None:
            whole_number("seed", seed)
        keywords, scored, names = await self._ranked(prompt, available_checkpoints, user_id)
        slots = explore_batch(scored, batch, top, random.Random(seed))
        by_key = {item.key: item for item in scored}
        counted: dict[str, int] = {}
        for slot in slots:
            counted[slot.key] = counted.get(slot.key, 0) + 1
        propensity = {slot.key: slot.propensity for slot in slots}
        allocations = sorted(
            (
                Allocation(names[key], images, round(propensity[key], 4), by_key[key].score)
                for key, images in counted.items()
            ),
            key=lambda item: -item.images,
        )
        if not slots:
            why = explain_choice(keywords, scored, names, "checkpoint").why
        elif all(item.overall[1] == 0 and not item.keywords for item in scored):
            why = f"No history yet: the batch is spread evenly over {len(counted)} checkpoints."
        else:
            why = (
                "Split by Thompson sampling: each checkpoint gets images in proportion to its "
                "chance of being the best for this prompt. "
                + explain_choice(keywords, scored, names, "checkpoint").why
            )
        return Exploration(
            batch=batch,
            allocations=allocations,
            slots=[(names[slot.key], round(slot.propensity, 4)) for slot in slots],
            why=why,
        )

    async def recommend_checkpoint(
        self,
        prompt: str,
        available_checkpoints: Sequence[str] | None = None,
        *,
        user_id: str = "default",
    ) -> tuple[str | None, float]:
        """The best checkpoint for the prompt and its score, which the seed calls confidence.

        With no candidates at all (no ``available_checkpoints`` and no history) the answer is
        ``(None, 0.0)``; with candidates but no history, the first candidate and 0.5.
        """
        ranking = await self.rank_checkpoints(prompt, available_checkpoints, user_id=user_id)
        if not ranking:
            return None, 0.0
        return ranking[0].checkpoint, ranking[0].score
