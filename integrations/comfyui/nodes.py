"""The tastebud nodes for ComfyUI (classic V1 node API). Their class names are a published
contract: saved workflows name them.

- ``TastebudCheckpoint``: asks tastebud which installed checkpoint suits the prompt (the best,
  or one drawn by Explore mode with its propensity) and loads it.
- ``TastebudLoras``: applies the LoRAs tastebud would enable for the prompt and checkpoint, at
  their learned strengths, among those installed.

Neither ever fails a workflow because tastebud is unreachable: the checkpoint node loads its
``fallback`` and says why, the LoRA node passes its model through. Both write what they chose
into the image's ``extra_pnginfo`` under ``"tastebud"``, so a saved PNG carries it and tastebud's
importer joins a later judgement back to the recommendation.
"""

from __future__ import annotations

import uuid
from typing import Any

from . import client

# ComfyUI's own modules (folder_paths, nodes) are imported where they are used, not here: the
# pack then imports without ComfyUI, for its tests and for tools that list its nodes.

CATEGORY = "tastebud"
PROVENANCE = "tastebud"
"""The key of ``extra_pnginfo`` (a PNG text chunk once saved) that holds what tastebud chose."""


def server_inputs() -> dict[str, Any]:
    return {
        "server": ("STRING", {"default": client.DEFAULT_SERVER}),
        "user_id": ("STRING", {"default": "default"}),
    }


def provenance_of(extra_pnginfo: Any) -> dict[str, Any]:
    """The ``"tastebud"`` entry of this run's ``extra_pnginfo`` (a throwaway one without)."""
    if not isinstance(extra_pnginfo, dict):
        return {}
    found = extra_pnginfo.setdefault(PROVENANCE, {})
    return found if isinstance(found, dict) else {}


class TastebudCheckpoint:
    """Load the checkpoint tastebud recommends for the prompt, among those installed."""

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        import folder_paths

        installed = folder_paths.get_filename_list("checkpoints")
        return {
            "required": {"prompt": ("STRING", {"multiline": True, "default": ""})},
            "optional": {
                **server_inputs(),
                "mode": (["best", "explore"], {"default": "best"}),
                "fallback": (installed,),
            },
            "hidden": {"extra_pnginfo": "EXTRA_PNGINFO"},
        }

    RETURN_TYPES = ("MODEL", "CLIP", "VAE", "STRING", "FLOAT", "STRING")
    RETURN_NAMES = ("MODEL", "CLIP", "VAE", "ckpt_name", "confidence", "why")
    FUNCTION = "choose"
    CATEGORY = CATEGORY

    @classmethod
    def IS_CHANGED(cls, **_: Any) -> float:
        # Ask again on every queued run: the history grows, and Explore draws anew each time.
        return float("nan")

    def __init__(self) -> None:
        self._loaded: tuple[str, tuple[Any, ...]] | None = None

    def choose(
        self,
        prompt: str,
        server: str = client.DEFAULT_SERVER,
        user_id: str = "default",
        mode: str = "best",
        fallback: str | None = None,
        extra_pnginfo: Any = None,
    ) -> tuple[Any, ...]:
        import folder_paths
        import nodes

        installed = list(folder_paths.get_filename_list("checkpoints"))
        propensity = None
        try:
            if not installed:
                raise client.Unreachable("no checkpoint is installed")
            if mode == "explore":
                found = client.get(
                    server, "/api/preferences/explore", prompt=prompt, batch=1,
                    available=installed, user_id=user_id,
                )  # fmt: skip
                name, propensity = found["slots"][0]["checkpoint"], found["slots"][0]["propensity"]
                scores = {item["checkpoint"]: item["score"] for item in found["allocations"]}
                confidence, why = float(scores.get(name, 0.0)), str(found["why"])
            else:
                found = client.get(
                    server, "/api/preferences/recommend/checkpoint", prompt=prompt,
                    available=installed, user_id=user_id,
                )  # fmt: skip
                name, confidence, why = (
                    found["checkpoint"],
                    float(found["confidence"]),
                    found["why"],
                )
            if name not in installed:
                raise client.Unreachable(f"tastebud chose {name!r}, which is not installed")
        except (client.Unreachable, KeyError, IndexError, TypeError, ValueError) as error:
            name = fallback if fallback in installed else (installed[0] if installed else "")
            confidence, propensity = 0.0, None
            why = f"{error}: loaded the fallback {name}"
        if self._loaded is None or self._loaded[0] != name:
            self._loaded = (name, tuple(nodes.CheckpointLoaderSimple().load_checkpoint(name)))
        model, clip, vae = self._loaded[1][:3]
        provenance_of(extra_pnginfo).update({
            "recommendation_id": uuid.uuid4().hex, "user_id": user_id, "mode": mode,
            "checkpoint": name, "confidence": confidence, "propensity": propensity,
        })  # fmt: skip
        return (model, clip, vae, name, confidence, why)


class TastebudLoras:
    """Apply the LoRAs tastebud would enable for the prompt and checkpoint, at their strengths."""

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "model": ("MODEL",),
                "clip": ("CLIP",),
                "prompt": ("STRING", {"multiline": True, "default": ""}),
                "ckpt_name": ("STRING", {"default": ""}),
            },
            "optional": {**server_inputs(), "most": ("INT", {"default": 3, "min": 1, "max": 20})},
            "hidden": {"extra_pnginfo": "EXTRA_PNGINFO"},
        }

    RETURN_TYPES = ("MODEL", "CLIP", "STRING")
    RETURN_NAMES = ("MODEL", "CLIP", "lora_tags")
    FUNCTION = "apply"
    CATEGORY = CATEGORY

    @classmethod
    def IS_CHANGED(cls, **_: Any) -> float:
        return float("nan")

    def apply(
        self,
        model: Any,
        clip: Any,
        prompt: str,
        ckpt_name: str = "",
        server: str = client.DEFAULT_SERVER,
        user_id: str = "default",
        most: int = 3,
        extra_pnginfo: Any = None,
    ) -> tuple[Any, Any, str]:
        import folder_paths
        import nodes

        installed = list(folder_paths.get_filename_list("loras"))
        if not installed:
            return (model, clip, "")
        try:
            found = client.get(
                server, "/api/preferences/recommend/lora-set", prompt=prompt,
                checkpoint=ckpt_name or None, most=most, available=installed, user_id=user_id,
            )  # fmt: skip
            enabled = [
                (str(item["lora"]), float(item.get("strength") or 1.0))
                for item in found["enabled"]
                if item["lora"] in installed
            ]
        except (client.Unreachable, KeyError, TypeError, ValueError):
            return (model, clip, "")
        loader = nodes.LoraLoader()
        for name, strength in enabled:
            model, clip = loader.load_lora(model, clip, name, strength, strength)[:2]
        tags = " ".join(f"<lora:{name}:{strength:g}>" for name, strength in enabled)
        provenance_of(extra_pnginfo)["loras"] = [
            {"name": name, "strength": strength} for name, strength in enabled
        ]
        return (model, clip, tags)
