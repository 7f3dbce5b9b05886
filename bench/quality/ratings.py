"""Real human ratings as keep/reject histories: does a recommender pick the model people rate best?

    .venv/bin/python bench/quality/ratings.py    # shapes, rules and two trivial baselines

Three public sets of (prompt, model) ratings stand in for a person's keeps and rejects: GenAI-Bench,
TIFA and AGIQA-3K (see ``shared/data/README.md``). Each is read in place from ``SHARED_DATA``; a
loader returns None when its file is absent and the caller says so.

Every individual rating (or image) becomes one ``Judgement``, selected or rejected by a rule fixed
per dataset before any result was seen, so a strategy can never win by a threshold tuned to it.
``evaluate`` then runs k-fold by prompt: fit on the other folds' judgements, pick one model for
each held-out prompt among the models rated for it, and score the pick against the humans' means.
"""

from __future__ import annotations

import csv
import json
import math
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from common import SHARED_DATA, Judgement, Recommender

import tastebud

PREFERENCE = SHARED_DATA / "preference"
GENAI_BENCH = PREFERENCE / "genai_bench_image_human_ratings_527.json"
TIFA = PREFERENCE / "tifa_human_annotations.json"
AGIQA = PREFERENCE / "agiqa3k_data.csv"

LIKERT = range(1, 6)
"""GenAI-Bench and TIFA both ask for a 1-5 Likert score of how well the image matches the text."""

TIE = 1e-9
"""Means this close are a tie: several models can share the best mean, and any of them is right."""


@dataclass(frozen=True)
class RatedPrompt:
    """One prompt and, per model, every individual rating of its image(s) for that prompt."""

    prompt: str
    ratings: dict[str, tuple[float, ...]]

    def means(self) -> dict[str, float]:
        return {model: math.fsum(found) / len(found) for model, found in self.ratings.items()}

    def best(self) -> set[str]:
        """The models with the highest mean rating; ties are all best."""
        means = self.means()
        top = max(means.values())
        return {model for model, mean in means.items() if mean >= top - TIE}


@cache
def keywords_of(prompt: str) -> tuple[str, ...]:
    """The prompt's keywords as the service would store them (cached: every fold re-reads them)."""
    return tastebud.parse_prompt(prompt).keywords


@dataclass(frozen=True)
class Dataset:
    """A set of rated prompts and the fixed rule that turns each rating into a keep or a reject."""

    name: str
    prompts: list[RatedPrompt]
    rule: str
    """One sentence saying which ratings count as selections, for the report."""
    selects: Callable[[float], bool] = field(repr=False, compare=False)
    """The rule itself: whether one rating is a selection."""

    def judgements(self, prompts: Sequence[RatedPrompt] | None = None) -> list[Judgement]:
        """One judged image per individual rating of ``prompts`` (all of them by default)."""
        return [
            Judgement(
                keywords=keywords_of(item.prompt),
                checkpoint=model,
                selected=self.selects(rating),
                time=0.0,
            )
            for item in (self.prompts if prompts is None else prompts)
            for model, found in item.ratings.items()
            for rating in found
        ]

    def models(self) -> list[str]:
        return sorted({model for item in self.prompts for model in item.ratings})


def _at_least(threshold: float) -> Callable[[float], bool]:
    return lambda rating: rating >= threshold


def _above(threshold: float) -> Callable[[float], bool]:
    return lambda rating: rating > threshold


def _likert(found: Sequence[object]) -> tuple[float, ...]:
    """Valid 1-5 ratings only: GenAI-Bench holds two typos (41 and 33) that would outweigh a row.

    Dropping them rather than guessing the intended digit keeps the data as rated; both sit on
    prompts with two other valid ratings of the same image.
    """
    return tuple(float(rating) for rating in found if rating in LIKERT)


def load_genai_bench(path: Path = GENAI_BENCH) -> Dataset | None:
    """527 prompts x 6 models x 3 raters, 1-5 for how well the image matches the prompt."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    prompts = [
        RatedPrompt(
            row["prompt"], {model: _likert(found) for model, found in row["models"].items()}
        )
        for _, row in sorted(data.items())
    ]
    return Dataset(
        name="GenAI-Bench",
        prompts=prompts,
        # The reference rule: the top two points of the scale are an image a person would
        # keep; the midpoint and below are not.
        rule="a rating of 4 or 5 on the 1-5 match scale is a selection; 1-3 is a rejection.",
        selects=_at_least(4),
    )


def load_tifa(path: Path = TIFA) -> Dataset | None:
    """160 COCO-style prompts x 5 models (3 Stable Diffusion versions) x 2 raters, 1-5."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    texts: dict[str, str] = {}
    ratings: dict[str, dict[str, tuple[float, ...]]] = {}
    for key, row in data.items():
        text_id = row["text_id"]
        # Keys are "<text_id>_<model>"; the model names themselves contain underscores.
        model = key.removeprefix(f"{text_id}_")
        texts.setdefault(text_id, row["text"])
        ratings.setdefault(text_id, {})[model] = _likert(row["human_scores"])
    prompts = [RatedPrompt(texts[text_id], found) for text_id, found in ratings.items()]
    return Dataset(
        name="TIFA",
        prompts=prompts,
        # TIFA asks the same question on the same 1-5 Likert scale as GenAI-Bench (does the image
        # match the text?), so the same cut is the analogous rule, chosen without looking at any
        # result. Its prompts are short and easy, so more images clear it than on GenAI-Bench.
        rule="a rating of 4 or 5 on the 1-5 faithfulness scale is a selection; 1-3 is a rejection.",
        selects=_at_least(4),
    )


