"""Which keywords mean alike, so a sparse cell can borrow from its neighbours' (the seed's Phase 5).

Two sources, each turned into a *share* in (0, 1]: how much of a neighbour's counts a keyword's
cell may borrow.

* **Meaning**: the word-vector table shipped in the package (``tastebud.learning.vectors``):
  "ocean" and "seaside" are close whether or not this person ever wrote both.
* **Use**: how this person's own prompts pair words (positive pointwise mutual information,
  reduced by a truncated SVD): their LoRA trigger words, character names and Danbooru tags, which
  no general table knows, become neighbours of the words they are written with.

A share is the similarity above a floor, rescaled: ``(similarity - floor) / (1 - floor)``; below
the floor two words are unrelated and share nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NEIGHBOURS = 5
"""Similar words a keyword borrows from at most."""
MEANING_FLOOR = 0.3
"""Cosine similarity in the shipped table below which two words share nothing. Unrelated words
sit at 0.19-0.26 ("beach" ~ "forest" 0.19, ~ "street" 0.23, "forest" ~ "park" 0.26), related ones
from about 0.36 ("portrait" ~ "face" 0.36, "sunset" ~ "night" 0.43, ~ "dusk" 0.66, "ocean" ~
"sea" 0.83). On the themes simulator's tuning seeds a floor of 0.2 carried new words a little
better (0.72 of the gain against 0.68 at 0.3), but it lets "beach" borrow from "street": the
floor is set on what the table says, not on that."""
USE_FLOOR = 0.2
"""Cosine similarity of two words' use (PPMI + SVD) below which they share nothing."""
USE_MIN_COUNT = 3
"""Prompts a word must appear in before its use says anything."""
USE_DIMENSIONS = 48

Neighbours = tuple[tuple[str, float], ...]
"""(similar keyword, share) pairs, the largest share first."""


def _share(similarity: float, floor: float) -> float:
    return (similarity - floor) / (1.0 - floor)


@dataclass(frozen=True)
class Similar:
    """Similar known keywords for any keyword, with the share each lends."""

    neighbours: Mapping[str, Neighbours] = field(default_factory=dict)
    """The profile's keywords (those with history) -> their similar keywords."""
    vocabulary: tuple[str, ...] = ()
    """The profile's keywords: where a new word looks for neighbours in the table."""
    meaning: bool = True
    """Whether words outside ``neighbours`` are looked up in the shipped table."""
    _looked_up: dict[str, Neighbours] = field(default_factory=dict, compare=False, repr=False)

    def of(self, word: str) -> Neighbours:
        """The keywords similar to ``word`` and their shares (none for an unrelated word)."""
        found = self.neighbours.get(word)
        if found is not None:
            return found
        if not self.meaning or not self.vocabulary:
            return ()
        found = self._looked_up.get(word)
        if found is None:
            found = meaning_neighbours([word], self.vocabulary).get(word, ())
            if len(self._looked_up) < 10_000:  # a bound: prompts bring new words for ever
                self._looked_up[word] = found
        return found


NO_SIMILAR = Similar(meaning=False)


def meaning_neighbours(
    words: Sequence[str], vocabulary: Sequence[str], k: int = NEIGHBOURS
) -> dict[str, Neighbours]:
    """For each of ``words`` the table knows, its ``k`` nearest of ``vocabulary`` (not itself)."""
    from tastebud.learning.vectors import word_vectors  # numpy and the table: only when asked

    table = word_vectors()
    found: dict[str, Neighbours] = {}
    known = [word for word in vocabulary if word in table]
    if not known:
        return found
    for word, near in table.nearest(words, known, k + 1, MEANING_FLOOR).items():
        pairs = tuple(
            (other, _share(similarity, MEANING_FLOOR))
            for other, similarity in near
            if other != word
        )[:k]
        if pairs:
            found[word] = pairs
    return found


