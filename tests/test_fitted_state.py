"""The default strategy's fitted state in the service: kept in the store, refitted as history grows,
words never recorded reached through similar ones, and smart LoRA selection (both databases)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from typer.testing import CliRunner

from tastebud import PreferenceLearning
from tastebud.api import create_app
from tastebud.cli import app as cli
from tastebud.learning.fitted import to_json
from tastebud.settings import Settings

BEACHES = ["a sandy beach at sunset", "sand dunes by the beach", "sunset over the sand",
           "beach sunset, golden sand", "a beach with sand castles at sunset"]  # fmt: skip
FORESTS = ["a pine forest in the morning", "moss on old trees", "a forest path among trees"]


def _judged(prompts: list[str], best: str, worst: str, repeat: int = 6) -> list[dict[str, Any]]:
    """Every prompt made ``repeat`` times with each checkpoint: ``best`` kept, ``worst`` not."""
    events = []
    for index, prompt in enumerate(prompts * repeat):
        for checkpoint, kept in ((best, index % 5 != 0), (worst, index % 5 == 0)):
            events.append(
                {"prompt": prompt, "checkpoint": checkpoint, "selected": kept,
                 "generation_id": f"{checkpoint}-{prompt}-{index}"}
            )  # fmt: skip
    return events


async def test_a_prompt_in_words_never_recorded_goes_where_similar_words_went(
    pl: PreferenceLearning,
) -> None:
    """The seed's Phase 5: "ocean waves at dusk" after only beaches, sand and sunsets."""
    await pl.record_batch(_judged(BEACHES, "epicrealismXL", "animagineXL"))
    await pl.record_batch(_judged(FORESTS, "animagineXL", "epicrealismXL"))
    await pl.refit()
    found = await pl.recommend("ocean waves at dusk", ["animagineXL", "epicrealismXL"])
    assert found.checkpoint == "epicrealismXL"
    assert any(word in found.why for word in ("'beach'", "'sand'", "'sunset'")), found.why
    assert any(reason["kind"] == "similar" for reason in found.reasons)
    forest = await pl.recommend("woods with ferns", ["epicrealismXL", "animagineXL"])
    assert forest.checkpoint == "animagineXL", forest.why


async def test_the_fitted_state_survives_a_restart_and_equals_a_fresh_fit(database: str) -> None:
    async with PreferenceLearning(database=database) as first:
        await first.record_batch(_judged(BEACHES, "epicrealismXL", "animagineXL"))
        fitted = await first.refit()
        before = await first.recommend("sunset at the beach", ["animagineXL", "epicrealismXL"])
    assert fitted.events == len(BEACHES) * 6 * 2
    async with PreferenceLearning(database=database) as second:
        stored = await second.fitting._state("default")
        assert to_json(stored) == to_json(fitted)
        after = await second.recommend("sunset at the beach", ["animagineXL", "epicrealismXL"])
        assert after == before
        again = await second.refit()
        assert to_json(again)["kinds"] == to_json(fitted)["kinds"] | {
            name: {**kind, "weight": to_json(again)["kinds"][name]["weight"]}
            for name, kind in to_json(fitted)["kinds"].items()
        }
        assert to_json(again)["neighbours"] == to_json(fitted)["neighbours"]


async def test_a_growing_history_is_refitted_in_the_background(pl: PreferenceLearning) -> None:
    await pl.record_batch(_judged(BEACHES, "epicrealismXL", "animagineXL"))
    assert (await pl.fitting._state("default")).events == 0
    await pl.recommend("beach", ["epicrealismXL", "animagineXL"])  # sees a stale state
    await pl.settled()
    assert (await pl.fitting._stored_state("default")).events == 60
    await pl.record_batch(_judged(FORESTS, "animagineXL", "epicrealismXL"))
    await pl.recommend("forest", ["epicrealismXL", "animagineXL"])
    await pl.settled()
    assert (await pl.fitting._stored_state("default")).events == 96


async def test_each_profile_has_its_own_fitted_state(pl: PreferenceLearning) -> None:
    await pl.record_batch(_judged(BEACHES, "epicrealismXL", "animagineXL"))
    theirs = [
        dict(event, user_id="zoe") for event in _judged(BEACHES, "animagineXL", "epicrealismXL")
    ]
    await pl.record_batch(theirs)
    await pl.refit()
    await pl.refit("zoe")
    mine = await pl.recommend("beach sunset", ["animagineXL", "epicrealismXL"])
    hers = await pl.recommend("beach sunset", ["epicrealismXL", "animagineXL"], user_id="zoe")
    assert (mine.checkpoint, hers.checkpoint) == ("epicrealismXL", "animagineXL")


def _with_loras(best_lora: str, clashing: str) -> list[dict[str, Any]]:
    events = []
    for index in range(60):
        lora = (best_lora, clashing, None)[index % 3]
        kept = {best_lora: index % 6 != 0, clashing: False, None: index % 2 == 0}[lora]
        events.append(
            {"prompt": "portrait of a sailor, beach", "checkpoint": "epicrealismXL",
             "loras": [{"name": lora, "strength": 0.6}] if lora else [], "selected": kept,
             "generation_id": f"lora-{index}"}
        )  # fmt: skip
    return events


async def test_smart_selection_enables_what_works_and_never_what_clashes(
    pl: PreferenceLearning,
) -> None:
    await pl.record_batch(_with_loras("add_detail", "anime_v2"))
    found = await pl.recommend_lora_set("portrait on the beach", "epicrealismXL")
    assert [lora.name for lora in found.enabled] == ["add_detail"]
    assert found.enabled[0].strength == 0.6
    assert found.tags == "<lora:add_detail:0.6>"
    assert [lora.name for lora in found.left_out] == ["anime_v2"]
    assert "Avoided anime_v2 with epicrealismXL" in found.left_out[0].why
    empty = await pl.recommend_lora_set("portrait", "epicrealismXL", user_id="nobody")
    assert (empty.enabled, empty.tags) == ([], "")


async def test_the_lora_set_over_http(database: str) -> None:
    app = create_app(Settings(database=database))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8001"
    ) as client:
        await app.state.preferences.record_batch(_with_loras("add_detail", "anime_v2"))
        answer = await client.get(
            "/api/preferences/recommend/lora-set",
            params={"prompt": "portrait, beach", "checkpoint": "epicrealismXL"},
        )
        assert answer.status_code == 200
        found = answer.json()
        assert [lora["lora"] for lora in found["enabled"]] == ["add_detail"]
        assert found["tags"] == "<lora:add_detail:0.6>"
        assert found["left_out"][0]["lora"] == "anime_v2"
        bad = await client.get(
            "/api/preferences/recommend/lora-set", params={"prompt": "x", "most": 0}
        )
        assert bad.status_code == 422
        assert "most" in bad.text
    await app.state.styles.stop()
    await app.state.preferences.aclose()


def test_the_lora_set_from_the_cli(database: str) -> None:
    async def seed() -> None:
        async with PreferenceLearning(database=database) as pl:
            await pl.record_batch(_with_loras("add_detail", "anime_v2"))

    asyncio.run(seed())
    result = CliRunner().invoke(
        cli, ["loras", "portrait, beach", "-c", "epicrealismXL", "--db", database, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tags"] == "<lora:add_detail:0.6>"
    shown = CliRunner().invoke(
        cli, ["loras", "portrait, beach", "-c", "epicrealismXL", "--db", database]
    )
    assert "<lora:add_detail:0.6>" in shown.stdout
    assert "Avoided anime_v2" in shown.stdout
