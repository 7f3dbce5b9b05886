"""The cleanup's SQL: a profile's rejected images with what every profile thinks of them, and the
record of what was moved to the trash folder (``trashed``), to put back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from tastebud.cleanup import Known, Moved
from tastebud.generations import REJECTED, event_id
from tastebud.store.ids import Lookup
from tastebud.store.queue import aware
from tastebud.store.reads import chunks
from tastebud.store.schema import generations, image_cleanup, trashed, user_preferences


def rejected_images(connection: sa.Connection, ids: Lookup, user_id: str) -> list[Known]:
    """The profile's rejected generations, each with the statuses every profile gives its
    content, and whether any profile recorded its generation id as kept."""
    profile = ids.profile_ids([user_id]).get(user_id)
    if profile is None:
        return []
    table = generations.c
    rows = connection.execute(
        sa.select(table.content_hash, table.path, table.metadata, table.reviewed_at)
        .where(table.profile_id == profile, table.status == REJECTED)
        .order_by(table.id)
    ).all()
    statuses: dict[str, set[str]] = {}
    # The latest judgement of the image in any profile: the grace period counts from it.
    latest: dict[str, datetime] = {}
    for part in chunks([row.content_hash for row in rows]):
        query = sa.select(table.content_hash, table.status, table.reviewed_at).where(
            table.content_hash.in_(part)
        )
        for content_hash, status, reviewed_at in connection.execute(query):
            statuses.setdefault(content_hash, set()).add(status)
            moment = aware(reviewed_at) if reviewed_at else None
            if moment is not None and (content_hash not in latest or moment > latest[content_hash]):
                latest[content_hash] = moment
    found = [(row, event_id(row.content_hash, json.loads(row.metadata))) for row in rows]
    kept: set[str] = set()
    described: set[str] = set()
    events = user_preferences.c
    for part in chunks([generation_id for _, generation_id in found]):
        query = sa.select(events.generation_id).where(
            events.generation_id.in_(part), events.selected.is_(True)
        )
        kept.update(connection.execute(query).scalars())
        # Kept under another id by an event naming the file (recorded over the API).
        paths = {row.path: generation_id for row, generation_id in found}
        query = sa.select(events.image_path).where(
            events.image_path.in_(
                [row.path for row, generation_id in found if generation_id in part]
            ),
            events.selected.is_(True),
        )
        kept.update(paths[path] for path in connection.execute(query).scalars() if path in paths)
        query = sa.select(events.generation_id).where(
            events.generation_id.in_(part),
            events.profile_id == profile,
            events.vision_description.is_not(None),
        )
        described.update(connection.execute(query).scalars())
    return [
        Known(
            row.content_hash, row.path, generation_id,
            latest.get(row.content_hash, aware(row.reviewed_at) if row.reviewed_at else None),
            frozenset(statuses.get(row.content_hash, ())), generation_id in kept,
            generation_id in described,
        )
        for row, generation_id in found
    ]  # fmt: skip


def record_moves(
    connection: sa.Connection,
    ids: Lookup,
    user_id: str,
    batch_id: str,
    moved: Sequence[Moved],
    now: datetime,
) -> None:
    """Keep what was moved, to put back; the seed's ``image_cleanup`` marks them deleted."""
    if not moved:
        return
    profile = ids.profile_ids([user_id], create=True)[user_id]
    connection.execute(
        trashed.insert(),
        [
            {
                "batch_id": batch_id, "profile_id": profile, "content_hash": item.content_hash,
                "generation_id": item.generation_id, "original_path": item.original_path,
                "trash_path": item.trash_path, "size": item.size, "moved_at": now,
            }
            for item in moved
        ],
    )  # fmt: skip
    _mark(connection, profile, [item.generation_id for item in moved], deleted=True)


def last_batch(
    connection: sa.Connection, ids: Lookup, user_id: str
) -> tuple[str | None, list[tuple[int, str, str, str]]]:
    """The profile's latest cleanup with files still in the trash: its id and, per file, (row
    id, original path, trash path, generation id)."""
    profile = ids.profile_ids([user_id]).get(user_id)
    if profile is None:
        return None, []
    table = trashed.c
    latest = connection.execute(
        sa.select(table.batch_id)
        .where(table.profile_id == profile, table.restored_at.is_(None))
        .order_by(table.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is None:
        return None, []
    rows = connection.execute(
        sa.select(table.id, table.original_path, table.trash_path, table.generation_id)
        .where(table.profile_id == profile, table.batch_id == latest, table.restored_at.is_(None))
        .order_by(table.id)
    ).all()
    return latest, [(row.id, row.original_path, row.trash_path, row.generation_id) for row in rows]


def mark_restored(
    connection: sa.Connection,
    ids: Lookup,
    user_id: str,
    restored: Sequence[tuple[int, str]],
    now: datetime,
) -> None:
    """The files put back: (row id, generation id) each."""
    profile = ids.profile_ids([user_id]).get(user_id)
    if profile is None or not restored:
        return
    for part in chunks([row_id for row_id, _ in restored]):
        connection.execute(trashed.update().where(trashed.c.id.in_(part)).values(restored_at=now))
    _mark(connection, profile, [generation_id for _, generation_id in restored], deleted=False)


def _mark(
    connection: sa.Connection, profile: int, generation_ids: list[str], *, deleted: bool
) -> None:
    table = image_cleanup.c
    for part in chunks(generation_ids):
        connection.execute(
            image_cleanup.update()
            .where(table.profile_id == profile, table.generation_id.in_(part))
            .values(deleted=deleted)
        )
