"""What a recommendation answers: the checkpoint, the LoRAs, an Explore split, and why."""

from __future__ import annotations

from typing import Any, NamedTuple


class LoraScore(NamedTuple):
    """A LoRA for the prompt: its score, the strength to use it at, and why."""

    name: str
    score: float
    strength: float | None = None
    """The strength this profile keeps most images at (None: never used, try 1.0)."""
    why: str = ""
    evidence: tuple[dict[str, Any], ...] = ()
    avoided: bool = False
    """Left out: it clashes with the checkpoint, or was made for another model family."""


class LoraSet(NamedTuple):
    """The LoRAs to enable for a prompt and checkpoint (smart selection), and those left out."""

    enabled: list[LoraScore]
    left_out: list[LoraScore]
    tags: str
    """The enabled LoRAs as prompt tags: ``<lora:add_detail:0.6> <lora:film_grain:0.4>``."""
    why: str


class RankedCheckpoint(NamedTuple):
    """One candidate checkpoint of a ranking, with the evidence behind its score."""

    checkpoint: str
    score: float
    evidence: int
    confidence: float


class Recommendation(NamedTuple):
    """The best checkpoint for a prompt, how sure that is, why, and every candidate ranked."""

    checkpoint: str | None
    confidence: float
    """The seed's meaning: the checkpoint's estimated selection rate for this prompt."""
    evidence: int
    """This profile's images behind it (the largest keyword cell, else the checkpoint's)."""
    evidence_level: float
    """The seed's ``min(evidence / 20, 1)``."""
    label: str
    """"High confidence", "Learning" or "Exploring"."""
    why: str
    reasons: list[dict[str, Any]]
    """The evidence the sentence names, as data: keyword, counts, rate."""
    keywords: list[str]
    ranking: list[RankedCheckpoint]


class Allocation(NamedTuple):
    """How many images of an Explore batch go to one checkpoint."""

    checkpoint: str
    images: int
    propensity: float
    """The probability that an image of the batch is given this checkpoint: record it."""
    score: float


class Exploration(NamedTuple):
    """An Explore-mode split of a batch, image by image and per checkpoint."""

    batch: int
    allocations: list[Allocation]
    slots: list[tuple[str, float]]
    """(checkpoint, propensity) for each image of the batch, in order."""
    why: str
