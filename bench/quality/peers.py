"""The peers tastebud's learning is measured against in the quality benchmark.

Each peer is both a :class:`~common.Recommender` (fit on a whole history, then name one checkpoint)
and an :class:`~common.Explorer` (split a batch, then learn from how it was judged), so the same
yardsticks serve the offline and the online half of the benchmark:

* :class:`RandomPeer`: the floor; anything that learns must beat it.
* :class:`BestOverallPeer`: what a person gets from "use the checkpoint I keep most", no context.
* :class:`ThompsonPeer`: a good context-free bandit; beating it shows the keywords are worth using.
* :class:`VowpalWabbitPeer`: an off-the-shelf contextual bandit (keywords x checkpoint); the peer
  tastebud has to match to claim its learning is competitive.
* :class:`PublicAppPeer` and :class:`ShrinkagePeer` (recommenders only): the public app's rule, raw
  keyword x checkpoint rates, and the ten-line fix anyone would try first, plain shrinkage toward
  the checkpoint's rate; a new learner has to beat both to be worth its lines.

Every peer is deterministic given its constructor ``seed`` (and, for ``allocate``, the ``rng`` the
benchmark passes in). None of them forgets: ``time``/``now`` are ignored, so drift in taste is
something only the strategies under test may exploit.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from functools import lru_cache

from common import Judgement
from vowpalwabbit import Workspace

UNSEEN_RATE = 0.5
"""The selection rate assumed for a checkpoint never judged: no evidence either way."""

MONTE_CARLO_DRAWS = 1_000
"""Posterior draws used to estimate a Thompson choice's propensity (standard error <= 1.6%)."""


def _uniform_propensity(candidates: Sequence[str]) -> float:
    return 1.0 / len(candidates)


