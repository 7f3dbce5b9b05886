"""What a reader found (a Draft), and how it becomes an ImageMetadata (``finish``).

Every reader fills a Draft; ``fill_from`` adds what a second source in the same file says (the
ComfyUI graph beside SwarmUI's parameters, the A1111 text beside a graph). ``finish`` then does
once, for every format, what all need: the ``<lora:...>`` tags taken out of the prompts, the
embeddings the prompts name, LoRAs and checkpoints made unique and given their hashes, a
checkpoint known only by hash named from the hash map, the container's size where the metadata
gives none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from tastebud.importers.metadata.files import Container
from tastebud.importers.metadata.provenance import Provenance
from tastebud.importers.metadata.value import ImageMetadata, LoraRef, ModelRef
from tastebud.importers.metadata.values import as_float, first_set
from tastebud.names import model_key

__all__ = ["LORA_TAG", "Draft", "finish"]

_Ref = TypeVar("_Ref", ModelRef, LoraRef)


@dataclass(slots=True)
class Draft:
    """What one reader found; ``finish`` turns it into an ImageMetadata.

    A checkpoint known only by hash has the name "" here. ``lora_hashes`` maps a LoRA name to its
    hash for LoRAs named elsewhere (A1111's ``Lora hashes``).
    """

    generator: str
    prompt: str = ""
    negative: str = ""
    checkpoints: list[ModelRef] = field(default_factory=list)
    loras: list[LoraRef] = field(default_factory=list)
    embeddings: list[str] = field(default_factory=list)
    lora_hashes: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    sampler: str | None = None
    steps: int | None = None
    cfg_scale: float | None = None
    width: int | None = None
    height: int | None = None
    starred: bool = False  # marked a favourite in the file itself (SwarmUI's is_starred)
    provenance: str | None = None  # what tastebud's A1111 extension wrote in the infotext

    def fill_from(self, other: Draft | None) -> Draft:
        """Take from ``other`` what this draft lacks; its models only lend their hashes."""
        if other is None:
            return self
        self.prompt = self.prompt or other.prompt
        self.provenance = self.provenance or other.provenance
        self.negative = self.negative or other.negative
        self.seed = first_set(self.seed, other.seed)
        self.sampler = first_set(self.sampler, other.sampler)
        self.steps = first_set(self.steps, other.steps)
        self.cfg_scale = first_set(self.cfg_scale, other.cfg_scale)
        self.width = first_set(self.width, other.width)
        self.height = first_set(self.height, other.height)
        self.checkpoints = _lend_hashes(self.checkpoints, other.checkpoints)
        self.loras = _lend_hashes(self.loras, other.loras)
        for name in other.embeddings:
            if name not in self.embeddings:
                self.embeddings.append(name)
        for name, value in other.lora_hashes.items():
            self.lora_hashes.setdefault(name, value)
        return self


def _lend_hashes(mine: list[_Ref], theirs: list[_Ref]) -> list[_Ref]:
    if not mine:
        return list(theirs)
    known = {model_key(ref.name): ref.hash for ref in theirs if ref.name and ref.hash}
    return [
        ref if ref.hash or model_key(ref.name) not in known else _with_hash(ref, known)
        for ref in mine
    ]


def _with_hash(ref: _Ref, known: Mapping[str, str | None]) -> _Ref:
    value = known[model_key(ref.name)]
    if isinstance(ref, ModelRef):
        return ModelRef(ref.name, value)
    return LoraRef(ref.name, ref.strength, value)


# A1111 reads extra networks off the prompt before anything else: the tag is whatever is
# between "<lora:" and ">" (name, then colon-separated multipliers). The horizontal space after a
# tag goes with it, so that "a <lora:x:1> b" becomes "a b".
LORA_TAG = re.compile(r"<\s*(?:lora|lyco)\s*:([^<>]*)>[ \t]*", re.IGNORECASE)
# ComfyUI's "embedding:name" (the name stops where prompt syntax starts) and SwarmUI's
# "<embed:name>".
_EMBEDDING = re.compile(
    r"(?<![\w])embedding:([^\s,:()\[\]{}|<>]+)|<\s*embed(?:ding)?\s*:\s*([^<>:]+?)\s*(?::[^<>]*)?>",
    re.IGNORECASE,
)
_EMBEDDING_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")


def _take_lora_tags(text: str, found: list[LoraRef]) -> str:
    if "<" not in text:
        return text

    def take(match: re.Match[str]) -> str:
        name, _, arguments = match[1].partition(":")
        if name.strip():
            # "<lora:name:0.8:0.6>" is text encoder then UNet; the first is the one people set,
            # as tastebud.prompt reads it.
            first = arguments.split(":", 1)[0].rpartition("=")[2]
            strength = as_float(first)
            found.append(LoraRef(name.strip(), 1.0 if strength is None else strength))
        return ""

    return LORA_TAG.sub(take, text).strip()


def _embeddings(text: str) -> Iterator[str]:
    if "embed" not in text.lower():
        return
    for match in _EMBEDDING.finditer(text):
        name = (match[1] or match[2]).replace("\\", "/").rsplit("/", 1)[-1]
        lowered = name.lower()
        for suffix in _EMBEDDING_SUFFIXES:
            if lowered.endswith(suffix):
                name = name[: -len(suffix)]
                break
        if name:
            yield name


def finish(
    draft: Draft,
    container: Container,
    hashes: Mapping[str, str] | None,
    provenance: Provenance | None = None,
) -> ImageMetadata:
    tagged: list[LoraRef] = []
    prompt = _take_lora_tags(draft.prompt, tagged).strip()
    negative = _take_lora_tags(draft.negative, tagged).strip()
    loras: dict[str, LoraRef] = {}
    for lora in (*draft.loras, *tagged):
        loras.setdefault(model_key(lora.name), lora)
    lora_hashes = {model_key(name): value for name, value in draft.lora_hashes.items()}
    for key, lora in loras.items():
        if lora.hash is None and lora_hashes.get(key):
            loras[key] = LoraRef(lora.name, lora.strength, lora_hashes[key])
    for name, value in draft.lora_hashes.items():
        # A LoRA that A1111 hashed but whose tag is gone (an extension took it) was still used.
        loras.setdefault(model_key(name), LoraRef(name, 1.0, value or None))
    for lora in provenance.loras if provenance else ():  # what tastebud's LoRA node applied
        loras.setdefault(model_key(lora.name), lora)
    embeddings = dict.fromkeys(
        name for name in (*draft.embeddings, *_embeddings(prompt), *_embeddings(negative)) if name
    )
    checkpoints: dict[str, ModelRef] = {}
    # The checkpoint tastebud's node loaded comes first: the graph names only the node.
    chosen = (ModelRef(provenance.checkpoint),) if provenance and provenance.checkpoint else ()
    for ref in (*chosen, *draft.checkpoints):
        ref = _named(ref, hashes)
        if ref.name:
            known = checkpoints.setdefault(model_key(ref.name), ref)
            if known.hash is None and ref.hash:
                checkpoints[model_key(ref.name)] = ModelRef(known.name, ref.hash)
    width, height = draft.width, draft.height
    if not (width and height):
        width, height = container.width, container.height
    return ImageMetadata(
        generator=draft.generator,
        prompt=prompt,
        negative_prompt=negative or None,
        checkpoints=tuple(checkpoints.values()),
        loras=tuple(loras.values()),
        embeddings=tuple(embeddings),
        seed=draft.seed if draft.seed is not None and draft.seed >= 0 else None,  # -1: random
        sampler=draft.sampler,
        steps=draft.steps,
        cfg_scale=draft.cfg_scale,
        width=width,
        height=height,
        starred=draft.starred,
        recommendation_id=provenance.recommendation_id if provenance else None,
        propensity=provenance.propensity if provenance else None,
    )


def _named(ref: ModelRef, hashes: Mapping[str, str] | None) -> ModelRef:
    """A checkpoint given by hash only, named from the hash map, or by its hash."""
    if ref.name or not ref.hash:
        return ref
    value = ref.hash.lower()
    if hashes:
        # A1111's short hash is the SHA-256's first ten digits: a full hash finds a short key.
        for candidate in (value, value[:10] if len(value) == 64 else None):
            if candidate and hashes.get(candidate):
                return ModelRef(hashes[candidate], ref.hash)
    return ModelRef(ref.hash, ref.hash)
