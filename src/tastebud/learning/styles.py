"""Style preferences: which looks a person keeps, and what that says of each checkpoint.

Two things are learned from the judged images whose style is known (``tastebud.style``):

* **Rates by look** (``style_taste``): for each scale, the share kept of its low, middle and high
  images ("you keep 71% of bright images, 22% of dark ones"), each shrunk toward the profile's
  own rate with ``PRIOR`` images, as every other rate is: 3 of 4 is not 75%.
* **The style model** (``fit_style``): a logistic regression of kept-or-not on the seven features,
  with an intercept per checkpoint, so that a weight is read *within* each checkpoint's images: a
  checkpoint rejected for other reasons does not make its look look bad. Ridge-regularised
  (``RIDGE``), on standardised features.

Recommending reads the model (``StyleFit.parts``): a checkpoint's images lean to some look
(their mean style), and the weights say what that lean is worth to this person. Its own record
already holds that worth where it is long, so the lean counts in proportion to how much the
checkpoint's score still rests on its prior (few images of its own), and, for a prompt that asks
for a look ("a dark alley"), the part of its record that the look explains is taken back out for
that scale: a person who rejects dark images does not reject the dark images they asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tastebud.style import FEATURES, SCALES, Style, asked

PRIOR = 10.0
"""Images of the profile's own rate a look's rate starts from."""
RIDGE = 1.0
"""The style model's L2 penalty, per standardised feature and per checkpoint intercept."""
LEAST_IMAGES = 30
"""Judged images with a style, at least, before the style model is fitted."""
MIN_SPREAD = 0.02
"""The least spread a feature is standardised by (a 0..1 scale, stored to three decimals)."""
NOTABLE = 0.15
"""A checkpoint's style part (log-odds) from which it is worth a sentence."""
OWN_IMAGES = 20.0
"""A checkpoint's own images at which its look counts half: ``OWN_IMAGES / (OWN_IMAGES + n)`` of
the lean is added to the score of a checkpoint with n images (all of it for one never judged)."""
FEW_IMAGES = 5
"""Images of a look, at least, before "you usually reject" is said of it."""


@dataclass(frozen=True)
class Look:
    """One bucket of one scale: the images of that look, and the share kept."""

    word: str
    selected: int
    total: int
    rate: float
    """Shrunk toward the profile's rate with ``PRIOR`` images."""


@dataclass(frozen=True)
class ScaleTaste:
    feature: str
    title: str
    looks: tuple[Look, Look, Look]


@dataclass(frozen=True)
class StyleTaste:
    """What a profile keeps, look by look."""

    images: int
    """Judged images with a style."""
    rate: float
    scales: tuple[ScaleTaste, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "rate": self.rate,
            "scales": [
                {
                    "feature": scale.feature,
                    "title": scale.title,
                    "looks": [
                        {
                            "word": look.word,
                            "selected": look.selected,
                            "total": look.total,
                            "rate": look.rate,
                        }
                        for look in scale.looks
                    ],
                }
                for scale in self.scales
            ],
        }


def style_taste(judged: Iterable[tuple[bool, Style]]) -> StyleTaste:
    """The share kept of each look, from (selected, style) of judged images."""
    counts = np.zeros((len(SCALES), 3, 2))
    kept = images = 0
    for selected, style in judged:
        values = style.values()
        for row, scale in enumerate(SCALES):
            cell = counts[row, scale.bucket(values[FEATURES.index(scale.feature)])]
            cell[0] += selected
            cell[1] += 1
        kept += selected
        images += 1
    rate = (kept + 1) / (images + 2)
    scales = []
    for row, scale in enumerate(SCALES):
        looks = []
        for bucket in range(3):
            selected_here, total = counts[row, bucket]
            looks.append(
                Look(
                    scale.words[bucket], int(selected_here), int(total),
                    round((selected_here + PRIOR * rate) / (total + PRIOR), 4),
                )
            )  # fmt: skip
        scales.append(ScaleTaste(scale.feature, scale.title, (looks[0], looks[1], looks[2])))
    return StyleTaste(images, round(rate, 4), tuple(scales))


