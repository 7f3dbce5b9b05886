"""What an image looks like, from its pixels: brightness, contrast, colour, warmth, detail, flatness.

Seven numbers, each on 0..1, computed on a copy at most ``SIDE`` pixels across (a generator's
1024-pixel image says little more about its light and colour than its 128-pixel copy, at a 64th
of the work):

* ``brightness``: the mean luma (Rec. 601);
* ``contrast``: the luma's standard deviation (RMS contrast), over half the range;
* ``colourfulness``: Hasler and Süsstrunk's metric (2003) over the opponent channels
  R − G and (R + G)/2 − B, divided by 150 ("extremely colourful" starts near 110);
* ``saturation``: the mean HSV saturation;
* ``warmth``: 0.5 plus half the difference of the mean red and the mean blue (0.5 is neutral, a
  golden-hour scene reads about 0.6, a blue night about 0.4);
* ``sharpness``: the variance of the luma's Laplacian, on a log scale (``log10(1 + v) / 4``);
* ``flatness``: of the places where the colour changes, the share that are crisp outlines rather
  than gradual shading: flat fills inside drawn lines are a mark of anime and illustration, soft
  gradients, grain and texture of photographs (on the real images of ../shared/data, anime 0.31 to
  0.54, photographs 0.1 to 0.18).

Buckets turn each number into words a person uses ("dark", "bright"), with fixed bounds so the same
image reads the same for everyone; ``look`` adds what the checkpoint's name and the prompt say to
the flatness, for "illustration" against "photographic".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Annotated

from pydantic import ConfigDict, Field, Strict

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from PIL import Image

SIDE = 128
"""The longest side of the copy the features are computed on."""
REDUCIBLE = frozenset({"RGB", "RGBA", "RGBX", "L", "LA", "CMYK"})
"""Modes Pillow's ``reduce`` takes as they are."""
FLAT, GRADUAL, CRISP = 4, 24, 48
"""Steps between neighbouring pixels (0..255, in the most changed channel): up to ``FLAT`` is no
change, up to ``GRADUAL`` is shading, over ``CRISP`` is an outline."""


Unit = Annotated[float, Strict(), Field(ge=0.0, le=1.0, allow_inf_nan=False)]


