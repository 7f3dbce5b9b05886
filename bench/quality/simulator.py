"""Simulated users with a known taste, so every recommendation can be scored against the truth.

A user's taste, in log-odds of keeping an image:

    base + quality[checkpoint] + affinity(prompt, checkpoint)
         + for each LoRA: quality[lora] + affinity(prompt, lora) + clash[checkpoint, lora]
                          - 3 * (strength - ideal[lora]) ** 2

* Prompts are real (DiffusionDB, 5,000) with their keywords as tastebud reads them.
* Keyword x checkpoint (and keyword x LoRA) affinities: each of the 400 most frequent keywords
  after the 30 commonest (boilerplate such as "art", "detailed") has an affinity with each
  checkpoint; a prompt's effect is the sum of its words' affinities over the square root of how
  many it has, so a long prompt is not more extreme than a short one. Rarer words carry none.
* Checkpoint x LoRA clashes: 1 pair in 8 loses 2 in log-odds.
* Taste drifts: every day, qualities and affinities take a random step (0.05 in log-odds), so
  after 50 days a checkpoint's standing has moved by about a third of the spread between them.
* A person judges a batch the way people do: each image's own merit is its checkpoint's odds plus
  noise; images clearly good enough are kept, at most 2 of a batch, and a batch with none good
  enough is rejected as a whole.

The oracle knows the taste: for a prompt, the checkpoint with the highest chance of an image being
kept. Recommendations are scored by that chance, as a share of the oracle's.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from common import SHARED_DATA, Judgement

from tastebud import parse_prompt

PROMPTS = SHARED_DATA / "prompts" / "diffusiondb_prompts_via_imagereward_refl_5000.jsonl"
CHECKPOINTS = [
    "epicrealismXL_v5", "juggernautXL_v9", "realvisxlV40", "dreamshaperXL_v21", "animagineXLV31",
    "zavychromaxl_v80", "protovisionXL_v6", "albedobaseXL_v21", "nightvisionXL_v0791",
    "crystalClearXL_ccxl",
]  # fmt: skip
LORAS = [
    "add_detail", "film_grain_v1", "ghibli_style_offset", "watercolor_v1", "neon_noir_v1",
    "cinematic_xl_v1", "oil_painting_v3", "pixel-art-xl-v1.1",
]  # fmt: skip
BOILERPLATE = 30
THEMED = 400
STRENGTHS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
IMAGES_PER_DAY = 40
POOL = 200
DRIFT_PER_DAY = 0.05


@cache
def prompt_keywords() -> tuple[tuple[str, ...], ...]:
    """Every real prompt's keywords (a small generated vocabulary where the data is absent)."""
    if not PROMPTS.exists():
        rng = random.Random(0)
        words = [f"word{index}" for index in range(600)]
        weights = [1 / (rank + 1) for rank in range(len(words))]
        return tuple(tuple(dict.fromkeys(rng.choices(words, weights, k=12))) for _ in range(5000))
    found = []
    for line in PROMPTS.open(encoding="utf-8"):
        keywords = parse_prompt(json.loads(line)["prompt"]).keywords
        if keywords:
            found.append(tuple(keywords))
    return tuple(found)


@cache
def themed_words() -> tuple[str, ...]:
    counts = Counter(word for keywords in prompt_keywords() for word in keywords)
    common = [word for word, _ in counts.most_common(BOILERPLATE + THEMED)]
    return tuple(common[BOILERPLATE:])


