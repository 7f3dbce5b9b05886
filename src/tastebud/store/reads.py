"""Reads: statistics for a question, events, and the recount that checks them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tastebud.events import PreferenceEvent
from tastebud.learning.keys import Cell, Counts, StatType, cells, stat_changes
from tastebud.learning.levels import SettledCounts
from tastebud.learning.strategy import Block, Evidence
from tastebud.store.cache import Snapshot
from tastebud.store.cells import STAT_CODES, from_stored, key_kinds
from tastebud.store.ids import Lookup
from tastebud.store.rows import row_event
from tastebud.store.schema import models, preference_stats, profiles, user_preferences

CHUNK = 500  # values per IN (...) list: well inside SQLite's and asyncpg's parameter limits


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


def evidence(
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


def cached_evidence(
    connection: sa.Connection, ids: Lookup, user_id: str, blocks: Sequence[Block], found: Snapshot
) -> Evidence:
    """``evidence``, from the rows already in ``found`` and the rest read into it.

    A block's rows are read for every key2 and every profile (one range scan per key1, which is
    how ``evidence`` reads a block of many key2 anyway), so a later question about other
    candidates or another profile finds them too. The answer's maps are the snapshot's own:
    they hold more cells than were asked for, and stay the same objects while it lives.
    """
    for block in blocks:
        stat_type = block.stat_type
        missing = [key1 for key1 in block.keys1 if (stat_type, key1) not in found.loaded]
        if missing:
            _load(connection, ids, stat_type, missing, found)
    profile = ids.profile_ids([user_id]).get(user_id)
    personal = found.personal.get(profile)
    if personal is None:
        personal = found.personal[profile] = SettledCounts()
    return Evidence(personal=personal, pooled=found.pooled)


def _load(
    connection: sa.Connection, ids: Lookup, stat_type: StatType, keys1: list[str], found: Snapshot
) -> None:
    names1 = _names_by_id(ids, key_kinds(stat_type)[0], keys1)
    code = STAT_CODES[stat_type]
    pooled, personal = found.pooled, found.personal
    names2: dict[int, str] = {0: ""}
    # Straight to the driver (the cache is SQLite's only): SQLAlchemy's rows cost more than the
    # range scans themselves.
    driver: Any = connection.connection.driver_connection
    for chunk in chunks(list(names1)):
        marks = ",".join("?" * len(chunk))
        rows = driver.execute(_LOAD_SQL.format(marks), (code, *chunk))
        for key1, key2, owner, selected, total in rows:
            name2 = names2.get(key2)
            if name2 is None:
                name2 = names2[key2] = ids.model(key2).key
            cell = (stat_type, names1[key1], name2)
            earlier = pooled.get(cell)
            pooled.put(cell, (
                (selected, total) if earlier is None
                else (earlier[0] + selected, earlier[1] + total)
            ))  # fmt: skip
            mine = personal.get(owner)
            if mine is None:
                mine = personal[owner] = SettledCounts()
            mine.put(cell, (selected, total))
    found.loaded.update((stat_type, key1) for key1 in keys1)


_LOAD_SQL = (
    "SELECT key1, key2, profile_id, selected_count, total_count FROM preference_stats"
    " WHERE stat_type = ? AND key1 IN ({})"
)


def decayed_evidence(
    connection: sa.Connection,
    ids: Lookup,
    user_id: str,
    blocks: Sequence[Block],
    half_life_days: float,
    now: datetime,
) -> Evidence:
    """The cells ``blocks`` ask for, each image weighted ``0.5 ** (age in days / half_life)``.

    The stored statistics are plain counts, so decayed weights are summed from the events: a
    scan of every event (all profiles' for the pooled counts), which is why decay is a setting.
    """
    wanted = {
        (block.stat_type, key1, key2) for block in blocks for key1 in block.keys1
        for key2 in block.keys2
    }  # fmt: skip
    profile = ids.profile_ids([user_id]).get(user_id)
    models = ids.all_models()
    table = user_preferences.c
    query = sa.select(
        table.profile_id, table.created_at, table.selected, table.checkpoint_id, table.loras,
        table.keywords,
    )  # fmt: skip
    personal: dict[Cell, tuple[float, float]] = {}
    pooled: dict[Cell, tuple[float, float]] = {}
    day = 86_400.0
    for owner, created_at, selected, checkpoint_id, loras, words in connection.execute(query):
        moment = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        age = max((now - moment).total_seconds() / day, 0.0)
        weight = 0.5 ** (age / half_life_days)
        kept = weight if selected else 0.0
        lora_keys = [models[id_].key for id_, _ in json.loads(loras)] if loras else []
        for cell in cells(words.split(), models[checkpoint_id].key, lora_keys, ""):
            if cell not in wanted:
                continue
            targets = (pooled, personal) if owner == profile else (pooled,)
            for counts in targets:
                found = counts.get(cell)
                counts[cell] = (
                    (kept, weight) if found is None else (found[0] + kept, found[1] + weight)
                )
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


def profiles_by_id(connection: sa.Connection) -> dict[int, str]:
    return dict(connection.execute(sa.select(profiles.c.id, profiles.c.user_id)).all())


def events(connection: sa.Connection, ids: Lookup, user_id: str | None) -> list[PreferenceEvent]:
    users = profiles_by_id(connection)
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


@dataclass(frozen=True)
class Page:
    """One page of a profile's events, newest first, and where the next page starts."""

    events: list[PreferenceEvent]
    total: int
    """How many events match the filters, on every page."""
    next_cursor: int | None
    """The row id the next page starts below; None on the last page."""


def events_page(
    connection: sa.Connection,
    ids: Lookup,
    user_id: str,
    *,
    checkpoint_key: str | None,
    keyword: str | None,
    selected: bool | None,
    session_id: str | None,
    limit: int,
    before: int | None,
) -> Page:
    """The ``limit`` most recently recorded events below row ``before`` that match the filters."""
    table = user_preferences.c
    profile = ids.profile_ids([user_id]).get(user_id)
    if profile is None:
        return Page([], 0, None)
    conditions: list[sa.ColumnElement[bool]] = [table.profile_id == profile]
    if checkpoint_key is not None:
        checkpoint = ids.model_ids("checkpoint", [checkpoint_key]).get(checkpoint_key)
        if checkpoint is None:
            return Page([], 0, None)
        conditions.append(table.checkpoint_id == checkpoint)
    if keyword is not None:
        # Keywords are stored space-separated: a whole keyword has a space on each side.
        spaced = sa.literal(" ") + table.keywords + sa.literal(" ")
        conditions.append(spaced.contains(f" {keyword} ", autoescape=True))
    if selected is not None:
        conditions.append(table.selected == selected)
    if session_id is not None:
        conditions.append(table.session_id == session_id)
    total = connection.execute(sa.select(sa.func.count()).where(*conditions)).scalar_one()
    query = sa.select(user_preferences).where(*conditions)
    if before is not None:
        query = query.where(table.id < before)
    # Recording order, by the primary key: no index beyond the ones every event already pays for.
    rows = connection.execute(query.order_by(table.id.desc()).limit(limit + 1)).all()
    events = [row_event(row, user_id, ids.model) for row in rows[:limit]]
    return Page(events, total, rows[limit - 1].id if len(rows) > limit else None)


def stored_events(
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
        if (
            len(generation_ids) > CHUNK  # a small batch: one lookup either way
            and not connection.execute(_ANY_EVENT, {"profile": profile}).first()
        ):
            continue  # a profile's first import (a restore on a new machine): nothing to find
        for chunk in chunks(generation_ids):
            rows = connection.execute(_STORED_EVENTS, {"profile": profile, "ids": list(chunk)})
            for row in rows:
                event = row_event(row, users[profile], ids.model)
                found[(event.user_id, event.generation_id)] = (row.id, event)
    return found


_ANY_EVENT = (
    sa.select(user_preferences.c.id)
    .where(user_preferences.c.profile_id == sa.bindparam("profile"))
    .limit(1)
)
# Built once, with an expanding IN list: looked up on every recording.
_STORED_EVENTS = sa.select(user_preferences).where(
    user_preferences.c.profile_id == sa.bindparam("profile"),
    user_preferences.c.generation_id.in_(sa.bindparam("ids", expanding=True)),
)


def check(connection: sa.Connection, ids: Lookup) -> tuple[CheckReport, list[PreferenceEvent]]:
    """The report, and the events it recounted (for a repair to rebuild from)."""
    all_events = events(connection, ids, None)
    recomputed = stat_changes([], all_events)
    users = profiles_by_id(connection)
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
    report = CheckReport(events=len(all_events), statistics=len(stored))
    for place in sorted(set(stored) | set(recomputed)):
        have, want = stored.get(place, Counts()), recomputed.get(place, Counts())
        if have != want:
            report.wrong.append((place[0], place[1], have, want))
    return report, all_events


def stat_type_filter(ids: Lookup, stat_type: StatType) -> sa.ColumnElement[bool]:
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


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def known_models(
    connection: sa.Connection, ids: Lookup, kind: str, user_id: str | None
) -> dict[str, str]:
    """Key -> display name of the checkpoints (or LoRAs) with statistics, for one profile or all."""
    stats = preference_stats.c
    code = STAT_CODES[StatType.CHECKPOINT if kind == "checkpoint" else StatType.LORA]
    # One index seek per model of the kind (key1 leads the statistics' primary key), and the
    # names read in the same query: this runs on every recommendation without candidates.
    used = sa.select(stats.key1).where(
        stats.key1 == models.c.id, stats.stat_type == code, stats.key2 == 0
    )
    if user_id is not None:
        profile = ids.profile_ids([user_id]).get(user_id)
        if profile is None:
            return {}
        used = used.where(stats.profile_id == profile)
    query = (
        sa.select(models.c.key, models.c.name)
        .where(models.c.kind == kind, used.exists())
        .order_by(models.c.key)
    )
    return dict(connection.execute(query).all())


def statistics(
    connection: sa.Connection,
    ids: Lookup,
    user_id: str | None,
    stat_types: Sequence[StatType] | None = None,
) -> list[StatRow]:
    """Stored statistics of one profile (or all), optionally of some types only, by name."""
    table = preference_stats.c
    query = sa.select(
        table.profile_id, table.stat_type, table.key1, table.key2,
        table.selected_count, table.total_count,
    )  # fmt: skip
    users = profiles_by_id(connection)
    if user_id is not None:
        profile = ids.profile_ids([user_id]).get(user_id)
        if profile is None:
            return []
        query = query.where(table.profile_id == profile)
    if stat_types is not None:
        query = query.where(sa.or_(*(stat_type_filter(ids, t) for t in stat_types)))
    need_keywords = stat_types is None or any("keyword" in key_kinds(t) for t in stat_types)
    keywords = ids.all_keywords() if need_keywords else {}
    models = ids.all_models()
    rows = [
        StatRow(users[profile], from_stored((code, key1, key2), keywords, models), Counts(s, t))
        for profile, code, key1, key2, s, t in connection.execute(query)
    ]
    return sorted(rows, key=lambda row: (row.user_id, row.cell))


def lora_uses(
    connection: sa.Connection, ids: Lookup, user_id: str, keys: Sequence[str], limit: int
) -> dict[str, list[tuple[float, bool, str]]]:
    """(strength, selected, checkpoint key) of the profile's latest images with each LoRA.

    The most recent ``limit`` images per LoRA: strengths are learned from how a person uses a
    LoRA now. LoRAs are stored as JSON ``[[model id, strength], ...]`` on the event, so a LoRA's
    images are the rows whose list holds ``[id,``.
    """
    profile = ids.profile_ids([user_id]).get(user_id)
    wanted = ids.model_ids("lora", keys)
    found: dict[str, list[tuple[float, bool, str]]] = {key: [] for key in keys}
    if profile is None:
        return found
    table = user_preferences.c
    for key, model_id in wanted.items():
        query = (
            sa.select(table.loras, table.selected, table.checkpoint_id)
            .where(table.profile_id == profile, table.loras.contains(f"[{model_id},"))
            .order_by(table.id.desc())
            .limit(limit)
        )
        for loras, selected, checkpoint_id in connection.execute(query):
            checkpoint = ids.model(checkpoint_id).key
            for id_, strength in json.loads(loras):
                if id_ == model_id:
                    found[key].append((float(strength), bool(selected), checkpoint))
    return found


def families(ids: Lookup, kind: str, keys: Sequence[str]) -> dict[str, str | None]:
    """The recorded base model family of each checkpoint (or LoRA); None where unknown."""
    found = ids.model_ids(kind, keys)
    return {key: ids.model(found[key]).family if key in found else None for key in keys}


def judged_times(
    connection: sa.Connection, ids: Lookup, user_id: str, since: datetime
) -> list[tuple[datetime, bool]]:
    """(when, selected) of the profile's events recorded at ``since`` or later."""
    profile = ids.profile_ids([user_id]).get(user_id)
    if profile is None:
        return []
    table = user_preferences.c
    query = sa.select(table.created_at, table.selected).where(
        table.profile_id == profile, table.created_at >= since
    )
    return [
        (moment if moment.tzinfo else moment.replace(tzinfo=UTC), bool(selected))
        for moment, selected in connection.execute(query)
    ]


def profile_totals(connection: sa.Connection) -> dict[str, int]:
    """Every profile with its number of events, including profiles with none."""
    counted = (
        sa.select(user_preferences.c.profile_id, sa.func.count().label("events"))
        .group_by(user_preferences.c.profile_id)
        .subquery()
    )
    query = (
        sa.select(profiles.c.user_id, sa.func.coalesce(counted.c.events, 0))
        .select_from(profiles.outerjoin(counted, counted.c.profile_id == profiles.c.id))
        .order_by(profiles.c.user_id)
    )
    return {user_id: int(events) for user_id, events in connection.execute(query)}
