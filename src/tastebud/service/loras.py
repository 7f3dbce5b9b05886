"""Recommending LoRAs for a prompt and checkpoint: ranked with reasons, and the set to enable.

One path serves all three calls (``_choose``), in steps: the candidates and those made for
another model family; the strategy's scores; with smart selection, only those that clearly help;
the learned strength of each chosen one; and, last, every LoRA left out with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from tastebud.errors import InvalidInput
from tastebud.learning.explain import (
    Explanation,
    explain_avoided,
    explain_choice,
    explain_family,
    explain_not_enabled,
    explain_strength,
)
from tastebud.learning.families import canonical_family, compatible
from tastebud.learning.keys import Counts, StatType
from tastebud.learning.pairs import worth_enabling
from tastebud.learning.strategy import Evidence, Scored
from tastebud.learning.strengths import Use, preferred_strength
from tastebud.names import model_key
from tastebud.problems import whole_number
from tastebud.prompt import parse_prompt
from tastebud.recommendations import LoraScore, LoraSet
from tastebud.service.base import StoreOpener, _profile
from tastebud.service.candidates import candidates, prompt_text
from tastebud.service.fitting import Fitting
from tastebud.store.repository import Repository

STRENGTH_HISTORY = 1000
"""A LoRA's most recent uses its preferred strength is learned from."""