def load_agiqa(path: Path = AGIQA) -> Dataset | None:
    """300 prompts, 6 models, each in 1-4 settings (normal, low steps, low/high CFG): 2,982 images.

    An image's rating is the mean of its quality MOS and its alignment MOS. The two need no
    normalising: AGIQA-3K publishes both rescaled to the same range (each has mean 2.50 and
    standard deviation 1.00 over the 2,982 images), so a plain mean weighs them equally and stays
    in MOS units a reader can compare with the file.
    """
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    ratings: dict[str, dict[str, list[float]]] = {}
    combined: list[float] = []
    for row in rows:
        # "sd1.5_lowstep_018.jpg": model, setting, index of the prompt.
        model = row["name"].split("_", 1)[0]
        rating = (float(row["mos_quality"]) + float(row["mos_align"])) / 2
        combined.append(rating)
        ratings.setdefault(row["prompt"], {}).setdefault(model, []).append(rating)
    median = statistics.median(combined)
    prompts = [
        RatedPrompt(prompt, {model: tuple(found) for model, found in by_model.items()})
        for prompt, by_model in ratings.items()
    ]
    return Dataset(
        name="AGIQA-3K",
        prompts=prompts,
        # MOS are continuous and have no "good enough" point of their own, so the median of the
        # whole dataset splits the images into a kept and a rejected half.
        rule=(
            "an image is a selection when the mean of its quality and alignment MOS is above the"
            f" median of all {len(combined):,} images ({median:.3f}); otherwise a rejection."
        ),
        selects=_above(median),
    )


@dataclass(frozen=True)
class Score:
    """How well a recommender's picks matched the humans on held-out prompts, prompt by prompt."""

    gains: tuple[float, ...]
    """Per held-out prompt: the pick's mean rating minus the mean over the prompt's models."""
    spreads: tuple[float, ...]
    """Per held-out prompt: the best model's mean rating minus the mean over its models."""
    hits: tuple[bool, ...]
    """Per held-out prompt: whether the pick has the highest mean rating (ties count)."""
    picked: tuple[float, ...]
    """Per held-out prompt: the pick's mean rating, in the dataset's own units."""

    @property
    def share(self) -> float:
        """Share of the oracle's gain over random: the sum of gains over the sum of spreads."""
        return math.fsum(self.gains) / math.fsum(self.spreads)

    @property
    def top1(self) -> float:
        return sum(self.hits) / len(self.hits)

    @property
    def mean_rating(self) -> float:
        return math.fsum(self.picked) / len(self.picked)


def folds_of(dataset: Dataset, folds: int, seed: int) -> list[list[RatedPrompt]]:
    """The prompts in ``folds`` parts, shuffled by ``seed``: the same parts for every recommender."""
    order = list(dataset.prompts)
    random.Random(seed).shuffle(order)
    return [order[index::folds] for index in range(folds)]


def _score(
    recommender: Recommender, held_out: Sequence[RatedPrompt]
) -> list[tuple[float, float, bool, float]]:
    found = []
    for item in held_out:
        pick = recommender.recommend(keywords_of(item.prompt), sorted(item.ratings))
        means = item.means()
        mean = math.fsum(means.values()) / len(means)
        found.append(
            (means[pick] - mean, max(means.values()) - mean, pick in item.best(), means[pick])
        )
    return found


def _as_score(found: Sequence[tuple[float, float, bool, float]]) -> Score:
    gains, spreads, hits, picked = zip(*found, strict=True) if found else ((), (), (), ())
    return Score(tuple(gains), tuple(spreads), tuple(hits), tuple(picked))


