"""ComfyUI's ``prompt`` graph (its API format), read by walking it from its samplers.

A graph has no field for "the checkpoint" or "the prompt": they are whatever reaches the sampling
nodes. The samplers are found and put in stage order (base before refiner, first pass before
hires fix), then their model, conditioning and latent inputs are followed upstream to the
loaders, text encoders and empty latent. Civitai's ComfyUI-based generator writes such a graph,
with ``urn:air:`` model ids and an ``extraMetadata`` JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tastebud.importers.metadata.a1111 import a1111_draft
from tastebud.importers.metadata.draft import Draft
from tastebud.importers.metadata.flat_json import json_draft
from tastebud.importers.metadata.value import LoraRef, ModelRef
from tastebud.importers.metadata.values import as_float, as_int, as_text, first_set, json_object

__all__ = ["comfy_draft", "comfy_from_text", "read_comfy_graph"]

_Link = tuple[str, int]


class _Graph:
    """ComfyUI's API-format graph: node id -> {"class_type", "inputs"}; links are [id, slot]."""

    __slots__ = ("_inputs", "classes", "order", "titles")

    def __init__(self, nodes: Mapping[str, Mapping[str, Any]]) -> None:
        self.order = list(nodes)
        self.classes = {key: str(node["class_type"]) for key, node in nodes.items()}
        self.titles = {
            key: str(meta.get("title", "")) if isinstance(meta := node.get("_meta"), dict) else ""
            for key, node in nodes.items()
        }
        self._inputs: dict[str, Mapping[str, Any]] = {}
        for key, node in nodes.items():
            inputs = node.get("inputs")
            self._inputs[key] = inputs if isinstance(inputs, dict) else {}

    def inputs(self, node: str) -> Mapping[str, Any]:
        return self._inputs.get(node, {})

    def link(self, value: object) -> _Link | None:
        if (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[1], int)
            and str(value[0]) in self._inputs
        ):
            return str(value[0]), value[1]
        return None

    def links(self, node: str) -> Iterator[tuple[str, str, int]]:
        """(input name, source node, source slot) of each linked input, in input order."""
        for key, value in self.inputs(node).items():
            link = self.link(value)
            if link is not None:
                yield key, link[0], link[1]

    def upstream(self, start: str) -> set[str]:
        """Every node that feeds ``start``, through any input."""
        seen: set[str] = set()
        stack = [start]
        while stack:
            node = stack.pop()
            for _, source, _ in self.links(node):
                if source not in seen:
                    seen.add(source)
                    stack.append(source)
        return seen


def comfy_from_text(text: str | None, generator: str) -> Draft | None:
    data = json_object(text)
    return comfy_draft(data, generator) if data is not None else None


def comfy_draft(data: Mapping[str, Any], generator: str) -> Draft | None:
    nodes = {
        str(key): node
        for key, node in data.items()
        if isinstance(node, dict) and isinstance(node.get("class_type"), str)
    }
    if not nodes:
        return None
    graph = _Graph(nodes)
    samplers = _samplers(graph)
    draft = Draft(generator)
    _comfy_models(graph, samplers, draft)
    _comfy_prompts(graph, samplers, draft)
    _comfy_settings(graph, samplers, draft)
    names = [ref.name for ref in draft.checkpoints] + [ref.name for ref in draft.loras]
    if "extraMetadata" in data or any(name.startswith("urn:air:") for name in names):
        draft.generator = "Civitai"
        extra = data.get("extraMetadata")
        extra = json_object(extra) if isinstance(extra, str) else extra
        if isinstance(extra, dict):
            civitai = json_draft(extra, "Civitai")
            civitai.checkpoints, civitai.loras = [], []
            draft.fill_from(civitai)
    return draft


