"""Recording: what a host app relies on when it reports selections and rejections."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import PostgresCluster
from tastebud import InvalidInput, PreferenceLearning
from tastebud.learning import StatType
from tastebud.store.schema import LATEST_VERSION, image_cleanup


async def _stats(pl: PreferenceLearning) -> dict[tuple[str, str, str], tuple[int, int]]:
    rows = await (await pl._store()).statistics("default")
    return {row.cell: (row.counts.selected, row.counts.total) for row in rows}


async def test_issue_example_records_and_recommends(pl: PreferenceLearning) -> None:
    event = await pl.record_preference(
        prompt="beautiful woman on beach at sunset",
        checkpoint="epicrealismXL_pureFix.safetensors",
        loras=[{"name": "anime_v2", "strength": 0.7}],
        selected=True, stage=0, session_id="s1", generation_id="g1",
    )  # fmt: skip
    assert event.keywords == ("beautiful", "woman", "beach", "sunset")
    checkpoint, confidence = await pl.recommend_checkpoint(
        prompt="beach sunset", available_checkpoints=["epicrealismXL", "realvisxlV40"]
    )
    assert checkpoint == "epicrealismXL"
    assert confidence > 0.5  # one of one kept: above the neutral 0.5, by little on one image
    loras = await pl.recommend_loras(prompt="beach sunset", checkpoint="epicrealismXL", count=3)
    assert [lora.name for lora in loras] == ["anime_v2"]
    stats = await pl.get_stats()
    assert stats["total_preferences"] == 1
    assert stats["action_counts"] == {"selected": 1, "rejected": 0}


async def test_same_generation_id_twice_counts_once(pl: PreferenceLearning) -> None:
    fields = {"prompt": "a red fox", "checkpoint": "dreamshaper_8", "generation_id": "g1"}
    await pl.record_preference(**fields, selected=True)
    before = await _stats(pl)
    await pl.record_preference(**fields, selected=True)
    assert await _stats(pl) == before
    assert len(await pl.get_preferences()) == 1


async def test_changed_mind_replaces_the_action(pl: PreferenceLearning) -> None:
    fields = {"prompt": "a red fox", "checkpoint": "dreamshaper_8", "generation_id": "g1"}
    await pl.record_preference(**fields, selected=True)
    await pl.record_preference(**fields, selected=False)
    stats = await _stats(pl)
    assert stats[(StatType.KEYWORD_CHECKPOINT, "fox", "dreamshaper_8")] == (0, 1)
    assert stats[(StatType.PROFILE, "", "")] == (0, 1)
    events = await pl.get_preferences()
    assert [event.action for event in events] == ["rejected"]
    assert (await pl.check()).ok


async def test_replacement_moves_every_statistic(pl: PreferenceLearning) -> None:
    await pl.record_preference(
        prompt="a red fox <lora:furry:0.6>", checkpoint="dreamshaper_8", selected=True,
        generation_id="g1",
    )  # fmt: skip
    await pl.record_preference(
        prompt="a blue whale", checkpoint="juggernautXL", selected=True, generation_id="g1"
    )
    stats = await _stats(pl)
    assert (StatType.KEYWORD_CHECKPOINT, "fox", "dreamshaper_8") not in stats
    assert (StatType.LORA, "furry", "") not in stats
    assert stats[(StatType.KEYWORD_CHECKPOINT, "whale", "juggernautxl")] == (1, 1)
    assert (await pl.check()).ok


async def test_same_generation_id_is_separate_per_profile(pl: PreferenceLearning) -> None:
    for user in ("alice", "bob"):
        await pl.record_preference(
            prompt="cat", checkpoint="sdxl", selected=True, generation_id="g1", user_id=user
        )
    assert len(await pl.get_preferences(user_id=None)) == 2
    assert (await pl.get_stats(user_id="alice"))["total_preferences"] == 1


async def test_lora_tags_in_the_prompt_are_recorded_as_loras(pl: PreferenceLearning) -> None:
    event = await pl.record_preference(
        prompt="portrait <lora:add_detail:0.5> <lyco:film grain:0.3>",
        checkpoint="sd15/realisticVisionV51_v51VAE.safetensors [abc123ef]",
        loras=[{"name": "add_detail", "strength": 0.8}],
        selected=True,
    )
    assert [(lora.name, lora.strength) for lora in event.loras] == [
        ("add_detail", 0.8), ("film grain", 0.3),
    ]  # fmt: skip
    assert event.keywords == ("portrait",)
    stats = await _stats(pl)
    assert stats[(StatType.CHECKPOINT, "realisticvisionv51_v51vae", "")] == (1, 1)
    assert stats[(StatType.CHECKPOINT_LORA, "realisticvisionv51_v51vae", "film grain")] == (1, 1)


async def test_batch_is_all_or_nothing(pl: PreferenceLearning) -> None:
    good = {"prompt": "cat", "checkpoint": "sdxl", "selected": True}
    with pytest.raises(InvalidInput) as caught:
        await pl.record_batch([good, {**good, "checkpoint": ""}])
    assert caught.value.field == "events[1].checkpoint"
    assert await pl.get_preferences() == []
    summary = await pl.record_batch([good, {**good, "selected": False}])
    assert (summary.added, summary.replaced) == (2, 0)


async def test_delete_undoes_a_mis_click(pl: PreferenceLearning) -> None:
    await pl.record_preference(prompt="cat", checkpoint="sdxl", selected=True, generation_id="a")
    await pl.record_preference(prompt="dog", checkpoint="sdxl", selected=False, generation_id="b")
    assert await pl.delete_preference("a") is True
    assert await pl.delete_preference("a") is False
    stats = await _stats(pl)
    assert (StatType.KEYWORD_CHECKPOINT, "cat", "sdxl") not in stats
    assert stats[(StatType.CHECKPOINT, "sdxl", "")] == (0, 1)
    assert (await pl.check()).ok


async def test_recorded_event_survives_reopening(database: str) -> None:
    async with PreferenceLearning(database=database) as first:
        await first.record_preference(prompt="cat", checkpoint="sdxl", selected=True)
    async with PreferenceLearning(database=database) as second:
        assert (await second.get_stats())["total_preferences"] == 1


async def test_rejected_images_with_a_path_wait_for_cleanup(pl: PreferenceLearning) -> None:
    await pl.record_preference(
        prompt="cat", checkpoint="sdxl", selected=False, generation_id="g1", image_path="/o/1.png"
    )
    store = await pl._store()

    def waiting(connection: sa.Connection) -> list[tuple[str, str]]:
        rows = connection.execute(
            sa.select(image_cleanup.c.generation_id, image_cleanup.c.image_path)
        )
        return [tuple(row) for row in rows]

    assert await store.db.read(waiting) == [("g1", "/o/1.png")]
    await pl.record_preference(
        prompt="cat", checkpoint="sdxl", selected=True, generation_id="g1", image_path="/o/1.png"
    )
    assert await store.db.read(waiting) == []


async def test_sqlite_file_and_folder_are_created_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "data" / "preferences.db"
    async with PreferenceLearning(database=path) as pl:
        await pl.record_preference(prompt="cat", checkpoint="sdxl", selected=True)
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert (
            connection.execute("SELECT max(version) FROM schema_version").fetchone()[0]
            == LATEST_VERSION
        )


async def test_default_database_is_data_preferences_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with PreferenceLearning() as pl:
        await pl.record_preference(prompt="cat", checkpoint="sdxl", selected=True)
    assert (tmp_path / "data" / "preferences.db").is_file()


async def test_concurrent_records_are_all_counted(pl: PreferenceLearning) -> None:
    import asyncio

    await asyncio.gather(
        *(
            pl.record_preference(prompt="cat on a sofa", checkpoint="sdxl", selected=i % 2 == 0)
            for i in range(40)
        )
    )
    stats = await _stats(pl)
    assert stats[(StatType.KEYWORD_CHECKPOINT, "sofa", "sdxl")] == (20, 40)
    assert (await pl.check()).ok


async def test_within_one_batch_the_last_judgement_of_an_image_counts(
    pl: PreferenceLearning,
) -> None:
    image = {"prompt": "a red fox", "checkpoint": "dreamshaper_8", "generation_id": "g1"}
    summary = await pl.record_batch([{**image, "selected": True}, {**image, "selected": False}])
    assert (summary.added, summary.replaced) == (1, 0)
    assert [event.action for event in await pl.get_preferences()] == ["rejected"]
    stats = await _stats(pl)
    assert stats[(StatType.KEYWORD_CHECKPOINT, "fox", "dreamshaper_8")] == (0, 1)


async def test_a_judged_batch_posted_again_with_changes_moves_only_those_images(
    pl: PreferenceLearning,
) -> None:
    images = [
        {"generation_id": f"g{number}", "prompt": prompt, "checkpoint": "dreamshaper_8"}
        for number, prompt in enumerate(["a red fox", "a grey wolf", "a brown bear"])
    ]
    first = await pl.record_judged_batch(images, outcome="advance", selected=["g0"])
    again = await pl.record_judged_batch(images, outcome="advance", selected=["g0"])
    images.append({"generation_id": "g3", "prompt": "a white owl", "checkpoint": "dreamshaper_8"})
    changed = await pl.record_judged_batch(images, outcome="advance", selected=["g2"])
    assert (first.added, again.unchanged) == (3, 3)
    assert (changed.added, changed.unchanged, changed.replaced) == (1, 1, 2)
    kept = {event.generation_id for event in await pl.get_preferences() if event.selected}
    assert kept == {"g2"}
    stats = await _stats(pl)
    assert stats[(StatType.CHECKPOINT, "dreamshaper_8", "")] == (1, 4)
    assert stats[(StatType.KEYWORD_CHECKPOINT, "owl", "dreamshaper_8")] == (0, 1)
    assert stats[(StatType.KEYWORD_CHECKPOINT, "bear", "dreamshaper_8")] == (1, 1)
    assert stats[(StatType.KEYWORD_CHECKPOINT, "fox", "dreamshaper_8")] == (0, 1)
    assert (await pl.check()).ok


async def test_two_openings_of_a_new_database_at_once(database: str) -> None:
    import asyncio

    async def first_use() -> None:
        async with PreferenceLearning(database=database) as pl:
            await pl.record_preference(prompt="cat", checkpoint="sdxl", selected=True)

    await asyncio.gather(first_use(), first_use())
    async with PreferenceLearning(database=database) as pl:
        assert (await pl.get_stats())["total_preferences"] == 2


async def test_a_postgresql_restart_costs_no_call(postgres: PostgresCluster) -> None:
    """The server closes every connection the pool holds; the next calls work all the same."""
    async with PreferenceLearning(database=postgres.create_database()) as pl:
        await pl.record_preference(prompt="beach", checkpoint="a", selected=True)
        postgres.restart()
        await pl.record_preference(prompt="forest", checkpoint="a", selected=False)
        postgres.restart()
        assert (await pl.get_stats())["total_preferences"] == 2


async def test_an_import_leaves_postgresql_planner_statistics_fresh(
    postgres: PostgresCluster,
) -> None:
    """Right after an import the planner knows the tables' new sizes (autovacuum may take a
    minute): with its old picture it read a profile's whole history to find a batch's images."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from tastebud.store.database import database_url

    database = postgres.create_database()
    tables = ("user_preferences", "preference_stats")
    engine = create_async_engine(database_url(database))
    try:
        async with PreferenceLearning(database=database) as pl:
            await pl.record_preference(prompt="cat", checkpoint="sdxl", selected=True)
            events = [
                {"prompt": f"cat {number}", "checkpoint": "sdxl", "selected": number % 3 == 0,
                 "generation_id": f"g{number}"}
                for number in range(1_500)
            ]  # fmt: skip
            await pl.record_batch(events)
        async with engine.connect() as connection:
            rows = await connection.execute(  # last_analyze: an ANALYZE run, not autovacuum's
                sa.text(
                    "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables"
                    " WHERE relname IN ('user_preferences', 'preference_stats')"
                )
            )
            analysed = dict(rows.all())
    finally:
        await engine.dispose()
    assert analysed == dict.fromkeys(tables, True)


