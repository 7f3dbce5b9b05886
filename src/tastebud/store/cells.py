"""Statistics cells in their stored form: a type code and two ids instead of names.

The core speaks of cells by name, ``("keyword_checkpoint", "beach", "epicrealismxl")``; the table
stores ``(1, <id of "beach">, <id of the checkpoint>)``. Unused keys are 0.
"""

from __future__ import annotations

from collections.abc import Mapping

from tastebud.learning.keys import Cell, StatType
from tastebud.store.ids import Model

STAT_CODES: dict[StatType, int] = {
    StatType.KEYWORD_CHECKPOINT: 1,
    StatType.KEYWORD_LORA: 2,
    StatType.CHECKPOINT_LORA: 3,
    StatType.CHECKPOINT: 4,
    StatType.LORA: 5,
    StatType.PROFILE: 6,
}
STAT_TYPES: dict[int, StatType] = {code: StatType(name) for name, code in STAT_CODES.items()}

# Which id table each key of a stat type refers to.
_KINDS: dict[str, tuple[str | None, str | None]] = {
    StatType.KEYWORD_CHECKPOINT: ("keyword", "checkpoint"),
    StatType.KEYWORD_LORA: ("keyword", "lora"),
    StatType.CHECKPOINT_LORA: ("checkpoint", "lora"),
    StatType.CHECKPOINT: ("checkpoint", None),
    StatType.LORA: ("lora", None),
    StatType.PROFILE: (None, None),
}

StoredCell = tuple[int, int, int]


def key_kinds(stat_type: str) -> tuple[str | None, str | None]:
    """What key1 and key2 of a stat type name: "keyword", "checkpoint", "lora" or nothing."""
    return _KINDS[stat_type]


def from_stored(
    stored: StoredCell, keywords: Mapping[int, str], models: Mapping[int, Model]
) -> Cell:
    """The named form of a stored cell."""
    code, id1, id2 = stored
    stat_type = STAT_TYPES[code]
    kind1, kind2 = _KINDS[stat_type]

    def name(kind: str | None, id_: int) -> str:
        if kind is None:
            return ""
        return keywords[id_] if kind == "keyword" else models[id_].key

    return stat_type, name(kind1, id1), name(kind2, id2)
