"""The themes simulator: a taste with shared structure, where related words move together.

The independent-affinity simulator (``simulator.py``) gives every keyword its own affinity with
every checkpoint, so nothing one word teaches carries to another and little is learnable. People's
tastes are not like that: "beach", "ocean" and "surf" say one thing. Here a person's taste is over
*themes* (groups of related words), and a prompt names its themes through some of their words:

    keep log-odds = base (-2) + quality[checkpoint]
                  + sum over the prompt's themes: affinity[theme, checkpoint] (at this moment)
                  + for each LoRA: quality[lora] + sum over themes: affinity[theme, lora]
                                 + clash[checkpoint, lora]

* 34 themes of 6-10 related English words each (``THEMES``); a prompt has 1 theme, or 2 one time
  in 4 (then both effects add up). Every prompt also carries generic tags ("solo, looking at
  viewer, 1girl, outdoors...") and boilerplate ("masterpiece, best quality, highres...") that say
  nothing about taste, in A1111 syntax (``(beach:1.2)``, ``BREAK``, ``<lora:name:0.7>``), and is
  read into keywords by ``tastebud.parse_prompt``, as the service reads it.
* 10 checkpoints, each with a style (realistic, anime or painterly). Every theme has 2 checkpoints
  that do it well (+3) and 2 that do it badly (-3), drawn at random per world; each checkpoint's
  skill at a theme is that, plus 0.6 where the theme's natural style is the checkpoint's, plus
  N(0, 0.5), plus the person's own N(0, 0.3).
* A person's affinity of a theme with a checkpoint is the checkpoint's skill plus how much the
  person likes the checkpoint's style (for that theme). Four kinds of person, by seed: a **realism
  lover** (realistic +0.6, anime -0.6), an **anime lover** (the reverse), **mixed** (a liking of
  each style per theme, N(0, 0.8) each), and a **drifter** whose liking moves linearly from the
  realism lover's to the anime lover's over the first 50 days (2,000 images at 40 a day).
* Each person writes about 4 of the themes, some more often than others (weights U(0.5, 2));
  quality per checkpoint N(0, 0.3); 8 LoRAs with a quality N(-0.1, 0.4), an affinity per theme
  N(0, 0.6), and 1 pair in 8 clashing with a checkpoint (-2).
* A batch of 4 (one prompt, one checkpoint, the same LoRAs) is judged by the same rule as the
  independent simulator (``simulator.clearly_good``).

One word in four of each theme (at least 2) is held out of every history and every ordinary scored
prompt, for the "new prompts" column: prompts written only with theme words the history never saw.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TypeVar

from common import Judgement
from simulator import IMAGES_PER_DAY, LORAS, STRENGTHS, clearly_good

from tastebud import parse_prompt

STYLES = ("realistic", "anime", "painterly")
CHECKPOINTS: dict[str, str] = {
    "epicrealismXL_v5": "realistic", "juggernautXL_v9": "realistic", "realvisxlV40": "realistic",
    "zavychromaxl_v80": "realistic", "animagineXLV31": "anime", "ponyDiffusionV6XL": "anime",
    "counterfeitXL_v25": "anime", "dreamshaperXL_v21": "painterly", "protovisionXL_v6": "painterly",
    "crystalClearXL_ccxl": "painterly",
}  # fmt: skip
"""Each checkpoint's style: what it draws best, and what a person may like or dislike."""

