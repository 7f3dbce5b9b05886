"""The contract every scoring strategy keeps, and the evidence it scores from.

A strategy is a plain object: it says which statistics it needs for a question, then ranks the
candidates from the counts the service fetched. It never touches storage, so the same strategy runs
on SQLite, PostgreSQL, a benchmark's in-memory counts or a test's hand-made ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tastebud.learning.keys import NO_COUNTS, Cell, Counts, StatType
from tastebud.learning.styles import StylePart


@dataclass(frozen=True, slots=True)
class Block:
    """The statistics of one type for every pair of ``keys1`` x ``keys2`` (a strategy's question)."""

    stat_type: StatType
    keys1: tuple[str, ...]
    keys2: tuple[str, ...] = ("",)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Counts of the cells a strategy asked for: this profile's, and all profiles' pooled.

    The maps hold ``(selected, total)`` pairs (a hot loop may read them as plain tuples): counts,
    or sums of weights where old images count less (a half-life); ``mine`` and ``everyone`` give
    them as ``Counts``, zero where a cell has no images.
    """

    personal: Mapping[Cell, tuple[float, float]] = field(default_factory=dict)
    pooled: Mapping[Cell, tuple[float, float]] = field(default_factory=dict)

    def mine(self, cell: Cell) -> Counts:
        found = self.personal.get(cell)
        return NO_COUNTS if found is None else Counts(*found)

    def everyone(self, cell: Cell) -> Counts:
        found = self.pooled.get(cell)
        return NO_COUNTS if found is None else Counts(*found)


@dataclass(frozen=True, slots=True)
class KeywordEvidence:
    """What this profile's history says about one keyword with one candidate."""

    keyword: str
    selected: int
    total: int
    similar: Sequence[tuple[str, int, int]] = ()
    """(word, selected, total) of the similar words whose counts this keyword's cell borrowed
    (a strategy may work them out only when they are read)."""
    weight: float = 1.0
    """How much the keyword weighs among the prompt's words (its prior variance)."""

    @property
    def rate(self) -> float:
        return self.selected / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class Scored:
    """One candidate's score for a prompt, with the evidence behind it."""

    key: str
    score: float
    evidence: int
    """Images of this profile behind the score."""
    evidence_level: float
    """The seed's evidence level, ``min(evidence / 20, 1)``."""
    keywords: tuple[KeywordEvidence, ...] = ()
    avoided: bool = False
    """A LoRA that clashes with the checkpoint: ranked last and not recommended."""
    pseudo_count: float = 2.0
    """How many images the score is worth, as a Beta posterior's ``alpha + beta``: Explore mode
    samples ``Beta(score * pseudo_count, (1 - score) * pseudo_count)``."""
    overall: tuple[int, int] = (0, 0)
    """This profile's (selected, total) images of the candidate, whatever the prompt."""
    prompt_gap: float = 0.0
    """How far the prompt's words move the candidate's rate (log-odds), where the strategy says."""
    style: StylePart | None = None
    """What the look of the checkpoint's images adds to its score (``styles.StyleFit.parts``)."""


class Strategy(Protocol):
    """Ranks checkpoints and LoRAs for a prompt from counts of past selections."""

    @property
    def name(self) -> str:
        """The strategy's name, as settings and benchmarks call it."""
        ...

    def checkpoint_blocks(self, keywords: Sequence[str], candidates: Sequence[str]) -> list[Block]:
        """The statistics ``rank_checkpoints`` reads for this question."""
        ...

    def rank_checkpoints(
        self, keywords: Sequence[str], candidates: Sequence[str], evidence: Evidence
    ) -> list[Scored]:
        """Every candidate once, best first; equal scores keep the candidates' order."""
        ...

    def lora_blocks(
        self, keywords: Sequence[str], checkpoint: str | None, candidates: Sequence[str]
    ) -> list[Block]:
        """The statistics ``rank_loras`` reads for this question."""
        ...

    def rank_loras(
        self,
        keywords: Sequence[str],
        checkpoint: str | None,
        candidates: Sequence[str],
        evidence: Evidence,
    ) -> list[Scored]:
        """Every candidate once, best first, those that clash with the checkpoint last."""
        ...
