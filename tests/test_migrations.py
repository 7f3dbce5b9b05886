"""Schema versions: a new database is stamped, reopening changes nothing, a newer one is refused."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tastebud import PreferenceLearning
from tastebud.store.migrations import SchemaTooNew
from tastebud.store.schema import (
    LATEST_VERSION,
    keywords,
    models,
    profiles,
    schema_version,
    user_preferences,
)


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
            connection.execute(sa.text("ALTER TABLE user_preferences DROP COLUMN style"))
            connection.execute(schema_version.delete())
            connection.execute(
                schema_version.insert().values(version=1, applied_at=sa.func.current_timestamp())
            )

        await store.db.write(back_to_version_1)
    async with PreferenceLearning(database=database) as pl:
        assert await _versions(pl) == [1, 2, 3, 4, 5, 6]
        assert (await pl.get_stats())["total_preferences"] == 1
        assert (await pl.list_generations()).total == 0
        assert (await pl.refit()).events == 1


async def test_a_version_4_database_gains_the_style_of_images(database: str) -> None:
    async with PreferenceLearning(database=database) as pl:
        await pl.record_preference(prompt="cat", checkpoint="sdxl", selected=True)
        store = await pl._store()

        def back_to_version_4(connection: sa.Connection) -> None:
            for table in ("generations", "user_preferences"):
                connection.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN style"))
            connection.execute(schema_version.delete())
            connection.execute(
                schema_version.insert().values(version=4, applied_at=sa.func.current_timestamp())
            )

        await store.db.write(back_to_version_4)
    style = dict.fromkeys(
        ("brightness", "contrast", "colourfulness", "saturation", "warmth", "sharpness"), 0.5
    )
    async with PreferenceLearning(database=database) as pl:
        assert await _versions(pl) == [4, 5, 6]
        await pl.record_preference(
            prompt="dog", checkpoint="sdxl", selected=False, style={**style, "flatness": 0.25}
        )
        found = {event.prompt: event.style for event in await pl.get_preferences()}
        assert found["cat"] is None
        assert found["dog"] is not None and found["dog"].flatness == 0.25
        assert (await pl.check()).ok


NFC, NFD = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
ZOE_NFC, ZOE_NFD = unicodedata.normalize("NFC", "zoé"), unicodedata.normalize("NFD", "zoé")


async def test_version_4_merges_what_was_split_by_unicode_forms_and_fits_old_keywords(
    database: str, tmp_path: Path
) -> None:
    # What tastebud before version 4 could store: "café" and "zoé" in both Unicode forms as
    # two checkpoints, two LoRAs, two keywords and two profiles; one image judged in both
    # profiles; keywords over 100 letters and more than 256 of them taken from a prompt.
    many = [f"k{index:03d}" for index in range(300)]
    # PostgreSQL refused (with a 500) a keyword its column cannot hold; SQLite kept it.
    long_words = [] if database.startswith("postgresql") else ["w" * 300]
    async with PreferenceLearning(database=database) as pl:
        day = datetime(2026, 5, 1, tzinfo=UTC)
        for index in range(6):
            user, form = ("pnfc", "nfc") if index % 2 else ("pnfd", "nfd")
            await pl.record_preference(
                prompt=f"cafekw{form} beach", checkpoint=f"cafe{form}",
                loras=[{"name": f"lora{form}", "strength": 0.5}], selected=index < 4,
                user_id=user, generation_id=f"image-{index}",
                timestamp=day + timedelta(hours=index),
            )  # fmt: skip
        await pl.record_preference(
            prompt="cafekwnfc forest", checkpoint="cafenfd", selected=True, user_id="pnfd",
            generation_id="image-1", timestamp=day + timedelta(days=1),
        )  # fmt: skip
        await pl.record_preference(
            prompt="x", checkpoint="cafenfc", selected=False, user_id="pnfc",
            generation_id="long", keywords=["placeholder"],
        )  # fmt: skip
        store = await pl._store()

        def back_to_version_3(connection: sa.Connection) -> None:
            for before, after in (("nfc", NFC), ("nfd", NFD)):
                connection.execute(
                    profiles.update()
                    .where(profiles.c.user_id == f"p{before}")
                    .values(user_id=ZOE_NFC if before == "nfc" else ZOE_NFD)
                )
                for kind in ("checkpoint", "lora"):
                    connection.execute(
                        models.update()
                        .where(
                            models.c.key == f"{'cafe' if kind == 'checkpoint' else 'lora'}{before}"
                        )
                        .values(key=f"{after}-{kind}", name=f"{after.upper()}-{kind}")
                    )
                connection.execute(
                    keywords.update()
                    .where(keywords.c.keyword == f"cafekw{before}")
                    .values(keyword=after)
                )
                connection.execute(
                    user_preferences.update().values(
                        keywords=sa.func.replace(
                            user_preferences.c.keywords, f"cafekw{before}", after
                        )
                    )
                )
            connection.execute(
                user_preferences.update()
                .where(user_preferences.c.generation_id == "long")
                .values(keywords=" ".join([*long_words, *many]))
            )
            connection.execute(sa.text("DELETE FROM preference_stats"))
            connection.execute(schema_version.delete())
            connection.execute(
                schema_version.insert().values(version=3, applied_at=sa.func.current_timestamp())
            )

        await store.db.write(back_to_version_3)
        await pl.repair()  # version 3's statistics, counted from its events

    async with PreferenceLearning(database=database) as pl:
        assert (await _versions(pl))[-1] == LATEST_VERSION
        assert (await pl.check()).ok
        assert await pl.list_profiles() == {ZOE_NFC: 7}  # image-1 once: the later event
        for user in (ZOE_NFC, ZOE_NFD):
            stats = await pl.get_stats(user_id=user)
            assert stats["total_preferences"] == 7
            # One checkpoint, named as the oldest of the two rows had it, in NFC.
            assert [row["checkpoint"] for row in stats["top_checkpoints"]] == [
                unicodedata.normalize("NFC", "CAFÉ-checkpoint")
            ]
        events = {event.generation_id: event for event in await pl.get_preferences(user_id=ZOE_NFD)}
        assert events["image-1"].keywords == (NFC, "forest")
        assert events["image-0"].keywords == (NFC, "beach")
        assert [lora.strength for lora in events["image-0"].loras] == [0.5]
        assert events["long"].keywords == tuple(many[:256])
        export = await pl.export_preferences(user_id=None)
    async with PreferenceLearning(database=str(tmp_path / "again.db")) as again:
        assert (await again.import_preferences(export)).added == 7
        assert (await again.check()).ok
