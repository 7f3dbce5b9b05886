"""The facts of a flat JSON object, under whichever of the usual keys a format puts them.

Fooocus, RuinedFooocus, SwarmUI, InvokeAI, NovelAI's Comment, Tensor.Art and Civitai's
extraMetadata each write the same few facts as one JSON object, under their own synonyms
("cfg_scale", "cfgScale", "guidance_scale"...): one reading serves them all. It is apart from the
format readers because the ComfyUI reader needs it too (for Civitai's extraMetadata), and some
format readers need the ComfyUI reader.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tastebud.importers.metadata.draft import Draft
from tastebud.importers.metadata.value import LoraRef, ModelRef
from tastebud.importers.metadata.values import as_float, as_hash, as_int, as_size, as_text

__all__ = ["json_draft", "json_lora"]

# Synonyms of the same fact across the JSON formats (Fooocus, RuinedFooocus, SwarmUI, InvokeAI,
# NovelAI's Comment, Tensor.Art, Civitai's extraMetadata).
_PROMPT_KEYS = ("prompt", "Prompt", "positive_prompt", "positivePrompt")
_NEGATIVE_KEYS = ("negative_prompt", "negativePrompt", "negativeprompt", "Negative", "uc")
_CFG_KEYS = ("cfg_scale", "cfgscale", "cfgScale", "cfg", "guidance_scale", "scale")
_SAMPLER_KEYS = ("sampler", "sampler_name", "samplerName", "ksamplerName", "scheduler")
_MODEL_KEYS = ("model", "base_model", "base_model_name", "baseModel", "Model")
_REFINER_KEYS = ("refiner_model", "refiner_model_name", "refinermodel", "refinerModel")
_MODEL_NAME_KEYS = ("model_name", "name", "modelFileName", "label", "model")
_LORA_NAME_KEYS = ("name", "model_name", "lora_name", "lora", "modelFileName", "label", "model")
_WEIGHT_KEYS = ("weight", "strength", "model_strength", "strength_model")


def json_draft(data: Mapping[str, Any], generator: str) -> Draft:
    """The facts of a flat JSON object, under whichever of the usual keys it uses."""
    draft = Draft(generator)
    draft.prompt = as_text(_first(data, _PROMPT_KEYS)) or ""
    draft.negative = as_text(_first(data, _NEGATIVE_KEYS)) or ""
    seed = as_int(data.get("seed"))
    draft.seed = seed if seed is not None and seed >= 0 else None  # -1 asks for a random one
    draft.steps = as_int(data.get("steps"))
    draft.cfg_scale = as_float(_first(data, _CFG_KEYS))
    draft.sampler = as_text(_first(data, _SAMPLER_KEYS))
    draft.width = as_int(data.get("width"))
    draft.height = as_int(data.get("height"))
    if draft.width is None and draft.height is None:
        draft.width, draft.height = as_size(_first(data, ("resolution", "size", "Size")))
    for keys in (_MODEL_KEYS, _REFINER_KEYS):
        value = _first(data, keys)
        model = _json_model(value, data)
        if model is not None:
            draft.checkpoints.append(model)
    weights = data.get("loraweights")
    loras = data.get("loras")
    if isinstance(loras, list):
        for index, item in enumerate(loras):
            weight = weights[index] if isinstance(weights, list) and index < len(weights) else None
            lora = json_lora(item, weight)
            if lora is not None:
                draft.loras.append(lora)
    return draft


def _json_model(value: object, data: Mapping[str, Any]) -> ModelRef | None:
    if isinstance(value, dict):
        name = as_text(_first(value, _MODEL_NAME_KEYS))
        return ModelRef(name, as_hash(value.get("hash"))) if name else None
    name = as_text(value)
    if not name or name.lower() == "none":
        return None
    return ModelRef(name, as_hash(_first(data, ("base_model_hash", "model_hash", "Model hash"))))


def json_lora(item: object, weight: object) -> LoraRef | None:
    name: str | None
    hash_value: object = None
    if isinstance(item, dict):
        nested = _first(item, ("model", "lora"))
        source = nested if isinstance(nested, dict) else item
        name = as_text(_first(source, _LORA_NAME_KEYS))
        weight = _first(item, _WEIGHT_KEYS) if weight is None else weight
        hash_value = source.get("hash")
    elif isinstance(item, list | tuple) and item:
        # Fooocus: [name, weight] or [name, weight, hash].
        name = as_text(item[0])
        weight = item[1] if len(item) > 1 else weight
        hash_value = item[2] if len(item) > 2 else None
    else:
        name = as_text(item)
        if name and weight is None and " : " in name:  # Fooocus' "name : weight"
            name, _, weight = name.rpartition(" : ")
    if not name or name.strip().lower() == "none":
        return None
    strength = as_float(weight)
    return LoraRef(name.strip(), 1.0 if strength is None else strength, as_hash(hash_value))


def _first(data: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        value = data.get(key)
        if value is not None and value != "":
            return value
    return None
