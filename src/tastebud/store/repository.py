"""The repository: every read and write tastebud makes, on SQLite and PostgreSQL alike.

Events and the statistics they move are written in one transaction, so the statistics never drift
from the events. A generation id is one event per profile: recording it again replaces the stored
event and moves the statistics by the difference.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tastebud.events import Lora, PreferenceEvent
from tastebud.learning.keys import Cell, Counts, StatChanges, StatType, cells_of, stat_changes
from tastebud.learning.strategy import Evidence
from tastebud.store.database import READ_ONLY
from tastebud.store.migrations import migrate
from tastebud.store.schema import (
    image_cleanup,
    models,
    preference_stats,
    profiles,
    user_preferences,
)

_CHUNK = 500  # ids per IN (...) list: well inside SQLite's and asyncpg's parameter limits


@dataclass
class WriteSummary:
    """What a write did with the events it was given."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    kept_newer: int = 0
    """Events not applied because the stored one with that generation id is newer (imports)."""
    removed: int = 0

    def __add__(self, other: WriteSummary) -> WriteSummary:
        return WriteSummary(
            self.added + other.added,
            self.replaced + other.replaced,
            self.unchanged + other.unchanged,
            self.kept_newer + other.kept_newer,
            self.removed + other.removed,
        )


@dataclass(frozen=True)
class StatRow:
    """One statistic as stored."""

    user_id: str
    cell: Cell
    counts: Counts
    selection_rate: float = 0.0
    confidence: float = 0.0


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
    """Storage of events and statistics behind one async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    async def migrate(self) -> int:
        """Create or bring forward the schema; returns the version the database was at."""
        async with self.engine.begin() as connection:
            return await migrate(connection)

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
        summary = WriteSummary()
        async with self.engine.begin() as connection:
            stored = await self._stored_events(connection, latest.keys())
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
            if inserts:
                await connection.execute(
                    user_preferences.insert(), [_event_row(event) for event in inserts]
                )
            if updates:
                await connection.execute(
                    user_preferences.update()
                    .where(user_preferences.c.id == sa.bindparam("row_id"))
                    .values({name: sa.bindparam(name) for name in _event_row(added[0])}),
                    [{"row_id": row_id, **_event_row(event)} for row_id, event in updates],
                )
            await self._apply(connection, stat_changes(removed, added))
            await self._remember_names(connection, added)
            await self._track_cleanup(connection, removed, added)
        return summary

    async def delete(self, user_id: str, generation_ids: Iterable[str]) -> list[PreferenceEvent]:
        """Remove events (undo a mis-click); returns the events removed."""
        async with self.engine.begin() as connection:
            stored = await self._stored_events(
                connection, [(user_id, generation_id) for generation_id in generation_ids]
            )
            if not stored:
                return []
            row_ids = [row_id for row_id, _ in stored.values()]
            events = [event for _, event in stored.values()]
            for chunk in _chunks(row_ids):
                await connection.execute(
                    user_preferences.delete().where(user_preferences.c.id.in_(chunk))
                )
            await self._apply(connection, stat_changes(events, []))
            await self._track_cleanup(connection, events, [])
        return events

    async def repair(self) -> CheckReport:
        """Rebuild every statistic from the events; returns what was wrong before."""
        async with self.engine.begin() as connection:
            report = await self._check(connection)
            if report.ok:
                return report
            await connection.execute(preference_stats.delete())
            recomputed, _ = await self._recompute(connection)
            await self._apply(connection, recomputed)
        return report

    async def _apply(self, connection: AsyncConnection, changes: StatChanges) -> None:
        if not changes:
            return
        # Sorted, so that two transactions touching the same cells lock them in the same order
        # (PostgreSQL would otherwise deadlock them).
        ordered = sorted(changes.items(), key=lambda item: (item[0][1], item[0][0]))
        rows = [
            {
                "stat_type": cell[0],
                "key1": cell[1],
                "key2": cell[2],
                "user_id": user_id,
                "selected_count": counts.selected,
                "total_count": counts.total,
                "selection_rate": counts.rate,
                "confidence": counts.confidence,
            }
            for (user_id, cell), counts in ordered
        ]
        insert = (postgresql.insert if self._postgres else sqlite.insert)(preference_stats)
        table = preference_stats.c
        selected = table.selected_count + insert.excluded.selected_count
        total = table.total_count + insert.excluded.total_count
        await connection.execute(
            insert.on_conflict_do_update(
                index_elements=[table.stat_type, table.key1, table.key2, table.user_id],
                set_={
                    "selected_count": selected,
                    "total_count": total,
                    "selection_rate": sa.case(
                        (total > 0, sa.cast(selected, sa.Float) / total), else_=0.0
                    ),
                    "confidence": sa.case(
                        (total >= 20, 1.0), else_=sa.cast(total, sa.Float) / 20.0
                    ),
                },
            ),
            rows,
        )
        emptied = [row for row in rows if row["total_count"] < 0]
        if emptied:
            # A statistic whose last event left is removed, as if it had never been counted.
            await connection.execute(
                preference_stats.delete().where(
                    table.stat_type == sa.bindparam("stat_type"),
                    table.key1 == sa.bindparam("key1"),
                    table.key2 == sa.bindparam("key2"),
                    table.user_id == sa.bindparam("user_id"),
                    table.total_count <= 0,
                ),
                [{key: row[key] for key in ("stat_type", "key1", "key2", "user_id")} for row in emptied],
            )

    async def _remember_names(
        self, connection: AsyncConnection, events: Sequence[PreferenceEvent]
    ) -> None:
        now = datetime.now(UTC)
        users = sorted({event.user_id for event in events})
        insert = postgresql.insert if self._postgres else sqlite.insert
        await connection.execute(
            insert(profiles).on_conflict_do_nothing(),
            [{"user_id": user, "created_at": now} for user in users],
        )
        names: dict[tuple[str, str], dict[str, Any]] = {}
        for event in events:
            names[("checkpoint", event.checkpoint_key)] = {
                "kind": "checkpoint",
                "key": event.checkpoint_key,
                "name": event.checkpoint,
                "family": event.model_family,
            }
            for lora in event.loras:
                names[("lora", lora.key)] = {
                    "kind": "lora", "key": lora.key, "name": lora.name, "family": None,
                }  # fmt: skip
        statement = insert(models)
        await connection.execute(
            statement.on_conflict_do_update(
                index_elements=[models.c.kind, models.c.key],
                set_={
                    "name": statement.excluded.name,
                    "family": sa.func.coalesce(statement.excluded.family, models.c.family),
                },
            ),
            [names[key] for key in sorted(names)],
        )

    async def _track_cleanup(
        self,
        connection: AsyncConnection,
        removed: Sequence[PreferenceEvent],
        added: Sequence[PreferenceEvent],
    ) -> None:
        # The seed's image_cleanup: rejected images with a path wait there for vision analysis and
        # deletion; an image whose rejection is undone leaves the list.
        gone = [(e.user_id, e.generation_id) for e in removed if not e.selected and e.image_path]
        for user_id, generation_id in gone:
            await connection.execute(
                image_cleanup.delete().where(
                    image_cleanup.c.user_id == user_id,
                    image_cleanup.c.generation_id == generation_id,
                )
            )
        waiting = [e for e in added if not e.selected and e.image_path]
        if waiting:
            insert = (postgresql.insert if self._postgres else sqlite.insert)(image_cleanup)
            await connection.execute(
                insert.on_conflict_do_nothing(),
                [
                    {
                        "user_id": event.user_id,
                        "generation_id": event.generation_id,
                        "image_path": event.image_path,
                        "vision_analyzed": event.vision_description is not None,
                        "deleted": False,
                        "created_at": event.timestamp,
                    }
                    for event in waiting
                ],
            )

    # -- reads --------------------------------------------------------------------------------

    async def evidence(self, user_id: str, cells: Iterable[Cell]) -> Evidence:
        """Counts of the cells for this profile and pooled over all profiles."""
        wanted = set(cells)
        by_type: dict[str, tuple[set[str], set[str]]] = {}
        for stat_type, key1, key2 in wanted:
            first, second = by_type.setdefault(stat_type, (set(), set()))
            first.add(key1)
            second.add(key2)
        personal: dict[Cell, Counts] = {}
        pooled: Counter[Cell] = Counter()
        pooled_selected: Counter[Cell] = Counter()
        table = preference_stats.c
        async with self._reading() as connection:
            for stat_type, (first, second) in by_type.items():
                query = sa.select(
                    table.key1, table.key2, table.user_id, table.selected_count, table.total_count
                ).where(
                    table.stat_type == stat_type,
                    table.key1.in_(sorted(first)),
                    table.key2.in_(sorted(second)),
                )
                for key1, key2, owner, selected, total in await connection.execute(query):
                    cell = (stat_type, key1, key2)
                    if cell not in wanted:
                        continue
                    pooled[cell] += total
                    pooled_selected[cell] += selected
                    if owner == user_id:
                        personal[cell] = Counts(selected, total)
        return Evidence(
            personal=personal,
            pooled={cell: Counts(pooled_selected[cell], total) for cell, total in pooled.items()},
        )

    async def known_models(self, kind: str, user_id: str | None = None) -> dict[str, str]:
        """Key -> display name of the checkpoints (or LoRAs) with statistics, for one profile or all."""
        stat_type = StatType.CHECKPOINT if kind == "checkpoint" else StatType.LORA
        table = preference_stats.c
        query = (
            sa.select(table.key1, models.c.name)
            .select_from(
                preference_stats.outerjoin(
                    models, sa.and_(models.c.kind == kind, models.c.key == table.key1)
                )
            )
            .where(table.stat_type == stat_type)
            .distinct()
        )
        if user_id is not None:
            query = query.where(table.user_id == user_id)
        async with self._reading() as connection:
            rows = (await connection.execute(query)).all()
        return {key: name or key for key, name in sorted(rows)}

    async def model_families(self, keys: Iterable[str], kind: str) -> dict[str, str]:
        """Key -> model family of the models whose family is known."""
        keys = sorted(set(keys))
        found: dict[str, str] = {}
        async with self._reading() as connection:
            for chunk in _chunks(keys):
                query = sa.select(models.c.key, models.c.family).where(
                    models.c.kind == kind, models.c.key.in_(chunk), models.c.family.is_not(None)
                )
                found.update({key: family for key, family in await connection.execute(query)})
        return found

    async def statistics(
        self, user_id: str | None, stat_type: StatType | None = None
    ) -> list[StatRow]:
        """Stored statistics of one profile (or all), optionally of one type."""
        table = preference_stats.c
        query = sa.select(preference_stats).order_by(
            table.user_id, table.stat_type, table.key1, table.key2
        )
        if user_id is not None:
            query = query.where(table.user_id == user_id)
        if stat_type is not None:
            query = query.where(table.stat_type == stat_type)
        async with self._reading() as connection:
            rows = (await connection.execute(query)).all()
        return [
            StatRow(
                row.user_id,
                (row.stat_type, row.key1, row.key2),
                Counts(row.selected_count, row.total_count),
                row.selection_rate,
                row.confidence,
            )
            for row in rows
        ]

    async def events(self, user_id: str | None = None) -> list[PreferenceEvent]:
        """Stored events of one profile (or all), oldest first."""
        query = sa.select(user_preferences).order_by(user_preferences.c.id)
        if user_id is not None:
            query = query.where(user_preferences.c.user_id == user_id)
        async with self._reading() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_row_event(row) for row in rows]

    async def users(self) -> list[str]:
        """Every profile with a stored event."""
        async with self._reading() as connection:
            rows = await connection.execute(sa.select(profiles.c.user_id).order_by(profiles.c.user_id))
            return [user for (user,) in rows]

    async def check(self) -> CheckReport:
        """Compare every stored statistic with a recomputation from the events."""
        async with self._reading() as connection:
            return await self._check(connection)

    async def _check(self, connection: AsyncConnection) -> CheckReport:
        recomputed, report_events = await self._recompute(connection)
        stored: dict[tuple[str, Cell], Counts] = {}
        table = preference_stats.c
        query = sa.select(
            table.user_id, table.stat_type, table.key1, table.key2,
            table.selected_count, table.total_count, table.selection_rate, table.confidence,
        )  # fmt: skip
        report = CheckReport()
        for user_id, stat_type, key1, key2, selected, total, rate, confidence in (
            await connection.execute(query)
        ):
            counts = Counts(selected, total)
            stored[(user_id, (stat_type, key1, key2))] = counts
            if abs(rate - counts.rate) > 1e-9 or abs(confidence - counts.confidence) > 1e-9:
                # Counts right but derived columns stale: report as wrong so repair rewrites it.
                report.wrong.append((user_id, (stat_type, key1, key2), counts, counts))
        report.statistics = len(stored)
        report.events = report_events
        for place in sorted(set(stored) | set(recomputed)):
            have, want = stored.get(place, Counts()), recomputed.get(place, Counts())
            if have != want:
                report.wrong.append((place[0], place[1], have, want))
        return report

    async def _recompute(self, connection: AsyncConnection) -> tuple[StatChanges, int]:
        # Streams the events so a large database is recomputed in bounded memory.
        totals: dict[tuple[str, Cell], list[int]] = {}
        count = 0
        result = await connection.stream(sa.select(user_preferences))
        async for rows in result.mappings().partitions(2000):
            for row in rows:
                event = _row_event(row)
                count += 1
                for cell in cells_of(event):
                    pair = totals.setdefault((event.user_id, cell), [0, 0])
                    pair[0] += event.selected
                    pair[1] += 1
        return {place: Counts(s, t) for place, (s, t) in totals.items()}, count

    async def _stored_events(
        self, connection: AsyncConnection, places: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[int, PreferenceEvent]]:
        by_user: dict[str, list[str]] = {}
        for user_id, generation_id in places:
            by_user.setdefault(user_id, []).append(generation_id)
        found: dict[tuple[str, str], tuple[int, PreferenceEvent]] = {}
        table = user_preferences.c
        for user_id, generation_ids in by_user.items():
            for chunk in _chunks(generation_ids):
                query = sa.select(user_preferences).where(
                    table.user_id == user_id, table.generation_id.in_(chunk)
                )
                for row in (await connection.execute(query)).mappings():
                    found[(row["user_id"], row["generation_id"])] = (row["id"], _row_event(row))
        return found

    def _reading(self) -> _ReadConnection:
        return _ReadConnection(self.engine)


class _ReadConnection:
    """``async with`` a connection whose transaction only reads (no write lock on SQLite)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def __aenter__(self) -> AsyncConnection:
        self._context = self._engine.connect()
        connection = await self._context.__aenter__()
        return await connection.execution_options(**READ_ONLY)

    async def __aexit__(self, *exc: object) -> None:
        await self._context.__aexit__(*exc)  # type: ignore[arg-type]


