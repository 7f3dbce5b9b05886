"""A judged batch: the images a person was shown and what they did with them.

A host app shows a batch of generations and the person either keeps some and clicks "Advance"
(the kept images are selected, the rest are rejected implicitly) or clicks "Reject all" (every
image rejected, with an optional reason). ``judged_events`` turns that outcome into one event per
image.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Required

from pydantic import ConfigDict, Field, ValidationError
from typing_extensions import TypedDict

from tastebud.errors import InvalidInput
from tastebud.events import EventInput, Id, PreferenceEvent, Stage, Text, UserId, event_from, rule
from tastebud.problems import invalid_input

Outcome = Literal["advance", "reject_all"]
MAX_BATCH_IMAGES = 1_000


class BatchInput(TypedDict, total=False):
    """The outcome of one judged batch, as a host app sends it."""

    __pydantic_config__ = ConfigDict(extra="forbid", coerce_numbers_to_str=True)  # type: ignore[misc]

    images: Required[
        Annotated[
            list[EventInput],
            Field(
                min_length=1,
                max_length=MAX_BATCH_IMAGES,
                description="Every image shown, each with its generation_id, prompt, checkpoint, "
                "LoRAs and the rest; not 'selected' or 'action', which the outcome decides.",
            ),
        ]
    ]
    outcome: Required[
        Annotated[
            Outcome,
            Field(
                description="'advance': the selected images were kept and the rest are rejected "
                "implicitly. 'reject_all': every image is rejected."
            ),
        ]
    ]
    selected: Annotated[
        list[Id] | None,
        Field(description="The generation ids kept (advance only).", max_length=MAX_BATCH_IMAGES),
    ]
    feedback: Annotated[
        Text | None, Field(description="Why, in the person's words; stored with each image.")
    ]
    session_id: Annotated[Id | None, Field(description="For images that do not name one.")]
    batch_id: Annotated[Id | None, Field(description="For images that do not name one.")]
    stage: Annotated[Stage | None, Field(description="For images that do not name one.")]
    user_id: Annotated[UserId | None, Field(description="The profile ('default' if absent).")]


def check_batch(fields: Any) -> BatchInput:
    """A judged batch held to ``BatchInput``'s rules; raises ``InvalidInput``."""
    try:
        given: BatchInput = rule(BatchInput).validate_python(fields)
    except ValidationError as error:
        raise invalid_input(error, whole="batch") from None
    return given


def judged_events(given: BatchInput) -> list[PreferenceEvent]:
    """One event per image of a batch checked as ``BatchInput``; raises ``InvalidInput`` for
    the rules between its fields, naming the image (``images[3].generation_id``).

    Every image needs its ``generation_id``: that is what ``selected`` names, and what makes
    posting the same batch twice record it once.
    """
    images = given["images"]
    advance = given["outcome"] == "advance"
    kept = given.get("selected") or []
    kept_ids = set(kept)
    ids: list[str] = []
    seen: set[str] = set()
    for index, image in enumerate(images):
        for decided in ("selected", "action"):
            if image.get(decided) is not None:
                raise InvalidInput(
                    f"images[{index}].{decided}",
                    "is decided by the batch's outcome and selected ids; leave it out",
                )
        generation_id = image.get("generation_id")
        if not generation_id:
            raise InvalidInput(f"images[{index}].generation_id", "is required in a batch")
        if generation_id in seen:
            raise InvalidInput(
                f"images[{index}].generation_id", f"{generation_id!r} is in the batch twice"
            )
        ids.append(generation_id)
        seen.add(generation_id)
    if advance and not kept:
        raise InvalidInput("selected", "names no image: to keep none, use outcome 'reject_all'")
    if not advance and kept:
        raise InvalidInput("selected", "must be empty when the outcome is 'reject_all'")
    for index, generation_id in enumerate(kept):
        if generation_id not in seen:
            raise InvalidInput(f"selected[{index}]", f"{generation_id!r} is not in the batch")
    shared: dict[str, Any] = {
        name: given.get(name) for name in ("feedback", "session_id", "batch_id", "stage", "user_id")
    }
    shared = {name: value for name, value in shared.items() if value is not None}
    events = []
    for index, (image, generation_id) in enumerate(zip(images, ids, strict=True)):
        chosen = generation_id in kept_ids
        fields: Any = {
            **shared,
            **{name: value for name, value in image.items() if value is not None},
            "selected": chosen,
            "implicit": advance and not chosen,
        }
        try:
            events.append(event_from(fields))
        except InvalidInput as error:
            raise error.within(f"images[{index}]") from None
    return events
