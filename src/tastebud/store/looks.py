"""The SQL of what tastebud reads from the image files after recording: their look (the style
pass, ``tastebud.importers.styles``) and a vision model's description (``tastebud.describing``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from tastebud.generations import event_id
from tastebud.store.ids import Lookup
from tastebud.store.schema import generations, profiles, user_preferences
from tastebud.style import Style, from_text

_table = generations.c


@dataclass(frozen=True)
class Unstyled:
    """A generation whose style is not read yet: where its file is, and its event's id."""

    id: int
    profile_id: int
    path: str
    generation_id: str


def unstyled(connection: sa.Connection, limit: int, after: int = 0) -> list[Unstyled]:
    """Up to ``limit`` generations (of every profile) above row ``after`` whose style the style
    pass has not read, oldest first."""
    query = (
        sa.select(_table.id, _table.profile_id, _table.path, _table.content_hash, _table.metadata)
        .where(_table.style.is_(None), _table.id > after)
        .order_by(_table.id)
        .limit(limit)
    )
    return [
        Unstyled(
            row.id, row.profile_id, row.path,
            event_id(row.content_hash, json.loads(row.metadata)),
        )
        for row in connection.execute(query)
    ]  # fmt: skip


def set_styles(connection: sa.Connection, found: Sequence[tuple[Unstyled, Style | None]]) -> None:
    """Store the styles read, on each generation and on its event where it has one (judged
    before its style was read); None marks a file whose pixels could not be read."""
    if not found:
        return
    connection.execute(
        generations.update()
        .where(_table.id == sa.bindparam("row"))
        .values(style=sa.bindparam("text")),
        [
            {"row": item.id, "text": "" if style is None else style.to_text()}
            for item, style in found
        ],
    )
    events = user_preferences.c
    judged = [
        {"profile": item.profile_id, "generation": item.generation_id, "text": style.to_text()}
        for item, style in found
        if style is not None
    ]
    if judged:
        connection.execute(
            user_preferences.update()
            .where(
                events.profile_id == sa.bindparam("profile"),
                events.generation_id == sa.bindparam("generation"),
                events.style.is_(None),
            )
            .values(style=sa.bindparam("text")),
            judged,
        )


def judged_styles(connection: sa.Connection, ids: Lookup, user_id: str) -> list[tuple[bool, Style]]:
    """(selected, style) of the profile's events whose image's style is known."""
    profile = ids.profile_ids([user_id]).get(user_id)
    if profile is None:
        return []
    table = user_preferences.c
    query = sa.select(table.selected, table.style).where(
        table.profile_id == profile, table.style.is_not(None)
    )
    return [(bool(selected), from_text(text)) for selected, text in connection.execute(query)]


def undescribed(
    connection: sa.Connection, limit: int, after: int
) -> list[tuple[int, str, str, str]]:
    """Judged images not described by the vision model yet, of every profile, above event row
    ``after``: (row id, profile, generation id, image path) each, oldest first."""
    table = user_preferences.c
    query = (
        sa.select(table.id, profiles.c.user_id, table.generation_id, table.image_path)
        .join(profiles, profiles.c.id == table.profile_id)
        .where(table.vision_description.is_(None), table.image_path.is_not(None), table.id > after)
        .order_by(table.id)
        .limit(limit)
    )
    return [(row[0], row[1], row[2], row[3]) for row in connection.execute(query)]