THEMES: dict[str, tuple[str, str]] = {
    "beach": ("realistic", "beach ocean waves sand surf seaside coast shore palm lagoon"),
    "forest": ("painterly", "forest woods trees moss fern mushrooms woodland canopy undergrowth"),
    "city": ("realistic", "city street neon skyscraper alley traffic downtown rooftop crosswalk"),
    "castle": ("painterly", "castle knight medieval armor sword fortress banner throne dungeon"),
    "space": ("painterly", "space stars nebula planet galaxy astronaut spaceship cosmos asteroid"),
    "portrait": ("realistic", "portrait face close-up eyes freckles skin lips headshot"),
    "school": ("anime", "school uniform classroom sailor blackboard desk hallway locker"),
    "mountains": ("realistic", "mountain peak glacier valley cliff summit alpine ridge"),
    "desert": ("realistic", "desert dunes cactus oasis camel mesa canyon mirage"),
    "underwater": ("painterly", "underwater coral reef fish jellyfish diver seaweed kelp"),
    "cyberpunk": ("anime", "cyberpunk cyborg hologram android implant hacker circuitry"),
    "wizard": ("painterly", "wizard spell magic staff robe grimoire runes sorceress"),
    "dragon": ("painterly", "dragon wings scales fire lair wyvern claws"),
    "food": ("realistic", "food cake sushi ramen dessert fruit bread coffee"),
    "pets": ("realistic", "cat kitten fur whiskers paws puppy dog"),
    "garden": ("painterly", "flowers garden roses tulips petals blossom bouquet lavender"),
    "winter": ("realistic", "winter snowflakes frost ice blizzard icicles snowman"),
    "autumn": ("painterly", "autumn leaves pumpkin harvest maple orchard"),
    "noir": ("realistic", "detective fedora cigarette noir trenchcoat smoke"),
    "steampunk": ("painterly", "steampunk gears brass clockwork goggles airship"),
    "horror": ("painterly", "horror skull zombie ghost graveyard haunted creepy"),
    "cars": ("realistic", "car racing motorcycle highway garage engine wheels"),
    "interior": ("realistic", "interior bedroom sofa kitchen bookshelf fireplace carpet"),
    "idol": ("anime", "idol twintails ribbon kawaii chibi blush maid"),
    "mecha": ("anime", "mecha robot gundam cockpit missile pilot"),
    "fashion": ("realistic", "dress gown fashion runway jewelry necklace earrings"),
    "sports": ("realistic", "soccer basketball stadium athlete jersey ball"),
    "lake": ("painterly", "lake river waterfall meadow reflection sunrise hills"),
    "japan": ("anime", "kimono shrine torii sakura temple lantern geisha"),
    "pirates": ("painterly", "pirate ship treasure parrot sails cannon captain"),
    "elves": ("anime", "elf fairy pointy glowing sprite enchanted"),
    "war": ("realistic", "soldier rifle battlefield tank helmet trench camouflage"),
    "village": ("painterly", "village cottage farm barn countryside windmill"),
    "gothic": ("anime", "vampire gothic cathedral candles coffin bat crimson"),
}
"""Theme: (its natural style, its words as people write them)."""

GENERIC = (
    "solo", "looking at viewer", "1girl", "1boy", "standing", "sitting", "outdoors", "indoors",
    "detailed background", "full body", "upper body", "smile", "long hair", "short hair", "day",
    "night", "sunlight", "depth of field", "cinematic lighting",
)  # fmt: skip
"""Tags of every kind of picture: they survive as keywords but say nothing about taste."""
BOILERPLATE = (
    "masterpiece", "best quality", "highres", "8k", "ultra detailed", "absurdres", "sharp focus",
    "intricate details", "high quality",
)  # fmt: skip
"""Quality words most prompts open with (most are stop words to tastebud's parser)."""

KINDS = ("realism lover", "anime lover", "mixed", "drifter")
THEMES_PER_PERSON = 4
TWO_THEMES = 0.25
HELD_OUT = 0.25
DRIFT_DAYS = 50.0
SKILL_SD, STYLE_MATCH, OWN_SD, MIXED_SD = 0.5, 0.6, 0.3, 0.8
SPECIALISTS, SPECIALTY = 2, 3.0
LIKING = {"realistic": 0.6, "anime": -0.6, "painterly": 0.0}
"""The realism lover's liking of each style (the anime lover's is the reverse)."""

Key = TypeVar("Key")


