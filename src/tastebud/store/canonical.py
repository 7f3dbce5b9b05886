"""Schema version 4: stored names, keywords and profile ids in NFC, what was split merged.

Before version 4, "café" typed as one composed "é" (NFC) and as an "e" with a combining accent
(NFD) were two checkpoints, two keywords or two profiles; and keywords taken from a prompt had no
limit on their length or number, so an event could hold what its own export may not. Since
version 4 text is made canonical where it enters (``tastebud.names.canonical``); this step does
the same to what is stored:

- profiles, models and keywords that are one in NFC become one row (the oldest id stays);
- two events of one image in merged profiles are one event, the later one;
- each event's keywords are held to the limits of a new event (``tastebud.events``): NFC, unique,
  at most 100 letters, at most 256, at most 4,096 keyword-LoRA pairs (the prompt's first words
  stay; the prompt itself is never changed);
- when anything moved, every statistic is recounted from the events and fitted states (a
  cache) are dropped.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from tastebud.events import MAX_KEYWORD_LORA_PAIRS, MAX_KEYWORDS
from tastebud.keywords import MAX_KEYWORD_CHARS
from tastebud.names import canonical
from tastebud.store import reads
from tastebud.store.ids import Ids
from tastebud.store.schema import (
    fitted_state,
    generations,
    image_cleanup,
    keywords,
    models,
    profiles,
    user_preferences,
)
from tastebud.store.writes import Writer


def make_text_canonical(connection: sa.Connection) -> None:
    """Version 4 (see the module's text)."""
    moved = _merge_profiles(connection)
    merged_models = _merge_models(connection)
    moved |= bool(merged_models)
    moved |= _fit_events(connection, merged_models)
    moved |= _merge_keywords(connection)
    if moved:
        connection.execute(fitted_state.delete())
        lookup = Ids().lookup(connection, connection.dialect.name)
        Writer(connection.dialect.name == "postgresql").rebuild(
            connection, lookup, reads.events(connection, lookup, None)
        )


def _groups(rows: Iterable[Any]) -> dict[str, list[tuple[int, str]]]:
    """(id, text) rows by their NFC text, oldest id first."""
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for id_, text in sorted((int(id_), str(text)) for id_, text in rows):
        found[canonical(text)].append((id_, text))
    return found


def _merge_profiles(connection: sa.Connection) -> bool:
    moved = False
    rows = connection.execute(sa.select(profiles.c.id, profiles.c.user_id)).all()
    for user_id, members in _groups(rows).items():
        keeper, written = members[0]
        for other, _ in members[1:]:
            _move_profile(connection, other, keeper)
            moved = True
        if written != user_id:
            connection.execute(
                profiles.update().where(profiles.c.id == keeper).values(user_id=user_id)
            )
            moved = True
    return moved


def _move_profile(connection: sa.Connection, other: int, keeper: int) -> None:
    """Everything of profile ``other`` moved into ``keeper``; where both hold the same image,
    the later event (or the keeper's queue entry) stays."""
    mine, theirs = user_preferences.alias("mine"), user_preferences.alias("theirs")
    for loser, winner, later in ((other, keeper, True), (keeper, other, False)):
        same = sa.select(theirs.c.id).where(
            theirs.c.profile_id == winner,
            theirs.c.generation_id == mine.c.generation_id,
            theirs.c.created_at >= mine.c.created_at if later else sa.true(),
        )
        gone = sa.select(mine.c.id).where(mine.c.profile_id == loser, sa.exists(same))
        connection.execute(user_preferences.delete().where(user_preferences.c.id.in_(gone)))
    for table, column in ((generations, "content_hash"), (image_cleanup, "generation_id")):
        kept = sa.select(table.c[column]).where(table.c.profile_id == keeper)
        connection.execute(
            table.delete().where(table.c.profile_id == other, table.c[column].in_(kept))
        )
    for table in (user_preferences, generations, image_cleanup):
        connection.execute(
            table.update().where(table.c.profile_id == other).values(profile_id=keeper)
        )
    connection.execute(profiles.delete().where(profiles.c.id == other))


def _merge_models(connection: sa.Connection) -> dict[int, int]:
    """Merge models whose keys are one in NFC; returns merged id -> the id it became."""
    merged: dict[int, int] = {}
    for kind in ("checkpoint", "lora"):
        rows = connection.execute(
            sa.select(models.c.id, models.c.key).where(models.c.kind == kind)
        ).all()
        for key, members in _groups(rows).items():
            keeper, written = members[0]
            others = [id_ for id_, _ in members[1:]]
            if others:
                merged.update(dict.fromkeys(others, keeper))
                connection.execute(
                    user_preferences.update()
                    .where(user_preferences.c.checkpoint_id.in_(others))
                    .values(checkpoint_id=keeper)
                )
                connection.execute(models.delete().where(models.c.id.in_(others)))
            if others or written != key:
                connection.execute(models.update().where(models.c.id == keeper).values(key=key))
    for id_, name in connection.execute(sa.select(models.c.id, models.c.name)).all():
        if canonical(name) != name:
            connection.execute(
                models.update().where(models.c.id == id_).values(name=canonical(name))
            )
    return merged


def _fit_events(connection: sa.Connection, merged_models: dict[int, int]) -> bool:
    """Each event's keywords (and LoRAs, after merged models) as a new event would hold them."""
    table = user_preferences.c
    changes = []
    for id_, words, loras in connection.execute(sa.select(table.id, table.keywords, table.loras)):
        pairs = json.loads(loras) if loras else []
        fitted_loras = loras
        if merged_models and any(lora_id in merged_models for lora_id, _ in pairs):
            first: dict[int, float] = {}
            for lora_id, strength in pairs:
                first.setdefault(merged_models.get(lora_id, lora_id), strength)
            pairs = list(first.items())
            fitted_loras = json.dumps(pairs)
        fitted = _fitted_keywords(words.split(), len(pairs))
        if fitted != words or fitted_loras != loras:
            changes.append({"row": id_, "words": fitted, "loras": fitted_loras})
    if changes:
        connection.execute(
            user_preferences.update()
            .where(table.id == sa.bindparam("row"))
            .values(keywords=sa.bindparam("words"), loras=sa.bindparam("loras")),
            changes,
        )
    return bool(changes)


def _fitted_keywords(words: list[str], lora_count: int) -> str:
    fitted = [
        word
        for word in dict.fromkeys(canonical(word) for word in words)
        if len(word) <= MAX_KEYWORD_CHARS
    ][:MAX_KEYWORDS]
    if lora_count and len(fitted) * lora_count > MAX_KEYWORD_LORA_PAIRS:
        fitted = fitted[: MAX_KEYWORD_LORA_PAIRS // lora_count]
    return " ".join(fitted)


def _merge_keywords(connection: sa.Connection) -> bool:
    """Keyword rows that are one in NFC become one; rows no event can use any more go."""
    moved = False
    rows = connection.execute(sa.select(keywords.c.id, keywords.c.keyword)).all()
    for word, members in _groups(rows).items():
        keeper, written = members[0]
        gone = [id_ for id_, _ in members[1:]]
        if len(word) > MAX_KEYWORD_CHARS:
            gone.append(keeper)
        if gone:
            connection.execute(keywords.delete().where(keywords.c.id.in_(gone)))
            moved = True
        if keeper not in gone and written != word:
            connection.execute(
                keywords.update().where(keywords.c.id == keeper).values(keyword=word)
            )
            moved = True
    return moved
