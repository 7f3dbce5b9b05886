"""The default strategy: hierarchical Beta-Binomial shrinkage, evidence combined across keywords.

Every selection rate is estimated as a Beta posterior mean pulled toward the level above it::

    all profiles ("global")  ->  this profile  ->  the checkpoint  ->  keyword x checkpoint

    rate = (selected + pseudo_count * prior) / (total + pseudo_count)

so a cell with few images says little and a cell with many says what it saw. The prior of each
level is the estimate of the level above, moved by what *other* profiles saw of the same cell
(their lift over their own average): on a shared server a newcomer starts from the team's taste,
on a personal database the other profiles add nothing.

Prior pseudo-counts are fitted from the counts in front of the strategy (empirical Bayes, by the method
of moments of the Beta-Binomial): how much checkpoints really differ is the spread of their rates
beyond what sampling alone explains. Few cells give no fit, and the defaults apply (see
``DEFAULT_CHECKPOINT_PSEUDO_COUNT``).

A keyword's cell with a checkpoint is pulled toward the checkpoint's rate moved by the keyword's
own effect (how its images fare with every candidate: some subjects are kept less whatever made
them), so the cell only has to show what is particular to the pair.

A prompt's keywords move the checkpoint's rate in log-odds by the *mean* of their cells' gaps to
the checkpoint's rate: the words of one prompt were judged on the same images, so they are one
witness, not many ("beach", "sand" and "ocean" say one thing). A keyword seen once moves its cell
by at most ``1 / (1 + pseudo_count)`` and is one voice among the prompt's words, so it cannot outvote
the rest; a keyword with no history adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tastebud.learning.keys import Cell, StatType
from tastebud.learning.pairs import with_checkpoint
from tastebud.learning.rates import (
    DEFAULT_CHECKPOINT_PSEUDO_COUNT,
    PROFILE_PSEUDO_COUNT,
    Counts2,
    clip_rate,
    expit,
    fitted_pseudo_count,
    logit,
    others_of,
    shrunk_rate,
)
from tastebud.learning.seed import SeedStrategy
from tastebud.learning.strategy import Block, Evidence, KeywordEvidence, Scored

DEFAULT_KEYWORD_PSEUDO_COUNT = 20.0
"""The same for a keyword with a checkpoint: keywords shift a checkpoint's rate less than one
checkpoint differs from another, so their cells need more images to speak."""
_PROFILE = Block(StatType.PROFILE, ("",))


@dataclass(frozen=True)
class Levels:
    """The estimates above the cells of one question, shared by every candidate."""

    profile_rate: float
    others_rate: float
    overall_pseudo_count: float
    pair_pseudo_count: float
    lifts: dict[str, float] = field(default_factory=dict)
    """How far each keyword moves this profile's rate, whatever the candidate (log-odds)."""


