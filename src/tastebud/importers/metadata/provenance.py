"""What tastebud's own nodes wrote into an image: the PNG text chunk ``tastebud``.

The ComfyUI pack (integrations/comfyui) puts its choice into ``extra_pnginfo``, which ComfyUI's
SaveImage writes as a text chunk of JSON: the recommendation's id, the checkpoint it loaded, the
LoRAs it applied and, in Explore mode, the probability with which the checkpoint was drawn (its
propensity). Read back, it names the checkpoint and LoRAs for sure (the graph shows only
tastebud's nodes, not what they chose), and the propensity goes with the judgement's event.
Anything malformed in it is ignored: it never makes an image unreadable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tastebud.importers.metadata.value import LoraRef
from tastebud.importers.metadata.values import as_float, as_text, json_object

PROVENANCE_KEY = "tastebud"


@dataclass(frozen=True, slots=True)
class Provenance:
    recommendation_id: str | None = None
    checkpoint: str | None = None
    loras: tuple[LoraRef, ...] = ()
    propensity: float | None = None


def read_provenance(texts: Mapping[str, str]) -> Provenance | None:
    """The ``tastebud`` chunk's content, or None where there is none (or it is not ours)."""
    data = json_object(texts.get(PROVENANCE_KEY))
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
    return Provenance(
        recommendation_id=as_text(data.get("recommendation_id")),
        checkpoint=as_text(data.get("checkpoint")),
        loras=loras,
        propensity=propensity if propensity is not None and 0.0 < propensity <= 1.0 else None,
    )
