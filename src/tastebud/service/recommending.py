"""Recommending for a prompt: checkpoints ranked, the best one, an Explore batch, and LoRAs.

Each call asks the strategy which statistics it needs, fetches them from the store, and turns
its scores into answers with the names the caller gave and the reasons in words.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from tastebud.errors import InvalidInput
from tastebud.learning.explain import (
    Explanation,
    explain_avoided,
    explain_choice,
    explain_family,
    explain_not_enabled,
    label,
)
from tastebud.learning.explore import explore as explore_batch
from tastebud.learning.families import canonical_family, compatible
from tastebud.learning.keys import StatType
from tastebud.learning.pairs import worth_enabling
from tastebud.learning.strategy import Scored
from tastebud.learning.strengths import Use, preferred_strength
from tastebud.names import model_key
from tastebud.prompt import parse_prompt
from tastebud.recommendations import (
    Allocation,
    Exploration,
    LoraScore,
    LoraSet,
    RankedCheckpoint,
    Recommendation,
)
from tastebud.service.base import _profile
from tastebud.service.fitting import Fitting
from tastebud.store.repository import Repository

MAX_BATCH = 64
STRENGTH_HISTORY = 1000


class Recommending(Fitting):
    """``PreferenceLearning``'s answers to "what should I generate this prompt with?"."""

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
        store = await self._store()
        keywords = parse_prompt(_prompt(prompt)).keywords
        names = await _candidates(store, "checkpoint", available, user_id, "available_checkpoints")
        strategy = await self._strategy_for(user_id)
        evidence = await store.evidence(
            user_id,
            strategy.checkpoint_blocks(keywords, list(names)),
            half_life_days=self.half_life_days,
        )
        events = evidence.mine((StatType.PROFILE, "", "")).total
        if (refitted := await self._refitted(user_id, strategy, events)) is not strategy:
            strategy = refitted
            evidence = await store.evidence(
                user_id,
                strategy.checkpoint_blocks(keywords, list(names)),
                half_life_days=self.half_life_days,
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
        for field, value, most in (("batch", batch, MAX_BATCH), ("top", top, 20)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
                raise InvalidInput(field, f"must be a whole number from 1 to {most}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidInput("seed", "must be a whole number")
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

    async def recommend_loras(
        self,
        prompt: str,
        checkpoint: str | None = None,
        count: int = 3,
        *,
        available_loras: Sequence[str] | None = None,
        user_id: str = "default",
    ) -> list[LoraScore]:
        """Up to ``count`` LoRAs for the prompt, best first, each with its strength and why.

        Candidates are ``available_loras`` or the LoRAs this profile has used; LoRAs that clash
        with ``checkpoint``, or were made for another model family, are left out. With no
        history the answer is an empty list.
        """
        return [
            lora for lora in await self.explain_loras(
                prompt, checkpoint, count, available_loras=available_loras, user_id=user_id
            ) if not lora.avoided
        ]  # fmt: skip

    async def explain_loras(
        self,
        prompt: str,
        checkpoint: str | None = None,
        count: int = 3,
        *,
        available_loras: Sequence[str] | None = None,
        user_id: str = "default",
    ) -> list[LoraScore]:
        """``recommend_loras``, followed by the LoRAs left out for the checkpoint and why.

        A LoRA is left out when it clashes with the checkpoint ("Avoided anime_v2 with
        epicrealismXL: 8 of 25 kept"), or when both base model families are known and differ.
        """
        return await self._loras(prompt, checkpoint, count, available_loras, user_id, smart=False)

    async def recommend_lora_set(
        self,
        prompt: str,
        checkpoint: str | None = None,
        *,
        most: int = 3,
        available_loras: Sequence[str] | None = None,
        user_id: str = "default",
    ) -> LoraSet:
        """The LoRAs to enable for the prompt and checkpoint, at their strengths (smart selection).

        A LoRA is enabled only when it works (``learning.pairs``: even the pessimistic end of
        its keep rate with the checkpoint is above the rate without it) and the prompt's words do
        not speak against it. Never one that clashes with the checkpoint, never one made for
        another model family; at most ``most``. ``left_out`` says why each other LoRA was not enabled.
        """
        if isinstance(most, bool) or not isinstance(most, int) or not 1 <= most <= 20:
            raise InvalidInput("most", "must be a whole number from 1 to 20")
        found = await self._loras(prompt, checkpoint, most, available_loras, user_id, smart=True)
        enabled = [lora for lora in found if not lora.avoided]
        tags = " ".join(f"<lora:{lora.name}:{lora.strength or 1.0:g}>" for lora in enabled)
        if enabled:
            why = "Enabled: " + ", ".join(lora.name for lora in enabled) + "."
        elif found:
            why = "No LoRA is kept consistently enough with these words yet."
        else:
            why = "No LoRAs to choose from yet: record a few images made with LoRAs."
        return LoraSet(enabled, [lora for lora in found if lora.avoided], tags, why)

    async def _loras(
        self,
        prompt: str,
        checkpoint: str | None,
        count: int,
        available_loras: Sequence[str] | None,
        user_id: str,
        *,
        smart: bool,
    ) -> list[LoraScore]:
        """The chosen LoRAs with strengths and reasons, then those left out (``avoided``).

        Chosen: the best ``count`` that do not clash; with ``smart``, only those consistently
        worth enabling (``learning.pairs.worth_enabling``), the rest left out with the reason.
        """
        user_id = _profile(user_id)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100:
            raise InvalidInput("count", "must be a whole number from 1 to 100")
        store = await self._store()
        parsed = parse_prompt(_prompt(prompt))
        checkpoint_key = model_key(checkpoint) if checkpoint else None
        if checkpoint is not None and not checkpoint_key:
            raise InvalidInput("checkpoint", f"{checkpoint!r} is not a model name")
        if checkpoint_key:
            resolved = await store.resolve("checkpoint", [checkpoint_key], user_id)
            checkpoint_key = resolved[checkpoint_key]
        names = await _candidates(store, "lora", available_loras, user_id, "available_loras")
        left_out: list[LoraScore] = []
        if checkpoint_key and names:
            family = (await store.families("checkpoint", [checkpoint_key]))[checkpoint_key]
            lora_families = await store.families("lora", list(names))
            for key in list(names):
                if not compatible(family, lora_families[key]):
                    explained = explain_family(
                        names[key], str(canonical_family(lora_families[key])), str(checkpoint),
                        str(canonical_family(family)),
                    )  # fmt: skip
                    left_out.append(_lora_score(names[key], 0.0, None, explained, avoided=True))
                    del names[key]
        candidates = list(names)
        strategy = await self._strategy_for(user_id)
        evidence = await store.evidence(
            user_id,
            strategy.lora_blocks(parsed.keywords, checkpoint_key, candidates),
            half_life_days=self.half_life_days,
        )
        events = evidence.mine((StatType.PROFILE, "", "")).total
        if (refitted := await self._refitted(user_id, strategy, events)) is not strategy:
            strategy = refitted
            evidence = await store.evidence(
                user_id,
                strategy.lora_blocks(parsed.keywords, checkpoint_key, candidates),
                half_life_days=self.half_life_days,
            )
        scored: list[Scored] = strategy.rank_loras(
            parsed.keywords, checkpoint_key, candidates, evidence
        )
        chosen = [item for item in scored if not item.avoided]
        if smart:
            kept_enough = []
            profile = evidence.mine((StatType.PROFILE, "", ""))
            overall = evidence.mine((StatType.CHECKPOINT, checkpoint_key or "", ""))
            for item in chosen:
                pair = evidence.mine((StatType.CHECKPOINT_LORA, checkpoint_key or "", item.key))
                lora = evidence.mine((StatType.LORA, item.key, ""))
                if worth_enabling(pair, overall, lora, profile, item.prompt_gap):
                    kept_enough.append(item)
                else:
                    with_it, without = (
                        (pair, overall - pair) if pair.total else (lora, profile - lora)
                    )
                    explained = explain_not_enabled(
                        names[item.key], with_it, without, str(checkpoint or ""),
                        against_words=item.prompt_gap < 0,
                    )  # fmt: skip
                    left_out.append(
                        _lora_score(names[item.key], item.score, None, explained, avoided=True)
                    )
            chosen = kept_enough
        chosen = chosen[:count]
        uses = await store.lora_uses(user_id, [item.key for item in chosen], STRENGTH_HISTORY)
        found: list[LoraScore] = []
        for item in chosen:
            explained = explain_choice(parsed.keywords, [item], names, "lora")
            preferred = preferred_strength(
                (Use(*use) for use in uses.get(item.key, ())), checkpoint_key
            )
            strength = None
            if preferred is not None:
                strength = preferred.strength
                where = f" with {checkpoint}" if preferred.checkpoint else ""
                explained = Explanation(
                    explained.why[:-1]
                    + f". Strength {preferred.strength:g}{where}: {preferred.selected} of "
                    f"{preferred.total} kept.",
                    [*explained.evidence, {
                        "kind": "strength", "lora": names[item.key],
                        "strength": preferred.strength, "selected": preferred.selected,
                        "total": preferred.total,
                        "checkpoint": checkpoint if preferred.checkpoint else None,
                    }],
                )  # fmt: skip
            found.append(_lora_score(names[item.key], item.score, strength, explained))
        for item in scored:
            if item.avoided and checkpoint:
                pair = evidence.mine((StatType.CHECKPOINT_LORA, checkpoint_key or "", item.key))
                explained = explain_avoided(
                    names[item.key], checkpoint, round(pair.selected), round(pair.total)
                )
                left_out.append(
                    _lora_score(names[item.key], item.score, None, explained, avoided=True)
                )
        return found + left_out


def _lora_score(
    name: str,
    score: float,
    strength: float | None,
    explained: Explanation,
    *,
    avoided: bool = False,
) -> LoraScore:
    return LoraScore(
        name, score, strength, explained.why, tuple(explained.evidence), avoided=avoided
    )


async def _candidates(
    store: Repository, kind: str, available: Sequence[str] | None, user_id: str, field: str
) -> dict[str, str]:
    """Stored key -> name to answer with, for each candidate checkpoint (or LoRA).

    Without ``available``, the models this profile has used, by their recorded names.
    """
    if available is None:
        return await store.known_models(kind, user_id)
    if isinstance(available, str):
        available = [available]
    requested: dict[str, str] = {}
    for index, name in enumerate(available):
        if not isinstance(name, str) or not model_key(name):
            raise InvalidInput(f"{field}[{index}]", f"is not a {kind} name")
        if "\x00" in name:  # no stored name holds one, and PostgreSQL refuses to compare it
            raise InvalidInput(f"{field}[{index}]", "must not contain NUL characters")
        requested.setdefault(model_key(name), name)
    stored = await store.resolve(kind, list(requested), user_id)
    names: dict[str, str] = {}
    for key, name in requested.items():
        names.setdefault(stored[key], name)
    return names


def _prompt(prompt: Any) -> str:
    if not isinstance(prompt, str):
        raise InvalidInput("prompt", "must be a string")
    return prompt
