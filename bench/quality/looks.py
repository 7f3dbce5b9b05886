"""A simulated person whose taste includes the look of each image (the style part).

The independent-affinity person (``simulator.User``), plus:

* Each checkpoint makes images of a known look: a mean for each of tastebud's seven style
  features (``tastebud.style``; brightness 0.3 to 0.7, colourfulness 0.2 to 0.5, ..., flatness
  about 0.4 for the anime checkpoint and 0.12 for the others); each image varies about it (sd
  0.08 per feature). A prompt that asks for a look ("dark", "vibrant", "anime": the words of
  ``tastebud.style.asked``) moves every checkpoint's images 0.2 toward it.
* The person weighs each feature (log-odds per unit, sd ``STYLE_SD``): bright images kept more,
  flat colour less, say. A prompt that asks for a look switches the person's weight on that
  feature off: they asked for dark, so dark does not count against the image.

This is the model ``tastebud.learning.styles`` assumes; the benchmark measures whether the
default learns it from judged images and their styles, against the default without the style
part, on the same people and prompts. The keep chance scored is that of an image at the
checkpoint's mean look for the prompt.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from common import Judgement
from simulator import IMAGES_PER_DAY, User, clearly_good

from tastebud.style import FEATURES, asked

STYLE_SD = 3.0
IMAGE_SD = 0.08
ASKED_SHIFT = 0.2
RANGES = {
    "brightness": (0.3, 0.7), "contrast": (0.35, 0.55), "colourfulness": (0.2, 0.5),
    "saturation": (0.2, 0.5), "warmth": (0.45, 0.56), "sharpness": (0.7, 0.9),
}  # fmt: skip
ANIME = "animagineXLV31"


@dataclass
class StyledUser(User):
    """A person whose taste includes the look of each image."""

    looks: dict[str, tuple[float, ...]] = field(default_factory=dict)
    weights: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        rng = random.Random(self.seed + 20_000)
        for name in self.checkpoints:
            mean = [rng.uniform(*RANGES[feature]) for feature in FEATURES[:-1]]
            flat = rng.gauss(0.4, 0.05) if name == ANIME else rng.gauss(0.12, 0.04)
            self.looks[name] = (*mean, flat)
        self.weights = tuple(rng.gauss(0.0, STYLE_SD) for _ in FEATURES)
        self._look_rng = random.Random(self.seed + 30_000)

    def look_of(
        self, keywords: Sequence[str], checkpoint: str, rng: random.Random | None = None
    ) -> tuple[float, ...]:
        """An image's look: the checkpoint's, moved toward what the prompt asks for; with
        ``rng``, one image's (varying about it)."""
        look = list(self.looks[checkpoint])
        for feature, end in asked(keywords).items():
            index = FEATURES.index(feature)
            look[index] += ASKED_SHIFT if end == 2 else -ASKED_SHIFT
        if rng is not None:
            look = [value + rng.gauss(0.0, IMAGE_SD) for value in look]
        return tuple(round(min(max(value, 0.0), 1.0), 3) for value in look)

    def style_odds(self, keywords: Sequence[str], look: Sequence[float]) -> float:
        wanted = asked(keywords)
        return sum(
            weight * (value - 0.5)
            for feature, weight, value in zip(FEATURES, self.weights, look, strict=True)
            if feature not in wanted
        )

    def odds(
        self, keywords: Sequence[str], checkpoint: str, loras: Sequence[tuple[str, float]] = ()
    ) -> float:
        """Log-odds for an image at the checkpoint's mean look for the prompt: what is scored."""
        look = self.look_of(keywords, checkpoint)
        return super().odds(keywords, checkpoint, loras) + self.style_odds(keywords, look)

    def judge(
        self,
        keywords: Sequence[str],
        images: Sequence[tuple[str, tuple[tuple[str, float], ...]]],
        propensities: Sequence[float | None] | None = None,
    ) -> list[Judgement]:
        """As ``User.judge``, each image with a look of its own, which its judgement carries."""
        looks = [self.look_of(keywords, checkpoint, self._look_rng) for checkpoint, _ in images]
        odds = [
            User.odds(self, keywords, checkpoint, loras) + self.style_odds(keywords, look)
            for (checkpoint, loras), look in zip(images, looks, strict=True)
        ]
        good = clearly_good(odds, self._rng)
        judged = [
            Judgement(
                keywords=tuple(keywords), checkpoint=checkpoint, selected=index in good,
                loras=loras, time=self.day,
                propensity=None if propensities is None else propensities[index],
                style=looks[index],
            )
            for index, (checkpoint, loras) in enumerate(images)
        ]  # fmt: skip
        self.advance(len(images) / IMAGES_PER_DAY)
        return judged
