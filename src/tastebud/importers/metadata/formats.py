"""The readers of the JSON formats: InvokeAI, NovelAI, Fooocus, RuinedFooocus, SwarmUI, Tensor.Art.

Each knows its format by its own marker (a text's key, a field of its JSON) and returns None for
any other; a ``parameters`` text that is JSON but none of these is a ComfyUI graph (Civitai's).
sd-parsers reads InvokeAI's older formats, NovelAI and Fooocus well: those go through it, and what
it returns is normalised here; its parsers are built on first use, not at import. SwarmUI and
Tensor.Art files also carry a ComfyUI graph, which fills what their own JSON lacks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from sd_parsers.data import PromptInfo
from sd_parsers.parsers import FooocusParser, InvokeAIParser, NovelAIParser, Parser

from tastebud.importers.metadata.comfyui import comfy_draft, comfy_from_text
from tastebud.importers.metadata.draft import Draft
from tastebud.importers.metadata.flat_json import json_draft, json_lora
from tastebud.importers.metadata.value import ModelRef
from tastebud.importers.metadata.values import (
    as_float,
    as_hash,
    as_int,
    as_text,
    first_set,
    json_object,
)
from tastebud.names import model_key

__all__ = [
    "read_invoke_ai",
    "read_json_parameters",
    "read_novel_ai",
    "read_swarm_ui",
    "read_tensor_art",
]


@cache
def _sd_parsers() -> dict[str, Parser]:
    """sd-parsers' parsers for the formats it reads right, built on first use."""
    return {"InvokeAI": InvokeAIParser(), "NovelAI": NovelAIParser(), "Fooocus": FooocusParser()}


def _from_prompt_info(info: PromptInfo, generator: str) -> Draft:
    """Normalise what sd-parsers returns: its values may be strings, its prompts lists."""
    draft = Draft(generator)
    draft.prompt = ", ".join(p.value.strip() for p in info.prompts if p.value.strip())
    draft.negative = ", ".join(p.value.strip() for p in info.negative_prompts if p.value.strip())
    for sampler in info.samplers:
        draft.sampler = draft.sampler or as_text(sampler.name)
        parameters = sampler.parameters
        draft.seed = first_set(draft.seed, as_int(parameters.get("seed")))
        draft.steps = first_set(draft.steps, as_int(parameters.get("steps")))
        draft.cfg_scale = first_set(draft.cfg_scale, as_float(parameters.get("cfg_scale")))
        model = sampler.model
        if model is not None and (model.name or model.hash):
            draft.checkpoints.append(ModelRef(model.name or "", as_hash(model.hash)))
    metadata = info.metadata
    draft.steps = first_set(draft.steps, as_int(metadata.get("steps")))
    draft.width = as_int(metadata.get("width"))
    draft.height = as_int(metadata.get("height"))
    return draft


def read_tensor_art(texts: Mapping[str, str]) -> Draft | None:
    data = json_object(texts.get("generation_data"))
    if data is None:
        return None
    draft = json_draft(data, "Tensor.Art")
    for key in ("models", "loraModels", "loras"):
        extra = data.get(key)
        for item in extra if isinstance(extra, list) else ():
            kind = str(item.get("type", "lora")).lower() if isinstance(item, dict) else "lora"
            lora = json_lora(item, None) if "lora" in kind or "lyco" in kind else None
            if lora is not None:
                draft.loras.append(lora)
    # Its own seed is "-1" (random); the ComfyUI graph beside it has the one used.
    return draft.fill_from(comfy_from_text(texts.get("prompt"), "Tensor.Art"))


def read_swarm_ui(texts: Mapping[str, str]) -> Draft | None:
    data = json_object(texts.get("parameters"))
    if data is None or not isinstance(params := data.get("sui_image_params"), dict):
        return None
    draft = json_draft(params, "SwarmUI")
    draft.starred = params.get("is_starred") is True  # its star, in the file (newer SwarmUI)
    models = data.get("sui_models")
    if isinstance(models, list):
        known = {
            model_key(str(m.get("name"))): as_hash(m.get("hash"))
            for m in models
            if isinstance(m, dict) and m.get("name")
        }
        draft.checkpoints = [
            ref if ref.hash else ModelRef(ref.name, known.get(model_key(ref.name)))
            for ref in draft.checkpoints
        ]
    return draft.fill_from(comfy_from_text(texts.get("prompt"), "SwarmUI"))


def read_invoke_ai(texts: Mapping[str, str]) -> Draft | None:
    data = json_object(texts.get("invokeai_metadata"))
    if data is not None:
        return json_draft(data, "InvokeAI")
    if "sd-metadata" not in texts and "Dream" not in texts:
        return None
    legacy = {key: texts[key] for key in ("sd-metadata", "Dream") if key in texts}
    return _from_prompt_info(_sd_parsers()["InvokeAI"].parse(legacy), "InvokeAI")


def read_novel_ai(texts: Mapping[str, str]) -> Draft | None:
    comment = json_object(texts.get("Comment"))
    if comment is None or (texts.get("Software") != "NovelAI" and "uc" not in comment):
        return None
    own = json_draft(comment, "NovelAI")
    own.prompt = texts.get("Description", "").strip() or own.prompt
    own.checkpoints = []
    try:
        draft = _from_prompt_info(_sd_parsers()["NovelAI"].parse(dict(texts)), "NovelAI")
    except Exception:  # noqa: BLE001  sd-parsers may raise anything; our own reading stands in
        draft = own
    else:
        draft.fill_from(own)
    source = texts.get("Source", "").strip()
    # The model is the whole Source ("NovelAI Diffusion V4.5 4BDE2A90"): NovelAI names no file.
    model_hash = source.rpartition(" ")[2] if re.search(r" [0-9A-F]{8}$", source) else None
    draft.checkpoints = [ModelRef(source, as_hash(model_hash))] if source else []
    return draft


def read_json_parameters(texts: Mapping[str, str]) -> Draft | None:
    """A ``parameters`` text that is JSON: Fooocus, RuinedFooocus, or a ComfyUI graph (Civitai)."""
    data = json_object(texts.get("parameters"))
    if data is None:
        return None
    if data.get("software") == "RuinedFooocus" or "base_model_name" in data:
        return json_draft(data, "RuinedFooocus")
    if (
        "fooocus_scheme" in texts
        or str(data.get("version", "")).startswith("Fooocus")
        or data.get("metadata_scheme") == "fooocus"
    ):
        own = json_draft(data, "Fooocus")
        try:
            info = _sd_parsers()["Fooocus"].parse({"parameters": texts["parameters"]})
        except Exception:  # noqa: BLE001  sd-parsers may raise anything; our own reading stands in
            return own
        return _from_prompt_info(info, "Fooocus").fill_from(own)
    return comfy_draft(data, "ComfyUI")
