"""The repository: every read and write tastebud makes, on SQLite and PostgreSQL alike.

Events and the statistics they move are written in one transaction, so the statistics never drift
from the events. A generation id is one event per profile: recording it again replaces the stored
event and moves the statistics by the difference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tastebud.events import PreferenceEvent
from tastebud.learning.keys import Cell, Counts, StatChanges, StatType, cells, stat_changes
from tastebud.learning.strategy import Block, Evidence
from tastebud.names import matches_model
from tastebud.store.cells import STAT_CODES, from_stored, key_kinds
from tastebud.store.database import Database
from tastebud.store.ids import Ids, Lookup, insert_for
from tastebud.store.migrations import migrate
from tastebud.store.rows import BulkInsert, event_row, row_event
from tastebud.store.schema import image_cleanup, preference_stats, profiles, user_preferences

_CHUNK = 500  # values per IN (...) list: well inside SQLite's and asyncpg's parameter limits


@dataclass
class WriteSummary:
    """What a write did with the events it was given."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    kept_newer: int = 0
    """Events not applied because the stored one with that generation id is newer (imports)."""


@dataclass(frozen=True)
class StatRow:
    """One statistic as stored, by name."""

    user_id: str
    cell: Cell
    counts: Counts


@dataclass
class CheckReport:
    """How the stored statistics compare with a recomputation from the events."""

    events: int = 0
    statistics: int = 0
    wrong: list[tuple[str, Cell, Counts, Counts]] = field(default_factory=list)
    """(user_id, cell, stored, recomputed) of every statistic that differs."""

    @property
    def ok(self) -> bool:
        return not self.wrong


