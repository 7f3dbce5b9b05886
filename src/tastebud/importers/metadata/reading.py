"""read_metadata and load_hash_map: from a file to its texts, to a reader's draft, to the value.

The readers are tried in a fixed order, from the most specific marker to the least; one that
fails on a shape it did not expect lets the next one try, and the first failure is the reason
given when none succeeds. A PNG with an alpha channel whose texts say nothing has its pixels read
for stealth text, which goes through the same readers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping

from sd_parsers.exceptions import ParserError

from tastebud.errors import InvalidInput
from tastebud.importers.metadata.a1111 import read_a1111
from tastebud.importers.metadata.comfyui import read_comfy_graph
from tastebud.importers.metadata.draft import Draft, finish
from tastebud.importers.metadata.files import read_container, stealth_texts
from tastebud.importers.metadata.formats import (
    read_invoke_ai,
    read_json_parameters,
    read_novel_ai,
    read_swarm_ui,
    read_tensor_art,
)
from tastebud.importers.metadata.provenance import PROVENANCE_KEY, read_provenance, with_verdict
from tastebud.importers.metadata.value import ImageMetadata, Unreadable, UnreadableImage

__all__ = ["load_hash_map", "read_metadata"]

_NO_METADATA = "no generation metadata"


def read_metadata(
    path: str | os.PathLike[str], *, hashes: Mapping[str, str] | None = None
) -> ImageMetadata:
    """The generation metadata of the image file at ``path``.

    ``hashes`` maps an A1111 ``Model hash`` (8, 10 or 64 hex digits, lower case) to a model name,
    for checkpoints that a file gives by hash only.

    Raises UnreadableImage for a file that cannot be read, is not an image, is truncated or
    corrupt, or carries no generation metadata.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb", buffering=0) as file:
            image = read_container(file)
            draft = _interpret(image.texts)
            if draft is None and image.may_hide_stealth:
                draft = _interpret(stealth_texts(file))
    except Unreadable as error:
        raise UnreadableImage(name, error.reason) from None
    except FileNotFoundError:
        raise UnreadableImage(name, "no such file") from None
    except IsADirectoryError:
        raise UnreadableImage(name, "a folder, not an image file") from None
    except OSError as error:
        raise UnreadableImage(name, f"cannot be read ({error.strerror or error})") from None
    if draft is None:
        raise UnreadableImage(name, _NO_METADATA)
    provenance = read_provenance(image.texts.get(PROVENANCE_KEY) or draft.provenance)
    return with_verdict(finish(draft, image, hashes, provenance), provenance, name)


def load_hash_map(path: str | os.PathLike[str]) -> dict[str, str]:
    """Hash -> model name from a JSON file: ``{"hash_to_model": {...}}`` or a plain object.

    Keys come back lower-cased. Raises OSError for a file that cannot be read and InvalidInput for
    one that is not such a map.
    """
    with open(path, encoding="utf-8") as file:
        try:
            data = json.load(file)
        except (ValueError, UnicodeDecodeError) as error:
            raise InvalidInput(os.fspath(path), f"not JSON ({error})") from None
    table = data.get("hash_to_model", data) if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise InvalidInput(os.fspath(path), 'expected {"hash_to_model": {hash: name}}')
    return {
        str(key).strip().lower(): value.strip()
        for key, value in table.items()
        if isinstance(value, str) and value.strip()
    }


_Reader = Callable[[Mapping[str, str]], "Draft | None"]
# What reading JSON of an unexpected shape raises, here or in sd-parsers.
_SHAPE_ERRORS = (
    ParserError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    RecursionError,
)


def _interpret(texts: Mapping[str, str]) -> Draft | None:
    """The first reader that recognises the texts; None when none does.

    Readers are tried from the most specific marker to the least: a SwarmUI or Tensor.Art file
    also carries a ComfyUI graph, and a ComfyUI file may carry an A1111 text beside its graph.
    """
    if not texts:
        return None
    failure: Exception | None = None
    for reader in _READERS:
        try:
            draft = reader(texts)
        except _SHAPE_ERRORS as error:
            failure = failure or error  # a shape we did not expect: another reader may know it
            continue
        if draft is not None:
            return draft
    if failure is not None:
        detail = f"{type(failure).__name__}: {failure}"
        raise Unreadable(f"unreadable generation metadata ({detail[:120]})")
    return None


_READERS: tuple[_Reader, ...] = (
    read_tensor_art,
    read_swarm_ui,
    read_invoke_ai,
    read_novel_ai,
    read_json_parameters,
    read_comfy_graph,
    read_a1111,
)