@dataclass(frozen=True)
class BayesStrategy:
    """Hierarchical Beta-Binomial shrinkage with empirical-Bayes prior pseudo-counts."""

    name: str = "default"
    checkpoint_pseudo_count: float | None = None
    """Fixed prior pseudo-count of the checkpoint level; None fits it from the data."""
    keyword_pseudo_count: float | None = None
    """Fixed prior pseudo-count of the keyword x checkpoint level; None fits it from the data."""

    # -- checkpoints ----------------------------------------------------------------------------

    def checkpoint_blocks(self, keywords: Sequence[str], candidates: Sequence[str]) -> list[Block]:
        # The seed's statistics, and the profile's overall rate the hierarchy starts from.
        return [_PROFILE, *SeedStrategy().checkpoint_blocks(keywords, candidates)]

    def rank_checkpoints(
        self, keywords: Sequence[str], candidates: Sequence[str], evidence: Evidence
    ) -> list[Scored]:
        return self._rank(
            keywords, candidates, evidence, StatType.CHECKPOINT, StatType.KEYWORD_CHECKPOINT
        )

    # -- LoRAs ----------------------------------------------------------------------------------

    def lora_blocks(
        self, keywords: Sequence[str], checkpoint: str | None, candidates: Sequence[str]
    ) -> list[Block]:
        return [_PROFILE, *SeedStrategy().lora_blocks(keywords, checkpoint, candidates)]

    def rank_loras(
        self,
        keywords: Sequence[str],
        checkpoint: str | None,
        candidates: Sequence[str],
        evidence: Evidence,
    ) -> list[Scored]:
        ranked = self._rank(keywords, candidates, evidence, StatType.LORA, StatType.KEYWORD_LORA)
        if not checkpoint:
            return ranked
        pseudo_count = self.keyword_pseudo_count or DEFAULT_KEYWORD_PSEUDO_COUNT
        return with_checkpoint(ranked, checkpoint, evidence, pseudo_count)

    # -- the shared ranking ---------------------------------------------------------------------

    def levels(
        self,
        keywords: Sequence[str],
        candidates: Sequence[str],
        evidence: Evidence,
        overall_type: StatType,
        pair_type: StatType,
    ) -> Levels:
        """The profile's rate, and the prior pseudo-counts fitted for this question."""
        mine, everyone = evidence.personal.get, evidence.pooled.get
        profile = mine((StatType.PROFILE, "", ""))
        others = others_of(everyone((StatType.PROFILE, "", "")), profile)
        others_rate = shrunk_rate(others, 0.5, 2.0)
        profile_rate = shrunk_rate(profile, others_rate, PROFILE_PSEUDO_COUNT)
        overall_pseudo_count = self.checkpoint_pseudo_count or fitted_pseudo_count(
            (
                (found[0], found[1], profile_rate)
                for found in (mine((overall_type, key, "")) for key in candidates)
                if found is not None
            ),
            DEFAULT_CHECKPOINT_PSEUDO_COUNT,
        )
        parent: dict[str, float] = {}
        for key in candidates:
            parent[key] = shrunk_rate(
                mine((overall_type, key, "")), profile_rate, overall_pseudo_count
            )
        # A keyword's own effect, shared by every candidate: some subjects are kept less whatever
        # made them. Measured against the candidates' rates, so that the cells below are pulled
        # toward "this checkpoint, for a subject like this" and only what is particular to the
        # pair is left for them to show.
        lifts: dict[str, float] = {}
        for word in keywords:
            kept = seen = expected = 0.0
            for key in candidates:
                found = mine((pair_type, word, key))
                if found is not None:
                    kept += found[0]
                    seen += found[1]
                    expected += found[1] * parent[key]
            if seen:
                base = expected / seen
                lifts[word] = logit(shrunk_rate((kept, seen), base, overall_pseudo_count)) - logit(
                    base
                )
        pair_pseudo_count = self.keyword_pseudo_count
        if pair_pseudo_count is None:
            pair_pseudo_count = fitted_pseudo_count(
                (
                    (found[0], found[1], expit(logit(parent[key]) + lifts[word]))
                    for key in candidates
                    for word in keywords
                    if (found := mine((pair_type, word, key))) is not None
                ),
                DEFAULT_KEYWORD_PSEUDO_COUNT,
            )
        return Levels(profile_rate, others_rate, overall_pseudo_count, pair_pseudo_count, lifts)

    def _rank(
        self,
        keywords: Sequence[str],
        candidates: Sequence[str],
        evidence: Evidence,
        overall_type: StatType,
        pair_type: StatType,
    ) -> list[Scored]:
        levels = self.levels(keywords, candidates, evidence, overall_type, pair_type)
        mine, everyone = evidence.personal.get, evidence.pooled.get
        scored = [
            _score(candidate, keywords, levels, mine, everyone, overall_type, pair_type)
            for candidate in candidates
        ]
        # Stable sort: equal scores keep the caller's order of candidates.
        return sorted(scored, key=lambda item: -item.score)


Lookup = Callable[[Cell], "Counts2 | None"]


def _score(
    candidate: str,
    keywords: Sequence[str],
    levels: Levels,
    mine: Lookup,
    everyone: Lookup,
    overall_type: StatType,
    pair_type: StatType,
) -> Scored:
    overall_cell: Cell = (overall_type, candidate, "")
    own = mine(overall_cell)
    others = others_of(everyone(overall_cell), own)
    # Other profiles' lift for this candidate moves this profile's prior for it.
    lift = 0.0
    if others is not None:
        lift = (
            shrunk_rate(others, levels.others_rate, levels.overall_pseudo_count)
            - levels.others_rate
        )
    parent = shrunk_rate(own, clip_rate(levels.profile_rate + lift), levels.overall_pseudo_count)
    parent_logit = logit(parent)
    others_parent = shrunk_rate(others, levels.others_rate, levels.overall_pseudo_count)
    moved = 0.0
    spoke = 0
    used = 0
    seen: list[KeywordEvidence] = []
    for word in keywords:
        cell: Cell = (pair_type, word, candidate)
        pair = mine(cell)
        pair_others = others_of(everyone(cell), pair)
        word_lift = levels.lifts.get(word)
        if pair is None and pair_others is None and word_lift is None:
            continue  # no history for this word: it says nothing
        prior = expit(parent_logit + word_lift) if word_lift is not None else parent
        if pair_others is not None:
            shrunk = shrunk_rate(pair_others, others_parent, levels.pair_pseudo_count)
            prior = clip_rate(prior + shrunk - others_parent)
        moved += logit(shrunk_rate(pair, prior, levels.pair_pseudo_count)) - parent_logit
        spoke += 1
        if pair is not None:
            used = max(used, round(pair[1]))
            seen.append(KeywordEvidence(word, round(pair[0]), round(pair[1])))
    score = expit(parent_logit + moved / spoke) if spoke else parent
    overall = (round(own[0]), round(own[1])) if own is not None else (0, 0)
    if not seen:
        used = overall[1]
    return Scored(
        key=candidate,
        score=score,
        evidence=used,
        evidence_level=min(used / 20.0, 1.0),
        keywords=tuple(seen),
        pseudo_count=levels.overall_pseudo_count + (own[1] if own is not None else 0.0),
        overall=overall,
    )
