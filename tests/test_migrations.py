"""Schema versions: a new database is stamped, reopening changes nothing, a newer one is refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tastebud import PreferenceLearning
from tastebud.store.migrations import SchemaTooNew
from tastebud.store.schema import LATEST_VERSION, schema_version


async def _versions(pl: PreferenceLearning) -> list[int]:
    store = await pl._store()
    rows = await store.db.read(
        lambda connection: connection.execute(sa.select(schema_version.c.version)).all()
    )
    return [version for (version,) in rows]


async def test_new_database_is_stamped_once(database: str) -> None:
    async with PreferenceLearning(database=database) as pl:
        await pl.record_preference(prompt="cat", checkpoint="sdxl", selected=True)
        assert await _versions(pl) == [LATEST_VERSION]
    async with PreferenceLearning(database=database) as pl:
        assert await _versions(pl) == [LATEST_VERSION]
        assert (await pl.get_stats())["total_preferences"] == 1


async def test_a_database_from_a_newer_tastebud_is_refused(database: str) -> None:
    async with PreferenceLearning(database=database) as pl:
        store = await pl._store()
        await store.db.write(
            lambda connection: connection.execute(
                schema_version.insert().values(
                    version=LATEST_VERSION + 1, applied_at=sa.func.current_timestamp()
                )
            )
        )
    with pytest.raises(SchemaTooNew, match="upgrade tastebud"):
        async with PreferenceLearning(database=database) as pl:
            pass


async def test_a_version_1_database_gains_the_review_queue_and_fitted_state(
    database: str,
) -> None:
    async with PreferenceLearning(database=database) as pl:
        await pl.record_preference(prompt="cat", checkpoint="sdxl", selected=True)
        store = await pl._store()

        def back_to_version_1(connection: sa.Connection) -> None:
            # What tastebud 0.x left: every table but the review queue, stamped 1.
            connection.execute(sa.text("DROP TABLE generations"))
            connection.execute(sa.text("DROP TABLE fitted_state"))
            connection.execute(schema_version.delete())
            connection.execute(
                schema_version.insert().values(version=1, applied_at=sa.func.current_timestamp())
            )

        await store.db.write(back_to_version_1)
    async with PreferenceLearning(database=database) as pl:
        assert await _versions(pl) == [1, 2, 3]
        assert (await pl.get_stats())["total_preferences"] == 1
        assert (await pl.list_generations()).total == 0
        assert (await pl.refit()).events == 1