async def test_deleting_a_profile_removes_all_of_it_and_nothing_else(database: str) -> None:
    """Events, statistics, review queue and fitted state of one profile go; another profile's
    events and statistics stay as they were (its scores may move: they learn from everyone's). A second process that still remembers the profile's id (a second
    server worker) records for that name afterwards as for a new profile."""
    async with (
        PreferenceLearning(database=database) as first,
        PreferenceLearning(database=database) as second,
    ):
        for user_id in ("alice", "bob"):
            for number in range(25):
                await first.record_preference(
                    prompt=f"beach at sunset {number % 3}", checkpoint="sunny",
                    selected=number % 3 != 0, generation_id=f"{user_id}-{number}",
                    user_id=user_id,
                )  # fmt: skip
        await second.record_preference(
            prompt="forest", checkpoint="gloomy", selected=True, generation_id="x", user_id="alice"
        )  # the second process now remembers alice's id
        await first.refit(user_id="alice")
        bob_export = await first.export_preferences(user_id="bob")

        assert await first.delete_profile("alice") == 26
        assert await first.delete_profile("alice") is None
        assert await first.list_profiles() == {"bob": 25}
        assert await first.get_preferences(user_id="alice") == []
        assert await first.export_preferences(user_id="bob") == bob_export
        assert (await first.check()).ok

        await second.record_preference(
            prompt="forest", checkpoint="gloomy", selected=False, generation_id="y",
            user_id="alice",
        )  # fmt: skip
        assert (await second.list_profiles()) == {"bob": 25, "alice": 1}
        assert (await second.check()).ok
