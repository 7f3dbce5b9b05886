"""The preference event: one image judged, with everything needed to learn from it.

``make_event`` is the single door through which every event enters tastebud (a call from Python,
a JSON body, an import file): it checks each field and raises ``InvalidInput`` naming the field, so
nothing half-valid is ever written.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from tastebud.errors import InvalidInput
from tastebud.names import model_key
from tastebud.prompt import parse_prompt

Action = Literal["selected", "rejected"]
ACTIONS: tuple[Action, ...] = ("selected", "rejected")

# Documented limits (docs/events.md). They are generous for real prompts and keep a single
# request from bloating the database.
MAX_PROMPT_CHARS = 10_000
MAX_TEXT_CHARS = 10_000  # feedback, vision description, negative prompt
MAX_NAME_CHARS = 512  # checkpoint and LoRA names, image paths
MAX_ID_CHARS = 200  # user, session, generation and batch ids
MAX_LORAS = 64
MAX_KEYWORDS = 256
MAX_STRENGTH = 100.0
MAX_STAGE = 1_000

_ONE_WORD = re.compile(r"\S{1,100}")
_CLEAN_WORDS = re.compile(r"\S{1,100}(?: \S{1,100})*")


@dataclass(frozen=True, slots=True)
class Lora:
    """A LoRA applied to a generation, with the strength it was applied at."""

    name: str
    strength: float = 1.0

    @property
    def key(self) -> str:
        return model_key(self.name)


@dataclass(frozen=True, slots=True)
class PreferenceEvent:
    """One image selected or rejected, with its full context."""

    prompt: str
    checkpoint: str
    action: Action
    generation_id: str
    user_id: str = "default"
    keywords: tuple[str, ...] = ()
    loras: tuple[Lora, ...] = ()
    negative_prompt: str = ""
    model_family: str | None = None
    stage: int = 0
    session_id: str | None = None
    batch_id: str | None = None
    implicit: bool = False
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    feedback: str | None = None
    image_path: str | None = None
    vision_description: str | None = None
    vision_themes: tuple[str, ...] = ()
    propensity: float | None = None

    @property
    def selected(self) -> bool:
        return self.action == "selected"

    @property
    def checkpoint_key(self) -> str:
        return model_key(self.checkpoint)

    def to_dict(self) -> dict[str, Any]:
        """The event as plain JSON types, in the export format."""
        return {
            "generation_id": self.generation_id,
            "user_id": self.user_id,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "keywords": list(self.keywords),
            "checkpoint": self.checkpoint,
            "model_family": self.model_family,
            "loras": [{"name": lora.name, "strength": lora.strength} for lora in self.loras],
            "action": self.action,
            "implicit": self.implicit,
            "stage": self.stage,
            "session_id": self.session_id,
            "batch_id": self.batch_id,
            "timestamp": self.timestamp.isoformat(),
            "feedback": self.feedback,
            "image_path": self.image_path,
            "vision_description": self.vision_description,
            "vision_themes": list(self.vision_themes),
            "propensity": self.propensity,
        }


def new_generation_id() -> str:
    """A fresh id for an event recorded without one (96 random bits, URL-safe)."""
    return secrets.token_urlsafe(12)


def make_event(
    *,
    prompt: Any,
    checkpoint: Any,
    selected: Any = None,
    action: Any = None,
    loras: Any = None,
    keywords: Any = None,
    negative_prompt: Any = None,
    model_family: Any = None,
    stage: Any = 0,
    session_id: Any = None,
    generation_id: Any = None,
    batch_id: Any = None,
    implicit: Any = False,
    timestamp: Any = None,
    feedback: Any = None,
    image_path: Any = None,
    vision_description: Any = None,
    vision_themes: Any = None,
    propensity: Any = None,
    user_id: Any = "default",
    loras_complete: bool = False,
) -> PreferenceEvent:
    """A validated event; raises ``InvalidInput`` naming the first bad field.

    ``selected=True/False`` (the seed's form) or ``action="selected"/"rejected"`` says what
    happened. LoRA tags in the prompt (``<lora:name:0.7>``) count as LoRAs of the generation; an
    entry in ``loras`` for the same LoRA wins. ``loras_complete`` says ``loras`` already holds the
    prompt's tags (an exported event). Keywords come from the prompt unless given.
    """
    prompt_text = _text("prompt", prompt, MAX_PROMPT_CHARS, allow_empty=True)
    checkpoint_name = _name("checkpoint", checkpoint)
    given_loras = _loras(loras)
    parse_needed = keywords is None or not loras_complete
    parsed = parse_prompt(prompt_text) if parse_needed else None
    given_keys = {lora.key for lora in given_loras}
    prompt_loras = tuple(
        Lora(tag.name, tag.strength)
        for tag in (parsed.loras if parsed and not loras_complete else ())
        if model_key(tag.name) and model_key(tag.name) not in given_keys
    )
    all_loras = _dedupe_loras(given_loras + prompt_loras)
    if len(all_loras) > MAX_LORAS:
        raise InvalidInput("loras", f"at most {MAX_LORAS} LoRAs per image")
    return PreferenceEvent(
        prompt=prompt_text,
        checkpoint=checkpoint_name,
        action=_action(selected, action),
        generation_id=_optional_id("generation_id", generation_id) or new_generation_id(),
        user_id=_user_id(user_id),
        keywords=_keywords(keywords) if keywords is not None else parsed.keywords,  # type: ignore[union-attr]
        loras=all_loras,
        negative_prompt=_text("negative_prompt", negative_prompt or "", MAX_TEXT_CHARS, True),
        model_family=_family(model_family),
        stage=_stage(stage),
        session_id=_optional_id("session_id", session_id),
        batch_id=_optional_id("batch_id", batch_id),
        implicit=_bool("implicit", implicit),
        timestamp=_timestamp(timestamp),
        feedback=_optional_text("feedback", feedback, MAX_TEXT_CHARS),
        image_path=_optional_text("image_path", image_path, MAX_NAME_CHARS),
        vision_description=_optional_text("vision_description", vision_description, MAX_TEXT_CHARS),
        vision_themes=_themes(vision_themes),
        propensity=_propensity(propensity),
    )


_EVENT_FIELDS = frozenset(
    {
        "prompt", "checkpoint", "selected", "action", "loras", "keywords", "negative_prompt",
        "model_family", "stage", "session_id", "generation_id", "batch_id", "implicit",
        "timestamp", "feedback", "image_path", "vision_description", "vision_themes",
        "propensity", "user_id",
    }
)  # fmt: skip
_LORA_FIELDS = frozenset({"name", "strength"})


def event_from_dict(data: Any) -> PreferenceEvent:
    """An event from its export form (``PreferenceEvent.to_dict``); raises ``InvalidInput``."""
    if not isinstance(data, Mapping):
        raise InvalidInput("preference", "must be an object")
    unknown = data.keys() - _EVENT_FIELDS
    if unknown:
        raise InvalidInput(min(map(str, unknown)), "unknown field")
    for required in ("prompt", "checkpoint"):
        if required not in data:
            raise InvalidInput(required, "is required")
    arguments = {key: value for key, value in data.items() if value is not None or key == "action"}
    # An exported event lists every LoRA, the prompt's tags included: no need to parse again.
    return make_event(**arguments, loras_complete="loras" in arguments)


def _text(name: str, value: Any, limit: int, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(name, "must be a string")
    if "\x00" in value:
        raise InvalidInput(name, "must not contain NUL characters")
    if len(value) > limit:
        raise InvalidInput(name, f"longer than {limit} characters ({len(value)})")
    if not allow_empty and not value.strip():
        raise InvalidInput(name, "must not be empty")
    return value


def _optional_text(name: str, value: Any, limit: int) -> str | None:
    if value is None or value == "":
        return None
    return _text(name, value, limit, allow_empty=True)


def _name(field_name: str, value: Any) -> str:
    text = _text(field_name, value, MAX_NAME_CHARS).strip()
    if not model_key(text):
        raise InvalidInput(field_name, f"{text!r} is not a model name")
    return text


def _optional_id(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = _text(name, value, MAX_ID_CHARS).strip()
    return text


def _user_id(value: Any) -> str:
    text = _text("user_id", value, MAX_ID_CHARS).strip()
    if not text.isprintable():
        raise InvalidInput("user_id", "must be printable text")
    return text


def _action(selected: Any, action: Any) -> Action:
    if action is not None:
        if action not in ACTIONS:
            raise InvalidInput("action", f"must be 'selected' or 'rejected', not {action!r}")
        if selected is not None and (action == "selected") != selected:
            raise InvalidInput("action", "disagrees with selected")
        return action  # type: ignore[no-any-return]
    if not isinstance(selected, bool):
        raise InvalidInput("selected", "must be true or false (or give action)")
    return "selected" if selected else "rejected"


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(name, "must be true or false")
    return value


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(name, "must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInput(name, "must be a finite number")
    return number


def _loras(value: Any) -> tuple[Lora, ...]:
    if value is None:
        return ()
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise InvalidInput("loras", "must be a list of {name, strength}")
    items = list(value)
    if len(items) > MAX_LORAS:
        raise InvalidInput("loras", f"at most {MAX_LORAS} LoRAs per image")
    loras = []
    for index, item in enumerate(items):
        where = f"loras[{index}]"
        if isinstance(item, Lora):
            item = {"name": item.name, "strength": item.strength}
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, Mapping):
            raise InvalidInput(where, "must be an object with a name and a strength")
        extra = item.keys() - _LORA_FIELDS
        if extra:
            raise InvalidInput(f"{where}.{min(map(str, extra))}", "unknown field")
        if "name" not in item or item["name"] is None:
            raise InvalidInput(f"{where}.name", "is required")
        name = _name(f"{where}.name", item["name"])
        strength = _finite(f"{where}.strength", item.get("strength", 1.0))
        if abs(strength) > MAX_STRENGTH:
            raise InvalidInput(f"{where}.strength", f"must be between -{MAX_STRENGTH:g} and {MAX_STRENGTH:g}")
        loras.append(Lora(name, strength))
    return tuple(loras)


def _dedupe_loras(loras: tuple[Lora, ...]) -> tuple[Lora, ...]:
    # The same LoRA listed twice is one LoRA for learning; the first mention wins.
    seen: set[str] = set()
    unique = []
    for lora in loras:
        if lora.key not in seen:
            seen.add(lora.key)
            unique.append(lora)
    return tuple(unique)


def _keywords(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInput("keywords", "must be a list of words")
    if isinstance(value, list | tuple) and all(type(word) is str for word in value):
        # Keywords as tastebud writes them (an export): one check of them all, no copying.
        joined = " ".join(value)
        one_word_each = joined.count(" ") == len(value) - 1
        if one_word_each and _CLEAN_WORDS.fullmatch(joined) and joined == joined.lower():
            unique = tuple(dict.fromkeys(value))
            if len(unique) > MAX_KEYWORDS:
                raise InvalidInput("keywords", f"at most {MAX_KEYWORDS} keywords")
            return unique
    words: dict[str, None] = {}  # ordered, without repeats
    for index, word in enumerate(value):
        if not isinstance(word, str):
            raise InvalidInput(f"keywords[{index}]", "must be a string")
        cleaned = word.strip().lower()
        if not _ONE_WORD.fullmatch(cleaned):
            raise InvalidInput(f"keywords[{index}]", "must be one word of 1-100 characters")
        words[cleaned] = None
    if len(words) > MAX_KEYWORDS:
        raise InvalidInput("keywords", f"at most {MAX_KEYWORDS} keywords")
    return tuple(words)


def _family(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = _text("model_family", value, 40).strip().lower()
    return text


def _stage(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("stage", "must be a whole number")
    if not 0 <= value <= MAX_STAGE:
        raise InvalidInput("stage", f"must be between 0 and {MAX_STAGE}")
    return value


def _timestamp(value: Any) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)  # Python 3.11 reads "Z" too
        except ValueError:
            raise InvalidInput("timestamp", "must be an ISO 8601 date and time") from None
    if not isinstance(value, datetime):
        raise InvalidInput("timestamp", "must be an ISO 8601 date and time")
    moment: datetime = value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # naive times are taken as UTC, as the seed writes them
    return moment.astimezone(UTC)


def _themes(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInput("vision_themes", "must be a list of strings")
    themes = []
    for index, theme in enumerate(value):
        themes.append(_text(f"vision_themes[{index}]", theme, MAX_ID_CHARS).strip())
    return tuple(themes)


def _propensity(value: Any) -> float | None:
    if value is None:
        return None
    number = _finite("propensity", value)
    if not 0.0 < number <= 1.0:
        raise InvalidInput("propensity", "must be a probability in (0, 1]")
    return number