class Repository:
    """Storage of events and statistics in one database."""

    def __init__(self, database: str | Path, *, durable: bool = True) -> None:
        self.db = Database(database, durable=durable)
        self.ids = Ids()
        self._upsert: str | None = None
        self._insert_new: Any = None
        self._bulk_insert: BulkInsert | None = None

    async def migrate(self) -> int:
        """Create or bring forward the schema and load the id tables; returns the old version."""
        version = await self.db.write(migrate)
        await self._read(lambda connection, ids: ids.preload())
        return version

    async def close(self) -> None:
        await self.db.close()

    async def _write(self, work: Any) -> Any:
        def run(connection: sa.Connection) -> tuple[Any, Lookup]:
            lookup = self.ids.lookup(connection, self.db.dialect)
            return work(connection, lookup), lookup

        result, lookup = await self.db.write(run)
        lookup.commit()
        return result

    async def _read(self, work: Any) -> Any:
        return await self.db.read(
            lambda connection: work(connection, self.ids.lookup(connection, self.db.dialect))
        )

    # -- writes -------------------------------------------------------------------------------

    async def record(
        self, events: Sequence[PreferenceEvent], *, newer_wins: bool = False
    ) -> WriteSummary:
        """Store the events and move the statistics, all in one transaction.

        An event whose (user_id, generation_id) is stored already replaces it, unless it is the same
        event again (nothing changes) or, with ``newer_wins``, the stored one is newer. Within
        ``events`` the last event of a generation id counts.
        """
        latest = {(event.user_id, event.generation_id): event for event in events}
        if not latest:
            return WriteSummary()
        return await self._write(lambda c, ids: self._record(c, ids, latest, newer_wins))  # type: ignore[no-any-return]

    def _record(
        self,
        connection: sa.Connection,
        ids: Lookup,
        latest: dict[tuple[str, str], PreferenceEvent],
        newer_wins: bool,
    ) -> WriteSummary:
        summary = WriteSummary()
        profile_ids = ids.profile_ids({user for user, _ in latest}, create=True)
        if len(latest) == 1 and self._insert_if_new(connection, ids, profile_ids, latest):
            return WriteSummary(added=1)
        stored = _stored_events(connection, ids, profile_ids, latest)
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

        def row(event: PreferenceEvent) -> dict[str, Any]:
            return event_row(
                event, profile_ids[event.user_id], checkpoints[event.checkpoint_key], loras
            )

        if inserts:
            if self._bulk_insert is None:
                self._bulk_insert = BulkInsert(user_preferences, connection.dialect)
            self._bulk_insert.run(connection, [row(event) for event in inserts])
        if updates:
            columns = row(updates[0][1])
            connection.execute(
                user_preferences.update()
                .where(user_preferences.c.id == sa.bindparam("row_id"))
                .values({name: sa.bindparam(name) for name in columns}),
                [{"row_id": row_id, **row(event)} for row_id, event in updates],
            )
        self._apply(connection, _moves(removed, added, names, profile_ids))
        _track_cleanup(connection, ids.dialect_name, profile_ids, removed, added)
        return summary

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
            self._insert_new = (
                insert_for(ids.dialect_name, user_preferences)
                .on_conflict_do_nothing(index_elements=["profile_id", "generation_id"])
                .returning(user_preferences.c.id)
            )
        inserted = connection.execute(self._insert_new, row).first()
        if inserted is None:
            return False
        self._apply(connection, _moves([], [event], names, profile_ids))
        _track_cleanup(connection, ids.dialect_name, profile_ids, [], [event])
        return True

    async def delete(self, user_id: str, generation_ids: Iterable[str]) -> list[PreferenceEvent]:
        """Remove events (undo a mis-click); returns the events removed."""
        wanted = {(user_id, generation_id): None for generation_id in generation_ids}

        def work(connection: sa.Connection, ids: Lookup) -> list[PreferenceEvent]:
            profile_ids = ids.profile_ids([user_id])
            if user_id not in profile_ids:
                return []
            stored = _stored_events(connection, ids, profile_ids, wanted)
            if not stored:
                return []
            row_ids = [row_id for row_id, _ in stored.values()]
            events = [event for _, event in stored.values()]
            for chunk in _chunks(row_ids):
                connection.execute(user_preferences.delete().where(user_preferences.c.id.in_(chunk)))
            names = _save_names(ids, [], events)
            self._apply(connection, _moves(events, [], names, profile_ids))
            _track_cleanup(connection, ids.dialect_name, profile_ids, events, [])
            return events

        return await self._write(work)  # type: ignore[no-any-return]

    async def repair(self) -> CheckReport:
        """Rebuild every statistic from the events; returns what was wrong before."""

        def work(connection: sa.Connection, ids: Lookup) -> CheckReport:
            report, _ = _check(connection, ids)
            if report.ok:
                return report
            connection.execute(preference_stats.delete())
            events = _events(connection, ids, None)
            profile_ids = ids.profile_ids({event.user_id for event in events})
            self._apply(connection, _moves([], events, _save_names(ids, events, []), profile_ids))
            return report

        return await self._write(work)  # type: ignore[no-any-return]

    def _apply(self, connection: sa.Connection, moves: Moves) -> None:
        if not moves:
            return
        if self._upsert is None:
            self._upsert = _stats_upsert(connection)
        # On PostgreSQL, sorted: two transactions touching the same cells then lock them in the
        # same order instead of deadlocking. SQLite has one writer at a time, and sorting costs
        # it more than it saves.
        rows = [(*place, selected, total) for place, (selected, total) in moves.items()]
        if self.db.is_postgres:
            rows.sort()
        # The hottest statement of a recording (one row per cell, ~40 per event): sent as plain
        # tuples to the driver, which skips SQLAlchemy's per-row parameter processing.
        connection.exec_driver_sql(self._upsert, rows)
        emptied = [row[:4] for row in rows if row[5] < 0]
        if emptied:
            # A statistic whose last event left is removed, as if it had never been counted.
            table = preference_stats.c
            connection.execute(
                preference_stats.delete().where(
                    table.stat_type == sa.bindparam("s"),
                    table.key1 == sa.bindparam("k1"),
                    table.key2 == sa.bindparam("k2"),
                    table.profile_id == sa.bindparam("p"),
                    table.total_count <= 0,
                ),
                [{"s": s, "k1": k1, "k2": k2, "p": p} for s, k1, k2, p in emptied],
            )

    # -- reads --------------------------------------------------------------------------------

    async def evidence(self, user_id: str, blocks: Sequence[Block]) -> Evidence:
        """The statistics a strategy asked for: this profile's, and pooled over all profiles."""
        return await self._read(lambda c, ids: _evidence(c, ids, user_id, blocks))  # type: ignore[no-any-return]

    async def resolve(self, kind: str, keys: Sequence[str]) -> dict[str, str]:
        """Requested key -> the stored key it stands for: itself, or the one recorded version.

        "epicrealismxl" stands for "epicrealismxl_purefix" when that is the only version recorded;
        a key that matches nothing, or several versions, stands for itself.
        """
        resolved = {key: key for key in keys if (kind, key) in self.ids.models}
        missing = [key for key in keys if key not in resolved]
        if not missing:
            return resolved  # every key a model this process has seen: no query needed

        def work(connection: sa.Connection, ids: Lookup) -> dict[str, str]:
            known = [model.key for model in ids.all_models().values() if model.kind == kind]
            found = {}
            for key in missing:
                versions = [stored for stored in known if matches_model(key, stored)]
                exact = key in versions
                found[key] = key if exact or len(versions) != 1 else versions[0]
            return found

        return {**resolved, **await self._read(work)}

    async def known_models(self, kind: str, user_id: str | None = None) -> dict[str, str]:
        """Key -> display name of the checkpoints (or LoRAs) with statistics, for one profile or all."""

        def work(connection: sa.Connection, ids: Lookup) -> dict[str, str]:
            table = preference_stats.c
            code = STAT_CODES[StatType.CHECKPOINT if kind == "checkpoint" else StatType.LORA]
            models = [model.id for model in ids.all_models().values() if model.kind == kind]
            # key1 leads the primary key: naming the candidates makes this a few index seeks.
            query = (
                sa.select(table.key1)
                .where(table.stat_type == code, table.key1.in_(models))
                .distinct()
            )
            if user_id is not None:
                profile = ids.profile_ids([user_id]).get(user_id)
                if profile is None:
                    return {}
                query = query.where(table.profile_id == profile)
            found = [ids.model(model_id) for (model_id,) in connection.execute(query)]
            return {model.key: model.name for model in sorted(found, key=lambda m: m.key)}

        return await self._read(work)  # type: ignore[no-any-return]

    async def statistics(
        self, user_id: str | None, stat_types: Sequence[StatType] | None = None
    ) -> list[StatRow]:
        """Stored statistics of one profile (or all), optionally of some types only."""

        def work(connection: sa.Connection, ids: Lookup) -> list[StatRow]:
            table = preference_stats.c
            query = sa.select(
                table.profile_id, table.stat_type, table.key1, table.key2,
                table.selected_count, table.total_count,
            )  # fmt: skip
            users = _profiles_by_id(connection)
            if user_id is not None:
                profile = ids.profile_ids([user_id]).get(user_id)
                if profile is None:
                    return []
                query = query.where(table.profile_id == profile)
            if stat_types is not None:
                query = query.where(sa.or_(*(_stat_type_filter(ids, t) for t in stat_types)))
            need_keywords = stat_types is None or any(
                "keyword" in key_kinds(t) for t in stat_types
            )
            keywords = ids.all_keywords() if need_keywords else {}
            models = ids.all_models()
            rows = [
                StatRow(
                    users[profile],
                    from_stored((code, key1, key2), keywords, models),
                    Counts(selected, total),
                )
                for profile, code, key1, key2, selected, total in connection.execute(query)
            ]
            return sorted(rows, key=lambda row: (row.user_id, row.cell))

        return await self._read(work)  # type: ignore[no-any-return]

    async def events(self, user_id: str | None = None) -> list[PreferenceEvent]:
        """Stored events of one profile (or all), oldest first."""
        return await self._read(lambda c, ids: _events(c, ids, user_id))  # type: ignore[no-any-return]

    async def check(self) -> CheckReport:
        """Compare every stored statistic with a recomputation from the events."""
        return await self._read(lambda c, ids: _check(c, ids)[0])  # type: ignore[no-any-return]


