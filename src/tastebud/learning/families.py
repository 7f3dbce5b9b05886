"""Base model families, and which LoRAs can be used with which checkpoints.

A LoRA is trained for one base model; applied to a checkpoint of another family it does nothing
useful, or breaks the image, or stops the generation with a shape error. Families are written many
ways ("SDXL 1.0", "sdxl", "SD 1.5", "Pony", "Flux.1 D"); they are compared in one canonical form.
"""

from __future__ import annotations

import re

_CANONICAL = [
    # (pattern on the lower-cased name with spaces, dots, dashes and underscores removed, family)
    (r"^(sd|stablediffusion)?(v)?1(5|4|x)?$|^sd1", "sd15"),
    (r"^(sd|stablediffusion)?(v)?2(0|1|x)?(768)?$|^sd2", "sd2"),
    (r"^pony", "pony"),
    (r"^illustrious|^noobai|^noob", "illustrious"),
    (r"^(sd|stablediffusion)?xl|^sdxl", "sdxl"),
    (r"^(sd|stablediffusion)?3(5)?|^sd3", "sd3"),
    (r"^flux", "flux"),
]


def canonical_family(family: str | None) -> str | None:
    """The family's canonical name (``sd15``, ``sd2``, ``sdxl``, ``pony``, ``illustrious``,
    ``sd3``, ``flux``; anything else lower-cased as written), or None when it is not known."""
    if family is None:
        return None
    squeezed = re.sub(r"[\s._\-]+", "", family.lower())
    if not squeezed or squeezed in {"unknown", "other", "none"}:
        return None
    for pattern, name in _CANONICAL:
        if re.search(pattern, squeezed):
            return name
    return squeezed


def compatible(checkpoint_family: str | None, lora_family: str | None) -> bool:
    """False only when both families are known and differ."""
    first, second = canonical_family(checkpoint_family), canonical_family(lora_family)
    return first is None or second is None or first == second
