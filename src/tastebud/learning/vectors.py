"""Word vectors: how alike two keywords are in meaning ("beach" ~ "ocean", "dusk" ~ "sunset").

The table ships inside the package (``word_vectors.npz``, built by tools/build_word_vectors.py
from all-MiniLM-L6-v2, see docs/word-vectors.md and WORD_VECTORS_NOTICE.md) and is keyed by
tastebud's own keyword forms, so a keyword from ``parse_prompt`` is looked up as it is. Reading it
needs numpy alone: no network, no model hub, no torch. Nothing is read at import time; the first
call of ``word_vectors()`` reads it, and later calls share that copy.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["TABLE", "WordVectors", "word_vectors"]

TABLE = Path(__file__).with_name("word_vectors.npz")

Vector = npt.NDArray[np.float32]


class WordVectors:
    """Unit-length vectors for keywords; cosine similarity is a dot product."""

    def __init__(
        self,
        words: Sequence[str],
        codes: npt.NDArray[np.int8],
        scales: npt.NDArray[np.float32],
    ) -> None:
        if codes.ndim != 2 or codes.shape[0] != len(words) or scales.shape != (len(words),):
            raise ValueError(
                f"a word-vector table needs one row and one scale per word: {len(words)} words, "
                f"rows {codes.shape}, scales {scales.shape}"
            )
        # Rows stay int8 in memory (a quarter of float32's size); a row times its scale is a
        # unit vector, and only the rows a call needs are turned into floats.
        self._codes = codes
        self._scales = scales
        self._index = {word: row for row, word in enumerate(words)}

    @classmethod
    def from_file(cls, path: Path) -> WordVectors:
        """The table stored at `path` (the format tools/build_word_vectors.py writes)."""
        with np.load(path, allow_pickle=False) as stored:
            words = bytes(stored["words"]).decode("utf-8").split("\n")
            codes = np.asarray(stored["vectors"], dtype=np.int8)
            scales = np.asarray(stored["scales"], dtype=np.float32)
        return cls(words, codes, scales)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    @property
    def dims(self) -> int:
        """Length of each vector."""
        return int(self._codes.shape[1])

    def words(self) -> list[str]:
        """Every keyword the table knows, in the table's order."""
        return list(self._index)

    def vector(self, word: str) -> Vector | None:
        """The unit vector of `word` (a new array), or None if the table does not know it."""
        row = self._index.get(word)
        if row is None:
            return None
        vector: Vector = self._rows([row])[0]
        return vector

    def similarity(self, a: str, b: str) -> float | None:
        """Cosine similarity of two keywords (-1 to 1), or None if either is unknown."""
        rows = [self._index.get(a), self._index.get(b)]
        if rows[0] is None or rows[1] is None:
            return None
        left, right = self._rows([rows[0], rows[1]])
        return float(left @ right)

    def neighbours(
        self, word: str, among: Iterable[str], k: int = 10, floor: float = 0.0
    ) -> list[tuple[str, float]]:
        """Up to `k` keywords of `among` most like `word`, with their similarity, best first.

        Only candidates with a similarity of at least `floor` are returned; `word` itself and
        candidates the table does not know are left out, and so is everything if `word` is
        unknown. Ties are broken by the keyword, so the answer does not depend on the order of
        `among`.
        """
        return self.nearest([word], among, k, floor).get(word, [])

    def nearest(
        self, words: Iterable[str], among: Iterable[str], k: int = 10, floor: float = 0.0
    ) -> dict[str, list[tuple[str, float]]]:
        """``neighbours`` of each of `words` the table knows, all at once: the candidates' rows
        are read once, and a block of words is compared with all of them in one product."""
        asked = [word for word in dict.fromkeys(words) if word in self._index]
        known = sorted({c for c in among if c in self._index})
        if not asked or not known or k <= 0:
            return {}
        place = {word: column for column, word in enumerate(known)}
        candidates = self._rows([self._index[c] for c in known])
        found: dict[str, list[tuple[str, float]]] = {}
        for start in range(0, len(asked), _BLOCK):
            block = asked[start : start + _BLOCK]
            scores = self._rows([self._index[word] for word in block]) @ candidates.T
            for word, row in zip(block, scores, strict=True):
                if (itself := place.get(word)) is not None:
                    row[itself] = -np.inf
                above = np.flatnonzero(row >= floor)
                if len(above) > k:  # the k best, and every candidate tied with the k-th
                    kth = np.partition(row[above], len(above) - k)[len(above) - k]
                    above = above[row[above] >= kth]
                ranked = sorted(
                    ((known[i], float(row[i])) for i in above.tolist()),
                    key=lambda pair: (-pair[1], pair[0]),
                )
                if ranked:
                    found[word] = ranked[:k]
        return found

    def _rows(self, rows: Sequence[int]) -> npt.NDArray[np.float32]:
        picked = np.asarray(rows, dtype=np.intp)
        return self._codes[picked].astype(np.float32) * self._scales[picked, None]


_BLOCK = 256
"""Words compared at once in ``nearest``: a block's scores take 256 x candidates x 4 bytes."""


@functools.cache
def word_vectors() -> WordVectors:
    """The word-vector table shipped with tastebud, read on first call and shared after."""
    return WordVectors.from_file(TABLE)