class RandomPeer:
    """Uniformly random checkpoints: the floor every learner must clear."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)

    def fit(self, history: Sequence[Judgement], now: float = 0.0) -> None:
        """Nothing to learn."""

    def recommend(self, keywords: Sequence[str], candidates: Sequence[str]) -> str:
        return self._rng.choice(list(candidates))

    def allocate(
        self, keywords: Sequence[str], candidates: Sequence[str], batch: int, rng: random.Random
    ) -> list[tuple[str, float]]:
        choices = list(candidates)
        propensity = _uniform_propensity(choices)
        return [(rng.choice(choices), propensity) for _ in range(batch)]

    def learn(self, judged: Sequence[Judgement], now: float = 0.0) -> None:
        """Nothing to learn."""


class _Counts:
    """Selected and judged counts per checkpoint, ignoring the prompt."""

    def __init__(self) -> None:
        self.selected: dict[str, int] = {}
        self.judged: dict[str, int] = {}

    def add(self, judged: Iterable[Judgement]) -> None:
        for item in judged:
            self.selected[item.checkpoint] = self.selected.get(item.checkpoint, 0) + item.selected
            self.judged[item.checkpoint] = self.judged.get(item.checkpoint, 0) + 1

    def rate(self, checkpoint: str) -> float:
        total = self.judged.get(checkpoint, 0)
        return self.selected.get(checkpoint, 0) / total if total else UNSEEN_RATE

    def posterior(self, checkpoint: str) -> tuple[int, int]:
        """Beta(1 + selected, 1 + rejected): a uniform prior updated by the judgements."""
        selected = self.selected.get(checkpoint, 0)
        return 1 + selected, 1 + self.judged.get(checkpoint, 0) - selected


class BestOverallPeer:
    """The checkpoint kept most often overall, whatever the prompt; greedy when exploring."""

    name = "best-overall"

    def __init__(self, seed: int = 0) -> None:
        # No randomness at all; ``seed`` only keeps the constructors interchangeable.
        self._counts = _Counts()

    def fit(self, history: Sequence[Judgement], now: float = 0.0) -> None:
        self._counts = _Counts()
        self._counts.add(history)

    def recommend(self, keywords: Sequence[str], candidates: Sequence[str]) -> str:
        # max() keeps the first of equal keys, so ties go to the earliest candidate.
        return max(candidates, key=self._counts.rate)

    def allocate(
        self, keywords: Sequence[str], candidates: Sequence[str], batch: int, rng: random.Random
    ) -> list[tuple[str, float]]:
        best = self.recommend(keywords, candidates)
        return [(best, 1.0)] * batch

    def learn(self, judged: Sequence[Judgement], now: float = 0.0) -> None:
        self._counts.add(judged)


class ThompsonPeer:
    """Thompson sampling over checkpoints with a Beta posterior each, blind to the keywords."""

    name = "thompson"

    def __init__(self, seed: int = 0, draws: int = MONTE_CARLO_DRAWS) -> None:
        self._rng = random.Random(seed)
        self._draws = draws
        self._counts = _Counts()
        # The posterior only moves in learn(), so the Monte Carlo propensities of one candidate
        # list stay valid until then; recomputing them per batch would dominate the run time.
        self._propensities: dict[tuple[str, ...], dict[str, float]] = {}

    def fit(self, history: Sequence[Judgement], now: float = 0.0) -> None:
        self._counts = _Counts()
        self._counts.add(history)
        self._propensities.clear()

    def _sample(self, candidates: Sequence[str], rng: random.Random) -> str:
        """The argmax of one posterior draw per candidate (ties: first candidate)."""
        best, best_draw = candidates[0], -1.0
        for checkpoint in candidates:
            draw = rng.betavariate(*self._counts.posterior(checkpoint))
            if draw > best_draw:
                best, best_draw = checkpoint, draw
        return best

    def recommend(self, keywords: Sequence[str], candidates: Sequence[str]) -> str:
        return self._sample(list(candidates), self._rng)

    def _propensity(self, candidates: tuple[str, ...]) -> dict[str, float]:
        found = self._propensities.get(candidates)
        if found is None:
            wins = dict.fromkeys(candidates, 0)
            for _ in range(self._draws):
                wins[self._sample(candidates, self._rng)] += 1
            # Floored at one draw: an arm Thompson actually picked cannot have probability 0, and
            # a zero propensity would give an inverse-propensity weight of infinity.
            found = {name: max(count, 1) / self._draws for name, count in wins.items()}
            self._propensities[candidates] = found
        return found

    def allocate(
        self, keywords: Sequence[str], candidates: Sequence[str], batch: int, rng: random.Random
    ) -> list[tuple[str, float]]:
        offered = tuple(candidates)
        propensity = self._propensity(offered)
        chosen = [self._sample(offered, rng) for _ in range(batch)]
        return [(checkpoint, propensity[checkpoint]) for checkpoint in chosen]

    def learn(self, judged: Sequence[Judgement], now: float = 0.0) -> None:
        self._counts.add(judged)
        self._propensities.clear()


@lru_cache(maxsize=65_536)
def _vw_token(text: str) -> str:
    """``text`` made safe as one feature of VW's text format, without merging distinct names.

    Whitespace splits features, ``|`` starts a namespace and ``:`` a value; percent-encoding them
    (and ``%`` itself) keeps the mapping one-to-one, so two checkpoints never become one action.
    """
    return "".join(f"%{ord(c):02X}" if c in "%|:" or c.isspace() else c for c in text)


class VowpalWabbitPeer:
    """Vowpal Wabbit's contextual bandit: keywords are the context, checkpoints the actions.

    Command line: ``--cb_explore_adf --cb_type mtr --epsilon E -q ka --quiet --random_seed S``.

    * ``--cb_explore_adf``: action-dependent features, so the candidate list can change from
      prompt to prompt and a checkpoint is known by its name, not by a fixed slot number; it
      predicts a whole pmf, which is what ``allocate`` must sample from and log.
    * ``--cb_type mtr`` (VW's default for ADF, spelt out so a VW upgrade cannot change it): a
      regression of the cost of the chosen action, importance-weighted by 1/propensity. It only
      ever updates the chosen action, which also makes it insensitive to the exact candidate list
      a logged judgement is replayed with (see ``_actions_for``).
    * ``--epsilon``: epsilon-greedy on top of the regression, VW's default exploration (0.05).
    * ``-q ka``: keyword x checkpoint crosses; without them the keywords are shared by every
      action, shift every prediction equally, and the model collapses to best-overall.
    * ``--random_seed``: VW's own randomness (weight initialisation, tie-breaking) follows ``seed``.

    Costs: 0 for a kept image, 1 for a rejected one (cost = 1 - reward, VW minimises cost). With
    this convention a checkpoint never judged predicts the context's average cost through the shared
    keyword and constant weights, a neutral starting point rather than an optimistic or
    pessimistic one.
    """

    name = "vowpal-wabbit"

    def __init__(self, seed: int = 0, epsilon: float = 0.05) -> None:
        self.seed = seed
        self.epsilon = epsilon
        self.arguments = (
            f"--cb_explore_adf --cb_type mtr --epsilon {epsilon} -q ka --quiet --random_seed {seed}"
        )
        self._vw = Workspace(self.arguments)
        self._known: dict[str, None] = {}
        """Every checkpoint seen, as an insertion-ordered set: the fallback action list."""
        self._offered: dict[tuple[str, ...], tuple[str, ...]] = {}
        """The last candidates offered for each prompt, so learn() replays the same choice."""

    def _reset(self) -> None:
        # finish() releases the native model now rather than whenever the garbage collector runs.
        self._vw.finish()
        self._vw = Workspace(self.arguments)
        self._known = {}
        self._offered = {}

    def _remember(self, checkpoints: Iterable[str]) -> None:
        for checkpoint in checkpoints:
            self._known.setdefault(checkpoint, None)

    @staticmethod
    def _shared(keywords: Sequence[str]) -> str:
        return "shared |k " + " ".join(_vw_token(word) for word in keywords)

    def _pmf(self, keywords: Sequence[str], candidates: Sequence[str]) -> list[float]:
        """VW's exploration pmf over ``candidates``, in their order."""
        lines = [self._shared(keywords)]
        lines += [f"|a {_vw_token(checkpoint)}" for checkpoint in candidates]
        # Given strings, Workspace.predict parses and finishes the examples itself, so nothing
        # is left for us to free; the result is one probability per action line, in line order.
        pmf: list[float] = self._vw.predict(lines)
        return pmf

    def _actions_for(self, item: Judgement) -> tuple[str, ...]:
        actions = self._offered.get(item.keywords) or tuple(self._known)
        return actions if item.checkpoint in actions else (*actions, item.checkpoint)

    def _learn_one(self, item: Judgement) -> None:
        actions = self._actions_for(item)
        propensity = item.propensity or _uniform_propensity(actions)
        cost = 0.0 if item.selected else 1.0
        lines = [self._shared(item.keywords)]
        for checkpoint in actions:
            # The ADF label is "action:cost:probability"; VW ignores the action part there.
            label = f"0:{cost}:{propensity} " if checkpoint == item.checkpoint else ""
            lines.append(f"{label}|a {_vw_token(checkpoint)}")
        self._vw.learn(lines)

    def fit(self, history: Sequence[Judgement], now: float = 0.0) -> None:
        self._reset()
        # A history carries no candidate lists: every checkpoint it mentions, sorted, stands in.
        self._remember(sorted({item.checkpoint for item in history}))
        for item in history:
            self._learn_one(item)

    def recommend(self, keywords: Sequence[str], candidates: Sequence[str]) -> str:
        self._remember(candidates)
        pmf = self._pmf(keywords, candidates)
        # index(max) is the first of equal probabilities: ties go to the earliest candidate.
        return candidates[pmf.index(max(pmf))]

    def allocate(
        self, keywords: Sequence[str], candidates: Sequence[str], batch: int, rng: random.Random
    ) -> list[tuple[str, float]]:
        offered = tuple(candidates)
        self._remember(offered)
        self._offered[tuple(keywords)] = offered
        pmf = self._pmf(keywords, offered)
        chosen = rng.choices(range(len(offered)), weights=pmf, k=batch)
        return [(offered[index], pmf[index]) for index in chosen]

    def learn(self, judged: Sequence[Judgement], now: float = 0.0) -> None:
        for item in judged:
            self._learn_one(item)


def _cell_counts(
    history: Iterable[Judgement],
) -> tuple[dict[tuple[str, str], tuple[int, int]], dict[str, tuple[int, int]]]:
    """(selected, judged) per keyword x checkpoint cell, and per checkpoint."""
    cells: dict[tuple[str, str], tuple[int, int]] = {}
    checkpoints: dict[str, tuple[int, int]] = {}
    for item in history:
        found = checkpoints.get(item.checkpoint, (0, 0))
        checkpoints[item.checkpoint] = (found[0] + item.selected, found[1] + 1)
        for word in item.keywords:
            found = cells.get((word, item.checkpoint), (0, 0))
            cells[(word, item.checkpoint)] = (found[0] + item.selected, found[1] + 1)
    return cells, checkpoints


class PublicAppPeer:
    """The public app's rule: the mean, over the prompt's first 10 keywords, of each keyword x
    checkpoint cell's raw selection rate where it has at least 3 images, else 0.5."""

    name = "public app"
    KEYWORDS, MIN_IMAGES, NEUTRAL = 10, 3, 0.5

    def __init__(self, seed: int = 0) -> None:
        self._cells: dict[tuple[str, str], tuple[int, int]] = {}

    def fit(self, history: Sequence[Judgement], now: float = 0.0) -> None:
        self._cells, _ = _cell_counts(history)

    def _rate(self, word: str, checkpoint: str) -> float:
        selected, total = self._cells.get((word, checkpoint), (0, 0))
        return selected / total if total >= self.MIN_IMAGES else self.NEUTRAL

    def recommend(self, keywords: Sequence[str], candidates: Sequence[str]) -> str:
        words = list(keywords)[: self.KEYWORDS]
        if not words:
            return candidates[0]

        def score(checkpoint: str) -> float:
            return sum(self._rate(word, checkpoint) for word in words) / len(words)

        # max keeps the first of equal scores: ties go to the earliest candidate.
        return max(candidates, key=score)


class ShrinkagePeer:
    """Plain shrinkage: each keyword x checkpoint cell's rate pulled toward its checkpoint's rate
    (itself pulled toward the overall rate) by ``k`` images; a prompt scores the mean over its
    keywords that have a cell with the checkpoint, or the checkpoint's rate where none has."""

    name = "plain shrinkage"

    def __init__(self, seed: int = 0, k: float = 10.0) -> None:
        self.k = k
        self._cells: dict[tuple[str, str], tuple[int, int]] = {}
        self._checkpoint: dict[str, float] = {}
        self._overall = UNSEEN_RATE

    def fit(self, history: Sequence[Judgement], now: float = 0.0) -> None:
        self._cells, checkpoints = _cell_counts(history)
        kept = sum(selected for selected, _ in checkpoints.values())
        judged = sum(total for _, total in checkpoints.values())
        self._overall = kept / judged if judged else UNSEEN_RATE
        self._checkpoint = {
            name: (selected + self.k * self._overall) / (total + self.k)
            for name, (selected, total) in checkpoints.items()
        }

    def recommend(self, keywords: Sequence[str], candidates: Sequence[str]) -> str:
        def score(checkpoint: str) -> float:
            prior = self._checkpoint.get(checkpoint, self._overall)
            rates = [
                (found[0] + self.k * prior) / (found[1] + self.k)
                for word in keywords
                if (found := self._cells.get((word, checkpoint))) is not None
            ]
            return sum(rates) / len(rates) if rates else prior

        return max(candidates, key=score)


PEERS = (RandomPeer, BestOverallPeer, ThompsonPeer, VowpalWabbitPeer)


def _self_check() -> None:
    """A two-context world only a contextual learner can master; prints how each peer fares."""
    import time

    checkpoints = ("A", "B", "C", "D")
    words = {"beach": ("beach", "sea", "sand", "sunset"), "forest": ("forest", "moss", "trees")}
    best = {"beach": "A", "forest": "B"}

    def keep(kind: str, checkpoint: str) -> float:
        return 0.8 if best[kind] == checkpoint else 0.3

    def prompt(rng: random.Random) -> tuple[str, tuple[str, ...]]:
        kind = rng.choice(sorted(words))
        return kind, tuple(rng.sample(words[kind], 2))

    print("explorer: mean keep probability over the last 100 of 300 batches of 4")
    for peer_class in PEERS:
        explorer = peer_class(seed=1)
        rng, world = random.Random(7), random.Random(8)
        late: list[float] = []
        for batch in range(300):
            kind, keywords = prompt(rng)
            picks = explorer.allocate(keywords, checkpoints, 4, rng)
            if batch >= 200:
                late += [keep(kind, checkpoint) for checkpoint, _ in picks]
            explorer.learn(
                [
                    Judgement(keywords, name, world.random() < keep(kind, name), propensity=p)
                    for name, p in picks
                ]
            )
        print(f"  {explorer.name:14} {sum(late) / len(late):.3f}")

    rng = random.Random(11)
    history = []
    for _ in range(1_000):
        kind, keywords = prompt(rng)
        name = rng.choice(checkpoints)
        history.append(Judgement(keywords, name, rng.random() < keep(kind, name)))
    long_history = history * 2
    print("recommender: top-1 accuracy after fitting 1,000 uniformly logged judgements")
    for peer_class in PEERS:
        recommender = peer_class(seed=1)
        recommender.fit(history)
        scores = []
        for kind in sorted(words):
            hits = sum(
                recommender.recommend(tuple(rng.sample(words[kind], 2)), checkpoints) == best[kind]
                for _ in range(200)
            )
            scores.append(f"{kind} {hits / 200:.2f}")
        started = time.perf_counter()
        recommender.fit(long_history)
        took = time.perf_counter() - started
        print(f"  {recommender.name:14} {'  '.join(scores)}  (fit on 2,000: {took * 1000:.0f} ms)")


if __name__ == "__main__":
    _self_check()
