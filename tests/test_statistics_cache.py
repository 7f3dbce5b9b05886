"""Statistics kept in memory between recommendations are never older than the database.

After a write returns in this process, and after another process (another server worker, the CLI)
writes, the next answer is the one a freshly opened ``PreferenceLearning`` gives.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from tastebud import PreferenceLearning
from tastebud.learning.bayes import BayesStrategy

CHECKPOINTS = ["epicrealismXL", "realvisxlV40", "dreamshaper_8", "animagineXL"]
PROMPTS = ["misty forest, golden hour", "portrait of a woman, studio light", "neon city at night"]


def _events(seed: int, count: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [
        {"prompt": rng.choice(PROMPTS), "checkpoint": rng.choice(CHECKPOINTS),
         "selected": rng.random() < 0.4, "generation_id": f"{seed}-{index}"}
        for index in range(count)
    ]  # fmt: skip


async def _answers(learning: PreferenceLearning) -> list[object]:
    found: list[object] = []
    for prompt in PROMPTS:
        found.append(await learning.rank_checkpoints(prompt))
        found.append(await learning.recommend(prompt, CHECKPOINTS))
    return found


async def _fresh(path: Path, **options: object) -> list[object]:
    async with PreferenceLearning(path, refit_in_background=False, **options) as fresh:  # type: ignore[arg-type]
        return await _answers(fresh)


async def test_a_write_that_returned_is_seen_by_the_next_answer(tmp_path: Path) -> None:
    for index, options in enumerate(({}, {"strategy": BayesStrategy()})):
        path = tmp_path / f"preferences-{index}.db"
        async with PreferenceLearning(path, refit_in_background=False, **options) as learning:  # type: ignore[arg-type]
            await learning.record_batch(_events(1, 60))
            await learning.refit()
            before = await _answers(learning)
            assert before == await _fresh(path, **options)
            await learning.record_batch(_events(2, 40))
            after = await _answers(learning)
            assert after != before
            assert after == await _fresh(path, **options)
            await learning.record_preference(
                prompt="misty forest", checkpoint="animagineXL", selected=True,
                generation_id="one-more",
            )  # fmt: skip
            assert await _answers(learning) == await _fresh(path, **options)


async def test_another_process_writing_is_seen_at_the_next_answer(tmp_path: Path) -> None:
    path = tmp_path / "preferences.db"
    async with (
        PreferenceLearning(path, strategy=BayesStrategy()) as worker,
        PreferenceLearning(path, strategy=BayesStrategy()) as other,
    ):
        await other.record_batch(_events(3, 80))
        before = await _answers(worker)  # fills the worker's cache
        await other.record_batch(_events(4, 80))  # another connection, as a second worker's
        assert await _answers(worker) == await _fresh(path, strategy=BayesStrategy())
        assert await _answers(worker) != before
        # A change made behind tastebud's back, with the sqlite3 module: seen all the same.
        with sqlite3.connect(path) as db:
            db.execute("UPDATE preference_stats SET selected_count = 0")
        assert await _answers(worker) == await _fresh(path, strategy=BayesStrategy())
