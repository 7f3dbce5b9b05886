"""Events to table rows and back."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tastebud.events import Lora, PreferenceEvent
from tastebud.store.ids import Model, insert_for


def event_row(
    event: PreferenceEvent, profile_id: int, checkpoint_id: int, lora_ids: Mapping[str, int]
) -> dict[str, Any]:
    """The ``user_preferences`` row of an event."""
    return {
        "profile_id": profile_id,
        "generation_id": event.generation_id,
        "created_at": event.timestamp,
        "selected": event.selected,
        "implicit": event.implicit,
        "stage": event.stage,
        "checkpoint_id": checkpoint_id,
        "model_family": event.model_family,
        "loras": _loras_json(event, lora_ids),
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


def _loras_json(event: PreferenceEvent, lora_ids: Mapping[str, int]) -> str | None:
    if not event.loras:
        return None
    pairs = [[lora_ids[lora.key], lora.strength] for lora in event.loras]
    return json.dumps(pairs, separators=(",", ":"))


def row_event(row: Any, user_id: str, model: Callable[[int], Model]) -> PreferenceEvent:
    """The event of a ``user_preferences`` row (names from ``model(id)``)."""
    timestamp: datetime = row.created_at
    if timestamp.tzinfo is None:  # SQLite keeps no zone; tastebud writes UTC
        timestamp = timestamp.replace(tzinfo=UTC)
    return PreferenceEvent(
        prompt=row.prompt,
        checkpoint=model(row.checkpoint_id).name,
        action="selected" if row.selected else "rejected",
        generation_id=row.generation_id,
        user_id=user_id,
        keywords=tuple(row.keywords.split()),
        loras=tuple(Lora(model(id_).name, strength) for id_, strength in json.loads(row.loras or "[]")),
        negative_prompt=row.negative_prompt or "",
        model_family=row.model_family,
        stage=row.stage,
        session_id=row.session_id,
        batch_id=row.batch_id,
        implicit=bool(row.implicit),
        timestamp=timestamp.astimezone(UTC),
        feedback=row.feedback,
        image_path=row.image_path,
        vision_description=row.vision_description,
        vision_themes=tuple(json.loads(row.vision_themes or "[]")),
        propensity=row.propensity,
    )


class DriverInsert:
    """An INSERT of events sent to the driver as plain tuples.

    SQLAlchemy's executemany processes every parameter of every row in Python; for an import of
    100,000 events that is most of the time. The statement is compiled once for the database, and
    only the columns whose type converts values (dates on SQLite) are converted here, by the
    type's own ``bind_processor``. ``if_new`` makes it the single-event form: skip a generation id
    that is stored already, and say whether the row went in.
    """

    def __init__(self, table: sa.Table, dialect: sa.Dialect, *, if_new: bool = False) -> None:
        columns = [column.name for column in table.columns if not column.primary_key]
        statement: Any = insert_for(dialect.name, table).values(
            {name: sa.bindparam(name) for name in columns}
        )
        if if_new:
            statement = statement.on_conflict_do_nothing(
                index_elements=["profile_id", "generation_id"]
            ).returning(table.c.id)
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.order = tuple(compiled.positiontup or ())
        assert set(self.order) == set(columns)
        self._convert = [
            (index, processor)
            for index, name in enumerate(self.order)
            if (processor := table.c[name].type.bind_processor(dialect)) is not None
        ]

    def _values(self, row: dict[str, Any]) -> tuple[Any, ...]:
        value = [row[name] for name in self.order]
        for index, processor in self._convert:
            value[index] = processor(value[index])
        return tuple(value)

    def run(self, connection: sa.Connection, rows: list[dict[str, Any]]) -> None:
        """Insert every row."""
        connection.exec_driver_sql(self.sql, [self._values(row) for row in rows])

    def run_one(self, connection: sa.Connection, row: dict[str, Any]) -> bool:
        """Insert one row; False when its generation id is stored already (``if_new``)."""
        return connection.exec_driver_sql(self.sql, self._values(row)).first() is not None
