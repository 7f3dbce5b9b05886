"""What tastebud's own integrations wrote into an image: the JSON object ``tastebud``.

The ComfyUI pack (integrations/comfyui) puts its choice into ``extra_pnginfo``, which ComfyUI's
SaveImage writes as a PNG text chunk ``tastebud``; the A1111 / Forge extension
(integrations/a1111) writes the same object as the infotext's ``tastebud`` setting. It holds the
recommendation's id, the checkpoint loaded, the LoRAs applied and, in Explore mode, the
probability with which the checkpoint was drawn (its propensity). Read back, it names the
checkpoint and LoRAs for sure (a ComfyUI graph shows only tastebud's nodes, not what they chose),
and the propensity goes with the judgement's event.
Anything malformed in it is ignored: it never makes an image unreadable.

The picker node (``TastebudPicker``) records its batch in tastebud itself and adds ``picked``: the
generation ids of the images it kept and rejected, each a hash of the image's pixels. An image
saved after the pick is found there by its own pixels, and keeps that generation id and verdict:
importing it again is the same judgement, never a second one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass

from PIL import Image

from tastebud.importers.metadata.value import ImageMetadata, LoraRef
from tastebud.importers.metadata.values import as_float, as_text, json_object

PROVENANCE_KEY = "tastebud"


@dataclass(frozen=True, slots=True)
class Provenance:
    recommendation_id: str | None = None
    checkpoint: str | None = None
    loras: tuple[LoraRef, ...] = ()
    propensity: float | None = None
    kept: frozenset[str] = frozenset()
    """The generation ids of the images the picker kept."""
    rejected: frozenset[str] = frozenset()


def read_provenance(text: str | None) -> Provenance | None:
    """What the ``tastebud`` object says, or None where there is none (or it is not ours)."""
    data = json_object(text)
    if data is None:
        return None
    loras = tuple(
        LoraRef(name, strength)
        for item in data.get("loras") or ()
        if isinstance(item, dict)
        and (name := as_text(item.get("name")))
        and (strength := as_float(item.get("strength", 1.0))) is not None
    )
    propensity = as_float(data.get("propensity"))
    picked = data.get("picked")
    picked = picked if isinstance(picked, dict) else {}
    return Provenance(
        recommendation_id=as_text(data.get("recommendation_id")),
        checkpoint=as_text(data.get("checkpoint")),
        loras=loras,
        propensity=propensity if propensity is not None and 0.0 < propensity <= 1.0 else None,
        kept=_ids(picked.get("kept")),
        rejected=_ids(picked.get("rejected")),
    )


def _ids(value: object) -> frozenset[str]:
    items = value if isinstance(value, list) else ()
    return frozenset(item for item in items if isinstance(item, str) and item)


def pixel_id(path: str | os.PathLike[str]) -> str:
    """The picker's generation id of an image: a hash of its pixels as 8-bit RGB."""
    with Image.open(path) as image:
        return "pixels:" + hashlib.sha256(image.convert("RGB").tobytes()).hexdigest()


def with_verdict(
    metadata: ImageMetadata, provenance: Provenance | None, path: str | os.PathLike[str]
) -> ImageMetadata:
    """The metadata with the picker's verdict on this very image and its generation id, when
    the image is one the picker judged; unchanged otherwise."""
    if provenance is None or not (provenance.kept or provenance.rejected):
        return metadata
    generation_id = pixel_id(path)
    if generation_id not in provenance.kept | provenance.rejected:
        return metadata  # saved from another batch, or changed since the pick
    return dataclasses.replace(
        metadata, generation_id=generation_id, picked=generation_id in provenance.kept
    )
