"""Whether a LoRA works with a checkpoint or clashes with it: one statistical rule for all.

A pair of a checkpoint and a LoRA is compared with the checkpoint's images *without* that LoRA.
It **clashes** when even the optimistic end of the pair's selection rate (the upper bound of its
Wilson 90% interval) is below the rate without the LoRA: "epicrealismXL + anime_v2: 8 of 25 kept"
against 70 of 95 without it. It **works** when even the pessimistic end (the lower bound) is above
it. Anything in between is not yet known either way. Fewer than ``MIN_PAIR_IMAGES`` images of the
pair say nothing. Recommendations (which LoRAs are avoided, which are enabled) and the panel's
overview (LoRAs that work, LoRAs that clash) all ask this module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from tastebud.learning.keys import Counts, StatType
from tastebud.learning.strategy import Evidence, Scored

MIN_PAIR_IMAGES = 5
"""Images of a checkpoint x LoRA pair before it is said to work or clash."""
Z90 = 1.6448536269514722
"""One-sided 95%, two-sided 90% normal quantile."""

Verdict = Literal["works", "clashes"] | None


def wilson_bounds(counts: Counts, z: float = Z90) -> tuple[float, float]:
    """Lower and upper ends of the Wilson score interval of a selection rate ((0, 1) with none)."""
    n = counts.total
    if n <= 0:
        return 0.0, 1.0
    p = min(max(counts.selected / n, 0.0), 1.0)
    denominator = 1.0 + z * z / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)


def wilson_upper(counts: Counts, z: float = Z90) -> float:
    """Upper end of the Wilson score interval of a selection rate (1.0 with no data)."""
    return wilson_bounds(counts, z)[1]


def verdict(pair: Counts, checkpoint: Counts) -> Verdict:
    """ "works", "clashes" or None, for a pair's counts and its checkpoint's (all images)."""
    if pair.total < MIN_PAIR_IMAGES:
        return None
    without = checkpoint - pair
    if without.total <= 0:
        return None
    lower, upper = wilson_bounds(pair)
    if upper < without.rate:
        return "clashes"
    if lower > without.rate:
        return "works"
    return None


def worth_enabling(
    pair: Counts, checkpoint: Counts, lora: Counts, profile: Counts, prompt_gap: float
) -> bool:
    """Whether smart selection enables a LoRA (the seed's Phase 3).

    It must *work*, by the rule above: with the checkpoint (``pair`` against ``checkpoint``'s
    images) or, while the pair has fewer than ``MIN_PAIR_IMAGES`` images, overall (``lora``'s
    images against the rest of the ``profile``'s); and the prompt's words must not speak against
    it (``prompt_gap``, what they move its rate by in log-odds, is not below 0).
    """
    said = verdict(pair, checkpoint) if pair.total >= MIN_PAIR_IMAGES else verdict(lora, profile)
    return said == "works" and prompt_gap >= 0.0


def with_checkpoint(
    ranked: Sequence[Scored], checkpoint: str, evidence: Evidence, strength: float
) -> list[Scored]:
    """LoRAs ranked for a checkpoint: each pulled toward its record with it, clashing ones last.

    The pair's own record pulls a LoRA's score toward it as a keyword cell does (``strength``
    images for the score before the pair's own).
    """
    overall = evidence.mine((StatType.CHECKPOINT, checkpoint, ""))
    scored = []
    for item in ranked:
        pair = evidence.mine((StatType.CHECKPOINT_LORA, checkpoint, item.key))
        score = item.score
        if pair.total:
            score = (pair.selected + strength * item.score) / (pair.total + strength)
        scored.append(replace(item, score=score, avoided=verdict(pair, overall) == "clashes"))
    return sorted(scored, key=lambda found: (found.avoided, -found.score))