def evaluate(
    dataset: Dataset, make: Callable[[], Recommender], folds: int = 5, seed: int = 0
) -> Score:
    """K-fold by prompt: fit a fresh recommender on the other folds, pick for each held-out prompt.

    Splitting by prompt (not by rating) keeps every rating of a held-out prompt out of training,
    so a pick can only come from what other prompts taught. Prompts come out in the same order
    for every recommender, so scores pair up prompt by prompt.
    """
    parts = folds_of(dataset, folds, seed)
    found: list[tuple[float, float, bool, float]] = []
    for index, held_out in enumerate(parts):
        training = [item for other, part in enumerate(parts) if other != index for item in part]
        recommender = make()
        recommender.fit(dataset.judgements(training), 0.0)
        found += _score(recommender, held_out)
    return _as_score(found)


def raters(dataset: Dataset) -> int:
    """How many raters rated every image (0 if the counts differ): each can be one profile."""
    counts = {len(found) for item in dataset.prompts for found in item.ratings.values()}
    return counts.pop() if len(counts) == 1 else 0


def rater_view(dataset: Dataset, rater: int) -> Dataset:
    """The dataset as one rater saw it: only their rating of each image.

    Assumes the file lists each image's ratings in the same rater order (TIFA does, by annotator).
    """
    prompts = [
        RatedPrompt(item.prompt, {model: (found[rater],) for model, found in item.ratings.items()})
        for item in dataset.prompts
    ]
    return Dataset(f"{dataset.name}, rater {rater + 1}", prompts, dataset.rule, dataset.selects)


def evaluate_per_rater(
    dataset: Dataset, make: Callable[[], Recommender], folds: int = 5, seed: int = 0
) -> Score:
    """Each rater a profile: fit on the training folds with the held-out rater's own judgements as
    ``personal`` and every rater's as ``pooled`` (``fit_profiles`` where the recommender has it,
    else ``fit(personal)``), and score each held-out prompt by that rater's own ratings."""
    parts = folds_of(dataset, folds, seed)
    found: list[tuple[float, float, bool, float]] = []
    for rater in range(raters(dataset)):
        view = rater_view(dataset, rater)
        own_parts = folds_of(view, folds, seed)  # the same prompts per fold: the same shuffle
        for index, held_out in enumerate(own_parts):
            training = [p for other, part in enumerate(parts) if other != index for p in part]
            own = [p for other, part in enumerate(own_parts) if other != index for p in part]
            recommender = make()
            fit_profiles = getattr(recommender, "fit_profiles", None)
            if fit_profiles is None:
                recommender.fit(view.judgements(own), 0.0)
            else:
                fit_profiles(view.judgements(own), dataset.judgements(training), 0.0)
            found += _score(recommender, held_out)
    return _as_score(found)


if __name__ == "__main__":

    class RandomPick:
        """Uniform over the candidates, seeded so every run prints the same figures."""

        name = "random"

        def __init__(self, seed: int = 0) -> None:
            self.rng = random.Random(seed)

        def fit(self, history: Sequence[Judgement], now: float = 0.0) -> None:
            pass

        def recommend(self, keywords: Sequence[str], candidates: Sequence[str]) -> str:
            return self.rng.choice(list(candidates))

    class BestOverall:
        """The candidate kept most often in training, whatever the prompt: the bar to beat."""

        name = "best overall"

        def __init__(self) -> None:
            self.rate: dict[str, float] = {}

        def fit(self, history: Sequence[Judgement], now: float = 0.0) -> None:
            counts: dict[str, list[int]] = {}
            for item in history:
                found = counts.setdefault(item.checkpoint, [0, 0])
                found[0] += item.selected
                found[1] += 1
            self.rate = {model: kept / total for model, (kept, total) in counts.items()}

        def recommend(self, keywords: Sequence[str], candidates: Sequence[str]) -> str:
            # Unseen candidates rank last; ties go to the first name, so picks are reproducible.
            return min(candidates, key=lambda model: (-self.rate.get(model, -1.0), model))

    loaders = {"GenAI-Bench": load_genai_bench, "TIFA": load_tifa, "AGIQA-3K": load_agiqa}
    for label, load in loaders.items():
        dataset = load()
        if dataset is None:
            print(f"{label}: skipped, its file is not in {PREFERENCE}")
            continue
        judged = dataset.judgements()
        kept = sum(item.selected for item in judged) / len(judged)
        models = dataset.models()
        print(f"{dataset.name}: {len(dataset.prompts)} prompts, {len(models)} models, ", end="")
        print(f"{len(judged):,} judgements, {kept:.1%} selected")
        print(f"  models: {', '.join(models)}")
        print(f"  rule: {dataset.rule}")
        for make in (RandomPick, BestOverall):
            score = evaluate(dataset, make)
            print(
                f"  {make.name:<13} share {score.share:.3f}, top-1 {score.top1:.3f},"
                f" mean rating {score.mean_rating:.3f}, {len(score.gains)} prompts"
            )
