"""TastebudPicker: its answer route in aiohttp's test server (ComfyUI's server is aiohttp), the
node waiting on ComfyUI's worker thread, and the judged batch recorded in a real tastebud."""

from __future__ import annotations

import asyncio
import json
import types
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tastebud import PreferenceLearning
from tastebud.generations import Generation
from tastebud.importers.watch import watch

from .comfyui_stand_ins import COMFYUI, InterruptProcessingException, batch, save_image
from .conftest import PACK, serving

PROMPT = "a beach at sunset, golden hour"
CHECKPOINT = "sdxl/epicrealismXL_pureFix.safetensors"


@dataclass
class Page:
    """ComfyUI's page as the picker sees it: the messages the node sends it, and the route it
    answers through."""

    client: TestClient[Any, Any]
    messages: asyncio.Queue[tuple[str, dict[str, Any]]]

    async def shown(self) -> dict[str, Any]:
        """The next batch the node shows (skipping the close of an earlier one)."""
        while True:
            event, data = await self.messages.get()
            if event == "tastebud.pick":
                return data
            assert event == "tastebud.pick.closed"

    async def answer(self, pick_id: str, body: object) -> tuple[int, dict[str, Any]]:
        response = await self.client.post(f"/tastebud/picker/{pick_id}", json=body)
        return response.status, await response.json()


@pytest.fixture
async def page(pack: types.ModuleType, tmp_path: Path) -> AsyncIterator[Page]:
    loop = asyncio.get_running_loop()
    messages: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    COMFYUI.temp, COMFYUI.cancelled = tmp_path, False
    COMFYUI.messages.clear()
    COMFYUI.on_message = lambda event, data: loop.call_soon_threadsafe(
        messages.put_nowait, (event, data)
    )
    app = web.Application()
    app.add_routes(COMFYUI.routes)  # the routes the pack added when ComfyUI imported it
    async with TestClient(TestServer(app)) as client:
        yield Page(client, messages)
    # A test that failed while a node waited: ComfyUI's Cancel ends the wait, not the timeout.
    if pack.picker.PICKS.waiting():
        COMFYUI.cancelled = True


@pytest.fixture(scope="module")
def images_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("comfyui-output")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("picker") / "preferences.db"


@pytest.fixture(scope="module")
def tastebud_with_images(database: Path, images_folder: Path) -> Iterator[str]:
    """A real tastebud that may import ComfyUI's output folder."""
    with serving("--db", str(database), "--image-folders", str(images_folder)) as base:
        yield base


def picker(pack: types.ModuleType) -> Any:
    return pack.NODE_CLASS_MAPPINGS["TastebudPicker"]()