@dataclass(frozen=True, slots=True)
class Style:
    """What an image looks like: seven numbers on 0..1 (see the module's description)."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    brightness: Unit
    contrast: Unit
    colourfulness: Unit
    saturation: Unit
    warmth: Unit
    sharpness: Unit
    flatness: Unit

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def to_text(self) -> str:
        """The compact stored form: the seven numbers, space-separated, in field order."""
        return " ".join(f"{value:.3f}" for value in self.values())

    def values(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in FEATURES)


FEATURES = tuple(field.name for field in fields(Style))


def from_text(text: str) -> Style:
    """The style stored by ``Style.to_text``."""
    return Style(*(float(value) for value in text.split()))


def style_of_image(image: Image.Image) -> Style:
    """The style of a Pillow image (opened; for a JPEG not yet loaded, decoded at a reduced size)."""
    if image.format == "JPEG":
        # The decoder scales by 1/2..1/8: far less to decode (nothing changes once loaded).
        image.draft("RGB", (SIDE, SIDE))
    import numpy as np  # here: every event carries a Style, few read pixels

    factor = max(image.size) // SIDE
    # A box filter (the mean of each block, as the eye sees it) before the conversion, so that a
    # huge image is never held twice at full size; a palette image is converted first.
    if factor > 1 and image.mode in REDUCIBLE:
        image = image.reduce(factor)
        factor = 1
    small = image.convert("RGB")
    if factor > 1:
        small = small.reduce(factor)
    return style_of_pixels(np.asarray(small))


def style_of_pixels(rgb: NDArray[np.uint8]) -> Style:
    """The style of an RGB image given as a height × width × 3 array of 0..255."""
    import numpy as np

    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 3 or rgb.shape[1] < 3:
        raise ValueError(f"an RGB image of at least 3 × 3 pixels, not an array of {rgb.shape}")
    pixels = rgb.astype(np.int16)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    luma = (red * 0.299 + green * 0.587 + blue * 0.114).astype(np.float32)

    opponent_rg = red - green
    opponent_yb = (red + green) / 2 - blue
    colourfulness = math.hypot(
        float(opponent_rg.std()), float(opponent_yb.std())
    ) + 0.3 * math.hypot(float(opponent_rg.mean()), float(opponent_yb.mean()))

    brightest = pixels.max(axis=2)
    spread = brightest - pixels.min(axis=2)
    saturation = float((spread / np.maximum(brightest, 1)).mean())

    laplacian = (
        4 * luma[1:-1, 1:-1] - luma[:-2, 1:-1] - luma[2:, 1:-1] - luma[1:-1, :-2] - luma[1:-1, 2:]
    )
    # How much a pixel differs from its right and lower neighbours, in its most changed channel.
    change = np.maximum(
        np.abs(np.diff(pixels, axis=1)).max(axis=2)[:-1, :],
        np.abs(np.diff(pixels, axis=0)).max(axis=2)[:, :-1],
    )
    crisp = int(np.count_nonzero(change > CRISP))
    gradual = int(np.count_nonzero((change > FLAT) & (change <= GRADUAL)))

    return Style(
        brightness=_unit(float(luma.mean()) / 255),
        contrast=_unit(float(luma.std()) / 127.5),
        colourfulness=_unit(colourfulness / 150),
        saturation=_unit(saturation),
        warmth=_unit(0.5 + (float(red.mean()) - float(blue.mean())) / 510),
        sharpness=_unit(math.log10(1 + float(laplacian.var())) / 4),
        flatness=_unit(crisp / (crisp + gradual) if crisp + gradual else 1.0),
    )


def _unit(value: float) -> float:
    return round(min(max(value, 0.0), 1.0), 3)


# -- in words ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scale:
    """One feature in words: below ``low`` it is the first word, above ``high`` the last."""

    feature: str
    title: str
    low: float
    high: float
    words: tuple[str, str, str]
    asked: tuple[frozenset[str], frozenset[str]]
    """Prompt words that ask for the low end, and for the high end."""

    def bucket(self, value: float) -> int:
        """0, 1 or 2: low, middle, high."""
        return 0 if value < self.low else 2 if value > self.high else 1

    def word(self, value: float) -> str:
        return self.words[self.bucket(value)]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SCALES = (
    Scale(
        "brightness", "light", 0.33, 0.6, ("dark", "mid-tone", "bright"),
        (_words("dark night midnight dim noir moody shadows shadow darkness lowkey gloomy"),
         _words("bright sunny daylight sunlit highkey airy overexposed white")),
    ),
    Scale(
        "contrast", "contrast", 0.35, 0.5, ("low-contrast", "medium-contrast", "high-contrast"),
        (_words("hazy foggy fog mist misty faded matte"),
         _words("contrast dramatic chiaroscuro hdr punchy")),
    ),
    Scale(
        "colourfulness", "colour", 0.2, 0.45, ("muted", "moderately colourful", "colourful"),
        (_words("monochrome muted desaturated grayscale greyscale sepia pastel"),
         _words("colorful colourful vibrant vivid rainbow psychedelic neon")),
    ),
    Scale(
        "saturation", "saturation", 0.2, 0.45, ("desaturated", "moderately saturated", "saturated"),
        (_words("desaturated monochrome grayscale greyscale bleached"),
         _words("saturated vibrant vivid")),
    ),
    Scale(
        "warmth", "warmth", 0.47, 0.54, ("cool", "neutral", "warm"),
        (_words("cold cool icy winter snow blue teal moonlight underwater"),
         _words("warm golden sunset sunrise autumn fire candlelight desert orange")),
    ),
    Scale(
        "sharpness", "detail", 0.75, 0.88, ("soft", "moderately detailed", "detailed"),
        (_words("soft blurry blur bokeh dreamy hazy"),
         _words("sharp detailed intricate crisp")),
    ),
    Scale(
        "flatness", "texture", 0.2, 0.28, ("photographic", "mixed", "flat-colour"),
        (_words("photo photograph photography photorealistic realistic raw dslr film 35mm"),
         _words("anime manga cartoon illustration cel flat vector comic chibi")),
    ),
)  # fmt: skip
"""Each feature's buckets. The bounds were set by looking at the real generator images of
../shared/data (anime portraits, photographic still lifes, night and day scenes); they are fixed,
not learned, so the words mean the same for every profile."""

ILLUSTRATION_NAMES = ("anime", "animagine", "pony", "illustrious", "noobai", "toon", "cartoon",
                      "manga", "waifu", "counterfeit", "meina", "anything")  # fmt: skip


def asked(keywords: Sequence[str]) -> dict[str, int]:
    """The features a prompt asks for, and which end: {"brightness": 0} for "a dark alley"."""
    words = set(keywords)
    found: dict[str, int] = {}
    for scale in SCALES:
        for end, cues in ((0, scale.asked[0]), (2, scale.asked[1])):
            if words & cues:
                found[scale.feature] = end
    return found


def look(style: Style, checkpoint: str = "", keywords: Sequence[str] = ()) -> str:
    """ "illustration" or "photographic": the flatness, backed by what the checkpoint is called and
    what the prompt asks for where the pixels alone are unclear."""
    texture = SCALES[-1]
    bucket = texture.bucket(style.flatness)
    if bucket != 1:
        return "illustration" if bucket == 2 else "photographic"
    asks = asked(keywords).get("flatness")
    if asks is not None:
        return "illustration" if asks == 2 else "photographic"
    name = checkpoint.lower()
    return "illustration" if any(part in name for part in ILLUSTRATION_NAMES) else "photographic"


def described(style: Style) -> list[str]:
    """The style in words, the middle buckets left out: ["dark", "warm", "flat-colour"]."""
    return [
        scale.word(getattr(style, scale.feature))
        for scale in SCALES
        if scale.bucket(getattr(style, scale.feature)) != 1
    ]