def _samplers(graph: _Graph) -> list[str]:
    """Sampling nodes, first stage first: base before refiner, first pass before hires fix.

    A node samples when it takes a model and a positive conditioning (KSampler, SamplerCustom,
    detailers, tiled upscalers...) or a guider (SamplerCustomAdvanced). Its stage is how many other
    samplers feed it.
    """
    found: list[str] = []
    for node in graph.order:
        if "guider" in graph.classes[node].lower():
            continue
        inputs = graph.inputs(node)
        if graph.link(inputs.get("guider")) or (
            graph.link(inputs.get("model")) and graph.link(inputs.get("positive"))
        ):
            found.append(node)
    if len(found) < 2:
        return found
    members = set(found)
    stage = {node: len(graph.upstream(node) & members) for node in found}
    return sorted(found, key=lambda node: stage[node])  # stable: graph order within a stage


def _guided(graph: _Graph, sampler: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The sampler's inputs, and its guider's inputs (SamplerCustomAdvanced) or {}."""
    inputs = graph.inputs(sampler)
    guider = graph.link(inputs.get("guider"))
    return inputs, graph.inputs(guider[0]) if guider else {}


def _comfy_models(graph: _Graph, samplers: Sequence[str], draft: Draft) -> None:
    """Checkpoints and LoRAs: along each sampler's model input first, then any others that run."""
    seen: set[str] = set()

    def take(node: str) -> None:
        if node in seen:
            return
        seen.add(node)
        for name in _checkpoint_names(graph, node):
            draft.checkpoints.append(ModelRef(name, name if name.startswith("urn:air:") else None))
        draft.loras.extend(_lora_refs(graph, node))

    for sampler in samplers:
        inputs, guider = _guided(graph, sampler)
        start = graph.link(inputs.get("model")) or graph.link(guider.get("model"))
        if start is not None:
            for node in _model_chain(graph, start[0]):
                take(node)
    # Loaders off the model path (a LoRA feeding CLIP only, a loader of a custom sampler) still
    # ran; those that feed nothing did not.
    running: set[str] = set()
    for sampler in samplers:
        running |= graph.upstream(sampler)
    for node in graph.order:
        if not samplers or node in running:
            take(node)


def _model_chain(graph: _Graph, start: str) -> Iterator[str]:
    """Nodes along MODEL links from ``start`` upstream, depth first in input order.

    In a merge, ``model1`` comes before ``model2``; a loader ends its branch.
    """
    seen: set[str] = set()
    stack = [start]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        yield node
        if _checkpoint_names(graph, node):
            continue
        sources = [
            source
            for key, source, _ in graph.links(node)
            if any(part in key.lower() for part in ("model", "unet", "lora"))
        ]
        stack.extend(reversed(sources))


_CHECKPOINT_INPUTS = ("ckpt_name", "base_ckpt_name", "refiner_ckpt_name", "unet_name")


def _checkpoint_names(graph: _Graph, node: str) -> list[str]:
    """The checkpoint files a loader node loads; upscaler and other model files are not."""
    kind = graph.classes[node].lower()
    if "upscale" in kind:
        return []
    inputs = graph.inputs(node)
    names = []
    for key in _CHECKPOINT_INPUTS:
        value = inputs.get(key)
        if isinstance(value, str) and value.strip() and value.strip().lower() != "none":
            names.append(value.strip())
    if "checkpoint" not in kind:
        # Frame interpolators and other tools name their own .pth weights ``ckpt_name`` too.
        names = [name for name in names if not name.lower().endswith(".pth")]
    return names


_LORA_NUMBERED = re.compile(r"lora_(?:name_)?(\d+)")
_LORA_WEIGHTS = (
    "strength_model",
    "lora_model_strength",
    "lora_strength",
    "strength",
    "model_weight",
    "lora_wt",
    "weight",
)


def _lora_refs(graph: _Graph, node: str) -> list[LoraRef]:
    """LoRAs a loader node applies, with their model strength.

    LoraLoader and LoraLoaderModelOnly take ``lora_name`` + ``strength_model``; stacks number
    their entries (``lora_name_1`` + ``model_weight_1``, ``lora_01`` + ``strength_01``); rgthree's
    Power Lora Loader takes objects ``{"on", "lora", "strength"}``.
    """
    inputs = graph.inputs(node)
    # An Efficient Loader takes a lora_name beside its checkpoint.
    if "lora" not in graph.classes[node].lower() and "lora_name" not in inputs:
        return []
    found: list[LoraRef] = []

    def add(name: object, weights: Sequence[object], enabled: object = True) -> None:
        text = as_text(name)
        if not text or text.lower() == "none" or enabled in (False, "Off", "off"):
            return
        strength = next((s for s in map(as_float, weights) if s is not None), 1.0)
        found.append(LoraRef(text, strength))

    if "lora_name" in inputs:
        add(inputs["lora_name"], [inputs.get(key) for key in _LORA_WEIGHTS])
    for key, value in inputs.items():
        numbered = _LORA_NUMBERED.fullmatch(key)
        if isinstance(value, dict) and "lora" in value:
            add(value.get("lora"), [value.get("strength")], value.get("on", True))
        elif numbered:
            n = numbered[1]
            weights = [inputs.get(f"{prefix}_{n}") for prefix in (*_LORA_WEIGHTS, "model_str")]
            add(value, weights, inputs.get(f"switch_{n}", True))
    return found


_TEXT_INPUTS = ("text", "text_g", "text_l", "t5xxl", "clip_l", "prompt", "string", "value")
# Loaders that encode too (Efficiency Nodes' Efficient Loader) take the two texts as strings.
_SIDE_TEXT_INPUTS = {
    "positive": ("text_positive", "positive"),
    "negative": ("text_negative", "negative"),
}


def _comfy_prompts(graph: _Graph, samplers: Sequence[str], draft: Draft) -> None:
    """The texts that reach the samplers' positive and negative inputs, main sampler's first."""
    positive: list[str] = []
    negative: list[str] = []
    for sampler in samplers:
        inputs, guider = _guided(graph, sampler)
        for side, texts, keys in (
            ("positive", positive, ("positive", "conditioning", "cond1")),
            ("negative", negative, ("negative",)),
        ):
            start = next(
                (link for key in keys if (link := graph.link(inputs.get(key) or guider.get(key)))),
                None,
            )
            if start is not None:
                for text in _conditioning_texts(graph, start, side):
                    if text not in texts:
                        texts.append(text)
    if not positive and not negative:
        positive, negative = _loose_texts(graph)
    draft.prompt = "\n".join(positive)
    draft.negative = "\n".join(negative)


def _conditioning_texts(graph: _Graph, start: _Link, side: str) -> list[str]:
    """Prompt texts upstream of a conditioning link, those for the whole image first.

    Area, mask and region nodes make their texts regional: they follow the global ones. A node
    with both a positive and a negative input (ControlNet apply, InstructPix2Pix) passes on the one
    of the slot it is read from; ConditioningZeroOut passes on nothing.
    """
    whole: list[str] = []
    regional: list[str] = []
    seen: set[_Link] = set()
    stack: list[tuple[str, int, bool]] = [(start[0], start[1], False)]
    while stack:
        node, slot, in_region = stack.pop()
        if (node, slot) in seen:
            continue
        seen.add((node, slot))
        kind = graph.classes[node].lower()
        if "zeroout" in kind:
            continue
        in_region = in_region or any(word in kind for word in ("area", "mask", "region"))
        own = _own_texts(graph.inputs(node), side)
        if own:
            found = regional if in_region else whole
            found.extend(text for text in own if text not in found)
            continue
        links = list(graph.links(node))
        keys = {key for key, _, _ in links}
        if {"positive", "negative"} <= keys:
            wanted = {"positive" if slot == 0 else "negative"}
        else:
            wanted = {
                key
                for key in keys
                if "cond" in key
                or key in ("positive", "negative")
                or key.startswith(("text", "string", "prompt"))
            }
        stack.extend(
            (source, source_slot, in_region)
            for key, source, source_slot in reversed(links)
            if key in wanted
        )
    return whole + [text for text in regional if text not in whole]


def _own_texts(inputs: Mapping[str, Any], side: str) -> list[str]:
    populated = inputs.get("populated_text")  # a wildcard node's text after expansion
    if isinstance(populated, str) and populated.strip():
        return [populated.strip()]
    texts: list[str] = []
    for key in (*_TEXT_INPUTS, *_SIDE_TEXT_INPUTS[side]):
        value = inputs.get(key)
        if isinstance(value, str) and value.strip() and value.strip() not in texts:
            texts.append(value.strip())
    return texts


def _loose_texts(graph: _Graph) -> tuple[list[str], list[str]]:
    """Without a sampler to follow: every text encoder's text, by its title or id's side."""
    positive: list[str] = []
    negative: list[str] = []
    for node in graph.order:
        if "encode" not in graph.classes[node].lower():
            continue
        texts = _own_texts(graph.inputs(node), "positive")
        side = negative if "neg" in f"{node} {graph.titles[node]}".lower() else positive
        side.extend(text for text in texts if text not in side)
    return positive, negative


def _comfy_settings(graph: _Graph, samplers: Sequence[str], draft: Draft) -> None:
    """Seed, steps, CFG and sampler of the main sampler, the next ones filling gaps; the size."""
    for sampler in samplers:
        inputs, guider = _guided(graph, sampler)
        draft.seed = first_set(
            draft.seed, as_int(_setting(graph, inputs, ("seed", "noise_seed"), ("noise",)))
        )
        draft.steps = first_set(
            draft.steps, as_int(_setting(graph, inputs, ("steps",), ("sigmas",)))
        )
        draft.cfg_scale = first_set(
            draft.cfg_scale, as_float(_setting(graph, {**guider, **inputs}, ("cfg", "cfg_scale")))
        )
        draft.sampler = first_set(
            draft.sampler, as_text(_setting(graph, inputs, ("sampler_name",), ("sampler",)))
        )
    draft.width, draft.height = _latent_size(graph, samplers[0] if samplers else None)


def _setting(
    graph: _Graph, inputs: Mapping[str, Any], keys: Sequence[str], via: Sequence[str] = ()
) -> object:
    """A plain value under one of ``keys``, or one link away (a primitive node, or the node
    under a ``via`` input: the noise, sigmas, sampler of SamplerCustomAdvanced)."""
    for key in keys:
        if key not in inputs:
            continue
        link = graph.link(inputs[key])
        if link is None:
            return inputs[key]
        source = graph.inputs(link[0])
        for name in (*keys, "value", "seed", "int", "float"):
            if name in source and graph.link(source[name]) is None:
                return source[name]
    for key in via:
        link = graph.link(inputs.get(key))
        if link is not None:
            source = graph.inputs(link[0])
            for name in keys:
                if name in source and graph.link(source[name]) is None:
                    return source[name]
    return None


def _latent_size(graph: _Graph, sampler: str | None) -> tuple[int | None, int | None]:
    """The size of the empty latent the main sampler starts from, else of any in the graph."""
    candidates: list[str] = []
    if sampler is not None:
        stack = [sampler]
        seen: set[str] = set()
        while stack:
            node = stack.pop()
            for key, source, _ in graph.links(node):
                if source not in seen and ("latent" in key or key.startswith("samples")):
                    seen.add(source)
                    candidates.append(source)
                    stack.append(source)
    candidates.extend(graph.order)
    for node in candidates:
        kind = graph.classes[node].lower()
        if "empty" in kind and "latent" in kind:
            inputs = graph.inputs(node)
            width, height = as_int(inputs.get("width")), as_int(inputs.get("height"))
            if width and height:
                return width, height
    return None, None


def read_comfy_graph(texts: Mapping[str, str]) -> Draft | None:
    draft = comfy_from_text(texts.get("prompt"), "ComfyUI")
    if draft is None:
        return None
    # A metadata-saving node may add an A1111 text beside the graph: it gives the hashes.
    parameters = texts.get("parameters")
    if parameters and not parameters.lstrip().startswith("{"):
        draft.fill_from(a1111_draft(parameters, draft.generator))
    return draft