@dataclass
class User:
    """One simulated person: a taste (that drifts) and a way of judging."""

    seed: int
    checkpoints: Sequence[str] = tuple(CHECKPOINTS)
    loras: Sequence[str] = tuple(LORAS)
    drift: float = DRIFT_PER_DAY
    base: float = -0.6
    quality: dict[str, float] = field(default_factory=dict)
    affinity: dict[tuple[str, str], float] = field(default_factory=dict)
    clash: dict[tuple[str, str], float] = field(default_factory=dict)
    ideal: dict[str, float] = field(default_factory=dict)
    words: frozenset[str] = frozenset()
    day: float = 0.0

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self._rng = random.Random(self.seed + 10_000)
        self.words = frozenset(themed_words())
        for name in self.checkpoints:
            self.quality[name] = rng.gauss(0.0, 0.5)
            for word in sorted(self.words):
                self.affinity[(word, name)] = rng.gauss(0.0, 1.0)
        for name in self.loras:
            self.quality[name] = rng.gauss(-0.1, 0.4)
            for word in sorted(self.words):
                self.affinity[(word, name)] = rng.gauss(0.0, 0.6)
            self.ideal[name] = rng.choice(STRENGTHS[:-1])
            for checkpoint in self.checkpoints:
                if rng.random() < 1 / 8:
                    self.clash[(checkpoint, name)] = -2.0

    # -- taste ----------------------------------------------------------------------------------

    def affinity_of(self, keywords: Sequence[str], name: str) -> float:
        found = [self.affinity[(word, name)] for word in keywords if word in self.words]
        return sum(found) / math.sqrt(len(found)) if found else 0.0

    def odds(
        self, keywords: Sequence[str], checkpoint: str, loras: Sequence[tuple[str, float]] = ()
    ) -> float:
        """Log-odds that an image of this prompt, checkpoint and LoRAs is good enough to keep."""
        total = self.base + self.quality[checkpoint] + self.affinity_of(keywords, checkpoint)
        for name, strength in loras:
            total += self.quality[name] + self.affinity_of(keywords, name)
            total += self.clash.get((checkpoint, name), 0.0)
            total -= 3.0 * (strength - self.ideal[name]) ** 2
        return total

    def keep_chance(self, keywords: Sequence[str], checkpoint: str) -> float:
        """The chance that an image of this checkpoint (no LoRA) is kept: what is scored."""
        return _expit(self.odds(keywords, checkpoint))

    def oracle(self, keywords: Sequence[str], candidates: Sequence[str]) -> str:
        return max(candidates, key=lambda name: self.odds(keywords, name))

    def advance(self, days: float) -> None:
        """Let the taste drift for ``days``."""
        if days <= 0 or self.drift <= 0:
            self.day += max(days, 0.0)
            return
        step = self.drift * math.sqrt(days)
        rng = self._rng
        for name in self.quality:
            self.quality[name] += rng.gauss(0.0, step)
        for pair in self.affinity:
            self.affinity[pair] += rng.gauss(0.0, step)
        self.day += days

    # -- judging --------------------------------------------------------------------------------

    def judge(
        self,
        keywords: Sequence[str],
        images: Sequence[tuple[str, tuple[tuple[str, float], ...]]],
        propensities: Sequence[float | None] | None = None,
    ) -> list[Judgement]:
        """Keep the images clearly good enough, at most 2 of the batch; time moves on."""
        good = clearly_good([self.odds(keywords, c, loras) for c, loras in images], self._rng)
        judged = [
            Judgement(
                keywords=tuple(keywords),
                checkpoint=checkpoint,
                selected=index in good,
                loras=loras,
                time=self.day,
                propensity=None if propensities is None else propensities[index],
            )
            for index, (checkpoint, loras) in enumerate(images)
        ]
        self.advance(len(images) / IMAGES_PER_DAY)
        return judged

    def random_loras(self, rng: random.Random) -> tuple[tuple[str, float], ...]:
        count = rng.choice((0, 0, 1, 1, 2))
        return tuple((name, rng.choice(STRENGTHS)) for name in rng.sample(list(self.loras), count))


def clearly_good(odds: Sequence[float], rng: random.Random) -> set[int]:
    """Which images of a batch a person keeps, given each image's log-odds of being good enough.

    Each image's own merit is its odds plus noise; an image is kept when its merit clears a
    threshold that varies a little from image to image, and at most the 2 best of a batch are
    kept, so a batch with none good enough is rejected as a whole. Shared by every simulator.
    """
    merit = [value + rng.gauss(0.0, 1.0) for value in odds]
    good = sorted(
        (index for index, value in enumerate(merit) if value > rng.gauss(0.0, 0.5)),
        key=lambda index: -merit[index],
    )[:2]
    return set(good)


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def split_prompts(
    seed: int, pool: int = POOL, scored: int = 300
) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """A person's prompts: the pool they write from, and the next ``scored`` prompts they write.

    People come back to their subjects: each person writes from a pool of ``pool`` real prompts
    (drawn at random from DiffusionDB), re-running and varying them. The next prompts, which
    recommendations are scored on, come from the same pool; a pool of 0 takes every prompt, so
    the scored prompts are unseen (the harder case, also reported).
    """
    prompts = list(prompt_keywords())
    rng = random.Random(seed)
    rng.shuffle(prompts)
    if not pool:
        return prompts[scored:], prompts[:scored]
    mine = prompts[:pool]
    return mine, [rng.choice(mine) for _ in range(scored)]


def history(
    user: User, prompts: Sequence[tuple[str, ...]], events: int, batch: int, rng: random.Random
) -> list[Judgement]:
    """A person's own use: each batch a prompt, a checkpoint tried at random, LoRAs at random."""
    judged: list[Judgement] = []
    while len(judged) < events:
        keywords = rng.choice(prompts)
        checkpoint = rng.choice(list(user.checkpoints))
        images = [(checkpoint, user.random_loras(rng)) for _ in range(batch)]
        judged += user.judge(keywords, images)
    return judged[:events]
