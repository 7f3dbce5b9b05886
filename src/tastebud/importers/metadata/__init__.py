"""Generation metadata out of PNG, JPEG and WebP files, whatever tool wrote it, as one value.

Every tool hides the same few facts (prompt, checkpoint, LoRAs, seed...) in its own way:

* Automatic1111 / Forge / reForge: a ``parameters`` text, in a PNG text chunk or the EXIF
  UserComment of a JPEG or WebP (UTF-16), or "stealth" in the alpha channel's lowest bits;
  Civitai's on-site generator writes the same text with a ``Civitai resources`` list;
* ComfyUI: the ``prompt`` graph (node id -> class_type and inputs), walked from the sampler;
  Civitai's ComfyUI-based generator writes such a graph with ``urn:air:`` model ids;
* InvokeAI (``invokeai_metadata``, the older ``sd-metadata`` and ``Dream``), NovelAI
  (``Software``, ``Source``, ``Comment``), Fooocus, RuinedFooocus, SwarmUI
  (``sui_image_params``) and Tensor.Art (``generation_data``): JSON of their own.

The library sd-parsers reads InvokeAI's older formats, NovelAI and Fooocus well; what it returns is
normalised here. The rest is read by hand: sd-parsers leaves ``<lora:...>`` tags in A1111 prompts,
splits ``Lora hashes`` at the commas inside its quotes, returns A1111 values as strings, knows
neither SwarmUI, RuinedFooocus, Civitai nor Tensor.Art, and on a ComfyUI graph finds one model per
sampler, no LoRA, and crashes where the model comes through another node (a LoRA loader).

Speed: the files are read, never decoded. A PNG's chunks are walked with seeks (text chunks may
follow the image data, and Pillow would decode the pixels to reach them); JPEG and WebP are opened
lazily with Pillow for their EXIF. Only a PNG with an alpha channel and no generation metadata in
its text is decoded, to look for stealth metadata.

The package, one concept per module, in the order a file is read:

* ``files``: the container layer, from PNG chunks or EXIF to texts by key (``stealth``: the
  texts hidden in a PNG's pixels);
* ``a1111``, ``comfyui``, ``formats``: the readers, texts to a draft (``flat_json``: the JSON
  objects several formats share; ``values``: the plain values all of them parse);
* ``draft``: a reader's draft, finished into the value (``value``: ImageMetadata and the errors);
* ``reading``: read_metadata, which runs them in that order, and load_hash_map.
"""

from __future__ import annotations

from tastebud.importers.metadata.reading import load_hash_map, read_metadata
from tastebud.importers.metadata.value import (
    GENERATORS,
    ImageMetadata,
    LoraRef,
    ModelRef,
    UnreadableImage,
)

__all__ = [
    "GENERATORS",
    "ImageMetadata",
    "LoraRef",
    "ModelRef",
    "UnreadableImage",
    "load_hash_map",
    "read_metadata",
]
