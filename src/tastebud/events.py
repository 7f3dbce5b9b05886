"""The preference event: one image judged, with everything needed to learn from it.

Every event enters tastebud through one set of rules, written once as the field types below and
checked by pydantic's compiled core:

- ``make_event`` takes keyword arguments from Python, ``event_from`` a JSON body the HTTP API
  checked as ``EventInput`` (the seed's ``selected=True``, LoRA tags in the prompt, keywords
  taken from the prompt);
- ``tastebud.exports.events_from_export`` takes an export document, ideally its JSON text as read:
  the events are parsed, checked and built as ``PreferenceEvent`` in one pass, 100,000 of them in
  about a second.

Both end in ``settled``, the rules no single field can check. Bad input raises ``InvalidInput``
naming the field, so nothing half-valid is ever written.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Literal, Required

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from typing_extensions import TypedDict  # pydantic reads TypedDicts from here before 3.12

from tastebud.errors import InvalidInput
from tastebud.keywords import MAX_KEYWORD_CHARS
from tastebud.names import canonical, model_key
from tastebud.problems import NO_NUL, ONE_WORD, PRINTABLE, SOME_TEXT, invalid_input
from tastebud.prompt import parse_prompt
from tastebud.style import Style

Action = Literal["selected", "rejected"]

# Documented limits (docs/python.md). They are generous for real prompts and keep a single
# request from bloating the database: one image counts towards at most
# 2 + 2 x 64 + 256 + 4,096 statistics (``statistics_of``).
MAX_PROMPT_CHARS = 10_000
MAX_TEXT_CHARS = 10_000  # feedback, vision description, negative prompt
MAX_NAME_CHARS = 512  # checkpoint and LoRA names, image paths
MAX_ID_CHARS = 200  # user, session, generation and batch ids
MAX_LORAS = 64
MAX_KEYWORDS = 256
MAX_KEYWORD_LORA_PAIRS = 4_096  # keywords x LoRAs: each pair is a statistic of its own
MAX_REQUEST_STATISTICS = 200_000  # summed over the images of one judged batch
MAX_STRENGTH = 100.0
MAX_STAGE = 1_000

# -- the rules of each field -------------------------------------------------------------------
# Constraints pydantic checks in its compiled core (types, lengths, patterns, ranges): an import
# checks 100,000 events, and a call back into Python for one field of one event costs about as
# much as checking the whole event in the core. Strict: "0.7" is not a number, 1 is not true.


Text = Annotated[str, Strict(), StringConstraints(max_length=MAX_TEXT_CHARS, pattern=NO_NUL)]
ImagePath = Annotated[str, Strict(), StringConstraints(max_length=MAX_NAME_CHARS, pattern=NO_NUL)]
ModelName = Annotated[
    str,
    Strict(),
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=MAX_NAME_CHARS, pattern=NO_NUL
    ),
]
# Not strict: a whole-number id (host apps often number their images) is taken as its digits
# (``coerce_numbers_to_str`` in the configs below).
Id = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_ID_CHARS, pattern=NO_NUL)
]
UserId = Annotated[
    str,
    Strict(),
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=MAX_ID_CHARS, pattern=PRINTABLE
    ),
]
Keyword = Annotated[
    str, Strict(), StringConstraints(strip_whitespace=True, to_lower=True, pattern=ONE_WORD)
]
Theme = Annotated[
    str,
    Strict(),
    StringConstraints(strip_whitespace=True, max_length=MAX_ID_CHARS, pattern=SOME_TEXT),
]
Family = Annotated[
    str, Strict(), StringConstraints(strip_whitespace=True, to_lower=True, max_length=40)
]
Strength = Annotated[float, Strict(), Field(ge=-MAX_STRENGTH, le=MAX_STRENGTH, allow_inf_nan=False)]
Stage = Annotated[int, Strict(), Field(ge=0, le=MAX_STAGE)]
Flag = Annotated[bool, Strict()]
Propensity = Annotated[float, Strict(), Field(gt=0.0, le=1.0, allow_inf_nan=False)]
# Lax: an ISO 8601 string (JSON) or a datetime (Python); a naive time is taken as UTC.
Moment = Annotated[datetime, Field(strict=False)]

_CONFIG = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


# -- the event ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lora:
    """A LoRA applied to a generation, with the strength it was applied at."""

    __pydantic_config__ = _CONFIG

    name: ModelName
    strength: Strength = 1.0
    family: Family | None = None
    """The base model family the LoRA was made for (sd15, sdxl, pony, flux, ...), if known."""

    @property
    def key(self) -> str:
        return model_key(self.name)


# Not frozen: a frozen dataclass sets each of its 19 fields through object.__setattr__, which
# made building an import's 100,000 events four times slower. An event is a value handed out;
# changing one changes nothing stored.
@dataclass(slots=True)
class PreferenceEvent:
    """One image selected or rejected, with its full context (also the export form of one)."""

    __pydantic_config__ = _CONFIG

    prompt: Text
    checkpoint: ModelName
    action: Action
    generation_id: Id
    user_id: UserId = "default"
    keywords: Annotated[tuple[Keyword, ...], Field(max_length=MAX_KEYWORDS)] = ()
    loras: Annotated[tuple[Lora, ...], Field(max_length=MAX_LORAS)] = ()
    negative_prompt: Text = ""
    model_family: Family | None = None
    stage: Stage = 0
    session_id: Id | None = None
    batch_id: Id | None = None
    implicit: Flag = False
    timestamp: Moment = field(default_factory=lambda: datetime.now(UTC))
    feedback: Text | None = None
    image_path: ImagePath | None = None
    vision_description: Text | None = None
    vision_themes: tuple[Theme, ...] = ()
    propensity: Propensity | None = None
    style: Style | None = None
    """What the image looks like, from its pixels (``tastebud.style``), where known."""

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
            "loras": [_lora_dict(lora) for lora in self.loras],
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
            "style": None if self.style is None else self.style.to_dict(),
        }


# -- the forms events arrive in ----------------------------------------------------------------


def _lora_dict(lora: Lora) -> dict[str, Any]:
    found: dict[str, Any] = {"name": lora.name, "strength": lora.strength}
    if lora.family:
        found["family"] = lora.family
    return found


def _about(text: str, **rules: Any) -> Any:
    """A field's description (for the HTTP API's schema) and any further rules."""
    return Field(description=text, **rules)


def _lora_shorthands(value: Any) -> Any:
    # A bare name is a LoRA at strength 1.0; a Lora object is taken as its fields. One call per
    # list, not per LoRA.
    if isinstance(value, list | tuple) and not all(type(item) is dict for item in value):
        return [
            {"name": item}
            if isinstance(item, str)
            else _lora_dict(item)
            if isinstance(item, Lora)
            else item
            for item in value
        ]
    return value


class LoraInput(TypedDict, total=False):
    """A LoRA as given: ``{"name": "add_detail", "strength": 0.7}`` (or just the name)."""

    __pydantic_config__ = _CONFIG  # type: ignore[misc]

    name: Required[ModelName]
    strength: Annotated[Strength, _about("The strength it was applied at (1.0 if absent).")]
    family: Annotated[
        Family | None,
        _about("The base model family it was made for: sd15, sdxl, pony, illustrious, flux, ..."),
    ]


class EventInput(TypedDict, total=False):
    """The fields of one judged image as a caller gives them (Python, a JSON body).

    ``None`` (JSON ``null``) means "not given" for every field but ``prompt`` and ``checkpoint``.
    """

    __pydantic_config__ = _CONFIG  # type: ignore[misc]

    prompt: Required[Annotated[Text, _about("The positive prompt, in Stable Diffusion syntax.")]]
    checkpoint: Required[Annotated[ModelName, _about("The checkpoint's file or model name.")]]
    selected: Annotated[Flag | None, _about("True if kept, False if rejected.")]
    action: Annotated[Action | None, _about("'selected' or 'rejected' (instead of selected).")]
    loras: Annotated[
        Annotated[list[LoraInput], BeforeValidator(_lora_shorthands)] | None,
        _about(
            "LoRAs with strengths; <lora:name:0.7> tags in the prompt count too.",
            max_length=MAX_LORAS,
        ),
    ]
    keywords: Annotated[
        list[Keyword] | None,
        _about("Keywords, when not to be taken from the prompt.", max_length=MAX_KEYWORDS),
    ]
    negative_prompt: Text | None
    model_family: Annotated[
        Family | None, _about("The checkpoint's base model family: sd15, sdxl, pony, flux, ...")
    ]
    stage: Annotated[Stage | None, _about("Which round of a multi-stage session (0 = first).")]
    session_id: Id | None
    generation_id: Annotated[
        Id | None, _about("The image's id; recording it again replaces the event.")
    ]
    batch_id: Id | None
    implicit: Annotated[Flag | None, _about("A rejection implied by keeping others.")]
    timestamp: Annotated[
        Moment | None, _about("When it was judged (ISO 8601; naive means UTC); now if absent.")
    ]
    feedback: Text | None
    image_path: ImagePath | None
    vision_description: Text | None
    vision_themes: list[Theme] | None
    propensity: Annotated[
        Propensity | None, _about("The probability with which Explore chose this checkpoint.")
    ]
    user_id: Annotated[UserId | None, _about("The profile ('default' if absent).")]
    style: Annotated[
        Style | None,
        _about(
            "What the image looks like, seven numbers from 0 to 1 (brightness, contrast, "
            "colourfulness, saturation, warmth, sharpness, flatness; see docs/learning.md)."
        ),
    ]


@cache
def rule(kind: Any) -> TypeAdapter[Any]:
    """pydantic's validator of a type, built on first use (not at import time) and kept."""
    return TypeAdapter(kind)