@cache
def keyword_of(word: str) -> str:
    """The one keyword tastebud reads from a theme word ("waves" -> "wave", "close-up" -> ...)."""
    found = parse_prompt(word).keywords
    if len(found) != 1:
        raise ValueError(f"theme word {word!r} reads as {found!r}, not one keyword")
    return found[0]


@cache
def theme_of() -> dict[str, str]:
    """Every theme word's keyword -> its theme (checked: no keyword belongs to two themes)."""
    found: dict[str, str] = {}
    for theme, (_, words) in THEMES.items():
        for word in words.split():
            keyword = keyword_of(word)
            if found.setdefault(keyword, theme) != theme:
                raise ValueError(f"{keyword!r} is in both {found[keyword]} and {theme}")
    return found


def themes_in(keywords: Sequence[str]) -> tuple[str, ...]:
    """The themes a prompt's keywords name, sorted (the truth the taste is defined on)."""
    table = theme_of()
    return tuple(sorted({table[word] for word in keywords if word in table}))


def _liking(kind: str, style: str) -> float:
    return {"realism lover": LIKING[style], "anime lover": -LIKING[style]}.get(kind, 0.0)


@dataclass
class Person:
    """One simulated person of the themes world: a kind, their themes, a taste, a way of judging."""

    seed: int
    checkpoints: Sequence[str] = tuple(CHECKPOINTS)
    loras: Sequence[str] = tuple(LORAS)
    base: float = -2.0
    kind: str = ""
    themes: tuple[str, ...] = ()
    frequency: tuple[float, ...] = ()
    quality: dict[str, float] = field(default_factory=dict)
    skill: dict[tuple[str, str], float] = field(default_factory=dict)
    """Theme x checkpoint: the checkpoint's own ability, plus the person's own leaning."""
    mixed: dict[tuple[str, str], float] = field(default_factory=dict)
    """Theme x style: the mixed person's liking of a style for that theme."""
    lora_affinity: dict[tuple[str, str], float] = field(default_factory=dict)
    clash: dict[tuple[str, str], float] = field(default_factory=dict)
    vocabulary: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Theme -> the words the history and the ordinary scored prompts use."""
    held_out: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Theme -> the words kept for the "new prompts" column."""
    day: float = 0.0

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self._rng = random.Random(self.seed + 10_000)
        self.kind = KINDS[self.seed % len(KINDS)]
        self.themes = tuple(rng.sample(sorted(THEMES), THEMES_PER_PERSON))
        self.frequency = tuple(rng.uniform(0.5, 2.0) for _ in self.themes)
        for theme in sorted(THEMES):
            natural, words = THEMES[theme]
            # Every theme has checkpoints that do it well and checkpoints that do it badly.
            ranked = rng.sample(list(self.checkpoints), len(self.checkpoints))
            special = dict.fromkeys(ranked[:SPECIALISTS], SPECIALTY)
            special.update(dict.fromkeys(ranked[-SPECIALISTS:], -SPECIALTY))
            for name in self.checkpoints:
                match = STYLE_MATCH if CHECKPOINTS[name] == natural else 0.0
                own = special.get(name, 0.0) + match + rng.gauss(0.0, OWN_SD)
                self.skill[(theme, name)] = rng.gauss(own, SKILL_SD)
            for style in STYLES:
                self.mixed[(theme, style)] = rng.gauss(0.0, MIXED_SD)
            for name in self.loras:
                self.lora_affinity[(theme, name)] = rng.gauss(0.0, 0.6)
            listed = words.split()
            kept_back = set(rng.sample(listed, max(2, round(HELD_OUT * len(listed)))))
            self.vocabulary[theme] = tuple(w for w in listed if w not in kept_back)
            self.held_out[theme] = tuple(w for w in listed if w in kept_back)
        for name in self.checkpoints:
            self.quality[name] = rng.gauss(0.0, 0.3)
        for name in self.loras:
            self.quality[name] = rng.gauss(-0.1, 0.4)
            for checkpoint in self.checkpoints:
                if rng.random() < 1 / 8:
                    self.clash[(checkpoint, name)] = -2.0

    # -- taste ----------------------------------------------------------------------------------

    def liking(self, theme: str, style: str) -> float:
        """How much the person likes this style for this theme, at this moment."""
        if self.kind == "mixed":
            return self.mixed[(theme, style)]
        if self.kind == "drifter":
            moved = min(self.day / DRIFT_DAYS, 1.0)
            return (1.0 - moved) * LIKING[style] - moved * LIKING[style]
        return _liking(self.kind, style)

    def affinity(self, theme: str, checkpoint: str) -> float:
        return self.skill[(theme, checkpoint)] + self.liking(theme, CHECKPOINTS[checkpoint])

    def odds(
        self, keywords: Sequence[str], checkpoint: str, loras: Sequence[tuple[str, float]] = ()
    ) -> float:
        """Log-odds that an image of this prompt, checkpoint and LoRAs is good enough to keep."""
        themes = themes_in(keywords)
        total = self.base + self.quality[checkpoint]
        total += math.fsum(self.affinity(theme, checkpoint) for theme in themes)
        for name, _ in loras:
            total += self.quality.get(name, 0.0) + self.clash.get((checkpoint, name), 0.0)
            total += math.fsum(self.lora_affinity.get((t, name), 0.0) for t in themes)
        return total

    def keep_chance(self, keywords: Sequence[str], checkpoint: str) -> float:
        """The chance that an image of this checkpoint (no LoRA) is kept: what is scored."""
        return 1.0 / (1.0 + math.exp(-self.odds(keywords, checkpoint)))

    # -- writing and judging --------------------------------------------------------------------

    def pick_themes(self, rng: random.Random) -> tuple[str, ...]:
        """The themes of the next prompt: one, or two one time in four."""
        count = 2 if rng.random() < TWO_THEMES else 1
        picked: list[str] = []
        while len(picked) < count:
            theme = rng.choices(self.themes, self.frequency)[0]
            if theme not in picked:
                picked.append(theme)
        return tuple(picked)

    def random_loras(self, rng: random.Random) -> tuple[tuple[str, float], ...]:
        count = min(rng.choice((0, 0, 1, 1, 2)), len(self.loras))
        return tuple((name, rng.choice(STRENGTHS)) for name in rng.sample(list(self.loras), count))

    def judge(
        self, keywords: Sequence[str], images: Sequence[tuple[str, tuple[tuple[str, float], ...]]]
    ) -> list[Judgement]:
        """Keep the images clearly good enough, at most 2 of the batch; time moves on."""
        good = clearly_good([self.odds(keywords, c, loras) for c, loras in images], self._rng)
        judged = [
            Judgement(tuple(keywords), checkpoint, index in good, loras, self.day)
            for index, (checkpoint, loras) in enumerate(images)
        ]
        self.day += len(images) / IMAGES_PER_DAY
        return judged