@dataclass(frozen=True)
class CheckpointLook:
    """A checkpoint's images, as this profile judged them: their mean style, how many, and the
    (selected, total) of each scale's looks."""

    mean: tuple[float, ...]
    images: int
    looks: tuple[tuple[tuple[int, int], ...], ...]
    unasked: tuple[float, ...] = ()
    """Per feature, the share of its images whose prompt did not ask for that look: how much of
    its record the look's worth is in (empty: all of it)."""


@dataclass(frozen=True)
class StylePart:
    """A checkpoint's style part of its score for a prompt (log-odds), and the look behind it."""

    value: float
    feature: str | None = None
    word: str | None = None
    selected: int = 0
    total: int = 0
    asked: str | None = None
    """The look the prompt asks for, where that is what the part is about ("dark")."""


NO_PART = StylePart(0.0)


@dataclass(frozen=True)
class StyleFit:
    """The style model of one profile (see the module's description)."""

    weights: tuple[float, ...] = ()
    """Log-odds per unit of each feature (in ``FEATURES`` order); empty: not fitted."""
    centre: tuple[float, ...] = ()
    """The mean style of the profile's judged images."""
    checkpoints: Mapping[str, CheckpointLook] = field(default_factory=dict)

    def parts(
        self, keywords: Sequence[str], candidates: Sequence[str], own_images: Sequence[float]
    ) -> list[StylePart]:
        """Each candidate's style part for the prompt, in the candidates' order.

        ``own_images``: each candidate's images judged by this profile (see ``OWN_IMAGES``).
        """
        if not self.weights:
            return [NO_PART] * len(candidates)
        wanted = asked(keywords)
        weights, centre = np.array(self.weights), np.array(self.centre)
        found = []
        for key, images in zip(candidates, own_images, strict=True):
            share = OWN_IMAGES / (OWN_IMAGES + images)
            look = self.checkpoints.get(key)
            if look is None:
                found.append(NO_PART)
                continue
            lean = weights * (np.array(look.mean) - centre)  # per feature, log-odds
            asked_for = np.array([name in wanted for name in FEATURES])
            # Unasked: the lean counts where the record is thin; asked: what the lean took
            # from (or gave to) the record is given back.
            unasked = share * np.where(asked_for, 0.0, lean)
            # Its record holds the look's worth only from the images that did not ask for it.
            in_record = np.array(look.unasked) if look.unasked else 1.0
            back = -(1 - share) * np.where(asked_for, lean * in_record, 0.0)
            value = float(unasked.sum() + back.sum())
            if float(back.min()) < float(unasked.min()):
                found.append(self._told(value, int(np.argmin(back)), look, wanted))
            else:
                found.append(self._told(value, int(np.argmin(unasked)), look, {}))
        return found

    def _told(
        self, value: float, feature: int, look: CheckpointLook, wanted: Mapping[str, int]
    ) -> StylePart:
        """The part, with the look behind its largest cost (for its reason)."""
        name = FEATURES[feature]
        row = next(index for index, scale in enumerate(SCALES) if scale.feature == name)
        scale = SCALES[row]
        bucket = scale.bucket(look.mean[feature])
        selected, total = look.looks[row][bucket]
        asked_word = scale.words[wanted[name]] if name in wanted else None
        return StylePart(value, name, scale.words[bucket], selected, total, asked_word)

    def to_json(self) -> dict[str, Any]:
        return {
            "weights": list(self.weights),
            "centre": list(self.centre),
            "checkpoints": {
                key: {
                    "mean": list(look.mean),
                    "images": look.images,
                    "looks": [[list(pair) for pair in row] for row in look.looks],
                    "unasked": list(look.unasked),
                }
                for key, look in self.checkpoints.items()
            },
        }


NO_STYLE = StyleFit()


def style_fit_from_json(found: Mapping[str, Any] | None) -> StyleFit:
    if not found:
        return NO_STYLE
    return StyleFit(
        tuple(found["weights"]),
        tuple(found["centre"]),
        {
            key: CheckpointLook(
                tuple(look["mean"]),
                look["images"],
                tuple(tuple((pair[0], pair[1]) for pair in row) for row in look["looks"]),
                tuple(look.get("unasked", ())),
            )
            for key, look in found["checkpoints"].items()
        },
    )


