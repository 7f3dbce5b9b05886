"""Export documents as an import reads them: their events and (from version 1.1) review queue.

The events of an export are in their export form (``PreferenceEvent.to_dict``) and are held to
the same rules as recorded ones; statistics in the document are ignored (they are recomputed).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Required

from pydantic import ConfigDict, Strict, StringConstraints, ValidationError
from typing_extensions import TypedDict  # pydantic reads TypedDicts from here before 3.12

from tastebud.errors import InvalidInput
from tastebud.events import ImagePath, PreferenceEvent, UserId, check_user_id, rule, settled
from tastebud.generations import Generation
from tastebud.names import canonical
from tastebud.problems import invalid_input
from tastebud.style import Style

EXPORT_VERSION = "1.1"  # 1.1 carries the review queue (generations); 1.0 still imports


class GenerationInput(TypedDict, total=False):
    """An image of the review queue as an export carries it (``Generation.to_dict``)."""

    __pydantic_config__ = ConfigDict(extra="ignore")  # type: ignore[misc]

    content_hash: Required[Annotated[str, Strict(), StringConstraints(pattern=r"^[0-9a-f]{64}$")]]
    path: Required[ImagePath]
    status: Required[Literal["unreviewed", "selected", "rejected"]]
    metadata: Required[dict[str, Any]]
    made_at: Required[datetime]
    reviewed_at: datetime | None
    user_id: UserId | None
    style: Style | None


class ExportInput(TypedDict, total=False):
    """An export document as read for an import: its version, events and (from version 1.1)
    review queue; the rest (the statistics) is ignored.

    Each event is in the export form (``PreferenceEvent.to_dict``): ``prompt``, ``checkpoint``,
    ``action`` and ``generation_id`` are required, the rest have defaults.
    """

    __pydantic_config__ = ConfigDict(extra="ignore")  # type: ignore[misc]

    version: Required[Annotated[str, Strict()]]
    preferences: Required[list[PreferenceEvent]]
    generations: list[GenerationInput]


def events_from_export(
    document: Mapping[str, Any] | bytes | str, *, user_id: str | None = None
) -> tuple[list[PreferenceEvent], list[Generation]]:
    """The events and review queue of an export document (parsed, or its JSON text), all
    checked.

    Raises ``InvalidInput`` naming the place (``preferences[12].loras[0].strength``). JSON text
    is parsed, checked and turned into events in one pass, without building the document in
    Python first. ``user_id`` moves every event and generation into that profile.
    """
    try:
        if isinstance(document, bytes | str):
            parsed: ExportInput = rule(ExportInput).validate_json(document)
        elif isinstance(document, Mapping):
            parsed = rule(ExportInput).validate_python(document)
        else:
            raise InvalidInput("document", "must be a JSON object with 'version' and 'preferences'")
    except ValidationError as error:
        raise invalid_input(error, whole="document") from None
    version = parsed["version"]
    if version.split(".")[0] != EXPORT_VERSION.split(".")[0]:
        raise InvalidInput("version", f"must be {EXPORT_VERSION!r}, not {version!r}")
    if user_id is not None:
        user_id = check_user_id(user_id)
    events = parsed["preferences"]
    for index, event in enumerate(events):
        if user_id is not None:
            event.user_id = user_id
        try:
            settled(event)  # an exported event lists the prompt's LoRA tags among its LoRAs
        except InvalidInput as error:
            raise error.within(f"preferences[{index}]") from None
    queue = [
        Generation(
            content_hash=given["content_hash"], path=given["path"], metadata=given["metadata"],
            made_at=_in_utc(given["made_at"]), status=given["status"],
            user_id=user_id or canonical(given.get("user_id") or "default"),
            reviewed_at=_in_utc(reviewed) if (reviewed := given.get("reviewed_at")) else None,
            style=given.get("style"),
        )
        for given in parsed.get("generations", [])
    ]  # fmt: skip
    return events, queue


def _in_utc(moment: datetime) -> datetime:
    """A time in UTC, a naive one taken as UTC (as the seed writes them)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
