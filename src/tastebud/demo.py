"""A simulated history for the ``demo`` profile, so a newcomer sees tastebud answer at once.

The simulated person likes epicrealismXL for beaches and portraits but not for forests, keeps
animagineXL's anime images, likes the add_detail LoRA and anime_style_v2 on anime prompts, and
rejects anime_v2 on epicrealismXL. Generation ids are fixed, so running the demo again changes
nothing. ``tastebud serve --demo`` also draws a review queue of its own (``draw_demo_images``).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tastebud.style import FEATURES

DEMO_PROFILE = "demo"
DEMO_EVENTS = 400

SUBJECTS = {
    "beach": "a quiet beach at sunset, golden hour",
    "portrait": "portrait of an old man, soft light",
    "forest": "a misty pine forest, morning fog",
    "anime": "anime girl with long hair, cherry blossoms",
    "city": "neon city street at night, rain",
}
# Chance that the simulated person keeps an image of (subject, checkpoint).
TASTE = {
    "epicrealismXL_pureFix.safetensors": {"beach": 0.8, "portrait": 0.7, "forest": 0.15,
                                          "anime": 0.1, "city": 0.5},
    "realvisxlV40.safetensors": {"beach": 0.5, "portrait": 0.55, "forest": 0.6,
                                 "anime": 0.1, "city": 0.6},
    "animagineXL_v3.safetensors": {"beach": 0.2, "portrait": 0.2, "forest": 0.3,
                                   "anime": 0.85, "city": 0.4},
}  # fmt: skip
LORA_EFFECT = {"add_detail": 0.3, "anime_style_v2": 0.0, "anime_v2": 0.0}
# Each checkpoint's look (tastebud.style's seven features): epicrealismXL bright and warm,
# realvisxl darker and cool, animagineXL colourful flat colour. The person keeps the brighter of
# their images: a kept image is drawn brighter than a rejected one.
LOOKS = {
    "epicrealismXL_pureFix.safetensors": (0.62, 0.45, 0.35, 0.35, 0.56, 0.78, 0.12),
    "realvisxlV40.safetensors": (0.34, 0.48, 0.25, 0.28, 0.46, 0.8, 0.1),
    "animagineXL_v3.safetensors": (0.55, 0.5, 0.52, 0.5, 0.5, 0.9, 0.4),
}
KEPT_BRIGHTER = 0.12


def demo_history(events: int = DEMO_EVENTS, seed: int = 7) -> list[dict[str, Any]]:
    """The demo profile's events, the same every time."""
    rng = random.Random(seed)
    looks = random.Random(seed + 1)  # its own draws: the judgements stay as they were
    start = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
    history = []
    for index in range(events):
        subject = rng.choice(list(SUBJECTS))
        checkpoint = rng.choice(list(TASTE))
        chance = TASTE[checkpoint][subject]
        loras = []
        if rng.random() < 0.4:
            loras.append({"name": "add_detail", "strength": 0.6})
            chance += LORA_EFFECT["add_detail"]
        if subject == "anime" and rng.random() < 0.5:
            loras.append({"name": "anime_style_v2", "strength": 0.8})
            chance += 0.1 if checkpoint.startswith("animagine") else -0.2
        if checkpoint.startswith("epicrealism") and rng.random() < 0.15:
            loras.append({"name": "anime_v2", "strength": 0.7})
            chance *= 0.3  # the clash
        selected = rng.random() < min(chance, 0.95)
        look = [value + looks.gauss(0.0, 0.07) for value in LOOKS[checkpoint]]
        look[0] += KEPT_BRIGHTER / 2 if selected else -KEPT_BRIGHTER / 2
        history.append(
            {
                "prompt": SUBJECTS[subject],
                "checkpoint": checkpoint,
                "loras": loras,
                "selected": selected,
                "style": dict(
                    zip(FEATURES, (round(min(max(v, 0.0), 1.0), 3) for v in look), strict=True)
                ),
                "generation_id": f"demo-{index:04d}",
                "session_id": f"demo-session-{index // 40}",
                "batch_id": f"demo-batch-{index // 4}",
                "timestamp": start + timedelta(hours=3 * index),
                "user_id": DEMO_PROFILE,
            }
        )
    return history


DEMO_IMAGES = 24
# Each subject's sky (top, bottom) and ground, for the pictures the demo draws itself.
PALETTES = {
    "beach": ((255, 170, 90), (120, 60, 140), (230, 200, 150)),
    "portrait": ((90, 80, 70), (200, 170, 140), (60, 50, 45)),
    "forest": ((190, 210, 200), (40, 90, 70), (25, 55, 35)),
    "anime": ((255, 190, 220), (120, 150, 255), (250, 220, 235)),
    "city": ((20, 20, 60), (160, 40, 140), (30, 30, 40)),
}


def draw_demo_images(folder: Path, count: int = DEMO_IMAGES, seed: int = 11) -> list[Path]:
    """Pictures for the demo's review queue, drawn here (a sky, a sun, the ground), each with
    A1111 metadata naming one of the demo's prompts, checkpoints and LoRAs: a newcomer can try
    the keyboard review without images of their own. The same files every time; an existing one
    is left as it is."""
    from PIL import Image, ImageDraw  # only the demo's queue draws
    from PIL.PngImagePlugin import PngInfo

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    made = []
    for index in range(count):
        subject = rng.choice(list(SUBJECTS))
        checkpoint = rng.choice(list(TASTE))
        lora = " <lora:add_detail:0.6>" if rng.random() < 0.4 else ""
        path = folder / f"demo_{index + 1:05d}.png"
        made.append(path)
        if path.exists():
            continue
        top, bottom, ground = PALETTES[subject]
        size = 384
        picture = Image.new("RGB", (size, size))
        draw = ImageDraw.Draw(picture)
        for y in range(size):
            mix = y / size
            draw.line([(0, y), (size, y)],
                      fill=tuple(round(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True)))  # fmt: skip
        sun = rng.randrange(30, size - 100)
        draw.ellipse([sun, 60, sun + 70, 130], fill=(255, 240, 200))
        draw.rectangle([0, rng.randrange(230, 300), size, size], fill=ground)
        info = PngInfo()
        info.add_text(
            "parameters",
            f"{SUBJECTS[subject]}{lora}\nNegative prompt: blurry, lowres\nSteps: 30, "
            f"Sampler: DPM++ 2M Karras, CFG scale: 6, Seed: {5000 + index}, Size: 1024x1024, "
            f"Model: {checkpoint.removesuffix('.safetensors')}",
        )
        picture.save(path, pnginfo=info)
    return made
