"""The default strategy: relevant keywords, similar words, and a learned trust in both.

For a prompt and a candidate (a checkpoint or a LoRA), in log-odds::

    score = base + weight * keywords + lift

* ``base``: the candidate's overall rate, shrunk toward the profile's, which is shrunk toward all
  profiles' (``levels.parents``): cold start and "best overall".
* ``keywords``: what the prompt's words say about this candidate. Each word's cell is read against
  what the candidate's rate predicts for it, shrunk by the word's *own* prior variance
  (``relevance``): a word that has never separated the candidates ("solo") says nothing, one that
  has ("beach") says what its images showed. A sparse cell first borrows a share of its similar
  words' counts (``similarity``: "ocean" from "beach" and "seaside"). The words' gaps are combined
  by a mean weighed by their variances, so the informative words carry the prompt and generic tags
  and boilerplate neither add nor dilute.
* ``weight``: how far keywords have predicted better than the base, out of sample (``fallback``);
  0 falls back to best-overall.
* ``lift``: the words' shared effect (some subjects are kept less whatever made them); it moves
  every candidate alike, so it changes the score, never the order.

The fitted state (``fitted.Fitted``) holds the relevance, the similar words and the weight; the
strategy only reads it. Switches turn each part off, for the benchmark's ablation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import overload

import numpy as np
from numpy.typing import NDArray

from tastebud.learning.fitted import KINDS, NOTHING_FITTED, Fitted
from tastebud.learning.gaps import Standing, columns, gaps_of, pooled_gaps, standing_of
from tastebud.learning.keys import StatType
from tastebud.learning.levels import (
    ByRow,
    Lookup,
    SettledCounts,
    keyword_lift,
)
from tastebud.learning.pairs import with_checkpoint
from tastebud.learning.rates import (
    Counts2,
    Rates,
    expits,
)
from tastebud.learning.relevance import (
    DEFAULT_VARIANCE,
    Spread,
    pooled_variance,
)
from tastebud.learning.similarity import Neighbours
from tastebud.learning.strategy import Block, Evidence, KeywordEvidence, Scored
from tastebud.learning.styles import NO_PART, StylePart

BORROW = 10.0
"""Images of its own at which a cell borrows half of what its similar words lend: a cell with
few images of its own leans on them, one with many hardly."""
_PROFILE = Block(StatType.PROFILE, ("",))


@dataclass(frozen=True, slots=True)
class Part:
    """One candidate's parts of the score for a prompt (log-odds), before the weight: what a
    refit scores a judged batch with."""

    key: str
    base: float
    keywords: float
    lift: float


@dataclass(frozen=True)
class DefaultStrategy:
    """Relevance-weighted keywords, similar words, and a learned fallback to the overall rate."""

    name: str = "default"
    fitted: Fitted = NOTHING_FITTED
    relevance: bool = True
    """Each keyword its own prior variance; off: one variance for all, a plain mean."""
    similar: bool = True
    """Sparse cells borrow from similar words."""
    fallback: bool = True
    """The learned weight on keywords; off: weight 1."""
    pool: bool = True
    """The informative words' counts are added up and shrunk once; off: each word's cell is
    shrunk on its own and their gaps averaged."""
    style: bool = True
    """The look of each checkpoint's images, and what this person keeps of each look
    (``styles``); off: no style model is fitted or read."""
    _remembered: dict[tuple[StatType, tuple[str, ...]], _Memo] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    """Each word's part for a set of candidates, while the store's counts stand (``_memo``)."""

    def with_fitted(self, fitted: Fitted) -> DefaultStrategy:
        """The same strategy reading ``fitted``."""
        return replace(self, fitted=fitted)

    # -- the questions --------------------------------------------------------------------------

    def _words(self, keywords: Sequence[str]) -> tuple[str, ...]:
        """The prompt's words and the similar words they may borrow from."""
        words = dict.fromkeys(keywords)
        if self.similar:
            for word in keywords:
                words.update(dict.fromkeys(other for other, _ in self.fitted.similar.of(word)))
        return tuple(words)

    def checkpoint_blocks(self, keywords: Sequence[str], candidates: Sequence[str]) -> list[Block]:
        found = tuple(candidates)
        return [
            _PROFILE,
            Block(StatType.CHECKPOINT, found),
            Block(StatType.KEYWORD_CHECKPOINT, self._words(keywords), found),
        ]

    def lora_blocks(
        self, keywords: Sequence[str], checkpoint: str | None, candidates: Sequence[str]
    ) -> list[Block]:
        found = tuple(candidates)
        blocks = [
            _PROFILE,
            Block(StatType.LORA, found),
            Block(StatType.KEYWORD_LORA, self._words(keywords), found),
        ]
        if checkpoint:
            blocks.append(Block(StatType.CHECKPOINT, (checkpoint,)))
            blocks.append(Block(StatType.CHECKPOINT_LORA, (checkpoint,), found))
        return blocks

    # -- the answers ----------------------------------------------------------------------------

    def weight(self, overall_type: StatType) -> float:
        """The weight on keywords for this kind of candidate."""
        return self.fitted.kind(overall_type).weight.weight if self.fallback else 1.0

    def rank_checkpoints(
        self, keywords: Sequence[str], candidates: Sequence[str], evidence: Evidence
    ) -> list[Scored]:
        return self._rank(keywords, candidates, evidence, StatType.CHECKPOINT)

    def rank_loras(
        self,
        keywords: Sequence[str],
        checkpoint: str | None,
        candidates: Sequence[str],
        evidence: Evidence,
    ) -> list[Scored]:
        ranked = self._rank(keywords, candidates, evidence, StatType.LORA)
        return with_checkpoint(ranked, checkpoint, evidence, 20.0) if checkpoint else ranked

    def _rank(
        self,
        keywords: Sequence[str],
        candidates: Sequence[str],
        evidence: Evidence,
        overall_type: StatType,
    ) -> list[Scored]:
        weight = self.weight(overall_type)
        found = self._combine(keywords, candidates, evidence, overall_type)
        standing = found.standing
        gaps = weight * found.keywords
        looks = self._looks(keywords, candidates, standing, overall_type)
        scores = expits(
            standing.base + gaps + found.lift + np.array([look.value for look in looks])
        ).tolist()
        used = found.used.tolist()
        gap_of = gaps.tolist()
        scored = []
        # Best first; a stable sort keeps the caller's order of candidates among equal scores.
        for index in sorted(range(len(candidates)), key=lambda i: -scores[i]):
            own = standing.own[index]
            overall = (round(own[0]), round(own[1])) if own is not None else (0, 0)
            evidence_used = int(used[index]) or overall[1]
            scored.append(
                Scored(
                    key=candidates[index],
                    score=scores[index],
                    evidence=evidence_used,
                    evidence_level=min(evidence_used / 20.0, 1.0),
                    keywords=tuple(found.said[index]),
                    pseudo_count=standing.levels.pseudo_count
                    + (own[1] if own is not None else 0.0),
                    overall=overall,
                    prompt_gap=gap_of[index],
                    style=looks[index] if looks[index].value else None,
                )
            )
        return scored

    def _looks(
        self,
        keywords: Sequence[str],
        candidates: Sequence[str],
        standing: Standing,
        overall_type: StatType,
    ) -> list[StylePart]:
        """Each checkpoint's style part for the prompt (none for LoRAs)."""
        if not self.style or overall_type is not StatType.CHECKPOINT:
            return [NO_PART] * len(candidates)
        images = [own[1] if own is not None else 0.0 for own in standing.own]
        return self.fitted.style.parts(keywords, candidates, images)

    def parts(
        self,
        keywords: Sequence[str],
        candidates: Sequence[str],
        evidence: Evidence,
        overall_type: StatType,
    ) -> list[Part]:
        """Each candidate's base, keyword part and lift for the prompt, in the candidates' order."""
        found = self._combine(keywords, candidates, evidence, overall_type, explain=False)
        base, parts = found.standing.base.tolist(), found.keywords.tolist()
        return [
            Part(key, base[index], parts[index], found.lift) for index, key in enumerate(candidates)
        ]

    def _combine(
        self,
        keywords: Sequence[str],
        candidates: Sequence[str],
        evidence: Evidence,
        overall_type: StatType,
        *,
        explain: bool = True,
    ) -> _Combined:
        """The prompt's words combined into each candidate's keyword part (arrays in the
        candidates' order), with what each word said about each candidate (when ``explain``:
        a refit scores thousands of batches and reads none of it)."""
        memo = self._memo(candidates, evidence, overall_type)
        explain = explain or memo is not None  # what is remembered is whole
        standing = memo.standing if memo else standing_of(candidates, evidence, overall_type)
        kind = self.fitted.kind(overall_type)
        typical = DEFAULT_VARIANCE if kind.typical is None else kind.typical
        spoke: list[_Word] = []
        for word in dict.fromkeys(keywords):
            if memo is not None and word in memo.words:
                found = memo.words[word]
            else:
                found = self._word(
                    word, candidates, evidence, overall_type, standing, typical, explain
                )
                if memo is not None:
                    memo.words[word] = found
            if found is not None:  # None: no history for this word or its neighbours
                spoke.append(found)
        size = len(candidates)
        said: list[list[KeywordEvidence]] = [[] for _ in range(size)]
        for found in spoke:
            for index, item in found.said:
                said[index].append(item)
        if not spoke:
            nothing = np.zeros(size)
            return _Combined(standing, nothing, 0.0, nothing, said)
        lift = sum(found.lift for found in spoke) / len(spoke)
        if self.pool:
            combined = pooled_gaps(
                [(found.variance, found.counts) for found in spoke], standing, lift, typical
            )
        else:  # each word's gaps, weighed by its variance
            variances = np.array([found.variance for found in spoke])
            combined = variances @ np.stack([found.gaps for found in spoke]) / variances.sum()
        used = np.stack([found.told for found in spoke]).max(axis=0)
        return _Combined(standing, combined, lift, used, said)

    def _memo(
        self, candidates: Sequence[str], evidence: Evidence, overall_type: StatType
    ) -> _Memo | None:
        """What was worked out before for these candidates and counts; None when the counts may
        change under us (any map but a store's ``SettledCounts``)."""
        personal, pooled = evidence.personal, evidence.pooled
        if not (isinstance(personal, SettledCounts) and isinstance(pooled, SettledCounts)):
            return None
        place = (overall_type, tuple(candidates))
        memo = self._remembered.get(place)
        if memo is None or memo.personal is not personal or memo.pooled is not pooled:
            if len(self._remembered) >= MEMOS:
                self._remembered.clear()
            standing = standing_of(candidates, evidence, overall_type)
            memo = self._remembered[place] = _Memo(personal, pooled, standing, {})
        return memo

    def _word(
        self,
        word: str,
        candidates: Sequence[str],
        evidence: Evidence,
        overall_type: StatType,
        standing: Standing,
        typical: float,
        explain: bool = True,
    ) -> _Word | None:
        """What one word says about every candidate; None when it has no history at all."""
        pair_type = KINDS[overall_type]
        mine, everyone = evidence.personal.get, evidence.pooled.get
        kind = self.fitted.kind(overall_type)
        levels = standing.levels
        neighbours: Neighbours = self.fitted.similar.of(word) if self.similar else ()
        # One pass over the candidates reads each cell once: the word's own, what its similar
        # words lend (a sparse cell borrows more), and other profiles' record. A store's counts
        # come by row (the word's cells with every candidate), and only candidates with a cell
        # in some row are visited: the others have nothing to add.
        personal, pooled = evidence.personal, evidence.pooled
        if isinstance(personal, ByRow) and isinstance(pooled, ByRow):
            own_row = personal.row(pair_type, word)
            pooled_row = pooled.row(pair_type, word)
            lent_rows = [
                (other, share, personal.row(pair_type, other)) for other, share in neighbours
            ]
        else:
            own_row = _row(mine, pair_type, word, candidates)
            pooled_row = _row(everyone, pair_type, word, candidates)
            lent_rows = [
                (other, share, _row(mine, pair_type, other, candidates))
                for other, share in neighbours
            ]
        size, position = len(candidates), standing.position
        own_kept, own_total, own_found = columns(own_row, position, size)
        pooled_kept, pooled_total, pooled_found = columns(pooled_row, position, size)
        kept, total = own_kept, own_total
        lenders: list[tuple[str, Mapping[str, Counts2]]] = []
        if neighbours:
            # A sparse cell borrows more: half of what its similar words lend at BORROW images.
            share_of = BORROW / (BORROW + own_total)
            lent_kept, lent_total = np.zeros(size), np.zeros(size)
            for other, share, row in lent_rows:
                if row:
                    their_kept, their_total, _ = columns(row, position, size)
                    lent_kept += share * their_kept
                    lent_total += share * their_total
                    lenders.append((other, row))
            kept, total = kept + share_of * lent_kept, total + share_of * lent_total
        has_cell = total > 0
        # Other profiles' record: everyone's less this profile's (``rates.others_of``).
        their_kept, their_total = pooled_kept - own_kept, pooled_total - own_total
        has_theirs = pooled_found & (~own_found | (their_total > 0))
        if not (has_cell.any() or has_theirs.any()):
            return None
        cells = {candidates[i]: (kept[i], total[i]) for i in np.flatnonzero(has_cell).tolist()}
        lift = keyword_lift(cells, levels.rates, levels.pseudo_count)
        if self.relevance:
            variance = pooled_variance(
                kind.spreads.get(word),
                typical,
                (
                    Spread(lent.variance, lent.images * share)
                    for other, share in neighbours
                    if (lent := kind.spreads.get(other)) is not None
                ),
            )
        else:
            variance = typical
        counts = np.stack([
            np.where(has_cell, kept, 0.0),
            np.where(has_cell, total, 0.0),
            np.where(has_theirs, their_kept, 0.0),
            np.where(has_theirs, their_total, 0.0),
        ])  # fmt: skip
        gaps = _NO_GAPS
        if not self.pool:  # the per-word gaps are read only without pooling
            gaps = gaps_of(counts, has_cell, has_theirs, variance, standing, lift)
        told = np.where(own_found, np.round(own_total), 0).astype(np.int64)
        said: list[tuple[int, KeywordEvidence]] = []
        speaks = own_found | has_cell if neighbours else own_found
        for index in np.flatnonzero(speaks).tolist() if explain else ():
            key = candidates[index]
            own = own_row.get(key)
            said.append((index, KeywordEvidence(
                word,
                round(own[0]) if own else 0,
                round(own[1]) if own else 0,
                similar=_Lent(lenders, key) if lenders else (),
                weight=variance,
            )))  # fmt: skip
        return _Word(lift, variance, counts, has_cell, has_theirs, told, gaps, tuple(said))


