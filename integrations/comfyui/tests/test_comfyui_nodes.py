"""The node pack in a stand-in ComfyUI (conftest.py), against a real tastebud server."""

from __future__ import annotations

import asyncio
import json
import math
import types
from pathlib import Path

from PIL import Image

from tastebud import PreferenceLearning
from tastebud.events import PreferenceEvent
from tastebud.importers.folders import Rules, image_files, import_images

from .comfyui_stand_ins import INSTALLED, LOADED, save_image

PACK = Path(__file__).resolve().parents[1]

PROMPT = "a beach at sunset, golden hour"


def test_the_node_names_are_the_published_contract(pack: types.ModuleType) -> None:
    assert set(pack.NODE_CLASS_MAPPINGS) == {
        "TastebudCheckpoint",
        "TastebudLoras",
        "TastebudPicker",
    }
    for name, node in pack.NODE_CLASS_MAPPINGS.items():
        assert name in pack.NODE_DISPLAY_NAME_MAPPINGS
        assert callable(getattr(node(), node.FUNCTION))
        assert len(node.RETURN_TYPES) == len(node.RETURN_NAMES)
        assert node.INPUT_TYPES()["hidden"]["extra_pnginfo"] == "EXTRA_PNGINFO"
        assert math.isnan(node.IS_CHANGED())  # runs again on every queued run
    choices = pack.NODE_CLASS_MAPPINGS["TastebudCheckpoint"].INPUT_TYPES()["optional"]
    assert choices["fallback"] == (INSTALLED["checkpoints"],)


def test_the_checkpoint_node_loads_the_recommended_installed_checkpoint(
    pack: types.ModuleType, tastebud: str
) -> None:
    extra: dict[str, object] = {"workflow": {}}
    node = pack.NODE_CLASS_MAPPINGS["TastebudCheckpoint"]()
    model, clip, vae, name, confidence, why = node.choose(
        PROMPT, server=tastebud, user_id="demo", extra_pnginfo=extra
    )
    # The demo's history keeps epicrealismXL for beaches; the answer is the installed file.
    assert name == "sdxl/epicrealismXL_pureFix.safetensors"
    assert LOADED == [("checkpoint", name)]
    assert (model, clip, vae) == (f"MODEL<{name}>", f"CLIP<{name}>", f"VAE<{name}>")
    assert confidence > 0.6 and "beach" in why
    provenance = extra["tastebud"]
    assert isinstance(provenance, dict)
    assert provenance["checkpoint"] == name and provenance["mode"] == "best"
    assert provenance["propensity"] is None and len(provenance["recommendation_id"]) == 32
    # Asked again with the same answer: the loaded checkpoint is kept, not loaded twice.
    assert node.choose(PROMPT, server=tastebud, user_id="demo")[3] == name
    assert LOADED == [("checkpoint", name)]


def test_explore_draws_an_installed_checkpoint_with_its_propensity(
    pack: types.ModuleType, tastebud: str
) -> None:
    node = pack.NODE_CLASS_MAPPINGS["TastebudCheckpoint"]()
    drawn = set()
    for _ in range(20):
        extra: dict[str, object] = {}
        name = node.choose(PROMPT, server=tastebud, user_id="demo", mode="explore",
                           extra_pnginfo=extra)[3]  # fmt: skip
        provenance = extra["tastebud"]
        assert isinstance(provenance, dict)
        assert name in INSTALLED["checkpoints"] and provenance["checkpoint"] == name
        assert 0.0 < provenance["propensity"] <= 1.0 and provenance["mode"] == "explore"
        drawn.add(name)
    assert "sdxl/epicrealismXL_pureFix.safetensors" in drawn


