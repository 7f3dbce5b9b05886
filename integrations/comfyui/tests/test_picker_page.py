"""The picker's page side (web/tastebud_picker.js) in a real Chromium: a stand-in of ComfyUI's
front end (its ``app.registerExtension`` and ``api`` event target, as the script imports them)
served with the pack's real answer route, and the node waiting on a worker thread."""

from __future__ import annotations

import asyncio
import os
import types
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, async_playwright, expect

from .comfyui_stand_ins import COMFYUI, InterruptProcessingException, batch
from .conftest import PACK

CHROMIUM = Path("/usr/bin/chromium")
PROMPT = "a beach at sunset, golden hour"

# ComfyUI's front end as far as the script uses it: ``app.registerExtension`` calls ``setup``;
# ``api`` is an EventTarget that turns a server message into a CustomEvent with ``detail``, and
# prefixes routes with /api.
APP_JS = """
export const app = { registerExtension(extension) { extension.setup?.(); } };
"""
API_JS = """
class Api extends EventTarget {
  apiURL(route) { return "/api" + route; }
  fetchApi(route, options) { return fetch(this.apiURL(route), options); }
}
export const api = new Api();
window.comfyMessage = (type, detail) => api.dispatchEvent(new CustomEvent(type, { detail }));
"""
PAGE = """<!doctype html><title>ComfyUI</title><canvas id="graph"></canvas>
<script type="module" src="/extensions/tastebud/tastebud_picker.js"></script>"""
FILES = {
    "/": (PAGE, "text/html"),
    "/scripts/app.js": (APP_JS, "text/javascript"),
    "/scripts/api.js": (API_JS, "text/javascript"),
}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        message = f"Chromium is absent ({CHROMIUM}): apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # CI installs it: missing there is a broken setup
        pytest.skip(message)
    async with async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        await launched.close()


class Comfy:
    """The stand-in ComfyUI server and its page, with the node's messages relayed to it."""

    def __init__(self, page: Page, base: str) -> None:
        self.page, self.base = page, base
        self.messages: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def relay(self) -> dict[str, Any]:
        """Pass the node's next message to the page, as ComfyUI's websocket does; return it."""
        event, data = await self.messages.get()
        await self.page.evaluate("([type, detail]) => window.comfyMessage(type, detail)",
                                 [event, data])  # fmt: skip
        return data


@pytest.fixture
async def comfy(pack: types.ModuleType, browser: Browser, tmp_path: Path) -> AsyncIterator[Comfy]:
    async def view(request: web.Request) -> web.FileResponse:
        return web.FileResponse(COMFYUI.temp / Path(request.query["filename"]).name)

    async def text(request: web.Request) -> web.Response:
        body, kind = FILES[request.path]
        return web.Response(text=body, content_type=kind)

    api = web.Application()
    api.add_routes(COMFYUI.routes)  # the pack's answer route, under /api as ComfyUI serves it
    api.router.add_get("/view", view)
    app = web.Application()
    for path in FILES:
        app.router.add_get(path, text)
    app.router.add_static("/extensions/tastebud", PACK / pack.WEB_DIRECTORY)
    app.add_subapp("/api", api)
    loop = asyncio.get_running_loop()
    COMFYUI.temp, COMFYUI.cancelled = tmp_path, False
    async with TestServer(app) as server:
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(str(server.make_url("/")))
        await page.wait_for_function("typeof window.comfyMessage === 'function'")
        found = Comfy(page, str(server.make_url("/")))
        COMFYUI.on_message = lambda event, data: loop.call_soon_threadsafe(
            found.messages.put_nowait, (event, data)
        )
        yield found
        await page.close()
        assert errors == []


async def test_the_person_keeps_two_with_a_click_and_the_keys(
    pack: types.ModuleType, comfy: Comfy, down: str
) -> None:
    images = batch(4, seed=10)
    running = asyncio.create_task(asyncio.to_thread(
        pack.NODE_CLASS_MAPPINGS["TastebudPicker"]().pick, images, PROMPT,
        ckpt_name="sdxl/epicrealismXL_pureFix.safetensors", server=down,
    ))  # fmt: skip
    await comfy.relay()
    page = comfy.page
    dialog = page.get_by_role("dialog", name="tastebud: keep or reject")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text(PROMPT)
    pictures = dialog.locator("figure img")
    await expect(pictures).to_have_count(4)
    await expect(pictures.first).to_have_js_property("naturalWidth", 32)  # the preview loaded
    await dialog.locator("figure").nth(1).click()
    await page.keyboard.press("ArrowRight")
    await page.keyboard.press("ArrowRight")
    await page.keyboard.press("s")
    await expect(dialog).to_contain_text("2 of 4 kept")
    await expect(dialog.locator("figure.kept")).to_have_count(2)
    await page.keyboard.press("Enter")
    await expect(dialog).to_be_hidden()
    kept, said = await running
    numpy.testing.assert_array_equal(kept, images[[1, 3]])
    assert said.startswith("kept 2 of 4: not recorded")  # tastebud down: still passed on


async def test_keep_with_nothing_marked_says_why_and_reject_all_ends_the_run(
    pack: types.ModuleType, comfy: Comfy, down: str
) -> None:
    running = asyncio.create_task(asyncio.to_thread(
        pack.NODE_CLASS_MAPPINGS["TastebudPicker"]().pick, batch(2, seed=11), PROMPT,
        ckpt_name="sdxl/epicrealismXL_pureFix.safetensors", server=down,
    ))  # fmt: skip
    await comfy.relay()
    dialog = comfy.page.get_by_role("dialog")
    await dialog.get_by_role("button", name="Keep marked (Enter)").click()
    await expect(dialog).to_contain_text("Mark at least one image to keep")
    await dialog.get_by_role("button", name="Reject all (R)").click()
    await expect(dialog).to_be_hidden()
    with pytest.raises(InterruptProcessingException):
        await running


async def test_a_pick_that_times_out_closes_in_the_page(
    pack: types.ModuleType, comfy: Comfy
) -> None:
    running = asyncio.create_task(asyncio.to_thread(
        pack.NODE_CLASS_MAPPINGS["TastebudPicker"]().pick, batch(2, seed=12), PROMPT, timeout=0.5,
    ))  # fmt: skip
    shown = await comfy.relay()
    dialog = comfy.page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    closed = await comfy.relay()  # the node gave up: its close message reaches the page
    assert closed == {"pick_id": shown["pick_id"]}
    await expect(dialog).to_be_hidden()
    assert (await running)[1].startswith("not judged within 0.5 s")
    # Keys are the page's again once the picker is closed.
    await comfy.page.keyboard.press("Enter")
    await expect(dialog).to_have_count(0)
