"""The preference event: one image judged, with everything needed to learn from it.

Every event enters tastebud through one set of rules, ``EventInput`` (a pydantic model), whether it
comes as keyword arguments from Python (``make_event``), a JSON body, or an export document read
straight from its bytes (``events_from_export``), where pydantic's compiled core parses and checks
100,000 events in about a second. Bad input raises ``InvalidInput`` naming the field, so nothing
half-valid is ever written.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import (
    Annotated,
    Any,
    Literal,
    Required,  # pydantic reads TypedDicts from here before 3.12
)

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from typing_extensions import TypedDict

from tastebud.errors import InvalidInput
from tastebud.names import model_key
from tastebud.prompt import parse_prompt

Action = Literal["selected", "rejected"]
ACTIONS: tuple[Action, ...] = ("selected", "rejected")

# Documented limits (docs/python.md). They are generous for real prompts and keep a single
# request from bloating the database.
MAX_PROMPT_CHARS = 10_000
MAX_TEXT_CHARS = 10_000  # feedback, vision description, negative prompt
MAX_NAME_CHARS = 512  # checkpoint and LoRA names, image paths
MAX_ID_CHARS = 200  # user, session, generation and batch ids
MAX_LORAS = 64
MAX_KEYWORDS = 256
MAX_STRENGTH = 100.0
MAX_STAGE = 1_000


@dataclass(frozen=True, slots=True)
class Lora:
    """A LoRA applied to a generation, with the strength it was applied at."""

    name: str
    strength: float = 1.0

    @property
    def key(self) -> str:
        return model_key(self.name)


# Not frozen: a frozen dataclass sets each of its 19 fields through object.__setattr__, which
# made building an import's 100,000 events four times slower. An event is a value handed out;
# changing one changes nothing stored.
@dataclass(slots=True)
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


# -- the rules -------------------------------------------------------------------------------
# Checked in pydantic's compiled core wherever a constraint can say it (types, lengths, patterns,
# ranges): an import checks 100,000 events, and each call back into Python for one field of one
# event costs as much as checking the whole event in the core. What needs tastebud's own code
# (a model name must leave a key, rules across fields) is checked in ``_event``.

_NO_NUL = r"^[^\x00]*$"
_ONE_WORD = r"^\S{1,100}$"
_SOME_TEXT = r"\S"
_PRINTABLE = r"^(?:[^\p{C}\p{Z}]| )*$"  # str.isprintable: no control or separator but space


def _lora_shorthands(value: Any) -> Any:
    # A bare name is a LoRA at strength 1.0; a Lora object is taken as its fields. One call per
    # list, not per LoRA.
    if isinstance(value, list | tuple) and not all(type(item) is dict for item in value):
        return [
            {"name": item}
            if isinstance(item, str)
            else {"name": item.name, "strength": item.strength}
            if isinstance(item, Lora)
            else item
            for item in value
        ]
    return value


Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS, pattern=_NO_NUL)]
ModelName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=MAX_NAME_CHARS, pattern=_NO_NUL
    ),
]
# Lax, so that a whole-number id (host apps often number their images) is taken as its digits
# (``coerce_numbers_to_str`` below).
Id = Annotated[
    str,
    Field(strict=False),
    StringConstraints(strip_whitespace=True, max_length=MAX_ID_CHARS, pattern=_NO_NUL),
]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=_ONE_WORD)]
Theme = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_ID_CHARS, pattern=_SOME_TEXT)
]
UserId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=MAX_ID_CHARS, pattern=_PRINTABLE
    ),
]
_StrictUserId = Annotated[UserId, Strict()]
Strength = Annotated[float, Field(ge=-MAX_STRENGTH, le=MAX_STRENGTH, allow_inf_nan=False)]


def _about(text: str, **rules: Any) -> Any:
    """A field's description (for the HTTP API's schema) and any further rules."""
    return Field(description=text, **rules)


class LoraInput(TypedDict, total=False):
    """A LoRA as given: ``{"name": "add_detail", "strength": 0.7}`` (or just the name)."""

    __pydantic_config__ = ConfigDict(strict=True, extra="forbid")  # type: ignore[misc]

    name: Required[ModelName]
    strength: Annotated[Strength, _about("The strength it was applied at (1.0 if absent).")]


# Plain dictionaries rather than model objects: an import checks 100,000 of them, and pydantic
# fills dictionaries a quarter faster. ``None`` (JSON ``null``) means "not given" for every field
# but ``prompt`` and ``checkpoint``.
class EventInput(TypedDict, total=False):
    """The fields of one judged image, as a caller gives them (Python, JSON body, export file)."""

    __pydantic_config__ = ConfigDict(strict=True, extra="forbid", coerce_numbers_to_str=True)  # type: ignore[misc]

    prompt: Required[Annotated[Text, _about("The positive prompt, in Stable Diffusion syntax.")]]
    checkpoint: Required[Annotated[ModelName, _about("The checkpoint's file or model name.")]]
    selected: Annotated[bool | None, _about("True if kept, False if rejected.")]
    action: Annotated[Action | None, _about("'selected' or 'rejected' (instead of selected).")]
    loras: Annotated[
        Annotated[list[LoraInput], BeforeValidator(_lora_shorthands)] | None,
        _about(
            "LoRAs with strengths; <lora:name:0.7> tags in the prompt count too.",
            max_length=MAX_LORAS,
            strict=False,
        ),
    ]
    keywords: Annotated[
        list[Keyword] | None,
        _about(
            "Keywords, when not to be taken from the prompt.", max_length=MAX_KEYWORDS, strict=False
        ),
    ]
    negative_prompt: Text | None
    model_family: Annotated[
        Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=40)]
        | None,
        _about("The checkpoint's base model family: sd15, sdxl, pony, flux, ..."),
    ]
    stage: Annotated[
        Annotated[int, Field(ge=0, le=MAX_STAGE)] | None,
        _about("Which round of a multi-stage session (0 = first)."),
    ]
    session_id: Id | None
    generation_id: Annotated[
        Id | None, _about("The image's id; recording it again replaces the event.")
    ]
    batch_id: Id | None
    implicit: Annotated[bool | None, _about("A rejection implied by keeping others.")]
    timestamp: Annotated[
        datetime | None,
        _about("When it was judged (ISO 8601; naive means UTC); now if absent.", strict=False),
    ]
    feedback: Text | None
    image_path: Annotated[str, StringConstraints(max_length=MAX_NAME_CHARS, pattern=_NO_NUL)] | None
    vision_description: Text | None
    vision_themes: Annotated[list[Theme] | None, Field(strict=False)]
    propensity: Annotated[
        Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] | None,
        _about("The probability with which Explore chose this checkpoint."),
    ]
    user_id: Annotated[UserId | None, _about("The profile ('default' if absent).")]


class ExportInput(TypedDict):
    """An export document as read for an import: its version and events (the rest is ignored)."""

    __pydantic_config__ = ConfigDict(strict=True, extra="ignore")  # type: ignore[misc]

    version: str
    preferences: list[EventInput]


# Built on first use, not at import time.
@cache
def _rule(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def check_user_id(value: Any) -> str:
    """A profile name (``user_id``) checked by the events' rule; raises ``InvalidInput``."""
    try:
        return _rule(_StrictUserId).validate_python(value)  # type: ignore[no-any-return]
    except ValidationError as error:
        raise invalid_input(error, whole="user_id") from None


