"""Small integer ids for profiles, checkpoints, LoRAs and keywords, remembered once seen.

An id, once given, never changes or moves to another name, so ids read from the database are safe
to remember for the life of the process. Ids created inside a transaction are remembered only after
it commits (``Lookup.commit``): a rolled-back transaction must not leave ids that do not exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tastebud.store.schema import keywords, models, profiles

NAMES_PER_INSERT = 200  # rows per multi-row INSERT: 4 values each, well inside SQLite's limit


@dataclass(frozen=True, slots=True)
class Model:
    """A checkpoint or LoRA as stored."""

    id: int
    kind: str
    key: str
    name: str
    family: str | None


class Ids:
    """What this process knows of the id tables."""

    def __init__(self) -> None:
        self.profiles: dict[str, int] = {}
        self.keywords: dict[str, int] = {}
        self.models: dict[tuple[str, str], Model] = {}
        self.models_by_id: dict[int, Model] = {}

    def lookup(self, connection: sa.Connection, dialect: str) -> Lookup:
        """Id look-ups for one transaction."""
        return Lookup(self, connection, dialect)

    def forget(self) -> None:
        """Drop everything remembered (after the tables were emptied by hand, say)."""
        self.__init__()  # type: ignore[misc]


class Lookup:
    """Finds and, in a write transaction, creates ids."""

    def __init__(self, ids: Ids, connection: sa.Connection, dialect: str) -> None:
        self._ids = ids
        self._connection = connection
        self._dialect = dialect
        self._new_profiles: dict[str, int] = {}
        self._new_keywords: dict[str, int] = {}
        self._new_models: dict[tuple[str, str], Model] = {}
        self._gone_profiles: set[str] = set()

    @property
    def dialect_name(self) -> str:
        return self._dialect

    def commit(self) -> None:
        """Remember the ids this transaction created or changed; call after it committed."""
        for user_id in self._gone_profiles:
            self._ids.profiles.pop(user_id, None)
        self._ids.profiles.update(self._new_profiles)
        self._ids.keywords.update(self._new_keywords)
        for model in self._new_models.values():
            self._ids.models[(model.kind, model.key)] = model
            self._ids.models_by_id[model.id] = model

    def preload(self) -> None:
        """Remember every id stored now: recommendations then find their names without a query."""
        execute = self._connection.execute
        self._ids.profiles.update(dict(execute(sa.select(profiles.c.user_id, profiles.c.id)).all()))
        self._ids.keywords.update(dict(execute(sa.select(keywords.c.keyword, keywords.c.id)).all()))
        self._load_models(sa.true(), None, None)

    # -- profiles -----------------------------------------------------------------------------

    def profile_ids(self, user_ids: Iterable[str], *, create: bool = False) -> dict[str, int]:
        """user_id -> profile id of those that exist (all of them with ``create``)."""
        return self._ids_of(
            sorted(set(user_ids)), self._ids.profiles, self._new_profiles, profiles.c.user_id,
            profiles.c.id, {"created_at": datetime.now(UTC)} if create else None,
        )  # fmt: skip

    def forget_profile(self, user_id: str) -> None:
        """The profile was deleted: its id is forgotten once this transaction commits."""
        self._gone_profiles.add(user_id)
        self._new_profiles.pop(user_id, None)

    # -- keywords -----------------------------------------------------------------------------

    def keyword_ids(self, words: Iterable[str], *, create: bool = False) -> dict[str, int]:
        """keyword -> id of those that exist (all of them with ``create``)."""
        return self._ids_of(
            sorted(set(words)), self._ids.keywords, self._new_keywords, keywords.c.keyword,
            keywords.c.id, {} if create else None,
        )  # fmt: skip

    def all_keywords(self) -> dict[int, str]:
        """id -> keyword of every keyword (for checks and exports)."""
        rows = self._connection.execute(sa.select(keywords.c.id, keywords.c.keyword))
        return {id_: word for id_, word in rows}

    # -- models -------------------------------------------------------------------------------

    def model_ids(self, kind: str, keys: Iterable[str]) -> dict[str, int]:
        """key -> id of the models of this kind that exist."""
        wanted = sorted(set(keys))
        missing = [key for key in wanted if self._model(kind, key) is None]
        if missing:
            self._load_models(models.c.kind == kind, models.c.key.in_, missing)
        return {key: model.id for key in wanted if (model := self._model(kind, key))}

    def save_models(self, kind: str, named: Mapping[str, tuple[str, str | None]]) -> dict[str, int]:
        """key -> id of models of this kind, created or renamed as ``named`` (key -> name, family).

        The name kept is the one last written; a known family is not erased by an unknown one.
        """
        unknown = sorted(key for key in named if self._model(kind, key) is None)
        if unknown:
            # Inserted first, then looked up only if another writer had them: a name new to this
            # process is most often new to the database (one round trip where a look-up first
            # took two).
            created = self._insert_names(
                models.c.key, models.c.id,
                [{"kind": kind, "key": key, "name": named[key][0], "family": named[key][1]}
                 for key in unknown],
            )  # fmt: skip
            for key, model_id in created.items():
                self._new_models[(kind, key)] = Model(model_id, kind, key, *named[key])
            others = [key for key in unknown if key not in created]
            if others:
                self._load_models(models.c.kind == kind, models.c.key.in_, others)
        ids: dict[str, int] = {}
        for key, (name, family) in sorted(named.items()):
            known = self._model(kind, key)
            assert known is not None
            family = family or known.family
            if (known.name, known.family) != (name, family):
                self._connection.execute(
                    models.update().where(models.c.id == known.id).values(name=name, family=family)
                )
                self._new_models[(kind, key)] = Model(known.id, kind, key, name, family)
            ids[key] = known.id
        return ids

    def model(self, model_id: int) -> Model:
        """The stored model with this id."""
        model = self._new_models_by_id().get(model_id) or self._ids.models_by_id.get(model_id)
        if model is None:
            self._load_models(sa.true(), models.c.id.in_, [model_id])
            model = self._ids.models_by_id[model_id]
        return model

    def all_models(self) -> dict[int, Model]:
        """id -> model of every stored model."""
        self._load_models(sa.true(), None, None)
        return {**self._ids.models_by_id, **self._new_models_by_id()}

    def _model(self, kind: str, key: str) -> Model | None:
        return self._new_models.get((kind, key)) or self._ids.models.get((kind, key))

    def _new_models_by_id(self) -> dict[int, Model]:
        return {model.id: model for model in self._new_models.values()}

    def _load_models(self, condition: object, column_in: object, values: list[Any] | None) -> None:
        query = sa.select(models).where(condition)  # type: ignore[arg-type]
        if column_in is not None and values is not None:
            query = query.where(column_in(values))  # type: ignore[operator]
        for row in self._connection.execute(query):
            model = Model(row.id, row.kind, row.key, row.name, row.family)
            self._ids.models[(model.kind, model.key)] = model
            self._ids.models_by_id[model.id] = model

    # -- shared -------------------------------------------------------------------------------

    def _ids_of(
        self,
        wanted: list[str],
        known: dict[str, int],
        new: dict[str, int],
        name_column: sa.Column[str],
        id_column: sa.Column[int],
        create_with: dict[str, object] | None,
    ) -> dict[str, int]:
        found = {name: known.get(name) or new.get(name) for name in wanted}
        missing = [name for name, id_ in found.items() if id_ is None]
        if missing and create_with is not None:
            # Inserted first, as ``save_models`` does; what another writer had is looked up.
            rows = [{name_column.name: name, **create_with} for name in missing]
            for name, id_ in self._insert_names(name_column, id_column, rows).items():
                found[name] = id_
                new[name] = id_  # remembered once this transaction commits
            missing = [name for name in missing if found[name] is None]
        for name, id_ in self._select_ids(missing, name_column, id_column):
            found[name] = id_
            known[name] = id_  # committed by someone: safe to remember now
        return {name: id_ for name, id_ in found.items() if id_ is not None}

    def _insert_names(
        self, name_column: sa.Column[str], id_column: sa.Column[int], rows: list[dict[str, Any]]
    ) -> dict[str, int]:
        """Insert the rows (sorted by name: concurrent writers then wait for each other in one
        order) but those whose name is stored; name -> id of the rows inserted."""
        created: dict[str, int] = {}
        for start in range(0, len(rows), NAMES_PER_INSERT):
            statement = (
                self._insert(name_column.table)
                .values(rows[start : start + NAMES_PER_INSERT])
                .on_conflict_do_nothing()
                .returning(name_column, id_column)
            )
            created.update((name, id_) for name, id_ in self._connection.execute(statement))
        return created

    def _select_ids(
        self, names: list[str], name_column: sa.Column[str], id_column: sa.Column[int]
    ) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        for start in range(0, len(names), 500):
            query = sa.select(name_column, id_column).where(
                name_column.in_(names[start : start + 500])
            )
            found.extend((name, id_) for name, id_ in self._connection.execute(query))
        return found

    def _insert(self, table: sa.Table) -> sqlite.Insert:
        return insert_for(self._dialect, table)


def insert_for(dialect: str, table: sa.Table) -> sqlite.Insert:
    """An INSERT with ``on_conflict_do_*`` for the dialect (both dialects share that API)."""
    if dialect == "postgresql":
        return postgresql.insert(table)  # type: ignore[return-value]
    return sqlite.insert(table)
