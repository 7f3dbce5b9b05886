"""Writes: events in, statistics moved by the difference, all in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tastebud.events import PreferenceEvent
from tastebud.learning.keys import cells, tally
from tastebud.store import locks
from tastebud.store.cells import STAT_CODES
from tastebud.store.ids import Lookup, insert_for
from tastebud.store.reads import chunks, stored_events
from tastebud.store.rows import EVENT_COLUMNS, DriverInsert, event_row
from tastebud.store.schema import image_cleanup, preference_stats, user_preferences


@dataclass
class WriteSummary:
    """What a write did with the events it was given."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    kept_newer: int = 0
    """Events not applied because the stored one with that generation id is newer (imports)."""


class Writer:
    """The write side of a repository, with its statements compiled once per database."""

    def __init__(self, postgres: bool) -> None:
        self._postgres = postgres
        self._upsert: str | None = None
        self._insert_new: DriverInsert | None = None
        self._bulk_insert: DriverInsert | None = None

    def record(
        self,
        connection: sa.Connection,
        ids: Lookup,
        latest: dict[tuple[str, str], PreferenceEvent],
        newer_wins: bool,
        *,
        keep_stored: bool = False,
    ) -> WriteSummary:
        """Store the events (one per generation id) and move their statistics; see Repository.
        With ``keep_stored``, an event already stored under a generation id stays as it is."""
        summary = WriteSummary()
        profile_ids = ids.profile_ids({user for user, _ in latest}, create=True)
        self._lock(connection, profile_ids, latest)
        if len(latest) == 1 and self._insert_if_new(connection, ids, profile_ids, latest):
            return WriteSummary(added=1)
        stored = stored_events(connection, ids, profile_ids, latest)
        inserts: list[PreferenceEvent] = []
        updates: list[tuple[int, PreferenceEvent]] = []
        removed: list[PreferenceEvent] = []
        for place, event in latest.items():
            if place not in stored:
                inserts.append(event)
                continue
            row_id, old = stored[place]
            if keep_stored or same_event(old, event):
                summary.unchanged += 1
            elif newer_wins and old.timestamp > event.timestamp:
                summary.kept_newer += 1
            else:
                updates.append((row_id, event))
                removed.append(old)
        summary.added, summary.replaced = len(inserts), len(updates)
        added = inserts + [event for _, event in updates]
        if not added:
            return summary
        names = save_names(ids, added, removed)
        checkpoints, loras = names["checkpoint"], names["lora"]

        def row(event: PreferenceEvent) -> tuple[Any, ...]:
            return event_row(
                event, profile_ids[event.user_id], checkpoints[event.checkpoint_key], loras
            )

        if inserts:
            if self._bulk_insert is None:
                self._bulk_insert = DriverInsert(connection.dialect)
            self._bulk_insert.run(connection, [row(event) for event in inserts])
        if updates:
            connection.execute(
                user_preferences.update()
                .where(user_preferences.c.id == sa.bindparam("row_id"))
                .values({name: sa.bindparam(name) for name in EVENT_COLUMNS}),
                [
                    {"row_id": row_id, **dict(zip(EVENT_COLUMNS, row(event), strict=True))}
                    for row_id, event in updates
                ],
            )
        self.apply(connection, statistic_moves(removed, added, names, profile_ids))
        _track_cleanup(connection, ids.dialect_name, profile_ids, removed, added)
        return summary

    def _lock(
        self,
        connection: sa.Connection,
        profile_ids: Mapping[str, int],
        images: Iterable[tuple[str, str]],
    ) -> None:
        if self._postgres:  # SQLite has one writer at a time
            locks.lock_images(connection, profile_ids, images)

    def lock_profile(self, connection: sa.Connection, profile: int) -> None:
        """On PostgreSQL, hold the profile's lock alone (its writers wait) until the end."""
        if self._postgres:
            locks.lock_profile(connection, profile)

    def lock_everything(self, connection: sa.Connection) -> None:
        """On PostgreSQL, ``locks.lock_everything``: a repair's lock."""
        if self._postgres:
            locks.lock_everything(connection)

    def _insert_if_new(
        self,
        connection: sa.Connection,
        ids: Lookup,
        profile_ids: Mapping[str, int],
        latest: dict[tuple[str, str], PreferenceEvent],
    ) -> bool:
        """Record one event in a single INSERT when its generation id is new; False if stored.

        The common case of a host app reporting a fresh image, without a look-up first.
        """
        (event,) = latest.values()
        names = save_names(ids, [event], [])
        row = event_row(
            event, profile_ids[event.user_id], names["checkpoint"][event.checkpoint_key],
            names["lora"],
        )  # fmt: skip
        if self._insert_new is None:
            self._insert_new = DriverInsert(connection.dialect, if_new=True)
        if not self._insert_new.run_one(connection, row):
            return False
        self.apply(connection, statistic_moves([], [event], names, profile_ids))
        _track_cleanup(connection, ids.dialect_name, profile_ids, [], [event])
        return True

    def delete(
        self, connection: sa.Connection, ids: Lookup, user_id: str, generation_ids: Iterable[str]
    ) -> list[PreferenceEvent]:
        """Remove the events (undo a mis-click); returns the events removed."""
        profile_ids = ids.profile_ids([user_id])
        if user_id not in profile_ids:
            return []
        wanted = [(user_id, generation_id) for generation_id in generation_ids]
        self._lock(connection, profile_ids, wanted)
        stored = stored_events(connection, ids, profile_ids, wanted)
        if not stored:
            return []
        row_ids = [row_id for row_id, _ in stored.values()]
        events = [event for _, event in stored.values()]
        for chunk in chunks(row_ids):
            connection.execute(user_preferences.delete().where(user_preferences.c.id.in_(chunk)))
        names = save_names(ids, [], events)
        self.apply(connection, statistic_moves(events, [], names, profile_ids))
        _track_cleanup(connection, ids.dialect_name, profile_ids, events, [])
        return events

    def rebuild(
        self, connection: sa.Connection, ids: Lookup, events: Sequence[PreferenceEvent]
    ) -> None:
        """Replace every statistic with a count of ``events``."""
        connection.execute(preference_stats.delete())
        profile_ids = ids.profile_ids({event.user_id for event in events})
        self.apply(
            connection, statistic_moves([], events, save_names(ids, events, []), profile_ids)
        )

    def apply(self, connection: sa.Connection, moves: Moves) -> None:
        if not moves:
            return
        if self._upsert is None:
            self._upsert = _stats_upsert(connection)
        # On PostgreSQL, sorted: two transactions touching the same cells then lock them in the
        # same order instead of deadlocking. SQLite has one writer at a time, and sorting costs
        # it more than it saves.
        rows = [(*place, selected, total) for place, (selected, total) in moves.items()]
        if self._postgres:
            rows.sort()
            # One statement of six arrays, not one execution per row: the ~40 executions of a
            # recording cost PostgreSQL more than the rest of its work together.
            for part in chunks(rows, ARRAY_ROWS):
                connection.exec_driver_sql(_POSTGRES_UPSERT, tuple(map(list, zip(*part))))
        else:
            # The hottest statement of a recording (one row per cell, ~40 per event): sent as
            # plain tuples to the driver, which skips SQLAlchemy's per-row parameter processing.
            connection.exec_driver_sql(self._upsert, rows)
        emptied = [row for row in rows if row[5] < 0]
        if emptied:
            remove_emptied(connection, emptied)