def events(server: str, user_id: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{server}/api/preferences", params={"user_id": user_id, "limit": 500})
    answer.raise_for_status()
    return list(answer.json()["preferences"])


def test_the_picker_is_in_the_pack_with_its_page(pack: types.ModuleType) -> None:
    node = pack.NODE_CLASS_MAPPINGS["TastebudPicker"]
    assert pack.NODE_DISPLAY_NAME_MAPPINGS["TastebudPicker"]
    assert node.OUTPUT_NODE and node.RETURN_NAMES == ("images", "status")
    assert node.INPUT_TYPES()["hidden"] == {
        "unique_id": "UNIQUE_ID",
        "extra_pnginfo": "EXTRA_PNGINFO",
    }
    web_directory = Path(pack.__file__).parent / pack.WEB_DIRECTORY
    assert (web_directory / "tastebud_picker.js").is_file()


async def test_a_kept_pick_is_recorded_once_and_only_the_kept_images_go_on(
    pack: types.ModuleType, page: Page, tastebud_with_images: str, images_folder: Path
) -> None:
    """Explore draws the checkpoint, the person keeps images 1 and 3 of 4 in the page: tastebud
    records the batch with the propensity, and the kept images go on. SaveImage then writes
    them (and, from a second SaveImage, a rejected one) to ComfyUI's output; importing that
    folder finds them judged already: their verdicts stand, and no event is added."""
    server, user = tastebud_with_images, "picker-keep"
    extra: dict[str, Any] = {}
    checkpoint = pack.NODE_CLASS_MAPPINGS["TastebudCheckpoint"]().choose(
        PROMPT, server=server, user_id=user, mode="explore", extra_pnginfo=extra
    )[3]
    images = batch(4)
    running = asyncio.create_task(asyncio.to_thread(
        picker(pack).pick, images, PROMPT, server=server, user_id=user, unique_id="9",
        extra_pnginfo=extra,
    ))  # fmt: skip
    shown = await page.shown()
    assert shown["node"] == "9" and shown["checkpoint"] == checkpoint and shown["prompt"] == PROMPT
    assert [image["type"] for image in shown["images"]] == ["temp"] * 4
    assert all((COMFYUI.temp / image["filename"]).is_file() for image in shown["images"])
    status, answer = await page.answer(shown["pick_id"], {"outcome": "advance", "kept": [3, 1]})
    assert (status, answer) == (200, {"outcome": "advance", "kept": [1, 3]})

    kept, said = await running
    numpy.testing.assert_array_equal(kept, images[[1, 3]])
    assert said == "kept 2 of 4, recorded in tastebud"
    assert ("tastebud.pick.closed", {"pick_id": shown["pick_id"]}) in COMFYUI.messages
    recorded = events(server, user)
    assert sorted((e["action"], bool(e["implicit"])) for e in recorded) == [
        ("rejected", True), ("rejected", True), ("selected", False), ("selected", False)
    ]  # fmt: skip
    propensity = extra["tastebud"]["propensity"]
    assert {e["checkpoint"] for e in recorded} == {checkpoint}
    assert {e["propensity"] for e in recorded} == {propensity} and 0 < propensity <= 1
    assert len({e["batch_id"] for e in recorded}) == 1
    assert all(e["style"] for e in recorded)  # the look, read by tastebud from small copies

    graph = json.loads((PACK / "examples" / "tastebud_checkpoint.json").read_text())
    for index in (1, 3, 0):
        save_image(images_folder / f"ComfyUI_{index:05}_.png", graph, extra, images[index])
    async with httpx.AsyncClient() as http:
        imported = await http.post(f"{server}/api/images/import", json={
            "folder": str(images_folder), "user_id": user,
        })  # fmt: skip
    report = imported.json()
    assert (report["selected"], report["rejected"], report["queued"]) == (2, 1, 0), report
    assert events(server, user) == recorded  # the picker's four judgements, as they were
    # The saved files, read by the server's style pass, have the look the picker recorded.
    looks = {e["generation_id"]: e["style"] for e in recorded}
    saved: list[dict[str, Any]] = []
    async with httpx.AsyncClient() as http:
        for _ in range(200):  # a readiness wait: the server reads their pixels after the import
            answer = await http.get(
                f"{server}/api/generations", params={"user_id": user, "status": ""}
            )
            saved = answer.json()["generations"]
            if all(item["style"] for item in saved):
                break
            await asyncio.sleep(0.1)
    assert len(saved) == 3
    for item in saved:
        assert item["style"] == looks[item["generation_id"]], item["path"]


async def test_the_watcher_finds_picked_images_judged_already(
    pack: types.ModuleType,
    page: Page,
    tastebud_with_images: str,
    database: Path,
    tmp_path: Path,
) -> None:
    """``tastebud watch`` on ComfyUI's output, beside the server: the picker's keeper and a
    rejected image saved after the pick keep their verdicts and ids; no event is added."""
    server, user = tastebud_with_images, "picker-watch"
    images = batch(2, seed=5)
    extra: dict[str, Any] = {}
    running = asyncio.create_task(asyncio.to_thread(
        picker(pack).pick, images, PROMPT, ckpt_name=CHECKPOINT, server=server, user_id=user,
        extra_pnginfo=extra,
    ))  # fmt: skip
    shown = await page.shown()
    await page.answer(shown["pick_id"], {"outcome": "advance", "kept": [1]})
    await running
    recorded = events(server, user)

    output = tmp_path / "output"
    output.mkdir()
    graph = json.loads((PACK / "examples" / "tastebud_checkpoint.json").read_text())
    async with PreferenceLearning(database) as learning:
        stop = asyncio.Event()
        rounds: list[Any] = []
        watching = asyncio.create_task(
            watch(learning, output, user_id=user, stop=stop, on_report=rounds.append)
        )
        await asyncio.sleep(0.5)  # let the watcher start before the first write
        for index in (0, 1):
            save_image(output / f"ComfyUI_{index:05}_.png", graph, extra, images[index])
        found: list[Generation] = []
        for _ in range(100):  # a readiness wait: up to 20 s on a slow machine
            found = (await learning.list_generations(None, user_id=user)).generations
            if len(found) == 2:
                break
            await asyncio.sleep(0.2)
        stop.set()
        await watching
    verdicts = {(e["generation_id"], e["action"]) for e in recorded}
    assert {(item.generation_id, item.status) for item in found} == verdicts, rounds
    assert (
        events(server, user) == recorded
    )  # batch, time, look and all, as the picker recorded them


async def test_reject_all_is_recorded_and_stops_the_run(
    pack: types.ModuleType, page: Page, tastebud_with_images: str
) -> None:
    server, user = tastebud_with_images, "picker-reject"
    running = asyncio.create_task(asyncio.to_thread(
        picker(pack).pick, batch(3, seed=1), PROMPT, ckpt_name=CHECKPOINT, server=server,
        user_id=user,
    ))  # fmt: skip
    shown = await page.shown()
    assert (await page.answer(shown["pick_id"], {"outcome": "reject_all"}))[0] == 200
    with pytest.raises(InterruptProcessingException):
        await running  # nothing kept, nothing to pass on: the run stops as Cancel stops it
    recorded = events(server, user)
    assert [e["action"] for e in recorded] == ["rejected"] * 3
    assert {e["checkpoint"] for e in recorded} == {CHECKPOINT}


async def test_no_answer_within_the_timeout_passes_every_image_on_and_records_nothing(
    pack: types.ModuleType, page: Page, tastebud_with_images: str
) -> None:
    server, user = tastebud_with_images, "picker-timeout"
    images = batch(2, seed=2)
    kept, said = await asyncio.to_thread(
        picker(pack).pick, images, PROMPT, ckpt_name=CHECKPOINT, server=server, user_id=user,
        timeout=0.3,
    )  # fmt: skip
    assert (
        kept is images
        and said == "not judged within 0.3 s: all 2 images passed on, nothing recorded"
    )
    shown = await page.shown()
    assert ("tastebud.pick.closed", {"pick_id": shown["pick_id"]}) in COMFYUI.messages
    status, answer = await page.answer(shown["pick_id"], {"outcome": "advance", "kept": [0]})
    assert status == 404 and "no pick is waiting" in answer["error"]  # too late: changes nothing
    assert events(server, user) == []


async def test_skip_passes_every_image_on_and_records_nothing(
    pack: types.ModuleType, page: Page, tastebud_with_images: str
) -> None:
    server, user = tastebud_with_images, "picker-skip"
    images = batch(2, seed=3)
    running = asyncio.create_task(asyncio.to_thread(
        picker(pack).pick, images, PROMPT, ckpt_name=CHECKPOINT, server=server, user_id=user,
    ))  # fmt: skip
    shown = await page.shown()
    assert (await page.answer(shown["pick_id"], {"outcome": "skip"}))[0] == 200
    kept, said = await running
    assert kept is images and said == "skipped: all 2 images passed on, nothing recorded"
    assert events(server, user) == []


async def test_comfyuis_cancel_ends_the_wait(pack: types.ModuleType, page: Page) -> None:
    running = asyncio.create_task(asyncio.to_thread(
        picker(pack).pick, batch(2), PROMPT, ckpt_name=CHECKPOINT, timeout=3600,
    ))  # fmt: skip
    shown = await page.shown()
    COMFYUI.cancelled = True  # the person pressed Cancel in ComfyUI's queue
    with pytest.raises(InterruptProcessingException):
        await running
    assert ("tastebud.pick.closed", {"pick_id": shown["pick_id"]}) in COMFYUI.messages
    assert (await page.answer(shown["pick_id"], {"outcome": "skip"}))[0] == 404


async def test_tastebud_down_still_passes_the_kept_images_on(
    pack: types.ModuleType, page: Page, down: str
) -> None:
    images = batch(3, seed=4)
    running = asyncio.create_task(asyncio.to_thread(
        picker(pack).pick, images, PROMPT, ckpt_name=CHECKPOINT, server=down,
    ))  # fmt: skip
    shown = await page.shown()
    await page.answer(shown["pick_id"], {"outcome": "advance", "kept": [2]})
    kept, said = await running
    numpy.testing.assert_array_equal(kept, images[[2]])
    assert said.startswith("kept 1 of 3: not recorded, tastebud at") and "unreachable" in said


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([1], "the body must be a JSON object"),
        ({"outcome": "keep"}, "outcome: must be one of advance, reject_all, skip"),
        ({"outcome": "advance", "kept": []}, "kept: Keep needs at least one image"),
        ({"outcome": "advance", "kept": [5]}, "kept: an index is outside the batch of 2 images"),
        ({"outcome": "advance", "kept": [0, 0]}, "kept: an index is given twice"),
        ({"outcome": "advance", "kept": ["0"]}, "kept: must be a list of image indices"),
        ({"outcome": "advance", "kept": [True]}, "kept: must be a list of image indices"),
        ({"outcome": "reject_all", "kept": [0]}, "kept: must be empty for reject_all"),
    ],
)
async def test_a_bad_answer_is_refused_with_the_reason_and_the_pick_still_waits(
    pack: types.ModuleType, page: Page, body: object, reason: str
) -> None:
    running = asyncio.create_task(asyncio.to_thread(
        picker(pack).pick, batch(2), PROMPT, timeout=3600,
    ))  # fmt: skip
    shown = await page.shown()
    status, answer = await page.answer(shown["pick_id"], body)
    assert status == 400 and answer["error"].startswith(reason)
    assert (await page.answer(shown["pick_id"], {"outcome": "skip"}))[0] == 200
    assert (await running)[1].startswith("skipped")


