"""The review queue's SQL: generations found by imports and watches, and their status."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tastebud.generations import UNREVIEWED, Generation, QueueFilter
from tastebud.store.ids import Lookup, insert_for
from tastebud.store.reads import chunks, profiles_by_id
from tastebud.store.schema import generations
from tastebud.style import from_text

_table = generations.c


@dataclass(frozen=True)
class Known:
    """A generation already stored: its row id and status."""

    id: int
    status: str
    path: str


def known(
    connection: sa.Connection, ids: Lookup, user_id: str, hashes: Iterable[str]
) -> dict[str, Known]:
    """content hash -> the stored generation, for the hashes this profile has."""
    profile = ids.profile_ids([user_id]).get(user_id)
    found: dict[str, Known] = {}
    if profile is None:
        return found
    for part in chunks(list(hashes)):
        query = sa.select(_table.content_hash, _table.id, _table.status, _table.path).where(
            _table.profile_id == profile, _table.content_hash.in_(part)
        )
        for content_hash, id_, status, path in connection.execute(query):
            found[content_hash] = Known(id_, status, path)
    return found


def follow_files(
    connection: sa.Connection,
    ids: Lookup,
    user_id: str,
    seen: Sequence[Generation],
    stored: dict[str, Known],
) -> None:
    """Where each of ``seen`` was found is where its file is now.

    A known image found at another path was moved or renamed (a host app writes ``tmp_1.png``
    and renames it): its generation follows. A generation whose path now holds other content
    was overwritten: it keeps its history and loses its file (an empty path), so that its image
    is never the other one's bytes.
    """
    profile = ids.profile_ids([user_id]).get(user_id)
    if profile is None or not seen:
        return
    where = {item.path: item.content_hash for item in seen}
    for part in chunks(sorted(where)):
        stale = sa.select(_table.id, _table.path, _table.content_hash).where(
            _table.profile_id == profile, _table.path.in_(part)
        )
        overwritten = [id_ for id_, path, held in connection.execute(stale) if where[path] != held]
        if overwritten:
            connection.execute(
                generations.update().where(_table.id.in_(overwritten)).values(path="")
            )
    moves = [
        {"row": known.id, "new_path": path}
        for path, content_hash in where.items()
        if (known := stored.get(content_hash)) is not None and known.path != path
    ]
    if moves:
        connection.execute(
            generations.update()
            .where(_table.id == sa.bindparam("row"))
            .values(path=sa.bindparam("new_path")),
            moves,
        )


def add(
    connection: sa.Connection, ids: Lookup, user_id: str, new: Sequence[Generation], now: datetime
) -> dict[str, int]:
    """Store new generations (their hashes are not stored yet); content hash -> row id."""
    if not new:
        return {}
    profile = ids.profile_ids([user_id], create=True)[user_id]
    rows = [
        {
            "profile_id": profile,
            "content_hash": item.content_hash,
            "path": item.path,
            "metadata": json.dumps(item.metadata, ensure_ascii=False, separators=(",", ":")),
            "made_at": item.made_at,
            "seen_at": now,
            "status": item.status,
            "reviewed_at": None if item.status == UNREVIEWED else (item.reviewed_at or now),
            "style": None if item.style is None else item.style.to_text(),
        }
        for item in new
    ]
    # Two imports of one folder at once: the second finds the first's rows and leaves them.
    insert = insert_for(ids.dialect_name, generations).on_conflict_do_nothing()
    for part in chunks(rows):
        connection.execute(insert, list(part))
    return {
        content_hash: entry.id
        for content_hash, entry in known(
            connection, ids, user_id, [item.content_hash for item in new]
        ).items()
    }


def set_status(
    connection: sa.Connection, row_ids: Sequence[int], status: str, now: datetime | None
) -> None:
    for part in chunks(list(row_ids)):
        connection.execute(
            generations.update()
            .where(_table.id.in_(part))
            .values(status=status, reviewed_at=None if status == UNREVIEWED else now)
        )


def by_ids(
    connection: sa.Connection, ids: Lookup, user_id: str, row_ids: Sequence[int]
) -> dict[int, Generation]:
    """This profile's generations among ``row_ids``, by row id."""
    profile = ids.profile_ids([user_id]).get(user_id)
    found: dict[int, Generation] = {}
    if profile is None:
        return found
    # A row id is a 32-bit integer on both databases: any other number names no generation
    # (and PostgreSQL would refuse to compare it, SQLite's driver to send one past 2**63).
    possible = [row_id for row_id in row_ids if 0 < row_id < 2**31]
    for part in chunks(possible):
        query = sa.select(generations).where(_table.profile_id == profile, _table.id.in_(part))
        for row in connection.execute(query):
            found[row.id] = _generation(row, user_id)
    return found


