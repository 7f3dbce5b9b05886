"""The ``database`` argument: a path, a SQLite URL, ":memory:", or a clear refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

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
