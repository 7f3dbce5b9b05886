"""The A1111 / Forge extension in a stand-in A1111 (conftest.py), against a real tastebud."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import httpx
import pytest

from .a1111_stand_ins import CHECKPOINTS, HOST, Processing, generate, save_button

PROMPT = "a beach at sunset, golden hour"


def script(extension: types.ModuleType) -> Any:
    return extension.TastebudScript()


def generations(server: str, user_id: str, status: str = "") -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{server}/api/generations", params={"user_id": user_id, "status": status, "limit": 500}
    )
    answer.raise_for_status()
    return list(answer.json()["generations"])


def test_the_accordion_is_always_visible_with_its_toggle(extension: types.ModuleType) -> None:
    found = script(extension)
    assert found.title() == "tastebud"
    assert found.show(is_img2img=False) is sys.modules["modules.scripts"].AlwaysVisible
    enabled, mode, with_loras, server, user_id = found.ui(is_img2img=False)
    assert enabled.value is False  # off until the person turns it on
    assert mode.choices == (["best", "explore"],) and mode.value == "best"
    assert server.value == "http://127.0.0.1:8001" and user_id.value == "default"
    assert with_loras.value is True
    assert extension.on_image_saved in HOST.callbacks


def test_best_sets_the_checkpoint_and_the_lora_tags_before_the_images_are_made(
    extension: types.ModuleType, tastebud: str
) -> None:
    p = Processing(PROMPT)
    script(extension).before_process(p, True, "best", True, tastebud, "demo")
    name = "sdxl/epicrealismXL_pureFix.safetensors"  # the demo keeps it for beaches
    assert p.override_settings == {"sd_model_checkpoint": CHECKPOINTS[name]}
    # The demo keeps add_detail at 0.6 with epicrealismXL; anime_style_v2 clashes with it.
    assert p.prompt == f"{PROMPT} <lora:add_detail:0.6>"
    chosen = json.loads(p.extra_generation_params["tastebud"])
    assert chosen["checkpoint"] == name and chosen["mode"] == "best"
    assert chosen["loras"] == [{"name": "add_detail", "strength": 0.6}]
    assert chosen["propensity"] is None and len(chosen["recommendation_id"]) == 32


def test_off_changes_nothing(extension: types.ModuleType, tastebud: str) -> None:
    p = Processing(PROMPT)
    script(extension).before_process(p, False, "best", True, tastebud, "demo")
    assert (p.prompt, p.override_settings, p.extra_generation_params) == (PROMPT, {}, {})


def test_tastebud_down_generates_with_the_chosen_checkpoint(
    extension: types.ModuleType, down: str, capsys: pytest.CaptureFixture[str]
) -> None:
    p = Processing(PROMPT)
    script(extension).before_process(p, True, "explore", True, down, "demo")
    assert (p.prompt, p.override_settings, p.extra_generation_params) == (PROMPT, {}, {})
    said = capsys.readouterr().out
    assert "unreachable" in said and "generating with the checkpoint you chose" in said


def test_explored_images_wait_for_review_and_the_save_button_keeps_one(
    extension: types.ModuleType, tastebud: str, a1111_root: Path
) -> None:
    """An Explore generation of two images: both wait in tastebud's review queue, with the
    checkpoint and propensity the extension chose. The Save button then keeps one: its event
    carries the propensity, and it is still one image, not a second one."""
    user = "a1111-explore"
    p = Processing(PROMPT)
    saved = generate(script(extension), p, [True, "explore", True, tastebud, user])
    chosen = json.loads(p.extra_generation_params["tastebud"])
    assert p.override_settings["sd_model_checkpoint"] == CHECKPOINTS[chosen["checkpoint"]]
    assert 0.0 < chosen["propensity"] <= 1.0
    waiting = generations(tastebud, user, "unreviewed")
    assert sorted(item["path"] for item in waiting) == sorted(str(path) for path in saved)
    for item in waiting:
        metadata = item["metadata"]
        assert metadata["checkpoints"][0]["name"] == chosen["checkpoint"]
        assert metadata["propensity"] == chosen["propensity"]
        assert metadata["recommendation_id"] == chosen["recommendation_id"]

    save_button(saved[1])
    kept = generations(tastebud, user, "selected")
    assert [item["content_hash"] for item in kept] == [
        item["content_hash"] for item in waiting if item["path"] == str(saved[1])
    ]
    assert len(generations(tastebud, user)) == 2  # the saved copy is the same image
    events = httpx.get(f"{tastebud}/api/preferences", params={"user_id": user}).json()
    (event,) = events["preferences"]
    assert event["action"] == "selected" and event["propensity"] == chosen["propensity"]
    assert event["checkpoint"] == chosen["checkpoint"]


def test_images_outside_the_servers_folders_are_reported_not_lost(
    extension: types.ModuleType, tastebud: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, HOST.root = HOST.root, tmp_path  # an A1111 whose folder tastebud may not read
    try:
        generate(script(extension), Processing(PROMPT), [True, "best", False, tastebud, "a1111-x"])
    finally:
        HOST.root = root
    said = capsys.readouterr().out
    assert "the images were not sent: tastebud answered 403" in said and "--image-folders" in said