@dataclass(frozen=True)
class QueuePage:
    """One page of generations, oldest first, and where the next page starts."""

    generations: list[Generation]
    total: int
    next_cursor: int | None


def page(
    connection: sa.Connection,
    ids: Lookup,
    user_id: str | None,
    status: str | None,
    limit: int,
    after: int | None,
) -> QueuePage:
    """The first ``limit`` generations above row ``after`` with the status, in the order found."""
    conditions: list[sa.ColumnElement[bool]] = []
    if user_id is not None:
        profile = ids.profile_ids([user_id]).get(user_id)
        if profile is None:
            return QueuePage([], 0, None)
        conditions.append(_table.profile_id == profile)
    if status is not None:
        conditions.append(_table.status == status)
    total = connection.execute(
        sa.select(sa.func.count()).select_from(generations).where(*conditions)
    ).scalar_one()
    query = sa.select(generations).where(*conditions)
    if after is not None:
        query = query.where(_table.id > after)
    rows = connection.execute(query.order_by(_table.id).limit(limit + 1)).all()
    users = profiles_by_id(connection)
    found = [_generation(row, users[row.profile_id]) for row in rows[:limit]]
    next_cursor = found[-1].id if len(rows) > limit and found else None
    return QueuePage(found, total, next_cursor)


def filtered(
    connection: sa.Connection,
    ids: Lookup,
    user_id: str,
    status: str | None,
    chosen: QueueFilter,
) -> list[Generation]:
    """The profile's generations with the status that pass the filter, in the order found.

    The folder and dates are conditions of the query; the checkpoint and LoRA are read from
    each generation's metadata (JSON text, read alike on both databases).
    """
    profile = ids.profile_ids([user_id]).get(user_id)
    if profile is None:
        return []
    query = sa.select(generations).where(_table.profile_id == profile).order_by(_table.id)
    if status is not None:
        query = query.where(_table.status == status)
    if chosen.folder:
        # Paths are stored resolved, with this system's separator; "/" alone is the root.
        folder = chosen.folder.rstrip("/\\") or chosen.folder
        inside = folder if folder.endswith(("/", "\\")) else folder + os.sep
        query = query.where(_table.path.startswith(inside, autoescape=True))
    if chosen.since is not None:
        query = query.where(_table.made_at >= chosen.since)
    if chosen.until is not None:
        query = query.where(_table.made_at < chosen.until)
    found = (_generation(row, user_id) for row in connection.execute(query))
    return [item for item in found if chosen.takes(item)]


def counts(connection: sa.Connection, ids: Lookup, user_id: str) -> dict[str, int]:
    """How many of this profile's generations have each status."""
    profile = ids.profile_ids([user_id]).get(user_id)
    if profile is None:
        return {}
    query = (
        sa.select(_table.status, sa.func.count())
        .where(_table.profile_id == profile)
        .group_by(_table.status)
    )
    return {status: count for status, count in connection.execute(query)}


def every_generation(
    connection: sa.Connection, ids: Lookup, user_id: str | None
) -> list[Generation]:
    """The review queue of one profile (of all with None), judged and not, in the order found."""
    query = sa.select(generations).order_by(_table.id)
    if user_id is not None:
        profile = ids.profile_ids([user_id]).get(user_id)
        if profile is None:
            return []
        query = query.where(_table.profile_id == profile)
    users = profiles_by_id(connection)
    return [_generation(row, users[row.profile_id]) for row in connection.execute(query)]


def _generation(row: Any, user_id: str) -> Generation:
    return Generation(
        content_hash=row.content_hash,
        path=row.path,
        metadata=json.loads(row.metadata),
        made_at=aware(row.made_at),
        status=row.status,
        user_id=user_id,
        id=row.id,
        seen_at=aware(row.seen_at),
        reviewed_at=aware(row.reviewed_at) if row.reviewed_at else None,
        style=from_text(row.style) if row.style else None,
    )


def aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