def _stat_type_filter(ids: Lookup, stat_type: StatType) -> sa.ColumnElement[bool]:
    """Rows of one stat type, found through the primary key (which leads with key1) if it can."""
    table = preference_stats.c
    condition = table.stat_type == STAT_CODES[stat_type]
    kind = key_kinds(stat_type)[0]
    if kind is None:
        return sa.and_(condition, table.key1 == 0)
    if kind == "keyword":
        return condition  # every keyword: a scan either way
    models = [model.id for model in ids.all_models().values() if model.kind == kind]
    return sa.and_(condition, table.key1.in_(models))


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
            loras[lora.key] = (lora.name, None)
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
    """How the stored statistics move when ``removed`` events leave and ``added`` ones arrive.

    The same count as ``tastebud.learning.keys.stat_changes``, made directly in ids: an import
    moves millions of cells, and flat tuples of ints hash and count several times faster.
    """
    keyword_ids, checkpoint_ids, lora_ids = names["keyword"], names["checkpoint"], names["lora"]
    totals: Counter[tuple[int, int, int, int]] = Counter()
    selected: Counter[tuple[int, int, int, int]] = Counter()
    for sign, events in ((-1, removed), (1, added)):
        for event in events:
            profile = profile_ids[event.user_id]
            places = [
                (code, first, second, profile)
                for code, first, second in cells(
                    [keyword_ids[keyword] for keyword in event.keywords],
                    checkpoint_ids[event.checkpoint_key],
                    [lora_ids[lora.key] for lora in event.loras],
                    0,
                    STAT_CODES,
                )
            ]
            (totals.update if sign > 0 else totals.subtract)(places)
            if event.selected:
                (selected.update if sign > 0 else selected.subtract)(places)
    return {
        place: (selected[place], total) for place, total in totals.items() if total or selected[place]
    }


