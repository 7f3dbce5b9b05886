"""Automatic1111's infotext: prompt lines, "Negative prompt:" lines, then one settings line.

A1111, Forge, reForge and the tools that imitate them write it; Civitai's on-site generator adds a
``Civitai resources`` list of what it used; a ComfyUI node that saves metadata may write one
beside its graph. The settings line is parsed rather than split at its commas: quoted values are
JSON strings and bracketed ones JSON lists or objects, and both may hold commas.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from tastebud.importers.metadata.draft import LORA_TAG, Draft
from tastebud.importers.metadata.value import LoraRef, ModelRef
from tastebud.importers.metadata.values import as_float, as_hash, as_int, as_size, as_text

__all__ = ["a1111_draft", "read_a1111"]

# A key of the settings line: words, spaces and a few signs, then a colon.
_SETTING_KEY = re.compile(r"\s*([A-Za-z][\w \-/().+]*?)\s*:\s*")
# Keys of which the settings line must have one, so that a prompt line is not taken for it.
_CORE_SETTINGS = frozenset({"steps", "sampler", "seed", "cfg scale", "size", "model"})
_NAME_AND_HASH = re.compile(r"^(.*?)\s*\[([0-9a-fA-F]{6,64})\]$")
_NEGATIVE_PREFIX = "Negative prompt:"


def a1111_draft(text: str, generator: str, *, require_settings: bool = False) -> Draft | None:
    """Read an A1111 infotext: prompt lines, "Negative prompt:" lines, one settings line."""
    lines = text.replace("\r\n", "\n").strip().split("\n")
    settings = _settings(lines[-1])
    if len(settings) >= 3 and _CORE_SETTINGS.intersection(settings):
        lines = lines[:-1]
    elif require_settings:
        return None
    else:
        settings = {}
    negative_at = next(
        (i for i, line in enumerate(lines) if line.startswith(_NEGATIVE_PREFIX)), len(lines)
    )
    negative_lines = lines[negative_at:]
    if negative_lines:
        negative_lines[0] = negative_lines[0][len(_NEGATIVE_PREFIX) :]
    if "civitai resources" in settings or "civitai metadata" in settings:
        generator = "Civitai"
    draft = Draft(
        generator,
        prompt="\n".join(lines[:negative_at]).strip(),
        negative="\n".join(negative_lines).strip(),
        seed=as_int(settings.get("seed")),
        sampler=as_text(settings.get("sampler")),
        steps=as_int(settings.get("steps")),
        cfg_scale=as_float(settings.get("cfg scale")),
    )
    draft.width, draft.height = as_size(settings.get("size"))
    hashes = settings.get("hashes")
    hashes = hashes if isinstance(hashes, dict) else {}
    model = as_text(settings.get("model"))
    model_hash = as_hash(settings.get("model hash") or hashes.get("model"))
    if model or model_hash:
        draft.checkpoints.append(ModelRef(model or "", model_hash))
    for key in ("refiner", "hires checkpoint"):
        extra = as_text(settings.get(key))
        if extra:
            match = _NAME_AND_HASH.match(extra)
            draft.checkpoints.append(
                ModelRef(match[1], as_hash(match[2])) if match else ModelRef(extra)
            )
    chosen = settings.get("tastebud")  # what tastebud's extension chose, as JSON
    draft.provenance = json.dumps(chosen) if isinstance(chosen, dict) else as_text(chosen)
    draft.lora_hashes.update(_name_hash_list(settings.get("lora hashes")))
    draft.embeddings.extend(_name_hash_list(settings.get("ti hashes")))
    for key, value in hashes.items():
        kind, _, name = str(key).partition(":")
        if kind == "lora" and name:
            draft.lora_hashes.setdefault(name, str(value))
        elif kind == "embed" and name and name not in draft.embeddings:
            draft.embeddings.append(name)
    resources = settings.get("civitai resources")
    if isinstance(resources, list):
        # Its LoRAs go by display name ("Detail Tweaker v1.0"): where the prompt's tags name the
        # files, the list would only repeat them under other names.
        _add_civitai_resources(draft, resources, with_loras=LORA_TAG.search(text) is None)
    return draft


def _settings(line: str) -> dict[str, object]:
    """``Key: value, Key: "quoted, value", Key: {"json": 1}`` -> {lower-case key: value}.

    Quoted values are JSON strings (A1111 quotes with json.dumps), bracketed ones JSON lists or
    objects (Civitai resources, Hashes): both may hold commas, so they are decoded, not split.
    """
    found: dict[str, object] = {}
    decoder = json.JSONDecoder()
    position, end = 0, len(line)
    while position < end:
        match = _SETTING_KEY.match(line, position)
        if match is None:
            comma = line.find(",", position)
            if comma < 0:
                break
            position = comma + 1
            continue
        key, position = match[1].lower(), match.end()
        value: object = None
        if position < end and line[position] in '"[{':
            try:
                value, position = decoder.raw_decode(line, position)
            except ValueError:
                value = None
        comma = line.find(",", position)
        if value is None:
            value = line[position : end if comma < 0 else comma].strip()
        found.setdefault(key, value)
        position = end if comma < 0 else comma + 1
    return found


def _name_hash_list(value: object) -> dict[str, str]:
    """``"a: 1234, b: 5678"`` (A1111's Lora hashes and TI hashes) -> {"a": "1234", "b": "5678"}."""
    found: dict[str, str] = {}
    if not isinstance(value, str):
        return found
    for item in value.split(","):
        name, _, hash_value = item.rpartition(":")
        if name.strip():
            found[name.strip()] = hash_value.strip().lower()
    return found


def _add_civitai_resources(draft: Draft, resources: Sequence[object], *, with_loras: bool) -> None:
    """Civitai's list of what a generation used; a file's own names, where it has them, win."""
    for item in resources:
        if not isinstance(item, dict):
            continue
        kind = str(item.get("type", "")).lower()
        name = " ".join(
            str(part).strip()
            for part in (item.get("modelName"), item.get("modelVersionName"))
            if part
        )
        name = name or as_text(item.get("name")) or ""
        air = as_text(item.get("air"))
        if not name and not air:
            continue
        if kind == "checkpoint" and not draft.checkpoints:
            draft.checkpoints.append(ModelRef(name or str(air), air))
        elif kind in ("lora", "locon", "lycoris", "dora") and with_loras:
            strength = as_float(item.get("weight"))
            draft.loras.append(
                LoraRef(name or str(air), 1.0 if strength is None else strength, air)
            )
        elif kind in ("embed", "embedding", "textualinversion"):
            # A prompt names an embedding by its model name, without the version.
            embedding = as_text(item.get("modelName")) or name
            if embedding:
                draft.embeddings.append(embedding)


def read_a1111(texts: Mapping[str, str]) -> Draft | None:
    parameters = texts.get("parameters")
    if not parameters or parameters.lstrip().startswith("{"):
        return None
    scheme = texts.get("fooocus_scheme")
    return a1111_draft(parameters, "Fooocus" if scheme else "A1111", require_settings=True)
