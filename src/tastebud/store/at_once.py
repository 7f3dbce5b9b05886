"""One image recorded in single statements on PostgreSQL, outside any transaction.

With 32 clients, the statistics rows that every write of a profile moves (its total, its
checkpoint's, its LoRAs') were held from a transaction's upsert until its COMMIT, a turn of the
busy event loop later, and that, not the database, limited a server's recordings. A new image is
its locks, its row and its statistics in one statement (one round trip where a transaction needs
five); a changed mind is read, then written by one statement that finds nothing to change if the
row is no longer the version read. Anything else falls back to ``Writer.record``'s transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tastebud.events import PreferenceEvent
from tastebud.store import locks
from tastebud.store.ids import Lookup
from tastebud.store.rows import EVENT_COLUMNS, DriverInsert, event_row, row_event
from tastebud.store.schema import preference_stats, user_preferences
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
        self._statements: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._values: DriverInsert | None = None

    def takes(self, event: PreferenceEvent) -> bool:
        """Whether ``record`` can take the event (PostgreSQL; an event that enters or leaves
        the cleanup list takes the transaction)."""
        return self._postgres and (event.selected or not event.image_path)

    def record(
        self, connection: sa.Connection, ids: Lookup, event: PreferenceEvent, newer_wins: bool
    ) -> WriteSummary | None:
        """Record one image in single statements, on a connection outside any transaction (each
        statement is its own); None, with nothing written, when another write of the image got
        in between, and then ``Writer.record`` does it in a transaction.

        PostgreSQL, one image: a new one is its locks (as ``locks.lock_images``), its row and its statistics
        in one round trip, where a transaction needs five; a stored one (a changed mind) is read,
        then written by a statement that finds nothing to change if the row is no longer the
        version read. With 32 clients, statistics rows that every write of a profile moves were
        held from a transaction's upsert until its COMMIT, a turn of the busy event loop later,
        and that, not the database, limited a server's recordings.
        """
        profile = ids.profile_ids([event.user_id], create=True)[event.user_id]
        profiles = {event.user_id: profile}
        names = save_names(ids, [event], [])
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
        if same_event(old, event):
            return WriteSummary(unchanged=1)
        if newer_wins and old.timestamp > event.timestamp:
            return WriteSummary(kept_newer=1)
        if not self.takes(old):
            return None  # it leaves the cleanup list: the transaction
        names = save_names(ids, [event], [old])
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
        if change not in self._statements:
            self._statements[change] = _one_statement(connection.dialect, change)
        sql, order = self._statements[change]
        profile = profile_ids[event.user_id]
        row = self._values.row_values(
            event_row(event, profile, names["checkpoint"][event.checkpoint_key], names["lora"])
        )
        moves = statistic_moves(removed, [event], names, profile_ids)
        if not moves:  # a change that moves no statistic (LoRAs reordered): the transaction
            return False
        cells = sorted((*place, selected, total) for place, (selected, total) in moves.items())
        given = {
            **{f"new_{name}": value for name, value in zip(EVENT_COLUMNS, row, strict=True)},
            **{f"cells_{name}": list(column) for name, column in zip(_CELL_COLUMNS, zip(*cells))},
            "space": locks.LOCK_SPACE, "everything": locks.EVERYTHING, "profile": profile,
            "image_space": locks.IMAGE_SPACE,
            "image": locks.image_key(profile, event.generation_id),
            **where,
        }  # fmt: skip
        if not connection.exec_driver_sql(sql, tuple(given[name] for name in order)).first():
            return False
        emptied = [cell for cell in cells if cell[5] < 0]
        if emptied:
            # A statistic whose last event left is removed, as ``apply`` does; here just after
            # (in between it reads as the nothing it counts).
            remove_emptied(connection, emptied)
        return True


_CELL_COLUMNS = ("stat_type", "key1", "key2", "profile_id", "selected_count", "total_count")


def _one_statement(dialect: sa.Dialect, change: str) -> tuple[str, tuple[str, ...]]:
    """``AtOnce``'s statement and the order of its parameters' names.

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