async def test_a_body_that_is_not_json_is_refused(page: Page) -> None:
    response = await page.client.post("/tastebud/picker/abc", data=b"{nope")
    assert response.status == 400 and (await response.json()) == {"error": "the body is not JSON"}


def test_the_propensity_goes_only_with_the_checkpoint_it_was_drawn_for(
    pack: types.ModuleType,
) -> None:
    drawn = {"checkpoint": CHECKPOINT, "propensity": 0.35, "loras": [{"name": "x", "strength": 1}]}
    same = pack.picker.judged_batch(["a", "b"], {"b"}, PROMPT, drawn, CHECKPOINT, "u")
    assert [image["propensity"] for image in same["images"]] == [0.35, 0.35]
    assert same["selected"] == ["b"] and same["images"][0]["loras"] == drawn["loras"]
    # ckpt_name names another checkpoint than the one Explore drew: no propensity to claim.
    other = pack.picker.judged_batch(["a", "b"], {"b"}, PROMPT, drawn, "sd15/other", "u")
    assert all("propensity" not in image for image in other["images"])


def test_two_identical_images_are_one_image(pack: types.ModuleType) -> None:
    body = pack.picker.judged_batch(["a", "b", "a"], {"a"}, PROMPT, {}, CHECKPOINT, "u")
    assert [image["generation_id"] for image in body["images"]] == ["a", "b"]
    assert (body["outcome"], body["selected"]) == ("advance", ["a"])
    rejected = pack.picker.judged_batch(["a", "a"], set(), PROMPT, {}, CHECKPOINT, "u")
    assert (rejected["outcome"], rejected["selected"], len(rejected["images"])) == (
        "reject_all",
        [],
        1,
    )