class _Lent(Sequence[tuple[str, int, int]]):
    """The similar words a cell borrowed from, with their counts, worked out when first read:
    every candidate's evidence is kept, and an explanation reads one or two of them."""

    __slots__ = ("_found", "_key", "_lenders")

    def __init__(self, lenders: Sequence[tuple[str, Mapping[str, Counts2]]], key: str) -> None:
        self._lenders = lenders
        self._key = key
        self._found: tuple[tuple[str, int, int], ...] | None = None

    def _pairs(self) -> tuple[tuple[str, int, int], ...]:
        if self._found is None:
            self._found = tuple(
                (other, round(borrowed[0]), round(borrowed[1]))
                for other, row in self._lenders
                if (borrowed := row.get(self._key)) is not None
            )
        return self._found

    @overload
    def __getitem__(self, index: int) -> tuple[str, int, int]: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[tuple[str, int, int], ...]: ...
    def __getitem__(
        self, index: int | slice
    ) -> tuple[str, int, int] | tuple[tuple[str, int, int], ...]:
        return self._pairs()[index]

    def __len__(self) -> int:
        return len(self._pairs())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and self._pairs() == tuple(other)

    def __hash__(self) -> int:
        return hash(self._pairs())

    def __repr__(self) -> str:
        return repr(self._pairs())


