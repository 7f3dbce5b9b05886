"""A simulated history for the ``demo`` profile, so a newcomer sees tastebud answer at once.

The simulated person likes epicrealismXL for beaches and portraits but not for forests, keeps
animagineXL's anime images, likes the add_detail LoRA and anime_style_v2 on anime prompts, and
rejects anime_v2 on epicrealismXL. Generation ids are fixed, so running the demo again changes
nothing.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

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


def demo_history(events: int = DEMO_EVENTS, seed: int = 7) -> list[dict[str, Any]]:
    """The demo profile's events, the same every time."""
    rng = random.Random(seed)
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
        history.append(
            {
                "prompt": SUBJECTS[subject],
                "checkpoint": checkpoint,
                "loras": loras,
                "selected": rng.random() < min(chance, 0.95),
                "generation_id": f"demo-{index:04d}",
                "session_id": f"demo-session-{index // 40}",
                "batch_id": f"demo-batch-{index // 4}",
                "timestamp": start + timedelta(hours=3 * index),
                "user_id": DEMO_PROFILE,
            }
        )
    return history
