"""What a recommendation answers: the checkpoint, the LoRAs, an Explore split, and why.

Each answer owns its JSON form (``to_dict``): the HTTP API and the CLI's ``--json`` print the
same, scores rounded to 4 places.
"""

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

    def to_dict(self) -> dict[str, Any]:
        shown = {"lora": self.name, "score": round(self.score, 4), "strength": self.strength,
                 "why": self.why, "reasons": list(self.evidence)}  # fmt: skip
        return {**shown, "avoided": True} if self.avoided else shown


class LoraSet(NamedTuple):
    """The LoRAs to enable for a prompt and checkpoint (smart selection), and those left out."""

    enabled: list[LoraScore]
    left_out: list[LoraScore]
    tags: str
    """The enabled LoRAs as prompt tags: ``<lora:add_detail:0.6> <lora:film_grain:0.4>``."""
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": [lora.to_dict() for lora in self.enabled],
            "left_out": [lora.to_dict() for lora in self.left_out],
            "tags": self.tags,
            "why": self.why,
        }


class RankedCheckpoint(NamedTuple):
    """One candidate checkpoint of a ranking, with the evidence behind its score."""

    checkpoint: str
    score: float
    evidence: int
    evidence_level: float
    """How much history stands behind the score, 0 to 1 (``min(evidence / 20, 1)``)."""

    def to_dict(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "score": round(self.score, 4),
                "evidence": self.evidence, "evidence_level": round(self.evidence_level, 4)}  # fmt: skip


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "confidence": round(self.confidence, 4),
            "evidence": self.evidence,
            "evidence_level": round(self.evidence_level, 4),
            "label": self.label,
            "why": self.why,
            "reasons": self.reasons,
            "keywords": self.keywords,
            "ranking": [item.to_dict() for item in self.ranking],
        }


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "allocations": [
                {"checkpoint": item.checkpoint, "images": item.images,
                 "propensity": item.propensity, "score": round(item.score, 4)}
                for item in self.allocations
            ],
            "slots": [
                {"checkpoint": checkpoint, "propensity": propensity}
                for checkpoint, propensity in self.slots
            ],
            "why": self.why,
        }  # fmt: skip