def remove_emptied(connection: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """A statistic whose last event left is removed, as if it had never been counted (``rows``
    lead with stat type, key1, key2, profile)."""
    if connection.dialect.name == "postgresql":
        # Four arrays in one statement: a changed mind empties ~40 statistics, and as many
        # executions cost the server more Python than the rest of the recording.
        for part in chunks(rows, ARRAY_ROWS):
            places = list(zip(*(row[:4] for row in part)))
            connection.exec_driver_sql(_POSTGRES_REMOVE_EMPTIED, tuple(map(list, places)))
        return
    table = preference_stats.c
    connection.execute(
        preference_stats.delete().where(
            table.stat_type == sa.bindparam("s"),
            table.key1 == sa.bindparam("k1"),
            table.key2 == sa.bindparam("k2"),
            table.profile_id == sa.bindparam("p"),
            table.total_count <= 0,
        ),
        [{"s": s, "k1": k1, "k2": k2, "p": p} for s, k1, k2, p, *_ in rows],
    )


ARRAY_ROWS = 50_000
"""Statistics per PostgreSQL upsert statement (a rebuild moves millions)."""
# unnest keeps the arrays' order, so the rows are locked in the sorted order ``apply`` gives.
_POSTGRES_UPSERT = """
INSERT INTO preference_stats (stat_type, key1, key2, profile_id, selected_count, total_count)
SELECT * FROM unnest($1::smallint[], $2::int[], $3::int[], $4::int[], $5::int[], $6::int[])
ON CONFLICT (stat_type, key1, key2, profile_id) DO UPDATE SET
    selected_count = preference_stats.selected_count + excluded.selected_count,
    total_count = preference_stats.total_count + excluded.total_count
"""

# The rows are locked in the sorted order the upserts lock them in: outside a transaction (a
# single-statement recording) two of these removing the same rows could otherwise deadlock.
_POSTGRES_REMOVE_EMPTIED = """
DELETE FROM preference_stats WHERE total_count <= 0 AND ctid = ANY(ARRAY(
    SELECT stats.ctid FROM preference_stats AS stats
    JOIN unnest($1::smallint[], $2::int[], $3::int[], $4::int[]) AS emptied(s, k1, k2, p)
        ON (stats.stat_type, stats.key1, stats.key2, stats.profile_id)
            = (emptied.s, emptied.k1, emptied.k2, emptied.p)
    WHERE stats.total_count <= 0
    ORDER BY stats.stat_type, stats.key1, stats.key2, stats.profile_id
    FOR UPDATE OF stats
))
"""


def _stats_upsert(connection: sa.Connection) -> str:
    """The statistics upsert compiled for this database, taking rows in ``Moves`` order."""
    insert = insert_for(connection.dialect.name, preference_stats)
    table = preference_stats.c
    statement = insert.values(
        {name: sa.bindparam(name) for name in (
            "stat_type", "key1", "key2", "profile_id", "selected_count", "total_count")}
    ).on_conflict_do_update(
        index_elements=[table.stat_type, table.key1, table.key2, table.profile_id],
        set_={
            "selected_count": table.selected_count + insert.excluded.selected_count,
            "total_count": table.total_count + insert.excluded.total_count,
        },
    )  # fmt: skip
    compiled = statement.compile(dialect=connection.dialect)
    # Both drivers take positional parameters, in the order of the values above.
    assert tuple(compiled.positiontup or ()) == (
        "stat_type", "key1", "key2", "profile_id", "selected_count", "total_count",
    )  # fmt: skip
    return str(compiled)


def save_names(
    ids: Lookup, added: Sequence[PreferenceEvent], removed: Sequence[PreferenceEvent]
) -> dict[str, dict[str, int]]:
    """name -> id per kind for every keyword, checkpoint and LoRA of the events."""
    checkpoints: dict[str, tuple[str, str | None]] = {}
    loras: dict[str, tuple[str, str | None]] = {}
    words: set[str] = set()
    for event in removed:
        words.update(event.keywords)
    old_checkpoints = {event.checkpoint_key for event in removed}
    old_loras = {lora.key for event in removed for lora in event.loras}
    for event in added:
        checkpoints[event.checkpoint_key] = (event.checkpoint, event.model_family)
        for lora in event.loras:
            loras[lora.key] = (lora.name, lora.family)
        words.update(event.keywords)
    return {
        "checkpoint": {
            **ids.model_ids("checkpoint", old_checkpoints),
            **ids.save_models("checkpoint", checkpoints),
        },
        "lora": {**ids.model_ids("lora", old_loras), **ids.save_models("lora", loras)},
        "keyword": ids.keyword_ids(words, create=True),
    }


Moves = dict[tuple[int, int, int, int], tuple[int, int]]
"""(stat code, key1 id, key2 id, profile id) -> how much (selected, total) move."""


def statistic_moves(
    removed: Sequence[PreferenceEvent],
    added: Sequence[PreferenceEvent],
    names: Mapping[str, Mapping[str, int]],
    profile_ids: Mapping[str, int],
) -> Moves:
    """How the stored statistics move when ``removed`` events leave and ``added`` ones arrive."""
    keyword_ids, checkpoint_ids, lora_ids = names["keyword"], names["checkpoint"], names["lora"]
    keyword_id, lora_id = keyword_ids.__getitem__, lora_ids.__getitem__
    judged = [
        (
            sign,
            profile_ids[event.user_id],
            list(map(keyword_id, event.keywords)),  # map: the hot loop of an import, run in C
            checkpoint_ids[event.checkpoint_key],
            [lora_id(lora.key) for lora in event.loras],
            event.selected,
        )
        for sign, events in ((-1, removed), (1, added))
        for event in events
    ]
    if len(judged) > 1:
        return tally(judged, STAT_CODES, 0)
    # One image (a recording): its cells directly, without tally's buckets.
    ((sign, profile, keywords, checkpoint, loras, selected),) = judged
    return {
        (*cell, profile): (sign if selected else 0, sign)
        for cell in cells(keywords, checkpoint, loras, 0, STAT_CODES)
    }


def _track_cleanup(
    connection: sa.Connection,
    dialect: str,
    profile_ids: Mapping[str, int],
    removed: Sequence[PreferenceEvent],
    added: Sequence[PreferenceEvent],
) -> None:
    # The seed's image_cleanup: rejected images with a path wait there for vision analysis and
    # deletion; an image whose rejection is undone leaves the list.
    table = image_cleanup.c
    for event in removed:
        if not event.selected and event.image_path:
            connection.execute(
                image_cleanup.delete().where(
                    table.profile_id == profile_ids[event.user_id],
                    table.generation_id == event.generation_id,
                )
            )
    waiting = [event for event in added if not event.selected and event.image_path]
    if waiting:
        connection.execute(
            insert_for(dialect, image_cleanup).on_conflict_do_nothing(),
            [
                {
                    "profile_id": profile_ids[event.user_id],
                    "generation_id": event.generation_id,
                    "image_path": event.image_path,
                    "vision_analyzed": event.vision_description is not None,
                    "deleted": False,
                    "created_at": event.timestamp,
                }
                for event in waiting
            ],
        )


def same_event(old: PreferenceEvent, new: PreferenceEvent) -> bool:
    # The same judgement sent again (a retry, a re-import) is no change, whatever its timestamp.
    first, second = old.to_dict(), new.to_dict()
    for found in (first, second):
        found.pop("timestamp")
        # A LoRA's family is kept on the LoRA, not the event: an event sent again without it
        # (or after another event named it) is the same judgement.
        for lora in found["loras"]:
            lora.pop("family", None)
    return first == second
