"""A stand-in Automatic1111 / Forge: exactly the parts of ``modules.*``, ``gradio`` and the
built-in Lora extension (``networks``) that the extension uses (A1111 cannot run here: it needs
torch and a GPU), and a generation as A1111 runs one: the scripts' ``before_process``, the images
saved with their infotext (firing ``on_image_saved``), then ``postprocess``; and the Save
button, which saves a copy to ``log/images``."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from PIL import Image
from PIL.PngImagePlugin import PngInfo

# Installed checkpoints, as A1111 lists them: name (the file under models/Stable-diffusion) and
# title ("name [short hash]"), and LoRAs by name.
CHECKPOINTS = {
    "sdxl/animagineXL_v3.safetensors": "sdxl/animagineXL_v3.safetensors [1449e5b0b9]",
    "sdxl/epicrealismXL_pureFix.safetensors": "sdxl/epicrealismXL_pureFix.safetensors [0b2a3c4d5e]",
    "sdxl/realvisxlV40.safetensors": "sdxl/realvisxlV40.safetensors [f9b3c4d5e6]",
}
LORAS = ["add_detail", "anime_style_v2"]


@dataclass
class A1111:
    root: Path = Path()
    callbacks: list[Any] = field(default_factory=list)

    @property
    def outdir_save(self) -> Path:
        return self.root / "log" / "images"


HOST = A1111()


class Processing:
    """A1111's StableDiffusionProcessing, as far as scripts see it."""

    def __init__(self, prompt: str) -> None:
        self.prompt = prompt
        self.negative_prompt = "blurry"
        self.seed = 1234
        self.override_settings: dict[str, Any] = {}
        self.extra_generation_params: dict[str, Any] = {}
        self.outpath_grids = str(HOST.root / "outputs" / "txt2img-grids")


def install() -> None:
    """Put the stand-ins into ``sys.modules``, where the extension imports them from."""

    class Script:
        pass

    class Component:
        def __init__(self, *choices: Any, value: Any = None, label: str = "") -> None:
            self.choices, self.value, self.label = choices, value, label

    class Accordion:
        def __init__(self, label: str, open: bool = False) -> None:
            self.label = label

        def __enter__(self) -> Self:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    scripts = types.ModuleType("modules.scripts")
    scripts.Script = Script  # type: ignore[attr-defined]
    scripts.AlwaysVisible = object()  # type: ignore[attr-defined]
    script_callbacks = types.ModuleType("modules.script_callbacks")
    script_callbacks.on_image_saved = HOST.callbacks.append  # type: ignore[attr-defined]
    sd_models = types.ModuleType("modules.sd_models")
    sd_models.checkpoints_list = {  # type: ignore[attr-defined]
        title: types.SimpleNamespace(name=name, title=title) for name, title in CHECKPOINTS.items()
    }
    shared = types.ModuleType("modules.shared")
    shared.opts = HOST  # type: ignore[attr-defined]  # opts.outdir_save
    modules = types.ModuleType("modules")
    for name, module in [("scripts", scripts), ("script_callbacks", script_callbacks),
                         ("sd_models", sd_models), ("shared", shared)]:  # fmt: skip
        setattr(modules, name, module)
        sys.modules[f"modules.{name}"] = module
    sys.modules["modules"] = modules
    gradio = types.ModuleType("gradio")
    gradio.Accordion = Accordion  # type: ignore[attr-defined]
    gradio.Checkbox = gradio.Radio = gradio.Textbox = Component  # type: ignore[attr-defined]
    sys.modules["gradio"] = gradio
    networks = types.ModuleType("networks")
    networks.available_networks = {name: object() for name in LORAS}  # type: ignore[attr-defined]
    sys.modules["networks"] = networks


def _quote(text: str) -> str:
    """A1111's infotext quoting: a value with a comma, colon or newline as a JSON string."""
    return text if not any(c in text for c in ",:\n") else json.dumps(text, ensure_ascii=False)


def infotext(p: Processing) -> str:
    checkpoint = p.override_settings.get("sd_model_checkpoint", "v1-5-pruned-emaonly [6ce0161689]")
    model = Path(checkpoint.split(" [")[0]).stem
    settings = {
        "Steps": 20, "Sampler": "Euler a", "CFG scale": 7, "Seed": p.seed, "Size": "64x64",
        "Model": model, **p.extra_generation_params,
    }  # fmt: skip
    line = ", ".join(f"{key}: {_quote(str(value))}" for key, value in settings.items())
    return f"{p.prompt}\nNegative prompt: {p.negative_prompt}\n{line}"


def save_image(p: Any, folder: Path, name: str, text: str, colour: tuple[int, int, int]) -> Path:
    """A1111's images.save_image: the PNG with its infotext, then the on_image_saved callbacks."""
    folder.mkdir(parents=True, exist_ok=True)
    info = PngInfo()
    info.add_text("parameters", text)
    path = folder / name
    Image.new("RGB", (64, 64), colour).save(path, pnginfo=info)
    for callback in HOST.callbacks:
        callback(types.SimpleNamespace(filename=str(path), p=p, image=None, pnginfo={}))
    return path


def generate(script: Any, p: Processing, args: list[Any], count: int = 2) -> list[Path]:
    """One generation as A1111 runs it, saving ``count`` images to outputs/txt2img-images."""
    script.before_process(p, *args)
    text = infotext(p)
    folder = HOST.root / "outputs" / "txt2img-images" / "2026-12-01"
    saved = []
    for index in range(count):
        name = f"{index:05}-{p.seed + index}"
        # With "save a copy before highres fix" on, that copy first, then the image itself.
        save_image(p, folder, f"{name}-before-highres-fix.png", text, (40 * index, 90, 150))
        saved.append(save_image(p, folder, f"{name}.png", text, (40 * index, 90, 160)))
    if count > 1:  # the batch's grid, in its own folder
        save_image(p, Path(p.outpath_grids) / "2026-12-01", "grid-0000.png", text, (0, 0, 0))
    script.postprocess(p, types.SimpleNamespace(images=[], infotexts=[text] * count), *args)
    return saved


def save_button(image: Path) -> Path:
    """The Save button: the image again, with its infotext, into log/images."""
    with Image.open(image) as opened:
        text, colour = opened.text["parameters"], opened.getpixel((0, 0))  # type: ignore[attr-defined]
    return save_image(
        types.SimpleNamespace(), HOST.outdir_save, f"saved-{image.name}", text, colour
    )
