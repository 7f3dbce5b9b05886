"""The endpoints behind the web panel: overview, profiles, check / repair, and the review images."""

from __future__ import annotations

import io
import shutil
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from tastebud import PreferenceLearning
from tastebud.api import create_app
from tastebud.demo import DEMO_PROFILE, SUBJECTS, TASTE, demo_history, draw_demo_images
from tastebud.importers.folders import image_files, import_images
from tastebud.importers.metadata import read_metadata
from tastebud.settings import Settings


@pytest.fixture
def images(tmp_path: Path, shared_data: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("lora_lora.png", "sdxl_sdxl_simple_example.png"):
        shutil.copyfile(shared_data / "png" / "comfyui_examples" / name, folder / name)
    return folder


@pytest.fixture
async def api(database: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database=database,
        image_folders=str(tmp_path / "images"),
        thumbnail_folder=str(tmp_path / "thumbnails"),
    )
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8001"
    ) as client:
        yield client
    await app.state.styles.stop()
    await app.state.preferences.aclose()


def _learning(api: httpx.AsyncClient) -> PreferenceLearning:
    return api._transport.app.state.preferences  # type: ignore[attr-defined,no-any-return]


async def test_the_overview_of_the_demo_profile(api: httpx.AsyncClient) -> None:
    await _learning(api).record_batch(demo_history())
    found = (await api.get("/api/preferences/overview", params={"user_id": DEMO_PROFILE})).json()
    totals = found["totals"]
    assert totals["total"] == 400 and totals["selected"] + totals["rejected"] == 400
    checkpoints = found["checkpoints"]
    assert checkpoints and checkpoints[0]["total"] >= checkpoints[-1]["total"]
    assert {"checkpoint", "selected", "total", "rate", "evidence_level", "label"} <= set(
        checkpoints[0]
    )
    # The demo's anime LoRA ruins the realistic checkpoint: the clash the recommendations avoid.
    assert any(
        clash["lora"] == "anime_style_v2" and "epicrealismXL" in clash["checkpoint"]
        for clash in found["clashes"]
    ), found["clashes"]
    assert all(item["rate"] > item["checkpoint_rate"] for item in found["loras_that_work"])
    heat = found["heatmap"]
    assert heat["keywords"] and len(heat["cells"]) == len(heat["keywords"])
    assert all(len(row) == len(heat["checkpoints"]) for row in heat["cells"])
    assert sum(week["total"] for week in found["weeks"]) == 400
    starts = [date.fromisoformat(week["start"]) for week in found["weeks"]]
    assert starts == sorted(starts) and all(start.weekday() == 0 for start in starts)


async def test_an_empty_profile_has_an_empty_overview(api: httpx.AsyncClient) -> None:
    found = (await api.get("/api/preferences/overview", params={"user_id": "nobody"})).json()
    assert found["totals"] == {"selected": 0, "rejected": 0, "total": 0}
    assert found["checkpoints"] == found["weeks"] == found["heatmap"]["keywords"] == []
    assert found["waiting"] == 0


async def test_profiles_are_listed_and_made(api: httpx.AsyncClient) -> None:
    await _learning(api).record_preference(prompt="cat", checkpoint="sdxl", selected=True)
    made = await api.post("/api/profiles", json={"user_id": "alice"})
    assert made.status_code == 201 and made.json() == {"user_id": "alice", "total": 0}
    listed = (await api.get("/api/profiles")).json()["profiles"]
    assert {"user_id": "alice", "total": 0} in listed
    assert {"user_id": "default", "total": 1} in listed
    again = await api.post("/api/profiles", json={"user_id": "alice"})
    assert again.status_code == 409 and again.json()["details"][0]["field"] == "user_id"
    bad = await api.post("/api/profiles", json={"user_id": ""})
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "user_id"
    extra = await api.post("/api/profiles", json={"user_id": "bob", "colour": "red"})
    assert extra.status_code == 422 and extra.json()["details"][0]["field"] == "colour"


async def test_check_and_repair(api: httpx.AsyncClient) -> None:
    await _learning(api).record_preference(prompt="cat", checkpoint="sdxl", selected=True)
    checked = (await api.get("/api/check")).json()
    assert checked["ok"] and checked["events"] == 1 and checked["wrong"] == 0
    repaired = (await api.post("/api/repair")).json()
    assert repaired["ok"]


async def test_review_images_and_thumbnails(
    api: httpx.AsyncClient, images: Path, tmp_path: Path
) -> None:
    learning = _learning(api)
    await import_images(learning, image_files(images, recursive=False), root=images)
    queue = (await api.get("/api/generations")).json()["generations"]
    first = queue[0]
    original = await api.get(f"/api/generations/{first['id']}/image")
    assert original.status_code == 200
    assert original.content == Path(first["path"]).read_bytes()
    small = await api.get(f"/api/generations/{first['id']}/thumbnail", params={"size": 128})
    assert small.status_code == 200 and small.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(small.content)) as picture:
        assert max(picture.size) == 128
    cached = list((tmp_path / "thumbnails").rglob("*.webp"))
    assert [path.name for path in cached] == [f"{first['content_hash']}-128.webp"]
    again = await api.get(f"/api/generations/{first['id']}/thumbnail", params={"size": 128})
    assert again.content == small.content
    assert (await api.get(f"/api/generations/{first['id']}/thumbnail?size=5000")).status_code == 422
    missing = await api.get("/api/generations/999999/thumbnail")
    assert missing.status_code == 404 and missing.json()["details"][0]["field"] == "id"