def _evidence(
    connection: sa.Connection, ids: Lookup, user_id: str, blocks: Sequence[Block]
) -> Evidence:
    profile = ids.profile_ids([user_id]).get(user_id)
    personal: dict[Cell, tuple[int, int]] = {}
    pooled: dict[Cell, tuple[int, int]] = {}
    for block in blocks:
        kind1, kind2 = key_kinds(block.stat_type)
        names1 = _names_by_id(ids, kind1, block.keys1)
        names2 = _names_by_id(ids, kind2, block.keys2)
        if not names1 or not names2:
            continue  # a name never recorded: no evidence
        parameters = {"type": STAT_CODES[block.stat_type], "k1": list(names1), "k2": list(names2)}
        # Many second keys (every checkpoint): scanning each first key's range and filtering here
        # is three times faster than one index seek per pair.
        query = _BLOCK_BY_FIRST if len(names2) > 8 else _BLOCK
        stat_type = block.stat_type
        rows = connection.execute(query, parameters).all()
        if all(row[2] == profile for row in rows):
            # One profile on the database (the usual case): its counts are the pooled counts.
            found: dict[Cell, tuple[int, int]] = {
                (stat_type, names1[key1], names2[key2]): (selected, total)
                for key1, key2, _, selected, total in rows
                if key2 in names2
            }
            personal.update(found)
            pooled.update(found)
            continue
        for key1, key2, owner, selected, total in rows:
            if key2 not in names2:
                continue
            cell = (stat_type, names1[key1], names2[key2])
            earlier = pooled.get(cell)
            pooled[cell] = (
                (selected, total) if earlier is None
                else (earlier[0] + selected, earlier[1] + total)
            )  # fmt: skip
            if owner == profile:
                personal[cell] = (selected, total)
    return Evidence(personal=personal, pooled=pooled)


