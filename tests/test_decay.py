"""Time decay: with a half-life, what a person kept lately outweighs what they kept long ago."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tastebud import PreferenceLearning
from tastebud.cli import app
from tastebud.errors import InvalidInput
from tastebud.settings import Settings

PROMPT = "misty forest at dawn"


def _events(checkpoint: str, kept: int, rejected: int, days_ago: float, tag: str) -> list[dict]:
    when = datetime.now(UTC) - timedelta(days=days_ago)
    return [
        {
            "generation_id": f"{tag}-{checkpoint}-{index}",
            "prompt": PROMPT,
            "checkpoint": checkpoint,
            "selected": index < kept,
            "timestamp": when.isoformat(),
        }
        for index in range(kept + rejected)
    ]


# Long ago forestXL was the one; lately only photoXL is kept.
HISTORY = (
    _events("forestXL", kept=10, rejected=0, days_ago=200, tag="old")
    + _events("photoXL", kept=0, rejected=10, days_ago=200, tag="old")
    + _events("forestXL", kept=0, rejected=6, days_ago=1, tag="new")
    + _events("photoXL", kept=6, rejected=0, days_ago=1, tag="new")
)


async def test_a_half_life_lets_recent_judgements_outweigh_old_ones(database: str) -> None:
    async with PreferenceLearning(database) as plain:
        await plain.record_batch(HISTORY)
        everything = await plain.recommend(PROMPT)
    async with PreferenceLearning(database, half_life_days=14) as recent:
        lately = await recent.recommend(PROMPT)
    assert everything.checkpoint == "forestXL"  # 10 of 16 kept against 6 of 16
    assert lately.checkpoint == "photoXL"
    # The evidence shown is the decayed weight: 6 recent images and next to nothing from 200
    # days ago (2 ** -14 of 10 images).
    assert lately.evidence == 6
    assert everything.evidence == 16
    assert lately.confidence > 0.7


async def test_a_half_life_changes_nothing_stored(database: str) -> None:
    async with PreferenceLearning(database, half_life_days=14) as recent:
        await recent.record_batch(HISTORY)
        await recent.recommend(PROMPT)
        assert (await recent.check()).ok
        stats = await recent.get_stats()
    assert stats["total_preferences"] == len(HISTORY)


@pytest.mark.parametrize("bad", [0, -3.0])
def test_a_half_life_must_be_positive(bad: float) -> None:
    with pytest.raises(InvalidInput, match="half_life_days: must be more than 0"):
        PreferenceLearning("unused.db", half_life_days=bad)
    with pytest.raises(InvalidInput, match="half_life_days: must be 0"):
        Settings(half_life_days=-1)


def test_the_setting_reaches_the_cli_from_the_environment(tmp_path: Path) -> None:
    db = tmp_path / "preferences.db"

    async def record() -> None:
        async with PreferenceLearning(db) as learning:
            await learning.record_batch(HISTORY)

    asyncio.run(record())
    runner = CliRunner()

    def best(env: dict[str, str]) -> str:
        result = runner.invoke(app, ["recommend", PROMPT, "--db", str(db), "--json"], env=env)
        assert result.exit_code == 0, result.stderr
        return str(json.loads(result.stdout)["checkpoint"])

    assert best({}) == "forestXL"
    assert best({"TASTEBUD_HALF_LIFE_DAYS": "14"}) == "photoXL"
    refused = runner.invoke(app, ["recommend", PROMPT, "--db", str(db), "--half-life-days", "-2"])
    assert refused.exit_code == 1
    assert "tastebud: error: half_life_days: must be 0 (off) or more" in refused.stderr