async def test_images_outside_the_configured_folders_are_not_served(
    api: httpx.AsyncClient, images: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(images, elsewhere)
    learning = _learning(api)
    await import_images(learning, image_files(elsewhere, recursive=False), root=elsewhere)
    generation = (await api.get("/api/generations")).json()["generations"][0]
    for kind in ("image", "thumbnail"):
        refused = await api.get(f"/api/generations/{generation['id']}/{kind}")
        assert refused.status_code == 403, kind
        assert "--image-folders" in refused.json()["details"][0]["reason"]


async def test_the_panel_is_served_at_the_root(api: httpx.AsyncClient) -> None:
    page = await api.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/static/app.js" in page.text
    script = await api.get("/static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


async def test_a_review_image_that_is_gone_or_broken(api: httpx.AsyncClient, images: Path) -> None:
    learning = _learning(api)
    await import_images(learning, image_files(images, recursive=False), root=images)
    first, second = (await api.get("/api/generations")).json()["generations"][:2]
    Path(first["path"]).unlink()
    gone = await api.get(f"/api/generations/{first['id']}/thumbnail")
    assert gone.status_code == 404 and "is gone" in gone.json()["details"][0]["reason"]
    Path(second["path"]).write_bytes(b"no longer an image")
    broken = await api.get(f"/api/generations/{second['id']}/thumbnail")
    assert broken.status_code == 422
    assert "cannot make a thumbnail" in broken.json()["details"][0]["reason"]


def _a1111_png(path: Path, size: tuple[int, int], mode: str = "RGB", colour: int = 0) -> None:
    """A PNG of our own with A1111 generation metadata, so the importer takes it."""
    info = PngInfo()
    info.add_text(
        "parameters",
        "a lake at dawn\nNegative prompt: blurry\nSteps: 20, Sampler: Euler, CFG scale: 7, "
        "Seed: 1, Size: 512x512, Model: lakeModel_v1",
    )
    Image.new(mode, size, colour).save(path, pnginfo=info)


async def test_a_link_out_of_the_image_folders_is_never_served(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A file of an allowed folder swapped for a symbolic link to a secret: refused, and the
    secret's bytes never sent."""
    folder = tmp_path / "images"
    folder.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:the secret")
    for colour, name in enumerate(("a.png", "b.png")):
        _a1111_png(folder / name, (64, 64), colour=colour * 100)
    await import_images(_learning(api), image_files(folder, recursive=False), root=folder)
    first, second = (await api.get("/api/generations")).json()["generations"][:2]
    Path(first["path"]).unlink()
    Path(first["path"]).symlink_to(secret)
    for kind in ("image", "thumbnail"):
        refused = await api.get(f"/api/generations/{first['id']}/{kind}")
        assert refused.status_code == 403, (kind, refused.text)
        assert "the secret" not in refused.text
    # The other image, untouched, is served.
    assert (await api.get(f"/api/generations/{second['id']}/image")).content.startswith(b"\x89PNG")


async def test_a_decompression_bomb_gets_no_thumbnail(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A small PNG of 64 million pixels: refused before it is decoded."""
    folder = tmp_path / "images"
    folder.mkdir()
    _a1111_png(folder / "bomb.png", (8000, 8000), mode="1")
    assert (folder / "bomb.png").stat().st_size < 200_000
    await import_images(_learning(api), image_files(folder, recursive=False), root=folder)
    (bomb,) = (await api.get("/api/generations")).json()["generations"]
    answer = await api.get(f"/api/generations/{bomb['id']}/thumbnail")
    assert answer.status_code == 422
    assert "more than 50,000,000" in answer.json()["details"][0]["reason"]


def test_the_demo_draws_its_review_queue_the_same_every_time(tmp_path: Path) -> None:
    first = draw_demo_images(tmp_path / "a")
    again = draw_demo_images(tmp_path / "b")
    assert len(first) == 24
    assert [path.read_bytes() for path in first] == [path.read_bytes() for path in again]
    names = {name.removesuffix(".safetensors") for name in TASTE}
    for path in first:
        metadata = read_metadata(path)
        assert metadata.prompt in SUBJECTS.values()
        assert metadata.checkpoints[0].name in names
    drawn = first[0].stat().st_mtime_ns
    draw_demo_images(tmp_path / "a")  # drawn again: the files are left as they are
    assert first[0].stat().st_mtime_ns == drawn
