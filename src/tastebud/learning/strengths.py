"""The strength a person prefers for a LoRA, learned from the strengths of the images they kept.

Strengths are grouped to the nearest 0.05. Each group's selection rate is pulled toward the LoRA's
rate over all its uses (a Beta prior worth ``PRIOR_IMAGES`` images), and the group with the best
estimate wins; so a strength tried once and kept does not beat one kept 30 times in 40. Where the
checkpoint in question has at least ``MIN_PER_CHECKPOINT`` images with the LoRA, only those count:
the same LoRA often wants less strength on one checkpoint than on another.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PRIOR_IMAGES = 5.0
MIN_PER_CHECKPOINT = 5


@dataclass(frozen=True, slots=True)
class Use:
    """One image made with the LoRA."""

    strength: float
    selected: bool
    checkpoint: str


@dataclass(frozen=True, slots=True)
class PreferredStrength:
    """The strength to use, and the images at that strength it was learned from."""

    strength: float
    selected: int
    total: int
    checkpoint: str | None
    """The checkpoint whose images alone decided it; None when all uses did."""


def preferred_strength(
    uses: Iterable[Use], checkpoint: str | None = None
) -> PreferredStrength | None:
    """The best-kept strength among ``uses`` (None when there are none)."""
    found = list(uses)
    if checkpoint is not None:
        own = [use for use in found if use.checkpoint == checkpoint]
        if len(own) >= MIN_PER_CHECKPOINT:
            best = _best(own)
            return PreferredStrength(best[0], best[1], best[2], checkpoint)
    if not found:
        return None
    best = _best(found)
    return PreferredStrength(best[0], best[1], best[2], None)


def _best(uses: list[Use]) -> tuple[float, int, int]:
    overall = sum(use.selected for use in uses) / len(uses)
    groups: dict[float, list[int]] = {}
    for use in uses:
        group = groups.setdefault(round(round(use.strength * 20) / 20, 2), [0, 0])
        group[0] += use.selected
        group[1] += 1

    def estimate(item: tuple[float, list[int]]) -> tuple[float, int]:
        selected, total = item[1]
        return ((selected + PRIOR_IMAGES * overall) / (total + PRIOR_IMAGES), total)

    strength, (selected, total) = max(sorted(groups.items()), key=estimate)
    return strength, selected, total
