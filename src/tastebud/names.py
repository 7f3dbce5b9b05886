"""One canonical key per checkpoint or LoRA, whatever form its name arrives in.

Names come as ``sd15/realisticVisionV51_v51VAE.safetensors [abc123]``, a bare stem, a Windows path
or a display name with spaces. They all mean the same model when they agree on the file stem, so the
key is that stem, lower-cased; statistics are kept per key and the name as the user wrote it is kept
for display.

Text that is the same to a reader is the same to tastebud: "café" typed on a Mac (an "e" and a
combining accent, NFD) and on Windows (one "é", NFC) is one name. Names, keywords and profile ids
are brought to Unicode's NFC form where they enter (``canonical``). Model keys and keywords are
then lower-cased (``str.lower``); a profile id keeps its case ("Zoé" and "zoé" are two people).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Extensions of model files that A1111, ComfyUI and friends load; anything else stays part of the
# name (a stem may well contain dots, as in "v1.5").
_MODEL_EXTENSIONS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft")
# A1111 appends the short hash: "name.safetensors [abc123ef]"; some tools write "(abc123ef)".
_TRAILING_HASH = re.compile(r"\s*[\[(][0-9a-fA-F]{6,64}[\])]\s*$")
_SPACES = re.compile(r"\s+")


def canonical(text: str) -> str:
    """``text`` in Unicode's composed form (NFC); ASCII text, the common case, is returned as is."""
    if text.isascii():  # O(1) in CPython: a string knows whether it is ASCII
        return text
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=8192)  # the same few hundred names come by on every event
def display_name(name: str) -> str:
    """The model's name without folders, extension or hash, case kept (``epicrealismXL_pureFix``)."""
    text = _TRAILING_HASH.sub("", canonical(name).strip())
    text = text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    lowered = text.lower()
    for extension in _MODEL_EXTENSIONS:
        if lowered.endswith(extension):
            text = text[: -len(extension)]
            break
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=8192)
def model_key(name: str) -> str:
    """The canonical key of a checkpoint or LoRA name: its display name (NFC) in lower case."""
    return canonical(display_name(name).lower())


def matches_model(requested_key: str, known_key: str) -> bool:
    """Whether a requested key names the known model or a version of it.

    Civitai files are named ``<model>_<version>``: asking for ``epicrealismXL`` should find what was
    recorded as ``epicrealismXL_pureFix``.
    """
    if requested_key == known_key:
        return True
    return (
        known_key.startswith(requested_key)
        and len(known_key) > len(requested_key)
        and known_key[len(requested_key)] in "_- .("
    )