def check_user_id(value: Any) -> str:
    """A profile name (``user_id``) checked by the events' rule, in NFC; raises ``InvalidInput``."""
    try:
        checked: str = rule(UserId).validate_python(value)
    except ValidationError as error:
        raise invalid_input(error, whole="user_id") from None
    return _within(canonical(checked), "user_id", MAX_ID_CHARS)


def new_generation_id() -> str:
    """A fresh id for an event recorded without one (96 random bits, URL-safe)."""
    return secrets.token_urlsafe(12)


def make_event(**fields: Any) -> PreferenceEvent:
    """A checked event from the fields of ``EventInput``; raises ``InvalidInput``."""
    return event_from(check_event(fields))


def check_event(fields: Any) -> EventInput:
    """The fields of one event held to ``EventInput``'s rules; raises ``InvalidInput``."""
    try:
        given: EventInput = rule(EventInput).validate_python(fields)
    except ValidationError as error:
        raise invalid_input(error) from None
    return given


def event_from(given: EventInput) -> PreferenceEvent:
    """The event of fields already checked as ``EventInput`` (by ``check_event``, or by the HTTP
    API from the same type); raises ``InvalidInput`` for the rules no single field can check.

    ``selected=True/False`` (the seed's form) or ``action="selected"/"rejected"`` says what
    happened. LoRA tags in the prompt (``<lora:name:0.7>``) count as LoRAs of the generation; an
    entry in ``loras`` for the same LoRA wins. Keywords come from the prompt unless given.
    """
    prompt = given["prompt"]
    parsed = parse_prompt(prompt)
    keywords = given.get("keywords")
    loras = [
        Lora(lora["name"], lora.get("strength", 1.0), lora.get("family") or None)
        for lora in given.get("loras") or ()
    ]
    given_loras = len(loras)
    for tag in parsed.loras:
        if model_key(tag.name):
            loras.append(_tagged(tag.name, tag.strength))
    timestamp = given.get("timestamp")
    event = PreferenceEvent(
        prompt=prompt,
        checkpoint=given["checkpoint"],
        action=_action(given.get("selected"), given.get("action")),
        generation_id=given.get("generation_id") or new_generation_id(),
        user_id=given.get("user_id") or "default",
        keywords=parsed.keywords[:MAX_KEYWORDS] if keywords is None else tuple(keywords),
        loras=tuple(loras),
        negative_prompt=given.get("negative_prompt") or "",
        model_family=given.get("model_family") or None,
        stage=given.get("stage") or 0,
        session_id=given.get("session_id") or None,
        batch_id=given.get("batch_id") or None,
        implicit=bool(given.get("implicit")),
        timestamp=datetime.now(UTC) if timestamp is None else timestamp,
        feedback=given.get("feedback") or None,
        image_path=given.get("image_path") or None,
        vision_description=given.get("vision_description") or None,
        vision_themes=tuple(given.get("vision_themes") or ()),
        propensity=given.get("propensity"),
        style=given.get("style"),
    )
    return settled(event, named_loras=given_loras, from_prompt=keywords is None)


