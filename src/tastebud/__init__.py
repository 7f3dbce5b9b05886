"""tastebud learns which Stable Diffusion checkpoints and LoRAs you like, and recommends them."""

from tastebud.errors import InvalidInput, TastebudError
from tastebud.events import Lora, PreferenceEvent, make_event
from tastebud.prompt import ParsedPrompt, parse_prompt
from tastebud.service import LoraScore, PreferenceLearning, RankedCheckpoint
from tastebud.store.repository import CheckReport, WriteSummary

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