def test_tastebud_down_loads_the_fallback_and_says_why(pack: types.ModuleType, down: str) -> None:
    fallback = "sdxl/realvisxlV40.safetensors"
    extra: dict[str, object] = {}
    node = pack.NODE_CLASS_MAPPINGS["TastebudCheckpoint"]()
    *_, name, confidence, why = node.choose(
        PROMPT, server=down, fallback=fallback, extra_pnginfo=extra
    )
    assert (name, confidence) == (fallback, 0.0)
    assert "unreachable" in why and fallback in why
    assert LOADED == [("checkpoint", fallback)]
    model, clip, tags = pack.NODE_CLASS_MAPPINGS["TastebudLoras"]().apply(
        "MODEL", "CLIP", PROMPT, name, server=down
    )
    assert (model, clip, tags) == ("MODEL", "CLIP", "")  # passed through, no error


def test_the_lora_node_applies_the_enabled_loras_at_their_strengths(
    pack: types.ModuleType, tastebud: str
) -> None:
    extra: dict[str, object] = {}
    node = pack.NODE_CLASS_MAPPINGS["TastebudLoras"]()
    model, clip, tags = node.apply(
        "MODEL", "CLIP", PROMPT, "sdxl/epicrealismXL_pureFix.safetensors", server=tastebud,
        user_id="demo", extra_pnginfo=extra,
    )  # fmt: skip
    # The demo keeps add_detail at 0.6 with epicrealismXL; anime_style_v2 clashes with it.
    assert LOADED == [("lora", "add_detail.safetensors", 0.6, 0.6)]
    assert tags == "<lora:add_detail.safetensors:0.6>"
    assert model == "MODEL+add_detail.safetensors@0.6" and clip == "CLIP+add_detail.safetensors@0.6"
    assert extra["tastebud"] == {"loras": [{"name": "add_detail.safetensors", "strength": 0.6}]}


def test_a_saved_png_carries_the_provenance_and_its_judgement_the_propensity(
    pack: types.ModuleType, tastebud: str, tmp_path: Path
) -> None:
    """Explore draws a checkpoint; the example workflow's SaveImage writes the PNG; tastebud's
    importer finds it in a favourites folder: the event is of the checkpoint and LoRAs the
    nodes chose, with the propensity Explore drew the checkpoint with."""
    extra: dict[str, object] = {"workflow": {"nodes": []}}
    name = pack.NODE_CLASS_MAPPINGS["TastebudCheckpoint"]().choose(
        PROMPT, server=tastebud, user_id="demo", mode="explore", extra_pnginfo=extra
    )[3]
    pack.NODE_CLASS_MAPPINGS["TastebudLoras"]().apply(
        "M", "C", PROMPT, name, server=tastebud, user_id="demo", extra_pnginfo=extra
    )
    graph = json.loads((PACK / "examples" / "tastebud_checkpoint.json").read_text())
    graph["3"]["inputs"]["text"] = PROMPT
    kept = tmp_path / "output" / "best"
    kept.mkdir(parents=True)
    save_image(kept / "ComfyUI_00001_.png", graph, extra)
    with Image.open(kept / "ComfyUI_00001_.png") as image:
        carried = json.loads(image.text["tastebud"])  # type: ignore[attr-defined]
    assert carried["checkpoint"] == name and carried["user_id"] == "demo"
    assert 0.0 < carried["propensity"] <= 1.0

    event = asyncio.run(_imported(tmp_path / "output", tmp_path / "imported.db"))
    assert event.action == "selected" and event.checkpoint == name
    assert event.propensity == carried["propensity"]
    assert [lora.name for lora in event.loras] == [lora["name"] for lora in carried["loras"]]
    assert "beach" in event.keywords


async def _imported(folder: Path, database: Path) -> PreferenceEvent:
    rules = Rules(selected=((folder / "best").resolve(),))
    async with PreferenceLearning(database) as learning:
        report = await import_images(learning, image_files(folder, recursive=True), root=folder,
                                     rules=rules)  # fmt: skip
        assert report.selected == 1, report
        (event,) = await learning.get_preferences()
    return event
