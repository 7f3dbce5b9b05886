"""tastebud learns which Stable Diffusion checkpoints and LoRAs you like, and recommends them.

The names below are loaded on first use, so that importing a core module (``tastebud.prompt``)
does not pull in the storage layer and its database drivers.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tastebud.errors import InvalidInput, TastebudError
    from tastebud.events import Lora, PreferenceEvent, make_event
    from tastebud.prompt import ParsedPrompt, parse_prompt
    from tastebud.recommendations import LoraScore, RankedCheckpoint
    from tastebud.service import PreferenceLearning
    from tastebud.store.repository import CheckReport, WriteSummary

__version__ = "0.1.0"

_EXPORTS = {
    "CheckReport": "tastebud.store.repository",
    "InvalidInput": "tastebud.errors",
    "Lora": "tastebud.events",
    "LoraScore": "tastebud.recommendations",
    "ParsedPrompt": "tastebud.prompt",
    "PreferenceEvent": "tastebud.events",
    "PreferenceLearning": "tastebud.service",
    "RankedCheckpoint": "tastebud.recommendations",
    "TastebudError": "tastebud.errors",
    "WriteSummary": "tastebud.store.repository",
    "make_event": "tastebud.events",
    "parse_prompt": "tastebud.prompt",
}

__all__ = [
    "CheckReport",
    "InvalidInput",
    "Lora",
    "LoraScore",
    "ParsedPrompt",
    "PreferenceEvent",
    "PreferenceLearning",
    "RankedCheckpoint",
    "TastebudError",
    "WriteSummary",
    "make_event",
    "parse_prompt",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tastebud' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