# Built once, with expanding IN lists: read on every recommendation.
_BLOCK = sa.select(
    preference_stats.c.key1,
    preference_stats.c.key2,
    preference_stats.c.profile_id,
    preference_stats.c.selected_count,
    preference_stats.c.total_count,
).where(
    preference_stats.c.stat_type == sa.bindparam("type"),
    preference_stats.c.key1.in_(sa.bindparam("k1", expanding=True)),
    preference_stats.c.key2.in_(sa.bindparam("k2", expanding=True)),
)


_BLOCK_BY_FIRST = sa.select(*_BLOCK.selected_columns).where(
    preference_stats.c.stat_type == sa.bindparam("type"),
    preference_stats.c.key1.in_(sa.bindparam("k1", expanding=True)),
)


def _names_by_id(ids: Lookup, kind: str | None, keys: Sequence[str]) -> dict[int, str]:
    if kind is None:
        return {0: ""}
    found = ids.keyword_ids(keys) if kind == "keyword" else ids.model_ids(kind, keys)
    return {id_: name for name, id_ in found.items()}


def _profiles_by_id(connection: sa.Connection) -> dict[int, str]:
    return dict(connection.execute(sa.select(profiles.c.id, profiles.c.user_id)).all())


def _events(connection: sa.Connection, ids: Lookup, user_id: str | None) -> list[PreferenceEvent]:
    users = _profiles_by_id(connection)
    query = sa.select(user_preferences).order_by(user_preferences.c.id)
    if user_id is not None:
        profile = ids.profile_ids([user_id]).get(user_id)
        if profile is None:
            return []
        query = query.where(user_preferences.c.profile_id == profile)
    models = ids.all_models()
    return [
        row_event(row, users[row.profile_id], models.__getitem__)
        for row in connection.execute(query)
    ]


def _stored_events(
    connection: sa.Connection,
    ids: Lookup,
    profile_ids: Mapping[str, int],
    places: Iterable[tuple[str, str]],
) -> dict[tuple[str, str], tuple[int, PreferenceEvent]]:
    by_profile: dict[int, list[str]] = {}
    users: dict[int, str] = {}
    for user_id, generation_id in places:
        if user_id in profile_ids:
            by_profile.setdefault(profile_ids[user_id], []).append(generation_id)
            users[profile_ids[user_id]] = user_id
    found: dict[tuple[str, str], tuple[int, PreferenceEvent]] = {}
    for profile, generation_ids in by_profile.items():
        for chunk in _chunks(generation_ids):
            rows = connection.execute(_STORED_EVENTS, {"profile": profile, "ids": list(chunk)})
            for row in rows:
                event = row_event(row, users[profile], ids.model)
                found[(event.user_id, event.generation_id)] = (row.id, event)
    return found


# Built once, with an expanding IN list: looked up on every recording.
_STORED_EVENTS = sa.select(user_preferences).where(
    user_preferences.c.profile_id == sa.bindparam("profile"),
    user_preferences.c.generation_id.in_(sa.bindparam("ids", expanding=True)),
)


def _check(connection: sa.Connection, ids: Lookup) -> tuple[CheckReport, StatChanges]:
    """The report, and the statistics recomputed from the events."""
    events = _events(connection, ids, None)
    recomputed = stat_changes([], events)
    users = _profiles_by_id(connection)
    keywords, models = ids.all_keywords(), ids.all_models()
    table = preference_stats.c
    query = sa.select(
        table.profile_id, table.stat_type, table.key1, table.key2,
        table.selected_count, table.total_count,
    )  # fmt: skip
    stored = {
        (users[profile], from_stored((code, key1, key2), keywords, models)): Counts(sel, total)
        for profile, code, key1, key2, sel, total in connection.execute(query)
    }
    report = CheckReport(events=len(events), statistics=len(stored))
    for place in sorted(set(stored) | set(recomputed)):
        have, want = stored.get(place, Counts()), recomputed.get(place, Counts())
        if have != want:
            report.wrong.append((place[0], place[1], have, want))
    return report, recomputed


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
    first.pop("timestamp")
    second.pop("timestamp")
    return first == second


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