class RecommendingLoras:
    """LoRAs for a prompt and checkpoint: the best ones, why, and at which strength."""

    def __init__(self, store: StoreOpener, fitting: Fitting, half_life_days: float | None) -> None:
        self.store = store
        self.fitting = fitting
        self.half_life_days = half_life_days

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
        found = await self._choose(prompt, checkpoint, count, available_loras, user_id)
        return [lora for lora in found if not lora.avoided]

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
        return await self._choose(prompt, checkpoint, count, available_loras, user_id)

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
        another model family; at most ``most``. ``left_out`` says why each other LoRA was not
        enabled.
        """
        whole_number("most", most, 1, 20)
        found = await self._choose(prompt, checkpoint, most, available_loras, user_id, smart=True)
        enabled = [lora for lora in found if not lora.avoided]
        tags = " ".join(f"<lora:{lora.name}:{lora.strength or 1.0:g}>" for lora in enabled)
        if enabled:
            why = "Enabled: " + ", ".join(lora.name for lora in enabled) + "."
        elif found:
            why = "No LoRA is kept consistently enough with these words yet."
        else:
            why = "No LoRAs to choose from yet: record a few images made with LoRAs."
        return LoraSet(enabled, [lora for lora in found if lora.avoided], tags, why)

    async def _choose(
        self,
        prompt: str,
        checkpoint: str | None,
        count: int,
        available_loras: Sequence[str] | None,
        user_id: str,
        *,
        smart: bool = False,
    ) -> list[LoraScore]:
        """The chosen LoRAs with strengths and reasons, then those left out (``avoided``).

        Chosen: the best ``count`` that do not clash; with ``smart``, only those consistently
        worth enabling (``learning.pairs.worth_enabling``), the rest left out with the reason.
        """
        user_id = _profile(user_id)
        whole_number("count", count, 1, 100)
        store = await self.store.get()
        keywords = parse_prompt(prompt_text(prompt)).keywords
        checkpoint_key = await _checkpoint_key(store, checkpoint, user_id)
        names = await candidates(store, "lora", available_loras, user_id, "available_loras")
        left_out = await _other_families(store, names, checkpoint_key, checkpoint)
        strategy, evidence = await self.fitting.with_evidence(
            user_id,
            lambda strategy: strategy.lora_blocks(keywords, checkpoint_key, list(names)),
            self.half_life_days,
        )
        scored = strategy.rank_loras(keywords, checkpoint_key, list(names), evidence)
        chosen = [item for item in scored if not item.avoided]
        if smart:
            chosen, not_enabled = _worth_enabling(chosen, evidence, checkpoint_key)
            for item, with_it, without in not_enabled:
                explained = explain_not_enabled(
                    names[item.key], with_it, without, checkpoint or "",
                    against_words=item.prompt_gap < 0,
                )  # fmt: skip
                left_out.append(_lora_score(names[item.key], item.score, explained, avoided=True))
        chosen = chosen[:count]
        uses = await store.lora_uses(user_id, [item.key for item in chosen], STRENGTH_HISTORY)
        found = []
        for item in chosen:
            explained = explain_choice(keywords, [item], names, "lora")
            preferred = preferred_strength(
                (Use(*use) for use in uses.get(item.key, ())), checkpoint_key
            )
            if preferred is not None:
                explained = explain_strength(explained, names[item.key], preferred, checkpoint)
            strength = None if preferred is None else preferred.strength
            found.append(_lora_score(names[item.key], item.score, explained, strength=strength))
        if checkpoint:
            for item in scored:
                if item.avoided:
                    pair = evidence.mine((StatType.CHECKPOINT_LORA, checkpoint_key or "", item.key))
                    explained = explain_avoided(
                        names[item.key], checkpoint, round(pair.selected), round(pair.total)
                    )
                    left_out.append(
                        _lora_score(names[item.key], item.score, explained, avoided=True)
                    )
        return found + left_out


async def _checkpoint_key(store: Repository, checkpoint: str | None, user_id: str) -> str | None:
    """The stored key of the checkpoint the LoRAs are for (None: no checkpoint given)."""
    if checkpoint is None:
        return None
    key = model_key(checkpoint) if isinstance(checkpoint, str) else ""
    if not key:
        raise InvalidInput("checkpoint", f"{checkpoint!r} is not a model name")
    return (await store.resolve("checkpoint", [key], user_id))[key]


async def _other_families(
    store: Repository, names: dict[str, str], checkpoint_key: str | None, checkpoint: str | None
) -> list[LoraScore]:
    """The LoRAs made for another model family than the checkpoint's, taken out of ``names``,
    each with the reason."""
    if not checkpoint_key or not names:
        return []
    family = (await store.families("checkpoint", [checkpoint_key]))[checkpoint_key]
    lora_families = await store.families("lora", list(names))
    left_out = []
    for key in list(names):
        if not compatible(family, lora_families[key]):
            explained = explain_family(
                names[key], str(canonical_family(lora_families[key])), str(checkpoint),
                str(canonical_family(family)),
            )  # fmt: skip
            left_out.append(_lora_score(names[key], 0.0, explained, avoided=True))
            del names[key]
    return left_out


def _worth_enabling(
    chosen: list[Scored], evidence: Evidence, checkpoint_key: str | None
) -> tuple[list[Scored], list[tuple[Scored, Counts, Counts]]]:
    """Smart selection: the LoRAs that clearly help, and the others with the counts that say
    why (images with the LoRA, and without it)."""
    kept: list[Scored] = []
    not_enabled: list[tuple[Scored, Counts, Counts]] = []
    profile = evidence.mine((StatType.PROFILE, "", ""))
    overall = evidence.mine((StatType.CHECKPOINT, checkpoint_key or "", ""))
    for item in chosen:
        pair = evidence.mine((StatType.CHECKPOINT_LORA, checkpoint_key or "", item.key))
        lora = evidence.mine((StatType.LORA, item.key, ""))
        if worth_enabling(pair, overall, lora, profile, item.prompt_gap):
            kept.append(item)
            continue
        with_it, without = (pair, overall - pair) if pair.total else (lora, profile - lora)
        not_enabled.append((item, with_it, without))
    return kept, not_enabled


def _lora_score(
    name: str,
    score: float,
    explained: Explanation,
    *,
    strength: float | None = None,
    avoided: bool = False,
) -> LoraScore:
    return LoraScore(
        name, score, strength, explained.why, tuple(explained.evidence), avoided=avoided
    )
