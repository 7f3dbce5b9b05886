"""Numbered schema migrations, only ever added.

A database created by this version of tastebud gets the tables of ``schema.py`` and is stamped
``LATEST_VERSION``. A database stamped with an older version runs each later step in order, in one
transaction. Step N takes a database at version N - 1 to version N; the list is empty while version 1
is the only one there has been.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tastebud.errors import TastebudError
from tastebud.store.schema import LATEST_VERSION, metadata, schema_version

Step = Callable[[AsyncConnection], Awaitable[None]]

STEPS: dict[int, Step] = {}


class SchemaTooNew(TastebudError):
    """The database was written by a newer tastebud than this one."""


async def migrate(connection: AsyncConnection) -> int:
    """Bring the database to ``LATEST_VERSION``; returns the version it was at (0 when new)."""
    has_table = await connection.run_sync(
        lambda sync: sa.inspect(sync).has_table(schema_version.name)
    )
    if not has_table:
        await connection.run_sync(metadata.create_all)
        await _stamp(connection, LATEST_VERSION)
        return 0
    current = (await connection.execute(sa.select(sa.func.max(schema_version.c.version)))).scalar()
    current = int(current or 0)
    if current > LATEST_VERSION:
        raise SchemaTooNew(
            f"the database is at schema version {current}; this tastebud knows up to "
            f"{LATEST_VERSION}: upgrade tastebud"
        )
    for version in range(current + 1, LATEST_VERSION + 1):
        await STEPS[version](connection)
        await _stamp(connection, version)
    return current


async def _stamp(connection: AsyncConnection, version: int) -> None:
    await connection.execute(
        schema_version.insert().values(version=version, applied_at=datetime.now(UTC))
    )
