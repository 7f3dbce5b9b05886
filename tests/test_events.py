"""Bad input: one error type naming the field, and nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from tastebud import InvalidInput, PreferenceLearning, make_event
from tastebud.events import MAX_PROMPT_CHARS

GOOD: dict[str, Any] = {"prompt": "a cat", "checkpoint": "sdxl_base", "selected": True}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"checkpoint": ""}, "checkpoint"),
        ({"checkpoint": "   "}, "checkpoint"),
        ({"checkpoint": None}, "checkpoint"),
        ({"checkpoint": "models/.safetensors"}, "checkpoint"),
        ({"loras": [{"name": "x", "strength": float("nan")}]}, "loras[0].strength"),
        ({"loras": [{"name": "x", "strength": float("inf")}]}, "loras[0].strength"),
        ({"loras": [{"name": "x", "strength": "0.7"}]}, "loras[0].strength"),
        ({"loras": [{"name": "x", "strength": 1e9}]}, "loras[0].strength"),
        ({"loras": [{"strength": 0.5}]}, "loras[0].name"),
        ({"loras": [{"name": "", "strength": 0.5}]}, "loras[0].name"),
        ({"loras": [{"name": "x", "weight": 0.5}]}, "loras[0].weight"),
        ({"loras": "x"}, "loras"),
        ({"selected": None, "action": "liked"}, "action"),
        ({"selected": "yes"}, "selected"),
        ({"selected": True, "action": "rejected"}, "action"),
        ({"prompt": "x" * (MAX_PROMPT_CHARS + 1)}, "prompt"),
        ({"prompt": 12}, "prompt"),
        ({"prompt": "a\x00b"}, "prompt"),
        ({"stage": -1}, "stage"),
        ({"stage": 1.5}, "stage"),
        ({"propensity": 0}, "propensity"),
        ({"propensity": 1.5}, "propensity"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"user_id": ""}, "user_id"),
        ({"implicit": "no"}, "implicit"),
        ({"keywords": "beach sunset"}, "keywords"),
        ({"keywords": ["two words"]}, "keywords[0]"),
    ],
)
def test_bad_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_event(**{**GOOD, **change})
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


async def test_bad_input_writes_nothing(pl: PreferenceLearning) -> None:
    with pytest.raises(InvalidInput):
        await pl.record_preference(**{**GOOD, "loras": [{"name": "x", "strength": float("nan")}]})
    with pytest.raises(InvalidInput):
        await pl.record_preference(**{**GOOD, "action": "maybe", "selected": None})
    assert await pl.get_preferences() == []
    assert (await pl.get_stats())["total_preferences"] == 0
    assert (await pl.export_preferences())["stats"] == []


def test_the_seed_record_fields_are_all_kept() -> None:
    event = make_event(
        prompt="beautiful woman on beach at sunset",
        negative_prompt="blurry",
        checkpoint="epicrealismXL_pureFix.safetensors",
        model_family="SDXL",
        loras=[{"name": "anime_v2", "strength": 0.7}],
        action="selected",
        stage=2,
        session_id="s1",
        generation_id="g1",
        batch_id="b1",
        implicit=False,
        timestamp="2026-02-09T17:00:00Z",
        feedback="lovely light",
        image_path="/out/1.png",
        vision_description="a woman on a beach",
        vision_themes=["beach", "sunset"],
        propensity=0.25,
        user_id="alice",
    )
    data = event.to_dict()
    assert data["keywords"] == ["beautiful", "woman", "beach", "sunset"]
    assert data["loras"] == [{"name": "anime_v2", "strength": 0.7}]
    assert data["timestamp"] == "2026-02-09T17:00:00+00:00"
    assert data["model_family"] == "sdxl"
    assert (data["action"], data["stage"], data["propensity"]) == ("selected", 2, 0.25)


def test_an_event_without_generation_id_gets_a_fresh_one() -> None:
    first, second = make_event(**GOOD), make_event(**GOOD)
    assert first.generation_id and first.generation_id != second.generation_id


@pytest.mark.parametrize("user_id", ["", "   ", 7, None])
async def test_a_bad_profile_name_is_refused_on_reads_too(
    pl: PreferenceLearning, user_id: object
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await pl.recommend_checkpoint("beach", user_id=user_id)  # type: ignore[arg-type]
    assert caught.value.field == "user_id"
    with pytest.raises(InvalidInput):
        await pl.get_stats(user_id=user_id)  # type: ignore[arg-type]


def test_a_lora_listed_twice_is_one_lora_and_the_first_mention_wins() -> None:
    event = make_event(
        **{**GOOD, "prompt": "a cat <lora:Add_Detail:0.2>"},
        loras=[{"name": "add_detail.safetensors", "strength": 0.8}, "film_grain", "ADD_DETAIL"],
    )
    assert [(lora.name, lora.strength) for lora in event.loras] == [
        ("add_detail.safetensors", 0.8), ("film_grain", 1.0),
    ]  # fmt: skip


def test_common_forms_from_host_apps_are_accepted() -> None:
    event = make_event(
        prompt="a cat", checkpoint=" sdxl_base ", selected=False, generation_id=1234,
        stage=None, implicit=None, user_id=None, timestamp="2026-02-09 17:00:00",
        keywords=("Cat", "cat"),
    )  # fmt: skip
    assert (event.checkpoint, event.generation_id, event.stage, event.user_id) == (
        "sdxl_base", "1234", 0, "default",
    )  # fmt: skip
    assert (event.implicit, event.keywords, event.timestamp.isoformat()) == (
        False, ("cat",), "2026-02-09T17:00:00+00:00",
    )  # fmt: skip


def test_an_unknown_field_is_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        make_event(**GOOD, checkpont="typo")
    assert (caught.value.field, caught.value.reason) == ("checkpont", "unknown field")