def new_generation_id() -> str:
    """A fresh id for an event recorded without one (96 random bits, URL-safe)."""
    return secrets.token_urlsafe(12)


def make_event(*, loras_complete: bool = False, **fields: Any) -> PreferenceEvent:
    """A validated event from the fields of ``EventInput``; raises ``InvalidInput``.

    ``selected=True/False`` (the seed's form) or ``action="selected"/"rejected"`` says what
    happened. LoRA tags in the prompt (``<lora:name:0.7>``) count as LoRAs of the generation; an
    entry in ``loras`` for the same LoRA wins. ``loras_complete`` says ``loras`` already holds the
    prompt's tags (an exported event). Keywords come from the prompt unless given.
    """
    try:
        given: EventInput = _rule(EventInput).validate_python(fields)
    except ValidationError as error:
        raise invalid_input(error) from None
    return _event(given, loras_complete=loras_complete)


def event_from_dict(data: Any) -> PreferenceEvent:
    """An event from its export form (``PreferenceEvent.to_dict``); raises ``InvalidInput``."""
    if not isinstance(data, Mapping):
        raise InvalidInput("preference", "must be an object")
    # An exported event lists every LoRA, the prompt's tags included: no need to parse again.
    return make_event(**data, loras_complete=data.get("loras") is not None)


EXPORT_VERSION = "1.0"


def events_from_export(
    document: Mapping[str, Any] | bytes | str, *, user_id: str | None = None
) -> list[PreferenceEvent]:
    """The events of an export document (parsed, or its JSON text), all checked.

    Raises ``InvalidInput`` naming the place (``preferences[12].loras[0].strength``). JSON text
    is parsed and checked in one pass, without building the document in Python first.
    """
    try:
        if isinstance(document, bytes | str):
            parsed: ExportInput = _rule(ExportInput).validate_json(document)
        elif isinstance(document, Mapping):
            parsed = _rule(ExportInput).validate_python(document)
        else:
            raise InvalidInput("document", "must be a JSON object with 'version' and 'preferences'")
    except ValidationError as error:
        raise invalid_input(error, whole="document") from None
    version = parsed["version"]
    if version.split(".")[0] != EXPORT_VERSION.split(".")[0]:
        raise InvalidInput("version", f"must be {EXPORT_VERSION!r}, not {version!r}")
    if user_id is not None:
        user_id = check_user_id(user_id)
    events = []
    for index, given in enumerate(parsed["preferences"]):
        if user_id is not None:
            given["user_id"] = user_id
        try:
            events.append(_event(given, loras_complete=given.get("loras") is not None))
        except InvalidInput as error:
            raise error.within(f"preferences[{index}]") from None
    return events