def use_neighbours(prompts: Iterable[Sequence[str]], k: int = NEIGHBOURS) -> dict[str, Neighbours]:
    """Each often-used keyword's ``k`` nearest by how this person's prompts pair it with others."""
    import numpy as np

    sets = [set(keywords) for keywords in prompts]
    counts = Counter(word for words in sets for word in words)
    vocabulary = sorted(word for word, count in counts.items() if count >= USE_MIN_COUNT)
    if len(vocabulary) < 3:
        return {}
    index = {word: position for position, word in enumerate(vocabulary)}
    size = len(vocabulary)
    together = np.zeros((size, size), dtype=np.float64)
    for words in sets:
        positions = [index[word] for word in words if word in index]
        if len(positions) > 1:
            grid = np.ix_(positions, positions)
            together[grid] += 1.0
    # A word is its own context too: words written together then share a context, not only
    # words written beside the same others (a LoRA's trigger word and its subject).
    np.fill_diagonal(together, [counts[word] for word in vocabulary])
    total = together.sum()
    if total <= 0:
        return {}
    row = together.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(together * total / np.outer(row, row))
    ppmi: Any = np.where(np.isfinite(pmi) & (pmi > 0), pmi, 0.0)
    rank = min(USE_DIMENSIONS, size - 1)
    # PPMI is symmetric: its singular vectors are its eigenvectors, and its singular values the
    # eigenvalues' sizes; the symmetric solver finds them in a third of an SVD's time.
    values, left = np.linalg.eigh(ppmi)
    order = np.argsort(-np.abs(values), kind="stable")[:rank]
    vectors = left[:, order] * np.sqrt(np.abs(values[order]))
    norms = np.linalg.norm(vectors, axis=1)
    norms[norms == 0] = 1.0
    vectors /= norms[:, None]
    # Rounded, so that words of the same contexts (similarity 1 give or take the last bits of
    # the arithmetic) tie, and ties go to the first in alphabetical order, on any machine.
    similarities = np.round(vectors @ vectors.T, 9)
    np.fill_diagonal(similarities, -1.0)
    found: dict[str, Neighbours] = {}
    for position, word in enumerate(vocabulary):
        order = np.argsort(-similarities[position], kind="stable")[:k]
        pairs = tuple(
            (vocabulary[other], _share(float(similarities[position, other]), USE_FLOOR))
            for other in order
            if similarities[position, other] > USE_FLOOR
        )
        if pairs:
            found[word] = pairs
    return found


def combine(*sources: Mapping[str, Neighbours], k: int = NEIGHBOURS) -> dict[str, Neighbours]:
    """Neighbours from several sources: a pair's largest share, the ``k`` largest a word."""
    merged: dict[str, dict[str, float]] = {}
    for source in sources:
        for word, pairs in source.items():
            mine = merged.setdefault(word, {})
            for other, share in pairs:
                if share > mine.get(other, 0.0):
                    mine[other] = share
    return {
        word: tuple(sorted(pairs.items(), key=lambda item: (-item[1], item[0]))[:k])
        for word, pairs in merged.items()
        if pairs
    }


def similar_words(
    vocabulary: Sequence[str],
    prompts: Iterable[Sequence[str]],
    *,
    meaning: bool = True,
    use: bool = True,
) -> Similar:
    """The similar words of a profile: from the table, from its own prompts, or both."""
    sources: list[Mapping[str, Neighbours]] = []
    if meaning:
        sources.append(meaning_neighbours(vocabulary, vocabulary))
    if use:
        sources.append(use_neighbours(prompts))
    known = set(vocabulary)
    merged = combine(*sources)
    # Every known word is listed, most with no neighbours, so none is looked up again.
    neighbours: dict[str, Neighbours] = dict.fromkeys(vocabulary, ())
    for word, pairs in merged.items():
        if word in known:
            neighbours[word] = tuple((other, share) for other, share in pairs if other in known)
    return Similar(neighbours, tuple(vocabulary), meaning)