def fit_style(judged: Sequence[tuple[str, bool, Style, Sequence[str]]]) -> StyleFit:
    """The style model of (checkpoint key, selected, style, keywords) of a profile's judged
    images.

    A feature the image's prompt asked for ("dark") says nothing of taste (the person asked for
    it): it is read as the profile's mean, in the model and in the checkpoint's lean.
    """
    if len(judged) < LEAST_IMAGES:
        return NO_STYLE
    names = sorted({item[0] for item in judged})
    column = {key: index for index, key in enumerate(names)}
    features = np.array([item[2].values() for item in judged])
    kept = np.array([item[1] for item in judged], dtype=float)
    wanted = np.zeros(features.shape, dtype=bool)
    for row, item in enumerate(judged):
        for feature in asked(item[3]):
            wanted[row, FEATURES.index(feature)] = True
    free = ~wanted
    counted = np.maximum(free.sum(axis=0), 1)
    centre = np.where(free, features, 0.0).sum(axis=0) / counted
    features = np.where(wanted, centre, features)
    # The spread of the values that speak (prompts that did not ask), at least MIN_SPREAD: the
    # features are stored to three decimals, and a feature that barely varies would otherwise
    # get a weight of thousands from one image.
    spread = np.sqrt(np.where(free, (features - centre) ** 2, 0.0).sum(axis=0) / counted)
    spread = np.maximum(spread, MIN_SPREAD)
    standard = (features - centre) / spread
    # A feature with few images free to speak for it is left out (its weight stays 0).
    standard[:, free.sum(axis=0) < LEAST_IMAGES] = 0.0
    owner = np.array([column[item[0]] for item in judged])
    checkpoints = np.zeros((len(judged), len(names)))
    checkpoints[np.arange(len(judged)), owner] = 1.0
    design = np.hstack([standard, checkpoints])
    beta = _ridge_logistic(design, kept, RIDGE)
    weights = beta[: len(FEATURES)] / spread
    looks: dict[str, CheckpointLook] = {}
    for key in names:
        mine = owner == column[key]
        buckets = [[[0, 0] for _ in range(3)] for _ in SCALES]
        for values, selected, free_here in zip(features[mine], kept[mine], free[mine], strict=True):
            for row, scale in enumerate(SCALES):
                index = FEATURES.index(scale.feature)
                if free_here[index]:
                    cell = buckets[row][scale.bucket(values[index])]
                    cell[0] += int(selected)
                    cell[1] += 1
        # Its lean, where its prompts did not ask for the look.
        own = np.where(free[mine], features[mine], 0.0).sum(axis=0)
        lean = np.where(free[mine].any(axis=0), own / np.maximum(free[mine].sum(axis=0), 1), centre)
        looks[key] = CheckpointLook(
            tuple(round(float(value), 4) for value in lean),
            int(mine.sum()),
            tuple(tuple((cell[0], cell[1]) for cell in row) for row in buckets),
            tuple(round(float(value), 4) for value in free[mine].mean(axis=0)),
        )
    return StyleFit(
        tuple(round(float(value), 4) for value in weights),
        tuple(round(float(value), 4) for value in centre),
        looks,
    )


def _ridge_logistic(
    design: np.ndarray[Any, Any], kept: np.ndarray[Any, Any], ridge: float
) -> np.ndarray[Any, Any]:
    """Newton's method for L2-penalised logistic regression (no separate intercept: each
    checkpoint's column is one)."""
    beta = np.zeros(design.shape[1])
    penalty = ridge * np.eye(design.shape[1])
    for _ in range(25):
        chance = 1 / (1 + np.exp(-(design @ beta)))
        gradient = design.T @ (kept - chance) - penalty @ beta
        hessian = (design * (chance * (1 - chance))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if float(np.abs(step).max()) < 1e-6:
            break
    return beta


def reason(name: str, part: StylePart) -> str | None:
    """The sentence "you usually reject the dark images realvisxlV40 makes (3 of 25 kept)",
    where the part is notable and that checkpoint's images of that look were mostly rejected."""
    if part.value > -NOTABLE or part.word is None:
        return None
    if part.asked is not None:
        return (
            f"the prompt asks for {part.asked} images, so the {part.word} look you keep from "
            f"{name} counts for less here"
        )
    if part.total < FEW_IMAGES or part.selected * 2 >= part.total:
        return None
    counted = f" ({part.selected} of {part.total} kept)" if part.total else ""
    return f"you usually reject the {part.word} images {name} makes{counted}"
