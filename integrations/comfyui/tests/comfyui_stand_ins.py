"""A stand-in ComfyUI: exactly the calls the nodes make of ``folder_paths`` and ``nodes``
(ComfyUI cannot run here: it needs torch and a GPU), and ComfyUI's SaveImage as far as metadata
goes."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo

# What is "installed" in the stand-in ComfyUI: the demo profile's checkpoints and LoRAs, in the
# sub-folders people keep them in, and one checkpoint tastebud has never seen.
INSTALLED: dict[str, list[str]] = {
    "checkpoints": [
        "sdxl/animagineXL_v3.safetensors",
        "sdxl/epicrealismXL_pureFix.safetensors",
        "sdxl/realvisxlV40.safetensors",
        "sd15/neverSeen_v1.safetensors",
    ],
    "loras": ["add_detail.safetensors", "anime_style_v2.safetensors"],
}
LOADED: list[tuple[str, ...]] = []
"""Every load the nodes asked for: ("checkpoint", name) or ("lora", name, strength)."""


def install() -> None:
    """Put the stand-ins into ``sys.modules``, where the nodes import them from."""
    folder_paths = types.ModuleType("folder_paths")
    folder_paths.get_filename_list = lambda kind: list(INSTALLED[kind])  # type: ignore[attr-defined]

    class CheckpointLoaderSimple:
        def load_checkpoint(self, ckpt_name: str) -> tuple[Any, ...]:
            LOADED.append(("checkpoint", ckpt_name))
            return (f"MODEL<{ckpt_name}>", f"CLIP<{ckpt_name}>", f"VAE<{ckpt_name}>")

    class LoraLoader:
        def load_lora(
            self, model: Any, clip: Any, lora_name: str, strength_model: float, strength_clip: float
        ) -> tuple[Any, Any]:
            LOADED.append(("lora", lora_name, strength_model, strength_clip))
            return (
                f"{model}+{lora_name}@{strength_model:g}",
                f"{clip}+{lora_name}@{strength_clip:g}",
            )

    nodes = types.ModuleType("nodes")
    nodes.CheckpointLoaderSimple = CheckpointLoaderSimple  # type: ignore[attr-defined]
    nodes.LoraLoader = LoraLoader  # type: ignore[attr-defined]
    sys.modules["folder_paths"] = folder_paths
    sys.modules["nodes"] = nodes


def save_image(path: Path, prompt: dict[str, Any], extra_pnginfo: dict[str, Any]) -> None:
    """ComfyUI's SaveImage as far as metadata goes: the queued graph as the text chunk
    ``prompt``, and each key of ``extra_pnginfo`` as a text chunk holding its JSON."""
    info = PngInfo()
    info.add_text("prompt", json.dumps(prompt))
    for key, value in extra_pnginfo.items():
        info.add_text(key, json.dumps(value))
    Image.new("RGB", (64, 64), (200, 120, 40)).save(path, pnginfo=info)
