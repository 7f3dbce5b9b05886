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

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from tastebud.learning.fitted import KINDS, NOTHING_FITTED, Fitted
from tastebud.learning.keys import StatType
from tastebud.learning.levels import (
    Lookup,
    Parents,
    SettledCounts,
    expected_rate,
    keyword_lift,
    parents,
)
from tastebud.learning.pairs import with_checkpoint
from tastebud.learning.rates import (
    Counts2,
    clip_rate,
    expit,
    logit,
    others_of,
    shrunk_rate,
)
from tastebud.learning.relevance import (
    DEFAULT_VARIANCE,
    Spread,
    pooled_variance,
    prior_strength,
)
from tastebud.learning.similarity import Neighbours
from tastebud.learning.strategy import Block, Evidence, KeywordEvidence, Scored

BORROW = 10.0
"""Images of its own at which a cell borrows half of what its similar words lend: a cell with
few images of its own leans on them, one with many hardly."""
_PROFILE = Block(StatType.PROFILE, ("",))


@dataclass(frozen=True, slots=True)
class Part:
    """One candidate's parts of the score for a prompt (log-odds), before the weight."""

    key: str
    base: float
    keywords: float
    lift: float
    words: tuple[KeywordEvidence, ...]
    own: Counts2 | None
    strength: float


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
        scored = []
        for part in self.parts(keywords, candidates, evidence, overall_type):
            own = part.own
            overall = (round(own[0]), round(own[1])) if own is not None else (0, 0)
            used = max((item.total for item in part.words), default=0) or overall[1]
            scored.append(
                Scored(
                    key=part.key,
                    score=expit(part.base + weight * part.keywords + part.lift),
                    evidence=used,
                    confidence=min(used / 20.0, 1.0),
                    keywords=part.words,
                    strength=part.strength,
                    overall=overall,
                    prompt_gap=weight * part.keywords,
                )
            )
        # Stable sort: equal scores keep the caller's order of candidates.
        return sorted(scored, key=lambda item: -item.score)

    @staticmethod
    def _mean(
        spoke: dict[str, tuple[float, Neighbours]], gaps: dict[str, dict[str, float]]
    ) -> dict[str, float]:
        """Each candidate's keyword part without pooling: its words' gaps, weighed by variance."""
        weight = sum(variance for variance, _ in spoke.values())
        if not weight:
            return {}
        return {
            key: sum(spoke[word][0] * gap for word, gap in by_word.items()) / weight
            for key, by_word in gaps.items()
        }

    def parts(
        self,
        keywords: Sequence[str],
        candidates: Sequence[str],
        evidence: Evidence,
        overall_type: StatType,
    ) -> list[Part]:
        """Each candidate's base, keyword part and lift for the prompt, in the candidates' order."""
        mine = evidence.personal.get
        memo = self._memo(candidates, evidence, overall_type)
        levels = (
            memo.levels if memo else parents(candidates, mine, evidence.pooled.get, overall_type)
        )
        kind = self.fitted.kind(overall_type)
        typical = DEFAULT_VARIANCE if kind.typical is None else kind.typical
        spoke: dict[str, tuple[float, Neighbours]] = {}
        """Each word with history: its variance and its neighbours."""
        gaps: dict[str, dict[str, float]] = {key: {} for key in candidates}
        said: dict[str, list[KeywordEvidence]] = {key: [] for key in candidates}
        lifts: list[float] = []
        pooled: list[tuple[float, dict[str, Counts2], dict[str, Counts2]]] = []
        for word in dict.fromkeys(keywords):
            if memo is not None and word in memo.words:
                found = memo.words[word]
            else:
                found = self._word(word, candidates, evidence, overall_type, levels, typical)
                if memo is not None:
                    memo.words[word] = found
            if found is None:
                continue  # no history for this word or its neighbours: it says nothing
            lifts.append(found.lift)
            spoke[word] = (found.variance, found.neighbours)
            pooled.append((found.variance, found.cells, found.others))
            if not self.pool:
                for key, gap in found.gaps:
                    gaps[key][word] = gap
            for key, item in found.said:
                said[key].append(item)
        lift = sum(lifts) / len(lifts) if lifts else 0.0
        if self.pool:
            combined = _pooled_gaps(pooled, candidates, levels, lift, typical)
        else:
            combined = self._mean(spoke, gaps)
        found_parts: list[Part] = []
        for key in candidates:
            own = mine((overall_type, key, ""))
            found_parts.append(
                Part(
                    key=key,
                    base=logit(levels.rates[key]),
                    keywords=combined.get(key, 0.0),
                    lift=lift,
                    words=tuple(said[key]),
                    own=own,
                    strength=levels.strength + (own[1] if own is not None else 0.0),
                )
            )
        return found_parts

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
            levels = parents(candidates, personal.get, pooled.get, overall_type)
            memo = self._remembered[place] = _Memo(personal, pooled, levels, {})
        return memo

    def _word(
        self,
        word: str,
        candidates: Sequence[str],
        evidence: Evidence,
        overall_type: StatType,
        levels: Parents,
        typical: float,
    ) -> _Word | None:
        """What one word says about every candidate; None when it has no history at all."""
        pair_type = KINDS[overall_type]
        mine, everyone = evidence.personal.get, evidence.pooled.get
        kind = self.fitted.kind(overall_type)
        neighbours: Neighbours = self.fitted.similar.of(word) if self.similar else ()
        # One pass over the candidates reads each cell once: the word's own, what its similar
        # words lend (a sparse cell borrows more), and other profiles' record. A store's counts
        # come by row (the word's cells with every candidate), and only candidates with a cell
        # in some row are visited: the others have nothing to add.
        personal, pooled = evidence.personal, evidence.pooled
        if isinstance(personal, SettledCounts) and isinstance(pooled, SettledCounts):
            own_row = personal.rows.get((pair_type, word), _NO_ROW)
            pooled_row = pooled.rows.get((pair_type, word), _NO_ROW)
            lent_rows = [
                (other, share, personal.rows.get((pair_type, other), _NO_ROW))
                for other, share in neighbours
            ]
        else:
            own_row = _row(mine, pair_type, word, candidates)
            pooled_row = _row(everyone, pair_type, word, candidates)
            lent_rows = [
                (other, share, _row(mine, pair_type, other, candidates))
                for other, share in neighbours
            ]
        visited: Sequence[str] = candidates
        if self.pool:  # without pooling every candidate has a gap, with a cell or not
            present = own_row.keys() | pooled_row.keys()
            present = present.union(*(row.keys() for _, _, row in lent_rows))
            visited = [key for key in candidates if key in present]
        cells: dict[str, Counts2] = {}
        others: dict[str, Counts2] = {}
        read: list[tuple[str, Counts2 | None, list[tuple[str, Counts2]]]] = []
        for key in visited:
            own = own_row.get(key)
            kept, total = own if own is not None else (0.0, 0.0)
            lent_all: list[tuple[str, Counts2]] = []
            if neighbours:
                share_of = BORROW / (BORROW + total)
                for other, share, row in lent_rows:
                    borrowed = row.get(key)
                    if borrowed is not None:
                        kept += share * share_of * borrowed[0]
                        total += share * share_of * borrowed[1]
                        lent_all.append((other, borrowed))
            if total > 0:
                cells[key] = (kept, total)
            if counts := others_of(pooled_row.get(key), own):
                others[key] = counts
            read.append((key, own, lent_all))
        if not cells and not others:
            return None
        lift = keyword_lift(cells, levels.rates, levels.strength)
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
        gaps: list[tuple[str, float]] = []
        said: list[tuple[str, KeywordEvidence]] = []
        for key, own, lent_all in read:
            if not self.pool:  # the per-word gaps are read only without pooling
                expected = base = expected_rate(levels.rates[key], lift)
                pair = cells.get(key)
                theirs = others.get(key)
                strength = prior_strength(variance, expected)
                if theirs is not None:  # other profiles' record of the pair moves the prior
                    shrunk = shrunk_rate(theirs, levels.others[key], strength)
                    expected = clip_rate(expected + shrunk - levels.others[key])
                rate = shrunk_rate(pair, expected, strength)
                gaps.append((key, logit(rate) - logit(base)))
            if own is not None or (key in cells and neighbours):
                said.append((key, KeywordEvidence(
                    word,
                    round(own[0]) if own else 0,
                    round(own[1]) if own else 0,
                    similar=tuple(
                        (other, round(borrowed[0]), round(borrowed[1]))
                        for other, borrowed in lent_all
                    ),
                    weight=variance,
                )))  # fmt: skip
        return _Word(lift, variance, neighbours, cells, others, tuple(gaps), tuple(said))


