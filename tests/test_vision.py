"""Vision analysis by a local model: tastebud's Ollama client and its background queue, against a
fake Ollama (a real local HTTP server speaking the same protocol), and a real server."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from fake_ollama import ANSWER, fake_ollama
from tastebud import PreferenceLearning
from tastebud.describing import Describing, VisionSettings
from tastebud.errors import InvalidInput
from tastebud.settings import Settings
from tastebud.vision import VisionError, check_model, describe


@pytest.fixture
def ollama() -> Iterator[tuple[str, Any]]:
    with fake_ollama() as found:
        yield found


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "beach.png"
    Image.new("RGB", (32, 32), (240, 160, 80)).save(path)
    return path


async def test_the_model_describes_an_image_whole_or_streamed(
    ollama: tuple[str, Any], picture: Path
) -> None:
    url, fake = ollama
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        await check_model(client, "llava")
        for model in ("llava", "llava-stream"):
            seen = await describe(client, model, picture.read_bytes())
            assert seen.description == ANSWER["description"]
            assert seen.words == ("beach", "sea", "sunset", "sky", "warm", "photographic")
    path, body = fake.requests[-1]
    assert path == "/api/generate" and body["stream"] is False
    assert base64.b64decode(body["images"][0]) == picture.read_bytes()
    assert body["format"]["required"] == ["description", "subjects", "styles"]


async def test_what_goes_wrong_is_said_in_words(ollama: tuple[str, Any], picture: Path) -> None:
    url, _ = ollama
    image = picture.read_bytes()
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(0.5)) as client:
        with pytest.raises(VisionError, match="no model 'moondream'"):
            await check_model(client, "moondream")
        with pytest.raises(VisionError, match="cannot see images"):
            await check_model(client, "llama3")
        with pytest.raises(VisionError, match="no model 'moondream'"):
            await describe(client, "moondream", image)
        with pytest.raises(VisionError, match="in the middle of its answer: an error was"):
            await describe(client, "broken", image)
        with pytest.raises(VisionError, match="did not answer in time"):
            await describe(client, "slow", image)
        with pytest.raises(VisionError, match="500: server busy"):
            await describe(client, "flaky", image)
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9", timeout=1) as nowhere:
        with pytest.raises(VisionError, match="cannot reach Ollama"):
            await describe(nowhere, "llava", image)
    async with httpx.AsyncClient(base_url=url) as client:
        tags = (await client.get("/api/tags")).json()
    assert "llava:latest" in {model["name"] for model in tags["models"]}


async def _until_it_says_why(queue: Describing) -> None:
    """Run the queue until it reports an error (a readiness wait, up to 10 s), then stop it."""
    queue.start()
    try:
        for _ in range(100):
            if queue.last_error:
                return
            await asyncio.sleep(0.1)
    finally:
        await queue.stop()


async def _described(pl: PreferenceLearning, queue: Describing, count: int) -> None:
    for _ in range(200):  # a readiness wait, up to 20 s: the queue runs in the background
        if queue.described + queue.failed >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(queue.status())


async def test_judged_images_are_described_in_the_background_and_their_words_count(
    pl: PreferenceLearning, ollama: tuple[str, Any], picture: Path
) -> None:
    url, _ = ollama
    await pl.record_preference(
        prompt="a quiet coast at dusk", checkpoint="sdxl", selected=True,
        generation_id="img-1", image_path=str(picture),
    )  # fmt: skip
    await pl.record_preference(prompt="no file", checkpoint="sdxl", selected=False)
    queue = Describing(
        pl, VisionSettings(url, "llava-stream", 5.0), [picture.parent], retry_after=0.01
    )
    queue.start()
    try:
        await _described(pl, queue, 1)
        assert queue.status()["state"] in ("describing", "idle") and queue.described == 1
    finally:
        await queue.stop()
    (event,) = [e for e in await pl.get_preferences() if e.generation_id == "img-1"]
    assert event.vision_description == ANSWER["description"]
    assert event.vision_themes == ("beach", "sea", "sunset", "sky", "warm", "photographic")
    assert event.keywords[:4] == ("quiet", "coast", "dusk", "beach")  # the prompt's come first
    stats = await pl.get_stats()
    assert stats["total_preferences"] == 2  # described, not counted again
    assert (await pl.check()).ok  # the statistics moved with the new keywords
    found = await pl.recommend("a beach")
    assert any(item["keyword"] == "beach" for item in found.reasons if item["kind"] == "keyword")


async def test_a_model_that_keeps_failing_is_retried_then_left_and_recording_goes_on(
    pl: PreferenceLearning, ollama: tuple[str, Any], picture: Path
) -> None:
    url, fake = ollama
    await pl.record_preference(
        prompt="a beach", checkpoint="sdxl", selected=True, generation_id="img-1",
        image_path=str(picture),
    )  # fmt: skip
    queue = Describing(pl, VisionSettings(url, "broken", 5.0), [picture.parent], retry_after=0.01)
    queue.start()
    try:
        await _described(pl, queue, 1)
        # Recording does not wait for the model.
        await pl.record_preference(prompt="a forest", checkpoint="sdxl", selected=False)
    finally:
        await queue.stop()
    assert queue.failed == 1 and "in the middle of its answer" in (queue.last_error or "")
    assert sum(path == "/api/generate" for path, _ in fake.requests) == 3  # three tries
    (event, _) = await pl.get_preferences()
    assert event.vision_description is None and event.keywords == ("beach",)

    flaky = Describing(pl, VisionSettings(url, "flaky", 5.0), [picture.parent], retry_after=0.01)
    flaky.start()
    try:
        await _described(pl, flaky, 1)
    finally:
        await flaky.stop()
    assert flaky.described == 1  # failed twice, answered the third time


async def test_a_model_that_cannot_see_is_reported_and_nothing_is_sent(
    pl: PreferenceLearning, ollama: tuple[str, Any], picture: Path
) -> None:
    url, fake = ollama
    await pl.record_preference(
        prompt="a beach", checkpoint="sdxl", selected=True, image_path=str(picture)
    )
    queue = Describing(pl, VisionSettings(url, "llama3", 5.0), [picture.parent])
    await _until_it_says_why(queue)
    assert queue.status()["state"] == "model not usable"
    assert "cannot see images" in (queue.last_error or "")
    assert all(path != "/api/generate" for path, _ in fake.requests)


def test_vision_settings_are_checked() -> None:
    for wrong in ("127.0.0.1:11434", "ftp://host", "http://host/api/generate"):
        with pytest.raises(InvalidInput) as error:
            Settings(vision_url=wrong)
        assert error.value.field == "vision_url"
    with pytest.raises(InvalidInput):
        Settings(vision_url="http://127.0.0.1:11434", vision_timeout=0)
    assert Settings().vision_url is None  # off unless configured


def test_a_server_with_vision_describes_what_is_judged(
    ollama: tuple[str, Any], picture: Path, tmp_path: Path
) -> None:
    from test_server import serving

    url, _ = ollama
    args = ["--db", str(tmp_path / "v.db"), "--vision-url", url, "--vision-model", "llava"]
    args += ["--image-folders", str(picture.parent)]
    with serving(*args) as base:
        assert httpx.get(base + "/api/vision").json()["model"] == "llava"
        event = {"prompt": "a coast", "checkpoint": "sdxl", "selected": False,
                 "generation_id": "g1", "image_path": str(picture)}  # fmt: skip
        assert httpx.post(base + "/api/preferences", json=event).status_code == 201
        status: dict[str, Any] = {}
        for _ in range(200):  # a readiness wait: the queue looks every 2 s
            status = httpx.get(base + "/api/vision").json()
            if status["described"]:
                break
            time.sleep(0.1)
        assert status["described"] == 1 and status["state"] in ("idle", "describing"), status
        (stored,) = httpx.get(base + "/api/preferences").json()["preferences"]
        assert stored["vision_description"] == ANSWER["description"]
    with serving("--db", str(tmp_path / "off.db")) as base:
        assert httpx.get(base + "/api/vision").json() == {"enabled": False}


async def test_ollama_away_gives_up_no_image_and_a_file_outside_the_folders_is_not_sent(
    pl: PreferenceLearning, ollama: tuple[str, Any], picture: Path, tmp_path: Path
) -> None:
    await pl.record_preference(
        prompt="a beach", checkpoint="sdxl", selected=True, image_path=str(picture)
    )
    away = Describing(pl, VisionSettings("http://127.0.0.1:9", "llava", 1.0), [picture.parent])
    await _until_it_says_why(away)
    assert away.status()["state"] == "Ollama unreachable" and away.failed == 0

    url, fake = ollama
    elsewhere = Describing(pl, VisionSettings(url, "llava", 5.0), [tmp_path / "other"])
    elsewhere.start()
    try:
        await _described(pl, elsewhere, 1)
    finally:
        await elsewhere.stop()
    assert elsewhere.failed == 1 and "outside the image folders" in (elsewhere.last_error or "")
    assert all(path != "/api/generate" for path, _ in fake.requests)
