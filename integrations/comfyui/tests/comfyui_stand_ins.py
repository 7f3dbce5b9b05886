"""A stand-in ComfyUI: exactly the calls the nodes make of ``folder_paths``, ``nodes``,
``server`` and ``comfy.model_management`` (ComfyUI cannot run here: it needs torch and a GPU),
and ComfyUI's SaveImage as far as metadata goes. Images are numpy arrays of the shape ComfyUI's
tensors have, ``[batch, height, width, 3]`` floats in 0..1, which index the same way."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy
from aiohttp import web
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


class InterruptProcessingException(Exception):
    """ComfyUI's: the run was cancelled."""


class ComfyUI:
    """The state the stand-in modules share: the temp folder previews go to, the messages sent
    to the page, the Cancel button."""

    def __init__(self) -> None:
        self.temp = Path()
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.on_message: Callable[[str, dict[str, Any]], None] = lambda event, data: None
        self.cancelled = False
        self.routes = web.RouteTableDef()


COMFYUI = ComfyUI()


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

    class PreviewImage:
        def save_images(self, images: Any, filename_prefix: str = "ComfyUI") -> dict[str, Any]:
            saved = []
            for index, image in enumerate(images):
                name = f"{filename_prefix}_{index:05}_.png"
                Image.fromarray(_bytes(image)).save(COMFYUI.temp / name)
                saved.append({"filename": name, "subfolder": "", "type": "temp"})
            return {"ui": {"images": saved}}

    nodes = types.ModuleType("nodes")
    nodes.CheckpointLoaderSimple = CheckpointLoaderSimple  # type: ignore[attr-defined]
    nodes.LoraLoader = LoraLoader  # type: ignore[attr-defined]
    nodes.PreviewImage = PreviewImage  # type: ignore[attr-defined]

    class PromptServer:
        instance: PromptServer

        def __init__(self) -> None:
            self.routes = COMFYUI.routes

        def send_sync(self, event: str, data: dict[str, Any], sid: str | None = None) -> None:
            COMFYUI.messages.append((event, data))
            COMFYUI.on_message(event, data)

    PromptServer.instance = PromptServer()
    server = types.ModuleType("server")
    server.PromptServer = PromptServer  # type: ignore[attr-defined]

    def throw_exception_if_processing_interrupted() -> None:
        if COMFYUI.cancelled:
            COMFYUI.cancelled = False
            raise InterruptProcessingException()

    model_management = types.ModuleType("comfy.model_management")
    model_management.InterruptProcessingException = InterruptProcessingException  # type: ignore[attr-defined]
    model_management.throw_exception_if_processing_interrupted = (  # type: ignore[attr-defined]
        throw_exception_if_processing_interrupted
    )
    comfy = types.ModuleType("comfy")
    comfy.model_management = model_management  # type: ignore[attr-defined]
    sys.modules.update({
        "folder_paths": folder_paths, "nodes": nodes, "server": server, "comfy": comfy,
        "comfy.model_management": model_management,
    })  # fmt: skip


def load_pack(folder: Path) -> types.ModuleType:
    """The node pack in ``folder``, imported into the stand-in as ComfyUI imports a folder of
    ``custom_nodes``."""
    install()
    spec = importlib.util.spec_from_file_location(
        "tastebud_comfyui", folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tastebud_comfyui"] = module
    spec.loader.exec_module(module)
    return module


def _bytes(image: Any) -> Any:
    """An image as SaveImage writes it: 8-bit RGB."""
    return numpy.clip(255.0 * numpy.asarray(image), 0, 255).astype(numpy.uint8)


def batch(count: int, seed: int = 0) -> Any:
    """``count`` different images of 32x32, as a decoder hands them on."""
    return numpy.random.default_rng(seed).random((count, 32, 32, 3), dtype=numpy.float32)


def save_image(
    path: Path, prompt: dict[str, Any], extra_pnginfo: dict[str, Any], image: Any = None
) -> None:
    """ComfyUI's SaveImage as far as metadata goes: the queued graph as the text chunk
    ``prompt``, and each key of ``extra_pnginfo`` as a text chunk holding its JSON."""
    info = PngInfo()
    info.add_text("prompt", json.dumps(prompt))
    for key, value in extra_pnginfo.items():
        info.add_text(key, json.dumps(value))
    pixels = _bytes(image) if image is not None else numpy.full((64, 64, 3), (200, 120, 40), "u1")
    Image.fromarray(pixels).save(path, pnginfo=info)