def test_an_answer_just_before_the_deadline_is_the_answer(pack: types.ModuleType) -> None:
    """The route took the answer (and said so) as the wait reached its deadline: the wait
    returns it rather than timing out, and once the wait is over no answer is taken."""
    picks = pack.picker.Picks()
    picks.open("p", 2)

    def answer_at_the_deadline() -> None:
        picks.answer("p", {"outcome": "advance", "kept": [1]})

    assert picks.wait("p", 0.0, answer_at_the_deadline) == pack.picker.Answer("advance", (1,))
    picks.open("q", 2)
    assert picks.wait("q", 0.0) is None
    with pytest.raises(KeyError):
        picks.answer("q", {"outcome": "skip"})


async def test_two_pickers_in_one_run_keep_both_verdicts(
    pack: types.ModuleType, page: Page, down: str
) -> None:
    """Two pickers of one workflow share the run's extra_pnginfo: the second adds its verdicts
    to the first's, so every image saved after either is found judged."""
    extra: dict[str, Any] = {}
    first, second = batch(2, seed=20), batch(2, seed=21)
    for images, kept in ((first, 0), (second, 1)):
        running = asyncio.create_task(asyncio.to_thread(
            picker(pack).pick, images, PROMPT, ckpt_name=CHECKPOINT, server=down,
            extra_pnginfo=extra,
        ))  # fmt: skip
        shown = await page.shown()
        await page.answer(shown["pick_id"], {"outcome": "advance", "kept": [kept]})
        await running
    ids = pack.picker.pixel_id
    assert extra["tastebud"]["picked"] == {
        "kept": [ids(first[0]), ids(second[1])],
        "rejected": [ids(first[1]), ids(second[0])],
    }