def settled(
    event: PreferenceEvent, *, named_loras: int | None = None, from_prompt: bool = False
) -> PreferenceEvent:
    """The rules no single field can check, applied in place; raises ``InvalidInput``.

    Names, keywords and the profile id are brought to their composed Unicode form (NFC), within
    their limits; model names must leave a key (``models/.safetensors`` does not); a LoRA listed
    twice is one LoRA, its first mention winning (the ``loras`` argument before the prompt's
    tags); keywords are unique, and an image has at most ``MAX_KEYWORD_LORA_PAIRS`` keyword-LoRA
    pairs (keywords taken from the prompt are cut to fit: the prompt's first words count); times
    are in UTC, a naive one taken as UTC as the seed writes them.
    """
    _canonical_text(event)
    if not model_key(event.checkpoint):
        raise InvalidInput("checkpoint", f"{event.checkpoint!r} is not a model name")
    loras = event.loras
    if loras:
        keys = [lora.key for lora in loras]
        for index, key in enumerate(keys[:named_loras]):
            if not key:
                raise InvalidInput(
                    f"loras[{index}].name", f"{loras[index].name!r} is not a model name"
                )
        if len(set(keys)) != len(keys):
            first: dict[str, int] = {}
            for index, key in enumerate(keys):
                first.setdefault(key, index)
            event.loras = loras = tuple(loras[index] for index in first.values())
        if len(loras) > MAX_LORAS:
            raise InvalidInput("loras", f"at most {MAX_LORAS} LoRAs per image")
    keywords = event.keywords
    if len(set(keywords)) != len(keywords):
        event.keywords = keywords = tuple(dict.fromkeys(keywords))
    pairs = len(keywords) * len(loras)
    if pairs > MAX_KEYWORD_LORA_PAIRS:
        if not from_prompt:
            raise InvalidInput(
                "keywords",
                f"{len(keywords)} keywords x {len(loras)} LoRAs make {pairs:,} keyword-LoRA "
                f"statistics; at most {MAX_KEYWORD_LORA_PAIRS:,} per image",
            )
        event.keywords = keywords[: MAX_KEYWORD_LORA_PAIRS // len(loras)]
    moment = event.timestamp
    if moment.tzinfo is not UTC:
        event.timestamp = (
            moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        )
    return event


def _tagged(name: str, strength: float) -> Lora:
    """A LoRA of a ``<lora:name:strength>`` tag in the prompt, held to the rules of ``loras``."""
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput("prompt", f"a LoRA tag's name is over {MAX_NAME_CHARS} characters")
    if abs(strength) > MAX_STRENGTH:
        raise InvalidInput(
            "prompt", f"the LoRA tag of {name!r} has strength {strength:g}, not within ±100"
        )
    return Lora(name, strength)


def _canonical_text(event: PreferenceEvent) -> None:
    """Names, keywords and the profile id in NFC (``tastebud.names``), still within their limits
    (composing can lengthen a few rare characters, lower-casing a key a few more)."""
    if not event.checkpoint.isascii():
        event.checkpoint = _within(canonical(event.checkpoint), "checkpoint", MAX_NAME_CHARS)
        _within(model_key(event.checkpoint), "checkpoint", MAX_NAME_CHARS)
    if not event.user_id.isascii():
        event.user_id = _within(canonical(event.user_id), "user_id", MAX_ID_CHARS)
    if event.loras and not all(lora.name.isascii() for lora in event.loras):
        loras = []
        for index, lora in enumerate(event.loras):
            if not lora.name.isascii():
                name = _within(canonical(lora.name), f"loras[{index}].name", MAX_NAME_CHARS)
                _within(model_key(name), f"loras[{index}].name", MAX_NAME_CHARS)
                lora = Lora(name, lora.strength, lora.family)
            loras.append(lora)
        event.loras = tuple(loras)
    if not all(word.isascii() for word in event.keywords):
        event.keywords = tuple(
            _within(canonical(word), f"keywords[{index}]", MAX_KEYWORD_CHARS)
            for index, word in enumerate(event.keywords)
        )


def _within(text: str, field: str, limit: int) -> str:
    if len(text) > limit:
        raise InvalidInput(field, f"must be at most {limit} characters")
    return text


def with_vision(event: PreferenceEvent, description: str, words: Sequence[str]) -> PreferenceEvent:
    """The event with what a vision model saw: the description, the words as ``vision_themes``
    (which marks them as the model's), and those words among its keywords, within the limits
    (the prompt's own keywords first)."""
    usable = [
        canonical(word.lower())
        for word in words
        if word.strip() and len(word) <= MAX_KEYWORD_CHARS and not any(c.isspace() for c in word)
    ]
    seen = replace(
        event,
        vision_description=description[:MAX_TEXT_CHARS],
        vision_themes=tuple(dict.fromkeys(usable)),
        keywords=tuple(dict.fromkeys([*event.keywords, *usable]))[:MAX_KEYWORDS],
    )
    return settled(seen, from_prompt=True)


def statistics_of(event: PreferenceEvent) -> int:
    """How many statistics the event counts towards (``tastebud.learning.keys.cells``)."""
    keywords, loras = len(event.keywords), len(event.loras)
    return 2 + 2 * loras + keywords * (1 + loras)


def _action(selected: bool | None, action: Action | None) -> Action:
    if action is not None:
        if selected is not None and (action == "selected") != selected:
            raise InvalidInput("action", "disagrees with selected")
        return action
    if selected is None:
        raise InvalidInput("selected", "is required: true or false (or give action)")
    return "selected" if selected else "rejected"
