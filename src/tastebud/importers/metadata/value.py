"""The value read_metadata returns, and the errors it raises.

ModelRef, LoraRef and ImageMetadata are the same whatever tool wrote the file; ImageMetadata goes
to JSON and back (``to_dict``, ``from_dict``) because the store keeps it as JSON. UnreadableImage is
what callers catch; Unreadable is its form without the path, raised anywhere in the package, to
which read_metadata adds the path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from tastebud.errors import InvalidInput, TastebudError

__all__ = [
    "GENERATORS",
    "ImageMetadata",
    "LoraRef",
    "ModelRef",
    "Unreadable",
    "UnreadableImage",
]

_T = TypeVar("_T")

GENERATORS = (
    "A1111",
    "ComfyUI",
    "InvokeAI",
    "NovelAI",
    "Fooocus",
    "RuinedFooocus",
    "SwarmUI",
    "Civitai",
    "Tensor.Art",
)


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A checkpoint as the file names it.

    ``name`` is as written (``v1-5-pruned-emaonly.ckpt``, ``realistic_realisticVisionV20_v20``, a
    Civitai ``urn:air:...`` id); where a file gives only a hash that no hash map knows, the name is
    that hash. ``hash`` is the file's hash where given (A1111's short ``Model hash``, a SHA-256,
    a Civitai AIR id), hex in lower case.
    """

    name: str
    hash: str | None = None


@dataclass(frozen=True, slots=True)
class LoraRef:
    """A LoRA (or LyCORIS) with its model strength, 1.0 where the file gives none."""

    name: str
    strength: float = 1.0
    hash: str | None = None


@dataclass(frozen=True, slots=True)
class ImageMetadata:
    """What one image file says of how it was made, the same whatever tool wrote it."""

    generator: str  # one of GENERATORS
    prompt: str  # positive prompt without <lora:...> / <lyco:...> tags, other syntax as written
    negative_prompt: str | None = None
    checkpoints: tuple[ModelRef, ...] = ()  # main first: base before refiner, first in a merge
    loras: tuple[LoraRef, ...] = ()
    embeddings: tuple[str, ...] = ()  # textual inversions named in the prompts, file stems
    seed: int | None = None
    sampler: str | None = None
    steps: int | None = None
    cfg_scale: float | None = None
    width: int | None = None
    height: int | None = None
    starred: bool = False  # marked a favourite in the file itself (SwarmUI's is_starred)
    recommendation_id: str | None = None  # set by tastebud's own nodes (provenance.py)
    propensity: float | None = None  # the chance Explore mode drew the checkpoint with
    # Judged already in tastebud's picker node: kept (True) or rejected (False), under this id.
    picked: bool | None = None
    generation_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: checkpoints and LoRAs as lists of dicts, None fields kept."""
        return {
            "generator": self.generator,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "checkpoints": [{"name": c.name, "hash": c.hash} for c in self.checkpoints],
            "loras": [
                {"name": lora.name, "strength": lora.strength, "hash": lora.hash}
                for lora in self.loras
            ],
            "embeddings": list(self.embeddings),
            "seed": self.seed,
            "sampler": self.sampler,
            "steps": self.steps,
            "cfg_scale": self.cfg_scale,
            "width": self.width,
            "height": self.height,
            "starred": self.starred,
            "recommendation_id": self.recommendation_id,
            "propensity": self.propensity,
            "picked": self.picked,
            "generation_id": self.generation_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageMetadata:
        """The value ``to_dict`` gave; raises InvalidInput naming the first field that is wrong."""
        checkpoints = tuple(
            ModelRef(
                _field(item, "name", str, f"checkpoints[{i}]"),
                _optional(item, "hash", str, f"checkpoints[{i}]"),
            )
            for i, item in enumerate(_items(data, "checkpoints"))
        )
        loras = tuple(
            LoraRef(
                _field(item, "name", str, f"loras[{i}]"),
                _number(_optional(item, "strength", float, f"loras[{i}]"), 1.0),
                _optional(item, "hash", str, f"loras[{i}]"),
            )
            for i, item in enumerate(_items(data, "loras"))
        )
        embeddings = data.get("embeddings") or []
        if not isinstance(embeddings, list) or not all(isinstance(e, str) for e in embeddings):
            raise InvalidInput("embeddings", "must be a list of strings")
        cfg_scale = _optional(data, "cfg_scale", float, "")
        return cls(
            generator=_field(data, "generator", str, ""),
            prompt=_field(data, "prompt", str, ""),
            negative_prompt=_optional(data, "negative_prompt", str, ""),
            checkpoints=checkpoints,
            loras=loras,
            embeddings=tuple(embeddings),
            seed=_optional(data, "seed", int, ""),
            sampler=_optional(data, "sampler", str, ""),
            steps=_optional(data, "steps", int, ""),
            cfg_scale=None if cfg_scale is None else float(cfg_scale),
            width=_optional(data, "width", int, ""),
            height=_optional(data, "height", int, ""),
            starred=data.get("starred") is True,
            recommendation_id=_optional(data, "recommendation_id", str, ""),
            propensity=_optional(data, "propensity", float, ""),
            picked=_flag(data, "picked"),
            generation_id=_optional(data, "generation_id", str, ""),
        )


def _flag(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise InvalidInput(key, "must be true, false or null")


def _number(value: float | None, default: float) -> float:
    return default if value is None else float(value)


def _items(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise InvalidInput(key, "must be a list of objects")
    return items


def _field(data: Mapping[str, Any], key: str, kind: type[_T], where: str) -> _T:
    value = _optional(data, key, kind, where)
    if value is None:
        raise InvalidInput(f"{where}.{key}" if where else key, "is required")
    return value


def _optional(data: Mapping[str, Any], key: str, kind: type[_T], where: str) -> _T | None:
    value = data.get(key)
    if value is None:
        return None
    # JSON has one number type: an integral float is fine where an int is asked, an int where a
    # float is; a bool is neither.
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return value  # type: ignore[return-value]  # int is accepted where float is asked
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    raise InvalidInput(f"{where}.{key}" if where else key, f"must be {kind.__name__}")


class UnreadableImage(TastebudError):
    """A file that gives no generation metadata: not an image, cut short, corrupt, or silent.

    ``reason`` is a short sentence for the person importing ("truncated image file", "no
    generation metadata"); ``str(error)`` is ``"<path>: <reason>"``.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class Unreadable(Exception):
    """Raised inside the package with the reason; read_metadata adds the path."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
