"""The ``database`` argument: a path, a SQLite URL, ":memory:", or a clear refusal."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import PostgresCluster
from tastebud import InvalidInput, PreferenceLearning


@pytest.mark.parametrize("form", ["path", "url", "memory"])
async def test_every_form_of_sqlite_records_and_recommends(tmp_path: Path, form: str) -> None:
    database = {
        "path": str(tmp_path / "a.db"),
        "url": f"sqlite:///{tmp_path / 'b.db'}",
        "memory": ":memory:",
    }[form]
    async with PreferenceLearning(database=database) as pl:
        await pl.record_preference(prompt="beach", checkpoint="epicrealismXL", selected=True)
        checkpoint, confidence = await pl.recommend_checkpoint("beach")
        assert checkpoint == "epicrealismXL" and confidence > 0.5


@pytest.mark.parametrize(
    ("database", "says"),
    [
        ("mysql://user@host/db", "unsupported database 'mysql'"),
        ("  ", "file path or a database URL"),
    ],
)
async def test_an_unusable_database_argument_is_named(database: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says) as caught:
        async with PreferenceLearning(database=database):
            pass
    assert caught.value.field == "database"


async def test_a_bug_in_the_sql_is_a_500_not_database_unavailable(database: str) -> None:
    """A query naming a column that is not there is tastebud's bug: a 500 (its message says
    "does not exist", as a missing database's does, and was taken for a 503)."""
    import httpx
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    from tastebud.api import create_app
    from tastebud.settings import Settings
    from tastebud.store.database import database_url

    app = create_app(Settings(database=database))
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8001") as api:
        event = {"prompt": "beach", "checkpoint": "a", "selected": True}
        assert (await api.post("/api/preferences", json=event)).status_code == 201
        url = database_url(database)
        if url.get_backend_name() == "sqlite":
            with sqlite3.connect(url.database or "") as connection:
                connection.execute("ALTER TABLE user_preferences DROP COLUMN feedback")
        else:
            engine = create_async_engine(url)
            async with engine.begin() as connection:
                await connection.execute(
                    sa.text("ALTER TABLE user_preferences DROP COLUMN feedback")
                )
            await engine.dispose()
        answer = await api.get("/api/preferences")
        assert answer.status_code == 500, answer.text
        assert answer.json()["error"] == "Internal error"
    await app.state.styles.stop()
    await app.state.preferences.aclose()


async def test_a_postgresql_database_that_does_not_exist_is_unavailable(
    postgres: PostgresCluster,
) -> None:
    import httpx

    from tastebud.api import create_app
    from tastebud.settings import Settings

    missing = f"postgresql://postgres@127.0.0.1:{postgres.port}/no_such_database"
    app = create_app(Settings(database=missing))
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8001") as api:
        answer = await api.get("/api/health")
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == "Database unavailable"
    await app.state.styles.stop()
    await app.state.preferences.aclose()
