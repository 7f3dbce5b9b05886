"""Writes: events in, statistics moved by the difference, all in the caller's transaction."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tastebud.events import PreferenceEvent
from tastebud.learning.keys import cells, tally
from tastebud.store.cells import STAT_CODES
from tastebud.store.ids import Lookup, insert_for
from tastebud.store.reads import chunks, stored_events
from tastebud.store.rows import EVENT_COLUMNS, DriverInsert, event_row, row_event
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
        self._at_once: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._values: DriverInsert | None = None
        self._insert_new: DriverInsert | None = None
        self._bulk_insert: DriverInsert | None = None

    def record(
        self,
        connection: sa.Connection,
        ids: Lookup,
        latest: dict[tuple[str, str], PreferenceEvent],
        newer_wins: bool,
    ) -> WriteSummary:
        """Store the events (one per generation id) and move their statistics; see Repository."""
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
            if _same_event(old, event):
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
        names = _save_names(ids, added, removed)
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
        self.apply(connection, _moves(removed, added, names, profile_ids))
        _track_cleanup(connection, ids.dialect_name, profile_ids, removed, added)
        return summary

    def can_record_at_once(self, event: PreferenceEvent) -> bool:
        """Whether ``record_at_once`` can take the event (PostgreSQL; an event that adds to the
        cleanup list takes the transaction)."""
        return self._postgres and (event.selected or not event.image_path)

    def record_at_once(
        self, connection: sa.Connection, ids: Lookup, event: PreferenceEvent, newer_wins: bool
    ) -> WriteSummary | None:
        """Record one image in single statements, on a connection outside any transaction (each
        statement is its own); None, with nothing written, when another write of the image got
        in between, and then ``record`` does it in a transaction.

        PostgreSQL, one image: a new one is its locks (as ``_lock``), its row and its statistics
        in one round trip, where a transaction needs five; a stored one (a changed mind) is read,
        then written by a statement that finds nothing to change if the row is no longer the
        version read. With 32 clients, statistics rows that every write of a profile moves were
        held from a transaction's upsert until its COMMIT, a turn of the busy event loop later,
        and that, not the database, limited a server's recordings.
        """
        profile = ids.profile_ids([event.user_id], create=True)[event.user_id]
        profiles = {event.user_id: profile}
        names = _save_names(ids, [event], [])
        if self._changed(connection, "insert", event, [], names, profiles, {}):
            return WriteSummary(added=1)
        found = connection.execute(
            sa.select(user_preferences, _VERSION.label("version")).where(
                user_preferences.c.profile_id == profile,
                user_preferences.c.generation_id == event.generation_id,
            )
        ).first()
        if found is None:
            return None  # deleted in between
        old = row_event(found, event.user_id, ids.model)
        if _same_event(old, event):
            return WriteSummary(unchanged=1)
        if newer_wins and old.timestamp > event.timestamp:
            return WriteSummary(kept_newer=1)
        if not self.can_record_at_once(old):
            return None  # it leaves the cleanup list: the transaction
        names = _save_names(ids, [event], [old])
        where = {"row": found.id, "version": found.version}
        if not self._changed(connection, "update", event, [old], names, profiles, where):
            return None
        return WriteSummary(replaced=1)

    def _changed(
        self,
        connection: sa.Connection,
        change: str,
        event: PreferenceEvent,
        removed: list[PreferenceEvent],
        names: Mapping[str, Mapping[str, int]],
        profile_ids: Mapping[str, int],
        where: Mapping[str, int],
    ) -> bool:
        """Run ``_one_statement``; whether the row changed (and the statistics with it)."""
        if self._values is None:
            self._values = DriverInsert(connection.dialect)
        if change not in self._at_once:
            self._at_once[change] = _one_statement(connection.dialect, change)
        sql, order = self._at_once[change]
        profile = profile_ids[event.user_id]
        row = self._values.row_values(
            event_row(event, profile, names["checkpoint"][event.checkpoint_key], names["lora"])
        )
        moves = _moves(removed, [event], names, profile_ids)
        if not moves:  # a change that moves no statistic (LoRAs reordered): the transaction
            return False
        cells = sorted((*place, selected, total) for place, (selected, total) in moves.items())
        given = {
            **{f"new_{name}": value for name, value in zip(EVENT_COLUMNS, row, strict=True)},
            **{f"cells_{name}": list(column) for name, column in zip(_CELL_COLUMNS, zip(*cells))},
            "space": LOCK_SPACE, "everything": EVERYTHING, "profile": profile,
            "image_space": IMAGE_SPACE, "image": _image_key(profile, event.generation_id),
            **where,
        }  # fmt: skip
        if not connection.exec_driver_sql(sql, tuple(given[name] for name in order)).first():
            return False
        emptied = [cell for cell in cells if cell[5] < 0]
        if emptied:
            # A statistic whose last event left is removed, as ``apply`` does; here just after
            # (in between it reads as the nothing it counts).
            self._remove_emptied(connection, emptied)
        return True

    def _lock(
        self,
        connection: sa.Connection,
        profile_ids: Mapping[str, int],
        images: Iterable[tuple[str, str]],
    ) -> None:
        """On PostgreSQL, hold the write locks of these images, (user_id, generation_id), until
        the transaction ends.

        A write reads an image's stored event and moves the statistics by the difference; two
        writers reading the same event before either commits would both take it away (statistics
        that no longer recount the events). SQLite has one writer at a time. On PostgreSQL a
        write of a few images locks each image, so writes of different images run side by side
        (the statistics they share are atomic increments); a write of many (an import) locks
        its profiles whole rather than fill PostgreSQL's lock table. Locks are taken level by
        level (everything, profiles, images), sorted within each, so two writers never wait on
        each other in a circle.
        """
        if not self._postgres:
            return
        wanted = set(images)
        profiles = sorted({profile_ids[user_id] for user_id, _ in wanted})
        whole = len(wanted) > IMAGE_LOCKS
        keys = [] if whole else sorted({_image_key(profile_ids[u], i) for u, i in wanted})
        # One statement, one round trip: the shared lock of everything (exclusive to a repair,
        # ``lock_everything``), then the profiles', then the images'.
        connection.exec_driver_sql(
            _WRITE_LOCKS,
            (LOCK_SPACE, [] if whole else profiles, profiles if whole else [], IMAGE_SPACE, keys),
        )

    def lock_everything(self, connection: sa.Connection) -> None:
        """On PostgreSQL, wait for the writers in progress and keep new ones out until the
        transaction ends: a repair reads every event and every statistic and rewrites them,
        and a write committed in between would be counted by neither or lost."""
        if self._postgres:
            connection.execute(_EXCLUSIVE_LOCK, {"space": LOCK_SPACE, "key": EVERYTHING})

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
        names = _save_names(ids, [event], [])
        row = event_row(
            event, profile_ids[event.user_id], names["checkpoint"][event.checkpoint_key],
            names["lora"],
        )  # fmt: skip
        if self._insert_new is None:
            self._insert_new = DriverInsert(connection.dialect, if_new=True)
        if not self._insert_new.run_one(connection, row):
            return False
        self.apply(connection, _moves([], [event], names, profile_ids))
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
        names = _save_names(ids, [], events)
        self.apply(connection, _moves(events, [], names, profile_ids))
        _track_cleanup(connection, ids.dialect_name, profile_ids, events, [])
        return events

    def rebuild(
        self, connection: sa.Connection, ids: Lookup, events: Sequence[PreferenceEvent]
    ) -> None:
        """Replace every statistic with a count of ``events``."""
        connection.execute(preference_stats.delete())
        profile_ids = ids.profile_ids({event.user_id for event in events})
        self.apply(connection, _moves([], events, _save_names(ids, events, []), profile_ids))

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
            self._remove_emptied(connection, emptied)

    def _remove_emptied(self, connection: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """A statistic whose last event left is removed, as if it had never been counted."""
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


LOCK_SPACE = 7274339
"""The first key of the profiles' advisory locks (the migration's lock is a single 64-bit key,
which PostgreSQL keeps apart from two-key locks)."""
IMAGE_SPACE = 7274340
"""The first key of the images' advisory locks; the second is a hash (``_image_key``)."""
IMAGE_LOCKS = 64
"""A write of more images than this locks their profiles instead."""
_EXCLUSIVE_LOCK = sa.text("SELECT pg_advisory_xact_lock(:space, :key)")
# PostgreSQL evaluates the columns in order, and each array's locks in the array's order.
_WRITE_LOCKS = """
SELECT pg_advisory_xact_lock_shared($1, 0),
    (SELECT count(pg_advisory_xact_lock_shared($1, key)) FROM unnest($2::int[]) AS key),
    (SELECT count(pg_advisory_xact_lock($1, key)) FROM unnest($3::int[]) AS key),
    (SELECT count(pg_advisory_xact_lock($4, key)) FROM unnest($5::int[]) AS key)
"""
EVERYTHING = 0
"""The second key of the lock a repair holds alone and every writer shares (profile ids start
at 1)."""