MEMOS = 8
"""Sets of candidates a strategy remembers its words' parts for (a server asks about one or two)."""


@dataclass(frozen=True, slots=True)
class _Word:
    """What one of the prompt's words says about every candidate, before the prompt's words are
    combined: the same for every prompt it appears in, so remembered while the counts stand.
    Arrays are in the candidates' order."""

    lift: float
    variance: float
    counts: Rates
    """Rows: the cell's selected and total (its similar words' loans included), then other
    profiles' selected and total; 0 where there is none."""
    has_cell: NDArray[np.bool_]
    has_theirs: NDArray[np.bool_]
    told: NDArray[np.int64]
    """The images of this profile the word's evidence with each candidate counts (0: none)."""
    gaps: Rates
    """Each candidate's gap for this word alone (read only without pooling)."""
    said: tuple[tuple[int, KeywordEvidence], ...]


@dataclass(slots=True)
class _Memo:
    personal: SettledCounts
    pooled: SettledCounts
    standing: Standing
    words: dict[str, _Word | None]


@dataclass(frozen=True, slots=True)
class _Combined:
    """A prompt's words combined, for every candidate (arrays in the candidates' order)."""

    standing: Standing
    keywords: Rates
    lift: float
    used: Rates
    """The most images of this profile behind any one word's evidence with the candidate."""
    said: list[list[KeywordEvidence]]


_NO_GAPS = np.zeros(0)


def _row(look: Lookup, pair_type: StatType, word: str, keys: Sequence[str]) -> dict[str, Counts2]:
    """The word's cells with each of ``keys`` that has one."""
    return {key: found for key in keys if (found := look((pair_type, word, key))) is not None}
