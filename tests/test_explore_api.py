"""Explore mode, LoRA strengths and the family filter, through the HTTP API on both databases."""

from __future__ import annotations

from typing import Any

import httpx

from test_api import _error, api, seeded  # noqa: F401  (fixtures)
from test_seed_examples import EPIC


async def test_explore_splits_the_batch_and_the_propensity_is_stored(
    seeded: httpx.AsyncClient,  # noqa: F811
) -> None:
    response = await seeded.get(
        "/api/preferences/explore",
        params={"prompt": "beach sunset", "batch": 8, "seed": 3,
                "available": "epicrealismXL,realvisxlV40,dreamshaper_8,animagineXL"},
    )  # fmt: skip
    assert response.status_code == 200
    found = response.json()
    assert found["batch"] == 8 and len(found["slots"]) == 8
    assert sum(item["images"] for item in found["allocations"]) == 8
    assert 1 <= len(found["allocations"]) <= 3
    allowed = {"epicrealismXL", "realvisxlV40", "dreamshaper_8", "animagineXL"}
    assert {slot["checkpoint"] for slot in found["slots"]} <= allowed
    assert found["why"].startswith("Split by Thompson sampling")
    # The same seed gives the same split.
    again = await seeded.get(response.request.url)
    assert again.json() == found
    # The caller records an image with the propensity it was given: it is stored.
    slot = found["slots"][0]
    recorded = await seeded.post(
        "/api/preferences",
        json={"prompt": "beach sunset", "checkpoint": slot["checkpoint"], "selected": True,
              "generation_id": "explored-1", "propensity": slot["propensity"]},
    )  # fmt: skip
    assert recorded.status_code == 201
    page = (await seeded.get("/api/preferences?limit=1")).json()
    assert page["preferences"][0]["propensity"] == slot["propensity"]


async def test_explore_spreads_a_cold_start_evenly(api: httpx.AsyncClient) -> None:  # noqa: F811
    found = (
        await api.get("/api/preferences/explore?prompt=castle&batch=6&top=3&available=a,b,c,d")
    ).json()
    assert [(item["checkpoint"], item["images"]) for item in found["allocations"]] == [
        ("a", 2), ("b", 2), ("c", 2),
    ]  # fmt: skip
    assert {slot["propensity"] for slot in found["slots"]} == {0.3333}
    assert found["why"] == "No history yet: the batch is spread evenly over 3 checkpoints."
    nothing = (await api.get("/api/preferences/explore?prompt=castle")).json()
    assert (nothing["allocations"], nothing["slots"]) == ([], [])


async def test_explore_refuses_a_bad_batch(api: httpx.AsyncClient) -> None:  # noqa: F811
    for query, field in (("batch=0", "batch"), ("batch=65", "batch"), ("top=0", "top")):
        response = await api.get(f"/api/preferences/explore?prompt=castle&available=a&{query}")
        _error(response, 422, field)


async def _record(client: httpx.AsyncClient, events: list[dict[str, Any]]) -> None:
    for event in events:
        response = await client.post("/api/preferences", json=event)
        assert response.status_code == 201, response.text


async def test_a_lora_of_another_family_is_never_recommended(
    api: httpx.AsyncClient,  # noqa: F811
) -> None:
    events = []
    for index in range(10):
        events.append(
            {"prompt": "castle", "checkpoint": "ponyDiffusionV6XL", "model_family": "Pony",
             "selected": True, "generation_id": f"p{index}",
             "loras": [{"name": "pony_style", "strength": 0.9, "family": "pony"}]}
        )  # fmt: skip
        events.append(
            {"prompt": "castle", "checkpoint": "juggernautXL", "model_family": "SDXL 1.0",
             "selected": True, "generation_id": f"x{index}",
             "loras": [{"name": "xl_detail", "strength": 0.6, "family": "sdxl"}]}
        )  # fmt: skip
    await _record(api, events)
    kept = (
        await api.get("/api/preferences/recommend/loras?prompt=castle&checkpoint=juggernautXL")
    ).json()
    assert [item["lora"] for item in kept] == ["xl_detail"]
    assert kept[0]["strength"] == 0.6
    everything = (
        await api.get(
            "/api/preferences/recommend/loras?prompt=castle&checkpoint=juggernautXL"
            "&include_avoided=true"
        )
    ).json()
    left_out = [item for item in everything if item.get("avoided")]
    assert [item["lora"] for item in left_out] == ["pony_style"]
    assert left_out[0]["why"] == "Left out pony_style: it is a pony LoRA and juggernautXL is sdxl"
    # Without a checkpoint there is nothing to compare with: both are candidates.
    both = (await api.get("/api/preferences/recommend/loras?prompt=castle")).json()
    assert {item["lora"] for item in both} == {"xl_detail", "pony_style"}
    # The family travels with the export.
    exported = (await api.get("/api/preferences/export")).json()
    lora = next(e for e in exported["preferences"] if e["generation_id"] == "p0")["loras"][0]
    assert lora == {"name": "pony_style", "strength": 0.9, "family": "pony"}


async def test_recommend_answers_with_label_reasons_and_ranking(
    seeded: httpx.AsyncClient,  # noqa: F811
) -> None:
    found = (
        await seeded.get("/api/preferences/recommend/checkpoint?prompt=misty+forest"
                         "&available=epicrealismXL,realvisxlV40")
    ).json()  # fmt: skip
    assert found["checkpoint"] == "realvisxlV40"
    assert found["label"] == "Exploring"
    assert "Avoided epicrealismXL for 'forest': 2 of 18 kept" in found["why"]
    assert {"kind": "keyword", "keyword": "forest", "checkpoint": "epicrealismXL",
            "selected": 2, "total": 18, "rate": 0.1111} in found["reasons"]  # fmt: skip
    assert [item["checkpoint"] for item in found["ranking"]] == ["realvisxlV40", "epicrealismXL"]
    assert EPIC  # the seed history's checkpoint, recorded by its full name