def _image_key(profile_id: int, generation_id: str) -> int:
    """A 32-bit key of an image: two images that share one merely wait for each other."""
    return zlib.crc32(f"{profile_id}:{generation_id}".encode()) - 2**31


_CELL_COLUMNS = ("stat_type", "key1", "key2", "profile_id", "selected_count", "total_count")


def _one_statement(dialect: sa.Dialect, change: str) -> tuple[str, tuple[str, ...]]:
    """``record_at_once``'s statement and the order of its parameters' names.

    WITH locked (the locks) -> changed (the event's row: ``"insert"`` unless its generation id
    is stored, ``"update"`` while the stored row is the version read) -> the statistics,
    upserted only when the row changed. Each step reads the one before, so PostgreSQL runs them
    in that order; the statistics are locked in the sorted order of their arrays, as ``apply``
    does.
    """
    number = sa.Integer()
    locked = sa.select(
        sa.func.pg_advisory_xact_lock_shared(
            sa.bindparam("space", type_=number), sa.bindparam("everything", type_=number)
        ).label("everything"),
        sa.func.pg_advisory_xact_lock_shared(
            sa.bindparam("space", type_=number), sa.bindparam("profile", type_=number)
        ).label("profile"),
        sa.func.pg_advisory_xact_lock(
            sa.bindparam("image_space", type_=number), sa.bindparam("image", type_=number)
        ).label("image"),
    ).cte("locked")
    events = user_preferences
    values = {
        name: sa.bindparam(f"new_{name}", type_=events.c[name].type) for name in EVENT_COLUMNS
    }
    changed: Any
    if change == "insert":
        changed = (
            postgresql.insert(events)
            .from_select(list(EVENT_COLUMNS), sa.select(*values.values()).select_from(locked))
            .on_conflict_do_nothing(index_elements=["profile_id", "generation_id"])
        )
    else:
        # xmin changes with every update of the row: a write in between makes this one find no
        # row (PostgreSQL re-checks the condition on the row's latest version).
        changed = (
            sa.update(events)
            .where(
                events.c.id == sa.bindparam("row", type_=number),
                _VERSION == sa.bindparam("version", type_=sa.BigInteger()),
                sa.exists(locked.select()),
            )
            .values(values)
        )
    changed = changed.returning(events.c.id).cte("changed")
    arrays = [
        sa.bindparam(f"cells_{name}", type_=postgresql.ARRAY(preference_stats.c[name].type))
        for name in _CELL_COLUMNS
    ]
    cells = sa.func.unnest(*arrays).table_valued(*_CELL_COLUMNS).render_derived(name="cells")
    insert = postgresql.insert(preference_stats)
    table = preference_stats.c
    statement = (
        insert.from_select(list(_CELL_COLUMNS), sa.select(cells).where(sa.exists(changed.select())))
        .on_conflict_do_update(
            index_elements=[table.stat_type, table.key1, table.key2, table.profile_id],
            set_={
                "selected_count": table.selected_count + insert.excluded.selected_count,
                "total_count": table.total_count + insert.excluded.total_count,
            },
        )
        .returning(table.total_count)
    )
    compiled = statement.compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup or ())


_VERSION: sa.ColumnClause[Any] = sa.literal_column("user_preferences.xmin::text::bigint")
"""The version of an event's row on PostgreSQL (its xmin, the transaction that last wrote it)."""


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


def _save_names(
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


def _moves(
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


def _same_event(old: PreferenceEvent, new: PreferenceEvent) -> bool:
    # The same judgement sent again (a retry, a re-import) is no change, whatever its timestamp.
    first, second = old.to_dict(), new.to_dict()
    for found in (first, second):
        found.pop("timestamp")
        # A LoRA's family is kept on the LoRA, not the event: an event sent again without it
        # (or after another event named it) is the same judgement.
        for lora in found["loras"]:
            lora.pop("family", None)
    return first == second