MEMOS = 8
"""Sets of candidates a strategy remembers its words' parts for (a server asks about one or two)."""


@dataclass(frozen=True, slots=True)
class _Word:
    """What one of the prompt's words says about every candidate, before the prompt's words are
    combined: the same for every prompt it appears in, so remembered while the counts stand."""

    lift: float
    variance: float
    neighbours: Neighbours
    cells: dict[str, Counts2]
    others: dict[str, Counts2]
    gaps: tuple[tuple[str, float], ...]
    said: tuple[tuple[str, KeywordEvidence], ...]


@dataclass(slots=True)
class _Memo:
    personal: SettledCounts
    pooled: SettledCounts
    levels: Parents
    words: dict[str, _Word | None]


POOL_EXPONENT = 0.5
"""Pooled counts are divided by (the words' summed relevance) ** this: 1 would average the
words (as if every image had them all), 0 add them up (as if no image had two of them); the
images of a theme's words overlap in part. Chosen on the themes simulator's tuning seeds
(100-107, never the reported 0-7): 300 images 0.77 / 0.80 / 0.81 of the gain for 1 / 0.5 / 0,
800 images 0.883 / 0.886 / 0.877."""


def _pooled_gaps(
    pooled: Sequence[tuple[float, dict[str, Counts2], dict[str, Counts2]]],
    candidates: Sequence[str],
    levels: Parents,
    lift: float,
    typical: float,
) -> dict[str, float]:
    """Each candidate's keyword part from the prompt's words' counts, added up by relevance."""
    if not pooled:
        return {}
    # A word's share: how much of its cells' spread is its own rather than every word's.
    shares = [variance / (variance + typical) for variance, _, _ in pooled]
    weight = sum(shares)
    scale = weight**-POOL_EXPONENT if weight > 0 else 0.0
    variance = sum(r * v for r, (v, _, _) in zip(shares, pooled, strict=True)) / weight
    found: dict[str, float] = {}
    for key in candidates:
        kept = total = their_kept = their_total = 0.0
        for share, (_, cells, others) in zip(shares, pooled, strict=True):
            mine = cells.get(key)
            if mine is not None:
                kept += share * mine[0]
                total += share * mine[1]
            theirs = others.get(key)
            if theirs is not None:
                their_kept += share * theirs[0]
                their_total += share * theirs[1]
        expected = base = expected_rate(levels.rates[key], lift)
        strength = prior_strength(variance, expected)
        if their_total > 0:  # other profiles' record of these words moves the prior
            shrunk = shrunk_rate(
                (their_kept * scale, their_total * scale), levels.others[key], strength
            )
            expected = clip_rate(expected + shrunk - levels.others[key])
        counts = (kept * scale, total * scale) if total > 0 else None
        found[key] = logit(shrunk_rate(counts, expected, strength)) - logit(base)
    return found


_NO_ROW: dict[str, Counts2] = {}


def _row(look: Lookup, pair_type: StatType, word: str, keys: Sequence[str]) -> dict[str, Counts2]:
    """The word's cells with each of ``keys`` that has one."""
    return {key: found for key in keys if (found := look((pair_type, word, key))) is not None}
