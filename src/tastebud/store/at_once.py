"""New images, or one image's changed mind, recorded in single statements on PostgreSQL.

With 32 clients, the statistics rows that every write of a profile moves (its total, its
checkpoint's, its LoRAs') were held from a transaction's upsert until its COMMIT, a turn of the
busy event loop later, and that, not the database, limited a server's recordings. New images
(one, or a judged batch of up to 64) are their locks, their rows and their statistics in one
statement: one round trip where a transaction needs five to seven. A changed mind on one image
is read, then written by one statement that finds nothing to change if the row is no longer the
version read. Anything else falls back to ``Writer.record``'s transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from tastebud.events import PreferenceEvent
from tastebud.store import locks
from tastebud.store.ids import Lookup
from tastebud.store.rows import EVENT_COLUMNS, DriverInsert, event_row, row_event
from tastebud.store.schema import user_preferences
from tastebud.store.writes import (
    WriteSummary,
    remove_emptied,
    same_event,
    save_names,
    statistic_moves,
)


class AtOnce:
    """Single-statement recordings, with their statements compiled once."""

    def __init__(self, postgres: bool) -> None:
        self._postgres = postgres
        self._statements: dict[str, str] = {}
        self._values: DriverInsert | None = None

    def takes(self, events: Sequence[PreferenceEvent]) -> bool:
        """Whether ``record`` can take the events, one per generation id: on PostgreSQL, up to
        ``locks.IMAGE_LOCKS`` of them, none entering or leaving the cleanup list."""
        return (
            self._postgres
            and 0 < len(events) <= locks.IMAGE_LOCKS
            and all(event.selected or not event.image_path for event in events)
        )

    def record(
        self,
        connection: sa.Connection,
        ids: Lookup,
        events: Sequence[PreferenceEvent],
        newer_wins: bool,
    ) -> WriteSummary | None:
        """Record the events in single statements, on a connection outside any transaction
        (each statement is its own); None, with nothing written, when the transaction of
        ``Writer.record`` must do it.

        New images go in together or not at all. One image whose generation id is stored (a
        changed mind) is read, then written while its row is still the version read; of several
        images, one stored sends them all to the transaction.
        """
        profiles = ids.profile_ids({event.user_id for event in events}, create=True)
        names = save_names(ids, events, [])
        if self._changed(connection, "insert", events, [], names, profiles, {}):
            return WriteSummary(added=len(events))
        if len(events) > 1:
            return None
        (event,) = events
        found = connection.execute(
            sa.select(user_preferences, _VERSION.label("version")).where(
                user_preferences.c.profile_id == profiles[event.user_id],
                user_preferences.c.generation_id == event.generation_id,
            )
        ).first()
        if found is None:
            return None  # deleted in between
        old = row_event(found, event.user_id, ids.model)
        if same_event(old, event):
            return WriteSummary(unchanged=1)
        if newer_wins and old.timestamp > event.timestamp:
            return WriteSummary(kept_newer=1)
        if not self.takes([old]):
            return None  # it leaves the cleanup list: the transaction
        names = save_names(ids, [event], [old])
        where = {"row": found.id, "version": found.version}
        if not self._changed(connection, "update", [event], [old], names, profiles, where):
            return None
        return WriteSummary(replaced=1)

    def _changed(
        self,
        connection: sa.Connection,
        change: str,
        events: Sequence[PreferenceEvent],
        removed: list[PreferenceEvent],
        names: Mapping[str, Mapping[str, int]],
        profile_ids: Mapping[str, int],
        where: Mapping[str, int],
    ) -> bool:
        """Run ``_one_statement``; whether the rows changed (and the statistics with them)."""
        if self._values is None:
            self._values = DriverInsert(connection.dialect)
        if change not in self._statements:
            self._statements[change] = _one_statement(connection.dialect, change)
        moves = statistic_moves(removed, list(events), names, profile_ids)
        if not moves:  # a change that moves no statistic (LoRAs reordered): the transaction
            return False
        cells = sorted((*place, selected, total) for place, (selected, total) in moves.items())
        rows = [
            self._values.row_values(
                event_row(event, profile_ids[event.user_id],
                          names["checkpoint"][event.checkpoint_key], names["lora"])
            )
            for event in events
        ]  # fmt: skip
        profiles = sorted({profile_ids[event.user_id] for event in events})
        images = sorted(
            {locks.image_key(profile_ids[event.user_id], event.generation_id) for event in events}
        )
        # Event columns as arrays for an insert; one row's values for an update.
        columns = list(map(list, zip(*rows))) if change == "insert" else list(rows[0])
        parameters = (
            locks.LOCK_SPACE, profiles, [], locks.IMAGE_SPACE, images, *columns,
            *map(list, zip(*cells)), *([where["row"], where["version"]] if where else []),
        )  # fmt: skip
        try:
            if not connection.exec_driver_sql(self._statements[change], parameters).first():
                return False
        except sa.exc.IntegrityError:
            # An image stored by another writer after this statement's snapshot was taken, and
            # before its lock was free: nothing went in, and the transaction will see it.
            return False
        emptied = [cell for cell in cells if cell[5] < 0]
        if emptied:
            # A statistic whose last event left is removed, as ``apply`` does; here just after
            # (in between it reads as the nothing it counts).
            remove_emptied(connection, emptied)
        return True


_CELL_COLUMNS = ("stat_type", "key1", "key2", "profile_id", "selected_count", "total_count")


def _one_statement(dialect: sa.Dialect, change: str) -> str:
    """``AtOnce``'s statement: its parameters are those of ``locks.WRITE_LOCKS`` ($1 - $5), the
    event columns (arrays for ``"insert"``, one row's values for ``"update"``), the statistics'
    six arrays, and for ``"update"`` the row's id and the version read.

    WITH locked (the locks) -> changed (the events' rows: ``"insert"`` unless one of their
    generation ids is stored, ``"update"`` while the stored row is the version read) -> the
    statistics, upserted only when the rows changed. Each step reads the one before, so
    PostgreSQL runs them in that order; the statistics are locked in the sorted order of their
    arrays, as ``apply`` does.
    """
    numbers = iter(range(6, 1000))
    array = change == "insert"
    column_types = [user_preferences.c[name].type.compile(dialect) for name in EVENT_COLUMNS]
    given = [f"${next(numbers)}::{kind}{'[]' if array else ''}" for kind in column_types]
    cells = ", ".join(
        f"${next(numbers)}::{kind}[]" for kind in ("smallint", "int", "int", "int", "int", "int")
    )
    columns = ", ".join(EVENT_COLUMNS)
    if array:
        # All or none: if one generation id is stored, nothing goes in (a stored row's changed
        # mind needs the transaction), so a batch never leaves events without statistics.
        changed = f"""INSERT INTO user_preferences ({columns})
        SELECT * FROM unnest({", ".join(given)})
        WHERE EXISTS (SELECT FROM locked) AND NOT EXISTS (
            SELECT FROM user_preferences AS stored JOIN unnest({given[0]}, {given[1]}) AS new (p, g)
                ON stored.profile_id = new.p AND stored.generation_id = new.g)"""
    else:
        # xmin changes with every update of the row: a write in between makes this one find no
        # row (PostgreSQL re-checks the condition on the row's latest version).
        changes = ", ".join(f"{name} = {value}" for name, value in zip(EVENT_COLUMNS, given))
        changed = f"""UPDATE user_preferences SET {changes}
        WHERE id = ${next(numbers)} AND {_VERSION_SQL} = ${next(numbers)}::bigint
            AND EXISTS (SELECT FROM locked)"""
    return f"""
WITH locked AS ({locks.WRITE_LOCKS}),
changed AS ({changed} RETURNING id)
INSERT INTO preference_stats ({", ".join(_CELL_COLUMNS)})
SELECT * FROM unnest({cells}) WHERE EXISTS (SELECT FROM changed)
ON CONFLICT (stat_type, key1, key2, profile_id) DO UPDATE SET
    selected_count = preference_stats.selected_count + excluded.selected_count,
    total_count = preference_stats.total_count + excluded.total_count
RETURNING total_count
"""


_VERSION_SQL = "user_preferences.xmin::text::bigint"
_VERSION: sa.ColumnClause[Any] = sa.literal_column(_VERSION_SQL)
"""The version of an event's row on PostgreSQL (its xmin, the transaction that last wrote it)."""
