"""A reference learner that sees every judged image, not counts: how much is there to learn?

tastebud's strategies score from the counts the store keeps (a keyword with a checkpoint: so many
kept of so many). A learner that reads the history image by image can weigh a prompt's keywords
jointly. :class:`LogisticReference` is the standard one: scikit-learn's L2-regularised logistic
regression on one-hot checkpoint, keyword and keyword x checkpoint features (each keyword scaled by
one over the square root of the prompt's keyword count), the regularisation chosen by 5-fold
cross-validation on the history itself (log loss). It is a yardstick, not a peer a person could run
in tastebud: it refits on the whole history for every question.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

from common import Judgement
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegressionCV

STRENGTHS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
"""Inverse regularisation strengths (scikit-learn's C) cross-validation chooses from."""


class LogisticReference:
    """Event-level logistic regression over keywords x checkpoints (see the module docstring)."""

    name = "logistic regression (per image)"

    def __init__(self) -> None:
        self._columns: dict[tuple[str, ...], int] = {}
        self._weights: list[float] = []

    def _features(
        self, keywords: Sequence[str], checkpoint: str, *, grow: bool = False
    ) -> list[tuple[int, float]]:
        scale = 1.0 / math.sqrt(len(keywords)) if keywords else 0.0
        keys = [(("checkpoint", checkpoint), 1.0)]
        for word in keywords:
            keys += [(("keyword", word), scale), (("pair", word, checkpoint), scale)]
        found = []
        for key, value in keys:
            column = self._columns.get(key)
            if column is None and grow:
                column = self._columns[key] = len(self._columns)
            if column is not None:
                found.append((column, value))
        return found

    def fit(self, history: Sequence[Judgement], now: float = 0.0) -> None:
        self._columns = {}
        rows, columns, values = [], [], []
        for row, item in enumerate(history):
            for column, value in self._features(item.keywords, item.checkpoint, grow=True):
                rows.append(row)
                columns.append(column)
                values.append(value)
        kept = [int(item.selected) for item in history]
        matrix = csr_matrix((values, (rows, columns)), shape=(len(history), len(self._columns)))
        if len(set(kept)) < 2:  # all kept or all rejected: nothing to fit
            self._weights = [0.0] * len(self._columns)
            return
        model = LogisticRegressionCV(
            Cs=list(STRENGTHS), cv=5, scoring="neg_log_loss", max_iter=2000
        )
        with warnings.catch_warnings():
            # scikit-learn 1.9 announces changes of defaults this call does not depend on.
            warnings.simplefilter("ignore", FutureWarning)
            model.fit(matrix, kept)
        self._weights = list(model.coef_[0])

    def recommend(self, keywords: Sequence[str], candidates: Sequence[str]) -> str:
        def score(checkpoint: str) -> float:
            return math.fsum(
                self._weights[column] * value
                for column, value in self._features(keywords, checkpoint)
            )

        # max keeps the first of equal scores: ties go to the earliest candidate.
        return max(candidates, key=score)