def _same_event(old: PreferenceEvent, new: PreferenceEvent) -> bool:
    # The same judgement sent again (a retry, a re-import) is no change, whatever its timestamp.
    first, second = old.to_dict(), new.to_dict()
    first.pop("timestamp")
    second.pop("timestamp")
    return first == second


def _event_row(event: PreferenceEvent) -> dict[str, Any]:
    return {
        "user_id": event.user_id,
        "generation_id": event.generation_id,
        "created_at": event.timestamp,
        "selected": event.selected,
        "implicit": event.implicit,
        "stage": event.stage,
        "checkpoint": event.checkpoint,
        "model_family": event.model_family,
        "loras": (
            json.dumps([[lora.name, lora.strength] for lora in event.loras], separators=(",", ":"))
            if event.loras
            else None
        ),
        "prompt": event.prompt,
        "keywords": " ".join(event.keywords),
        "negative_prompt": event.negative_prompt or None,
        "session_id": event.session_id,
        "batch_id": event.batch_id,
        "feedback": event.feedback,
        "image_path": event.image_path,
        "vision_description": event.vision_description,
        "vision_themes": json.dumps(list(event.vision_themes)) if event.vision_themes else None,
        "propensity": event.propensity,
    }


def _row_event(row: Any) -> PreferenceEvent:
    timestamp: datetime = row["created_at"]
    if timestamp.tzinfo is None:  # SQLite keeps no zone; tastebud writes UTC
        timestamp = timestamp.replace(tzinfo=UTC)
    return PreferenceEvent(
        prompt=row["prompt"],
        checkpoint=row["checkpoint"],
        action="selected" if row["selected"] else "rejected",
        generation_id=row["generation_id"],
        user_id=row["user_id"],
        keywords=tuple(row["keywords"].split()),
        loras=tuple(Lora(name, strength) for name, strength in json.loads(row["loras"] or "[]")),
        negative_prompt=row["negative_prompt"] or "",
        model_family=row["model_family"],
        stage=row["stage"],
        session_id=row["session_id"],
        batch_id=row["batch_id"],
        implicit=bool(row["implicit"]),
        timestamp=timestamp.astimezone(UTC),
        feedback=row["feedback"],
        image_path=row["image_path"],
        vision_description=row["vision_description"],
        vision_themes=tuple(json.loads(row["vision_themes"] or "[]")),
        propensity=row["propensity"],
    )


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