def write_prompt(
    themes: Sequence[str],
    vocabulary: Mapping[str, Sequence[str]],
    loras: Sequence[tuple[str, float]],
    rng: random.Random,
) -> str:
    """A prompt as people write them in A1111: boilerplate, generic tags and theme words mixed,
    some words weighted, sometimes a ``BREAK``, the LoRAs as ``<lora:name:strength>`` tags."""
    words: list[str] = []
    for theme in themes:
        own = vocabulary[theme]
        words += rng.sample(list(own), min(len(own), rng.randint(2, 4 if len(themes) > 1 else 5)))
    words += rng.sample(GENERIC, rng.randint(1, 4))
    rng.shuffle(words)
    words = [
        f"({word}:{rng.choice((1.1, 1.2, 1.3))})" if rng.random() < 0.2 else word for word in words
    ]
    if rng.random() < 0.3:
        words.insert(rng.randint(1, len(words)), "BREAK")
    opening = rng.sample(BOILERPLATE, rng.randint(0, 4))
    tags = [f"<lora:{name}:{strength}>" for name, strength in loras]
    return ", ".join([*opening, *words, *tags])


def read_prompt(text: str) -> tuple[tuple[str, ...], tuple[tuple[str, float], ...]]:
    """The keywords and LoRAs tastebud reads from a prompt's text."""
    parsed = parse_prompt(text)
    return tuple(parsed.keywords), tuple((lora.name, lora.strength) for lora in parsed.loras)


