"""Events to table rows and back."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tastebud.events import Lora, PreferenceEvent
from tastebud.store.ids import Model, insert_for
from tastebud.store.schema import user_preferences
from tastebud.style import from_text

EVENT_COLUMNS = tuple(column.name for column in user_preferences.columns if not column.primary_key)
"""The columns of an event's row, in the order ``event_row`` gives them."""


def event_row(
    event: PreferenceEvent, profile_id: int, checkpoint_id: int, lora_ids: Mapping[str, int]
) -> tuple[Any, ...]:
    """The ``user_preferences`` row of an event, as values in ``EVENT_COLUMNS`` order.

    A tuple, not a dictionary: an import makes 100,000 of them and hands them to the driver as
    they are.
    """
    return (
        profile_id,
        event.generation_id,
        event.timestamp,
        event.selected,
        event.implicit,
        event.stage,
        checkpoint_id,
        event.model_family,
        _loras_json(event, lora_ids),
        event.prompt,
        " ".join(event.keywords),
        event.negative_prompt or None,
        event.session_id,
        event.batch_id,
        event.feedback,
        event.image_path,
        event.vision_description,
        json.dumps(list(event.vision_themes)) if event.vision_themes else None,
        event.propensity,
        None if event.style is None else event.style.to_text(),
    )


def _loras_json(event: PreferenceEvent, lora_ids: Mapping[str, int]) -> str | None:
    # JSON [[model id, strength], ...] written directly: json.dumps would cost more than the rest
    # of the row. A strength is a finite float (checked on the way in), and Python writes floats
    # exactly as JSON does.
    if not event.loras:
        return None
    return (
        "[" + ",".join([f"[{lora_ids[lora.key]},{lora.strength!r}]" for lora in event.loras]) + "]"
    )


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
        loras=tuple(
            Lora(model(id_).name, strength, model(id_).family)
            for id_, strength in json.loads(row.loras or "[]")
        ),
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
        style=from_text(row.style) if row.style else None,
    )


class DriverInsert:
    """An INSERT of event rows (``event_row``) sent to the driver as plain tuples.

    SQLAlchemy's executemany processes every parameter of every row in Python; for an import of
    100,000 events that is most of the time. The statement is compiled once for the database, and
    only the columns whose type converts values (dates and booleans on SQLite) are converted here,
    by the type's own ``bind_processor``. ``if_new`` makes it the single-event form: skip a
    generation id that is stored already, and say whether the row went in.
    """

    def __init__(self, dialect: sa.Dialect, *, if_new: bool = False) -> None:
        table = user_preferences
        statement: Any = insert_for(dialect.name, table).values(
            {name: sa.bindparam(name) for name in EVENT_COLUMNS}
        )
        if if_new:
            statement = statement.on_conflict_do_nothing(
                index_elements=["profile_id", "generation_id"]
            ).returning(table.c.id)
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        # Both drivers take positional parameters, in the order of the values above.
        assert tuple(compiled.positiontup or ()) == EVENT_COLUMNS
        self._convert = [
            (index, processor)
            for index, name in enumerate(EVENT_COLUMNS)
            if (processor := table.c[name].type.bind_processor(dialect)) is not None
            # sqlite3 stores True and False as 1 and 0 itself, as SQLAlchemy's processor would
            and not (dialect.name == "sqlite" and isinstance(table.c[name].type, sa.Boolean))
        ]

    def row_values(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """An event row's values as the driver takes them."""
        return self._values(row)

    def _values(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self._convert:
            return row
        values = list(row)
        for index, processor in self._convert:
            values[index] = processor(values[index])
        return tuple(values)

    def run(self, connection: sa.Connection, rows: list[tuple[Any, ...]]) -> None:
        """Insert every row."""
        if len(self._convert) == 1:  # SQLite: only the time converts; one new tuple per row
            ((index, processor),) = self._convert
            rows = [(*row[:index], processor(row[index]), *row[index + 1 :]) for row in rows]
        else:
            rows = [self._values(row) for row in rows]
        connection.exec_driver_sql(self.sql, rows)

    def run_one(self, connection: sa.Connection, row: tuple[Any, ...]) -> bool:
        """Insert one row; False when its generation id is stored already (``if_new``)."""
        return connection.exec_driver_sql(self.sql, self._values(row)).first() is not None
