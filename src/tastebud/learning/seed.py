"""The seed's strategy, exactly as its design document describes it.

For a candidate and one keyword of the prompt::

    confidence = min(n / 20, 1)          n = this profile's images of (keyword, candidate)
    score      = confidence * personal + (1 - confidence) * global

(The seed's ``confidence`` here is what tastebud calls the evidence level; tastebud's
``confidence`` is the estimated keep rate, the seed's meaning in its two endpoints.)

``personal`` is the profile's selection rate for the (keyword, candidate) cell; ``global`` is the
same cell pooled over all profiles, backing off to the candidate's pooled overall rate when the cell
is empty everywhere, then to 0.5.

The candidate's score for the prompt is the mean of its keyword scores weighted by how many images
(all profiles) each keyword has with the candidate, so a keyword never seen with it does not drag
the score toward the fallback: "beach sunset" scores 0.75 on 15 of 20 "beach" selections even when
"sunset" was never used. When no keyword has any images with the candidate, the score is the same
blend over the candidate's overall statistics (profile and pooled), and 0.5 with no data at all.

LoRAs are scored the same way from keyword x LoRA cells. A LoRA that clashes with the checkpoint
(``tastebud.learning.pairs``, the one rule for all strategies and the overview) is ranked last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tastebud.learning.keys import Cell, Counts, StatType
from tastebud.learning.pairs import verdict
from tastebud.learning.strategy import Block, Evidence, KeywordEvidence, Scored

FALLBACK_RATE = 0.5


def seed_blend(personal: Counts, global_rate: float) -> float:
    """The seed's formula: trust the profile's own rate in proportion to its evidence."""
    weight = personal.evidence_level  # what the seed calls confidence
    return weight * personal.rate + (1.0 - weight) * global_rate


@dataclass(frozen=True)
class SeedStrategy:
    """The seed's ``min(n/20, 1)`` blend of personal and global selection rates."""

    name: str = "seed"

    def checkpoint_blocks(self, keywords: Sequence[str], candidates: Sequence[str]) -> list[Block]:
        return [
            Block(StatType.CHECKPOINT, tuple(candidates)),
            Block(StatType.KEYWORD_CHECKPOINT, tuple(keywords), tuple(candidates)),
        ]

    def rank_checkpoints(
        self, keywords: Sequence[str], candidates: Sequence[str], evidence: Evidence
    ) -> list[Scored]:
        scored = [
            self._score(
                keywords, candidate, StatType.KEYWORD_CHECKPOINT, StatType.CHECKPOINT, evidence
            )
            for candidate in candidates
        ]
        return _best_first(scored)

    def lora_blocks(
        self, keywords: Sequence[str], checkpoint: str | None, candidates: Sequence[str]
    ) -> list[Block]:
        blocks = [
            Block(StatType.LORA, tuple(candidates)),
            Block(StatType.KEYWORD_LORA, tuple(keywords), tuple(candidates)),
        ]
        if checkpoint:
            blocks.append(Block(StatType.CHECKPOINT, (checkpoint,)))
            blocks.append(Block(StatType.CHECKPOINT_LORA, (checkpoint,), tuple(candidates)))
        return blocks

    def rank_loras(
        self,
        keywords: Sequence[str],
        checkpoint: str | None,
        candidates: Sequence[str],
        evidence: Evidence,
    ) -> list[Scored]:
        scored = []
        for candidate in candidates:
            result = self._score(
                keywords, candidate, StatType.KEYWORD_LORA, StatType.LORA, evidence
            )
            if checkpoint and self._clashes(checkpoint, candidate, evidence):
                result = Scored(
                    result.key, result.score, result.evidence, result.evidence_level,
                    result.keywords, avoided=True, pseudo_count=result.pseudo_count,
                    overall=result.overall,
                )  # fmt: skip
            scored.append(result)
        return _best_first(scored)

    def _score(
        self,
        keywords: Sequence[str],
        candidate: str,
        pair_type: StatType,
        overall_type: StatType,
        evidence: Evidence,
    ) -> Scored:
        overall: Cell = (overall_type, candidate, "")
        pooled_overall = evidence.everyone(overall)
        fallback = pooled_overall.rate if pooled_overall.total else FALLBACK_RATE
        weighted = 0.0
        weight = 0.0
        used: float = 0
        seen: list[KeywordEvidence] = []
        everyone, mine_of = evidence.pooled.get, evidence.personal.get
        # The hot loop of every recommendation (candidates x keywords): plain arithmetic on the
        # counts, the seed's blend written out.
        for keyword in keywords:
            cell: Cell = (pair_type, keyword, candidate)
            pooled = everyone(cell)
            if pooled is None or not pooled[1]:
                continue
            pooled_selected, pooled_total = pooled
            mine = mine_of(cell)
            if mine is None or not mine[1]:
                blended = pooled_selected / pooled_total
            else:
                mine_selected, mine_total = mine
                trust = mine_total / 20.0 if mine_total < 20 else 1.0
                blended = (trust * mine_selected / mine_total
                           + (1.0 - trust) * pooled_selected / pooled_total)  # fmt: skip
                used = max(used, mine_total)
                seen.append(KeywordEvidence(keyword, round(mine_selected), round(mine_total)))
            weighted += pooled_total * blended
            weight += pooled_total
        mine_overall = evidence.mine(overall)
        if weight:
            score = weighted / weight
        else:
            score = seed_blend(mine_overall, fallback)
            used = mine_overall.total
        return Scored(
            key=candidate,
            score=score,
            evidence=round(used),
            evidence_level=min(used / 20.0, 1.0),
            keywords=tuple(seen),
            pseudo_count=used + 2.0,
            overall=(round(mine_overall.selected), round(mine_overall.total)),
        )

    def _clashes(self, checkpoint: str, lora: str, evidence: Evidence) -> bool:
        pair = evidence.mine((StatType.CHECKPOINT_LORA, checkpoint, lora))
        return verdict(pair, evidence.mine((StatType.CHECKPOINT, checkpoint, ""))) == "clashes"


def _best_first(scored: list[Scored]) -> list[Scored]:
    # Stable sort: equal scores keep the caller's order of candidates.
    return sorted(scored, key=lambda item: (item.avoided, -item.score))