def history(person: Person, events: int, batch: int, rng: random.Random) -> list[Judgement]:
    """A person's own use: each batch a prompt of their themes, a checkpoint tried at random, 0-2
    LoRAs at random (named in the prompt, so every image of the batch has them)."""
    judged: list[Judgement] = []
    while len(judged) < events:
        themes = person.pick_themes(rng)
        text = write_prompt(themes, person.vocabulary, person.random_loras(rng), rng)
        keywords, loras = read_prompt(text)
        checkpoint = rng.choice(list(person.checkpoints))
        judged += person.judge(keywords, [(checkpoint, loras)] * batch)
    return judged[:events]


def scored_prompts(
    person: Person, count: int, rng: random.Random, *, new_words: bool = False
) -> list[tuple[str, ...]]:
    """The keywords of the person's next ``count`` prompts, without LoRAs (what is scored);
    ``new_words`` writes them only with the theme words the history never saw."""
    vocabulary = person.held_out if new_words else person.vocabulary
    return [
        read_prompt(write_prompt(person.pick_themes(rng), vocabulary, (), rng))[0]
        for _ in range(count)
    ]


class ThemesCeiling:
    """A benchmark-only learner told the true themes of every prompt: the ceiling of learning.

    Each theme x checkpoint rate is a Beta posterior mean shrunk toward the checkpoint's overall
    rate (itself shrunk toward the history's rate) with ``strength`` images; a prompt's score for
    a checkpoint adds up, in log-odds, its themes' gaps to the checkpoint's rate, as the taste does.
    """

    name = "ceiling (told the themes)"

    def __init__(self, strength: float = 4.0) -> None:
        self.strength = strength
        self._overall = 0.5
        self._checkpoint: dict[str, tuple[float, float]] = {}
        self._cells: dict[tuple[str, str], tuple[float, float]] = {}

    def fit(self, history: Sequence[Judgement], now: float = 0.0) -> None:
        self._checkpoint, self._cells = {}, {}
        kept = sum(item.selected for item in history)
        self._overall = (kept + 1.0) / (len(history) + 2.0)
        for item in history:
            _add(self._checkpoint, item.checkpoint, item.selected)
            themes = themes_in(item.keywords)
            # An image of two themes shows their sum: counted in either cell, it would lend one
            # theme the other's effect, so each theme's cells read only its own prompts.
            if len(themes) == 1:
                _add(self._cells, (themes[0], item.checkpoint), item.selected)

    def _shrunk(self, found: tuple[float, float] | None, prior: float) -> float:
        selected, total = found or (0.0, 0.0)
        return (selected + self.strength * prior) / (total + self.strength)

    def recommend(self, keywords: Sequence[str], candidates: Sequence[str]) -> str:
        themes = themes_in(keywords)

        def score(checkpoint: str) -> float:
            base = self._shrunk(self._checkpoint.get(checkpoint), self._overall)
            total = _logit(base)
            for theme in themes:
                cell = self._shrunk(self._cells.get((theme, checkpoint)), base)
                total += _logit(cell) - _logit(base)
            return total

        # max keeps the first of equal scores: ties go to the earliest candidate.
        return max(candidates, key=score)


def _add(table: dict[Key, tuple[float, float]], key: Key, selected: bool) -> None:
    found = table.get(key, (0.0, 0.0))
    table[key] = (found[0] + selected, found[1] + 1.0)


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1.0 - 1e-4)
    return math.log(p / (1.0 - p))