def _event(given: EventInput, *, loras_complete: bool) -> PreferenceEvent:
    """The event of checked input: the rules that span fields, defaults, and the prompt's parts."""
    prompt = given["prompt"]
    keywords = given.get("keywords")
    parsed = parse_prompt(prompt) if keywords is None or not loras_complete else None
    checkpoint = given["checkpoint"]
    if not model_key(checkpoint):
        raise InvalidInput("checkpoint", f"{checkpoint!r} is not a model name")
    loras = tuple(
        Lora(lora["name"], lora.get("strength", 1.0)) for lora in given.get("loras") or ()
    )
    for index, lora in enumerate(loras):
        if not lora.key:
            raise InvalidInput(f"loras[{index}].name", f"{lora.name!r} is not a model name")
    if parsed is not None and not loras_complete and parsed.loras:
        loras += tuple(Lora(tag.name, tag.strength) for tag in parsed.loras if model_key(tag.name))
    if len(loras) > 1:
        loras = _dedupe_loras(loras)
    if len(loras) > MAX_LORAS:
        raise InvalidInput("loras", f"at most {MAX_LORAS} LoRAs per image")
    timestamp = given.get("timestamp")
    if timestamp is None:
        timestamp = datetime.now(UTC)
    elif timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)  # naive times are UTC, as the seed writes them
    return PreferenceEvent(
        prompt=prompt,
        checkpoint=checkpoint,
        action=_action(given.get("selected"), given.get("action")),
        generation_id=given.get("generation_id") or new_generation_id(),
        user_id=given.get("user_id") or "default",
        keywords=parsed.keywords if keywords is None else tuple(dict.fromkeys(keywords)),  # type: ignore[union-attr]
        loras=loras,
        negative_prompt=given.get("negative_prompt") or "",
        model_family=given.get("model_family") or None,
        stage=given.get("stage") or 0,
        session_id=given.get("session_id") or None,
        batch_id=given.get("batch_id") or None,
        implicit=bool(given.get("implicit")),
        timestamp=timestamp.astimezone(UTC),
        feedback=given.get("feedback") or None,
        image_path=given.get("image_path") or None,
        vision_description=given.get("vision_description") or None,
        vision_themes=tuple(given.get("vision_themes") or ()),
        propensity=given.get("propensity"),
    )


def _action(selected: bool | None, action: Action | None) -> Action:
    if action is not None:
        if selected is not None and (action == "selected") != selected:
            raise InvalidInput("action", "disagrees with selected")
        return action
    if selected is None:
        raise InvalidInput("selected", "is required: true or false (or give action)")
    return "selected" if selected else "rejected"


def _dedupe_loras(loras: tuple[Lora, ...]) -> tuple[Lora, ...]:
    # The same LoRA listed twice is one LoRA for learning; the first mention wins.
    keys = [lora.key for lora in loras]
    if len(set(keys)) == len(keys):
        return loras
    first: dict[str, int] = {}
    for index, key in enumerate(keys):
        first.setdefault(key, index)
    return tuple(loras[index] for index in first.values())


# -- errors in the caller's terms -------------------------------------------------------------

_REASONS = {
    "missing": "is required",
    "extra_forbidden": "unknown field",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "literal_error": "must be 'selected' or 'rejected'",
}
_PATTERNS = {
    _NO_NUL: "must not contain NUL characters",
    _ONE_WORD: "must be one word of 1-100 characters",
    _SOME_TEXT: "must not be empty",
    _PRINTABLE: "must be printable text",
}


def invalid_input(error: ValidationError, *, whole: str = "event") -> InvalidInput:
    """The first problem pydantic found, as ``InvalidInput`` naming the field the tastebud way."""
    problem = error.errors(include_url=False, include_input=False)[0]
    place = ""
    for part in problem["loc"]:
        place += f"[{part}]" if isinstance(part, int) else f".{part}" if place else str(part)
    context = problem.get("ctx") or {}
    reason = _PATTERNS.get(context.get("pattern", "")) or _REASONS.get(problem["type"])
    return InvalidInput(place or whole, reason or problem["msg"])
