"""Numbered schema migrations, only ever added.

A database created by this version of tastebud gets the tables of ``schema.py`` and is stamped
``LATEST_VERSION``. A database stamped with an older version runs each later step in order, in one
transaction. Step N takes a database at version N - 1 to version N.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

from tastebud.errors import TastebudError
from tastebud.store.canonical import make_text_canonical
from tastebud.store.schema import (
    LATEST_VERSION,
    fitted_state,
    generations,
    metadata,
    schema_version,
    trashed,
)

Step = Callable[[sa.Connection], None]


def _add_generations(connection: sa.Connection) -> None:
    """Version 2: images awaiting review (the importers' queue)."""
    generations.create(connection)


def _add_fitted_state(connection: sa.Connection) -> None:
    """Version 3: the default strategy's fitted state per profile (a cache, starts empty)."""
    fitted_state.create(connection)


def _add_style(connection: sa.Connection) -> None:
    """Version 5: what each image looks like (``tastebud.style``), on generations and events;
    empty until the style pass reads the pictures."""
    inspector = sa.inspect(connection)
    for table in ("generations", "user_preferences"):
        # Step 2 creates generations as schema.py has it today, style and all.
        if "style" not in {column["name"] for column in inspector.get_columns(table)}:
            connection.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN style VARCHAR(60)"))


def _add_trashed(connection: sa.Connection) -> None:
    """Version 6: what ``tastebud cleanup`` moved to the trash, to put back (starts empty)."""
    trashed.create(connection, checkfirst=True)  # a database that has it already keeps it


STEPS: dict[int, Step] = {
    2: _add_generations,
    3: _add_fitted_state,
    4: make_text_canonical,
    5: _add_style,
    6: _add_trashed,
}


class SchemaTooNew(TastebudError):
    """The database was written by a newer tastebud than this one."""


def migrate(connection: sa.Connection) -> int:
    """Bring the database to ``LATEST_VERSION``; returns the version it was at (0 when new)."""
    if connection.dialect.name == "postgresql":
        # Two servers starting at once on a new database must not both create the tables. (On
        # SQLite the write transaction's BEGIN IMMEDIATE already serialises them.)
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(7274338)"))
    if not sa.inspect(connection).has_table(schema_version.name):
        metadata.create_all(connection)
        _stamp(connection, LATEST_VERSION)
        return 0
    current = connection.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
    current = int(current or 0)
    if current > LATEST_VERSION:
        raise SchemaTooNew(
            f"the database is at schema version {current}; this tastebud knows up to "
            f"{LATEST_VERSION}: upgrade tastebud"
        )
    for version in range(current + 1, LATEST_VERSION + 1):
        STEPS[version](connection)
        _stamp(connection, version)
    return current


def _stamp(connection: sa.Connection, version: int) -> None:
    connection.execute(
        schema_version.insert().values(version=version, applied_at=datetime.now(UTC))
    )
