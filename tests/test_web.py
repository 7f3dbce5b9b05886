"""The web panel in a real browser: Debian's Chromium, driven by Playwright, against a real
``tastebud serve --demo`` process (a temporary database, and images of its own making, with A1111
metadata, in its review queue).

Each flow is checked through the page and, where it records something, through the API. Every test
leaves a screenshot in ``test-artifacts/screenshots/``; with ``TASTEBUD_SCREENSHOTS=docs`` the
pages are also written to ``docs/screenshots/`` for the documentation.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo
from playwright.sync_api import Browser, Page, expect, sync_playwright

from test_server import serving

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 800}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"Chromium is absent ({CHROMIUM}): apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # CI installs it: missing there is a broken setup
        pytest.skip(message)
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


SCENES = [
    ("beach at sunset, golden hour, waves", "epicrealismXL_pureFix", "add_detail:0.6",
     ((255, 170, 90), (120, 60, 140))),
    ("misty forest at dawn, fog, tall pines", "realvisxlV40", "film_grain:0.4",
     ((190, 210, 200), (40, 90, 70))),
    ("anime girl on a rooftop at night, city lights", "animagineXL_v3", "anime_style_v2:0.8",
     ((30, 40, 90), (150, 80, 160))),
    ("snowy mountain lake, clear sky", "realvisxlV40", "",
     ((150, 200, 250), (230, 240, 250))),
    ("desert dunes under a full moon", "epicrealismXL_pureFix", "add_detail:0.5",
     ((20, 30, 70), (200, 150, 100))),
]  # fmt: skip


def _render(path: Path, index: int) -> None:
    """A picture of our own (a sky, a horizon, a sun) carrying A1111 generation metadata.

    Made here rather than copied from elsewhere, so that the screenshots in docs/ hold nothing of
    anyone else's.
    """
    prompt, checkpoint, lora, (top, bottom) = SCENES[index % len(SCENES)]
    size = 384
    picture = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(picture)
    for y in range(size):
        mix = y / size
        draw.line(
            [(0, y), (size, y)],
            fill=tuple(round(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True)),
        )
    sun = 40 + (index * 53) % (size - 120)
    draw.ellipse([sun, 70, sun + 70, 140], fill=(255, 240, 200))
    draw.rectangle([0, 250 + index % 4 * 10, size, size], fill=tuple(c // 2 for c in bottom))
    text = prompt + (f" <lora:{lora}>" if lora else "")
    info = PngInfo()
    info.add_text(
        "parameters",
        f"{text}\nNegative prompt: blurry, lowres\nSteps: 30, Sampler: DPM++ 2M Karras, "
        f"CFG scale: 6, Seed: {1000 + index}, Size: 832x1216, Model: {checkpoint}",
    )
    picture.save(path, pnginfo=info)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The server, with the demo profile and a review queue of 15 images."""
    root = tmp_path_factory.mktemp("panel")
    images = root / "images"
    images.mkdir()
    for index in range(15):
        _render(images / f"ComfyUI_{index:05d}_.png", index)
    args = ["--db", str(root / "preferences.db"), "--demo", "--image-folders", str(images)]
    args += ["--thumbnail-folder", str(root / "thumbnails"), "--trash-folder", str(root / "trash")]
    with serving(*args) as base:
        body = {"folder": str(images), "recursive": True, "user_id": "demo"}
        report = httpx.post(base + "/api/images/import", json=body, timeout=120)
        assert report.status_code == 200, report.text
        queued = report.json()["queued"]
        assert queued == 15, report.text
        yield {"base": base, "queued": queued, "root": root}


@pytest.fixture
def page(
    browser: Browser, server: dict[str, Any], request: pytest.FixtureRequest
) -> Iterator[Page]:
    context = browser.new_context(
        viewport=DESKTOP,
        color_scheme="light",
        reduced_motion="reduce",  # no fade caught half-way in a screenshot
        locale="en-US",
        accept_downloads=True,
    )
    opened = context.new_page()
    crashes: list[str] = []
    opened.on("pageerror", lambda error: crashes.append(str(error)))
    # The panel runs under a strict content security policy: anything it blocks is a bug.
    opened.on(
        "console",
        lambda message: (
            crashes.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield opened
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
    opened.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    context.close()
    assert not crashes, f"the page's script failed: {crashes}"


def _docs_screenshot(page: Page, name: str) -> None:
    """The page as the documentation shows it, when asked for (TASTEBUD_SCREENSHOTS=docs)."""
    if os.environ.get("TASTEBUD_SCREENSHOTS") == "docs":
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=DOCS / f"{name}.png")


def _queue_images(server: dict[str, Any], user_id: str) -> None:
    """The fixture's 15 images, imported for a profile of their own: all 15 wait for review."""
    body = {"folder": str(server["root"] / "images"), "recursive": True, "user_id": user_id}
    report = httpx.post(server["base"] + "/api/images/import", json=body, timeout=120)
    assert report.status_code == 200 and report.json()["queued"] == 15, report.text


def _api(server: dict[str, Any], path: str, **params: Any) -> Any:
    response = httpx.get(server["base"] + path, params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


# -- overview ---------------------------------------------------------------------------------


def test_overview_shows_the_demo_profile(page: Page, server: dict[str, Any]) -> None:
    found = _api(server, "/api/preferences/overview", user_id="demo")
    page.goto(server["base"] + "/?user_id=demo")
    expect(page.locator("#overview [data-total=selected]")).to_have_text(
        f"{found['totals']['selected']:,}"
    )
    expect(page.locator("#overview [data-total=rejected]")).to_have_text(
        f"{found['totals']['rejected']:,}"
    )
    rows = page.locator("#checkpoints .checkpoint-row")
    expect(rows).to_have_count(len(found["checkpoints"]))
    first = found["checkpoints"][0]
    expect(rows.first).to_contain_text(first["label"])
    expect(rows.first.locator(".bar")).to_have_attribute("aria-label", f"{first['rate']:.0%} kept")
    width = rows.first.locator(".bar > span").evaluate("bar => bar.getBoundingClientRect().width")
    assert width > 0
    cells = page.locator("#heatmap td.cell:not(.none)")
    expect(cells.first).to_contain_text("%")  # the rate is printed, not only coloured
    title = cells.first.get_attribute("title") or ""
    assert " kept (" in title and " of " in title
    expect(page.locator("#weeks li")).to_have_count(len(found["weeks"]))
    assert found["weeks"]
    _docs_screenshot(page, "overview")


def test_overview_shows_the_looks_the_person_keeps(page: Page, server: dict[str, Any]) -> None:
    """The demo's images have looks (kept ones brighter): the card leads with the scale whose
    ends are kept most differently, and shows every look's share kept, with its counts."""
    style = _api(server, "/api/preferences/overview", user_id="demo")["style"]
    assert style["images"] >= 400
    page.goto(server["base"] + "/?user_id=demo")
    card = page.locator("#style")
    ends = [scale["looks"][::2] for scale in style["scales"]]
    low, high = max(
        (pair for pair in ends if min(look["total"] for look in pair) >= 5),
        key=lambda pair: abs(pair[1]["rate"] - pair[0]["rate"]),
    )
    more, less = (high, low) if high["rate"] >= low["rate"] else (low, high)
    assert (more["word"], less["word"]) == ("bright", "dark")  # the demo's person, as drawn
    expect(card.locator("#style-lead")).to_have_text(
        f"You keep {more['rate']:.0%} of bright images, {less['rate']:.0%} of dark ones."
    )
    dark = style["scales"][0]["looks"][0]
    rows = card.locator("#looks tbody tr")
    expect(rows).to_have_count(7)
    first = rows.first.locator("td.look").first
    expect(first).to_contain_text("dark")
    words = f"dark: {dark['rate']:.0%} kept ({dark['selected']} of {dark['total']})"
    expect(first.locator(".bar")).to_have_attribute("aria-label", words)
    card.scroll_into_view_if_needed()
    if os.environ.get("TASTEBUD_SCREENSHOTS") == "docs":
        card.screenshot(path=DOCS / "style-preferences.png")


def test_overview_of_an_empty_profile_says_what_to_do(page: Page, server: dict[str, Any]) -> None:
    page.goto(server["base"] + "/?user_id=newcomer")
    empty = page.locator("#overview .empty")
    expect(empty).to_contain_text("Nothing recorded yet for profile “newcomer”")
    expect(empty).to_contain_text("tastebud import-images DIR")
    empty.get_by_role("button", name="try the demo profile").click()
    expect(page.locator("#profile")).to_have_value("demo")
    expect(page.locator("#overview [data-total=total]")).to_have_text("400")


def test_overview_counts_the_images_waiting_for_review(page: Page, server: dict[str, Any]) -> None:
    # A profile with its images imported and none judged yet: not "nothing recorded".
    _queue_images(server, "importer")
    page.goto(server["base"] + "/?user_id=importer")
    empty = page.locator("#overview .empty")
    expect(empty).to_contain_text("Nothing judged yet for profile “importer”")
    expect(empty).to_contain_text("15 images are waiting for review")
    empty.get_by_role("link", name="Review").click()
    expect(page).to_have_url(re.compile(r"#/review$"))
    # The demo profile has judged images and its own 15 waiting: the totals say both.
    page.goto(server["base"] + "/?user_id=demo")
    waiting = _api(server, "/api/generations", user_id="demo")["total"]
    assert waiting > 0
    expect(page.locator("#overview .waiting")).to_contain_text(
        f"{waiting} images are waiting for review"
    )


# -- recommend --------------------------------------------------------------------------------


def test_recommend_shows_the_checkpoint_its_reason_and_the_ranking(
    page: Page, server: dict[str, Any]
) -> None:
    found = _api(
        server, "/api/preferences/recommend/checkpoint", prompt="beach at sunset", user_id="demo"
    )
    page.goto(server["base"] + "/?user_id=demo#/recommend")
    page.get_by_label("Prompt").fill("beach at sunset")
    page.get_by_label("Batch size").fill("6")
    page.get_by_role("button", name="Recommend").click()
    expect(page.locator("#pick")).to_have_text(found["checkpoint"])
    expect(page.locator("#why")).to_have_text(found["why"])
    expect(page.locator("#result")).to_contain_text(found["label"])
    expect(page.locator("#ranking tbody tr")).to_have_count(len(found["ranking"]))
    expect(page.locator("#explore-title")).to_have_text("Explore: a batch of 6")
    shares = page.locator("#explore li strong").all_inner_texts()
    assert sum(int(share.split()[0]) for share in shares) == 6
    loras = _api(
        server, "/api/preferences/recommend/lora-set", prompt="beach at sunset",
        checkpoint=found["checkpoint"], most=3, user_id="demo",
    )  # fmt: skip
    expect(page.locator("#loras li")).to_have_count(len(loras["enabled"]))
    assert loras["enabled"], "the demo profile keeps add_detail with beaches"
    expect(page.locator("#loras li").first).to_contain_text(
        f"strength {loras['enabled'][0]['strength']}"
    )
    expect(page.locator("#lora-tags")).to_have_text(loras["tags"])
    expect(page.locator("#loras-left-out li")).to_have_count(len(loras["left_out"]))
    _docs_screenshot(page, "recommend")


# -- review -----------------------------------------------------------------------------------


def _statuses(server: dict[str, Any]) -> dict[int, str]:
    found = _api(server, "/api/generations", status="", limit=500, user_id="demo")
    return {item["id"]: item["status"] for item in found["generations"]}


def test_review_with_the_keyboard_records_and_undoes(page: Page, server: dict[str, Any]) -> None:
    queue = _api(server, "/api/generations", status="unreviewed", limit=24, user_id="demo")
    ids = [item["id"] for item in queue["generations"]]
    events_before = _api(server, "/api/preferences", user_id="demo", limit=1)["total"]
    page.goto(server["base"] + "/?user_id=demo#/review")
    thumbs = page.locator("#review-grid .thumb")
    expect(thumbs).to_have_count(len(ids))
    # Every thumbnail is an image the server made (a failed one would be a "No preview" box).
    # A function, not an expression: the panel's content security policy forbids eval.
    page.wait_for_function(
        "() => [...document.querySelectorAll('#review-grid .thumb')].every(thumb => {"
        " const image = thumb.querySelector('img');"
        " return image && image.complete && image.naturalWidth > 0; })"
    )
    expect(thumbs.first.locator("img")).to_have_attribute(
        "src", f"/api/generations/{ids[0]}/thumbnail?user_id=demo"
    )
    # The grid is one Tab stop (roving tabindex): Tab reaches it from the top of the page.
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('thumb')"):
            break
    expect(thumbs.first).to_be_focused()
    outline = thumbs.first.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline == "solid"  # the focus is visible
    # Prompt and checkpoint are shown under every image, not only on hover or focus.
    last = thumbs.last.locator(".caption")
    expect(last).to_be_visible()
    expect(last).to_contain_text(queue["generations"][-1]["metadata"]["checkpoints"][0]["name"])
    picture = thumbs.last.locator("img").bounding_box()
    under = last.bounding_box()
    assert picture and under and under["y"] >= picture["y"] + picture["height"] - 1
    title = thumbs.first.get_attribute("title") or ""
    assert title.startswith("Prompt: ") and "\nCheckpoint: " in title

    page.keyboard.press("s")
    expect(thumbs.nth(0)).to_have_attribute("data-mark", "kept")
    page.keyboard.press("ArrowRight")
    expect(thumbs.nth(1)).to_be_focused()
    page.keyboard.press("x")
    expect(thumbs.nth(1)).to_have_attribute("data-mark", "rejected")
    if len(ids) > 6:  # down a row and back, by columns
        columns = page.evaluate(
            "getComputedStyle(document.querySelector('#review-grid')).gridTemplateColumns"
            ".split(' ').length"
        )
        page.keyboard.press("ArrowDown")
        expect(thumbs.nth(1 + columns)).to_be_focused()
        page.keyboard.press("ArrowUp")
        expect(thumbs.nth(1)).to_be_focused()
    _docs_screenshot(page, "review")
    page.keyboard.press("Enter")
    expect(page.locator("#review-status")).to_contain_text("Recorded: 1 kept, 1 rejected")

    statuses = _statuses(server)
    assert statuses[ids[0]] == "selected"
    assert all(statuses[other] == "rejected" for other in ids[1:])
    events = _api(server, "/api/preferences", user_id="demo", limit=len(ids))["preferences"]
    assert len(events) == len(ids)
    hashes = {item["id"]: item["content_hash"] for item in queue["generations"]}
    by_id = {event["generation_id"]: event for event in events}
    kept, marked = by_id[f"image:{hashes[ids[0]]}"], by_id[f"image:{hashes[ids[1]]}"]
    assert (kept["action"], kept["implicit"]) == ("selected", False)
    assert (marked["action"], marked["implicit"]) == ("rejected", False)
    for other in ids[2:]:
        event = by_id[f"image:{hashes[other]}"]
        assert (event["action"], event["implicit"]) == ("rejected", True)
    if len(ids) == queue["total"]:  # the whole queue was one page: now it is empty
        expect(page.locator("#review-empty")).to_contain_text("Nothing awaits review")

    page.keyboard.press("u")  # undo the Advance: every image waits again
    expect(page.locator("#review-status")).to_contain_text("back in the queue")
    expect(thumbs).to_have_count(len(ids))
    expect(thumbs.nth(0)).to_have_attribute("data-mark", "kept")  # the marks come back too
    statuses = _statuses(server)
    assert all(statuses[one] == "unreviewed" for one in ids)
    assert _api(server, "/api/preferences", user_id="demo", limit=1)["total"] == events_before

    # The buttons do the same for a mouse: a click keeps, Reject all rejects the page, Undo.
    page.get_by_role("button", name="Reject all").click()
    expect(page.locator("#review-status")).to_contain_text(f"Recorded: {len(ids)} rejected.")
    assert all(_statuses(server)[one] == "rejected" for one in ids)
    page.reload()  # a recorded page can still be taken back after a reload
    expect(page.get_by_role("button", name="Undo")).to_be_enabled()
    page.get_by_role("button", name="Undo").click()
    expect(thumbs).to_have_count(len(ids))
    assert all(_statuses(server)[one] == "unreviewed" for one in ids)
    expect(page.get_by_role("button", name="Undo")).to_be_disabled()  # nothing more to undo


def test_space_or_a_click_shows_an_image_full_size_with_what_made_it(
    page: Page, server: dict[str, Any]
) -> None:
    _queue_images(server, "viewer")
    queue: list[dict[str, Any]] = []
    for _ in range(200):  # a readiness wait: the server reads their looks after the import
        queue = _api(server, "/api/generations", user_id="viewer", limit=24)["generations"]
        if all(item["style"] for item in queue):
            break
        time.sleep(0.1)
    page.goto(server["base"] + "/?user_id=viewer#/review")
    thumbs = page.locator("#review-grid .thumb")
    expect(thumbs).to_have_count(len(queue))
    thumbs.nth(1).click()
    viewer = page.get_by_role("dialog", name="Image 2 of 15")
    expect(viewer).to_be_visible()
    expect(viewer.locator("img")).to_have_js_property("naturalWidth", 384)  # the file, not a thumb
    expect(viewer).to_contain_text(queue[1]["metadata"]["prompt"])
    expect(viewer).to_contain_text(queue[1]["metadata"]["checkpoints"][0]["name"])
    look = ", ".join(queue[1]["look"]) or "nothing out of the ordinary"
    expect(viewer.locator(".viewer-details")).to_contain_text(f"Look{look}")
    expect(viewer.locator(".viewer-style")).to_contain_text(
        f"brightness {queue[1]['style']['brightness']:.2f}"
    )
    _docs_screenshot(page, "viewer")
    page.keyboard.press("s")  # the review keys work in it
    expect(viewer.locator(".viewer-mark")).to_have_text("✓ Kept")
    expect(thumbs.nth(1)).to_have_attribute("data-mark", "kept")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("dialog", name="Image 3 of 15")).to_contain_text(
        queue[2]["metadata"]["prompt"]
    )
    page.keyboard.press("Escape")
    expect(page.locator("#viewer")).not_to_be_visible()
    expect(thumbs.nth(2)).to_be_focused()  # back on the image it showed last
    page.keyboard.press(" ")  # Space opens it on the focused image, and closes it
    expect(page.get_by_role("dialog", name="Image 3 of 15")).to_be_visible()
    page.keyboard.press(" ")
    expect(page.locator("#viewer")).not_to_be_visible()
    expect(thumbs.nth(2)).to_have_attribute("data-mark", "")  # Space marked nothing


def test_the_review_page_filters_by_folder_checkpoint_lora_and_date(
    page: Page, server: dict[str, Any]
) -> None:
    _queue_images(server, "sifter")
    queue = _api(server, "/api/generations", user_id="sifter", limit=24)["generations"]
    anime = [
        item for item in queue if item["metadata"]["checkpoints"][0]["name"] == "animagineXL_v3"
    ]
    grain = [item for item in queue if any(l["name"] == "film_grain" for l in item["metadata"]["loras"])]  # fmt: skip
    assert 0 < len(anime) < 15 and 0 < len(grain) < 15
    page.goto(server["base"] + "/?user_id=sifter#/review")
    thumbs = page.locator("#review-grid .thumb")
    expect(thumbs).to_have_count(15)
    expect(page.locator("#filter-checkpoint")).to_contain_text(f"animagineXL_v3 ({len(anime)})")
    page.locator("#filter-checkpoint").select_option("animagineXL_v3")
    expect(thumbs).to_have_count(len(anime))
    expect(page.locator("#review-status")).to_contain_text(
        f"{len(anime)} awaiting review that match the filters"
    )
    _docs_screenshot(page, "review-filters")
    page.locator("#filter-checkpoint").select_option("")
    page.locator("#filter-lora").select_option("film_grain")
    expect(thumbs).to_have_count(len(grain))
    page.get_by_role("button", name="Show all").click()
    expect(thumbs).to_have_count(15)
    folder = str(server["root"] / "images")
    page.locator("#filter-folder").select_option(folder)
    expect(thumbs).to_have_count(15)  # every image is in that one folder
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    page.locator("#filter-since").fill(tomorrow)
    page.locator("#filter-since").dispatch_event("change")
    expect(page.locator("#review-empty")).to_contain_text("No image awaiting review matches")
    page.locator("#review-empty").get_by_role("button", name="Show all").click()
    expect(thumbs).to_have_count(15)
    # The filter narrows the page; Enter records only what it shows.
    page.locator("#filter-checkpoint").select_option("animagineXL_v3")
    expect(thumbs).to_have_count(len(anime))
    thumbs.first.focus()
    page.keyboard.press("s")
    page.keyboard.press("Enter")
    expect(thumbs).to_have_count(0)
    judged = _api(server, "/api/preferences", user_id="sifter")["preferences"]
    assert len(judged) == len(anime)
    assert {event["checkpoint"] for event in judged} == {"animagineXL_v3"}


def test_a_placeholder_shows_while_the_thumbnails_are_made(
    page: Page, server: dict[str, Any]
) -> None:
    _queue_images(server, "waiter")
    held: list[Any] = []
    holding = [True]

    def slow(route: Any) -> None:  # the server is slow to make them: held back, then let go
        held.append(route) if holding[0] else route.continue_()

    page.route("**/thumbnail?*", slow)
    page.goto(server["base"] + "/?user_id=waiter#/review")
    pictures = page.locator("#review-grid .thumb .picture")
    expect(pictures).to_have_count(15)
    expect(pictures.first.locator(".placeholder")).to_have_text("Making preview…")
    expect(pictures.first.locator(".placeholder")).to_be_visible()
    while not held:  # a readiness wait: the browser hands its requests to the route
        page.wait_for_timeout(50)
    holding[0] = False
    for route in held:
        route.continue_()
    expect(page.locator("#review-grid .picture.loading")).to_have_count(0)
    expect(pictures.first.locator(".placeholder")).to_be_hidden()
    expect(pictures.first.locator("img")).to_be_visible()


def test_the_demo_ships_a_review_queue(page: Page, server: dict[str, Any]) -> None:
    """``serve --demo`` draws pictures of its own into demo-images/ beside the thumbnails, and
    they wait for the demo profile's review: a newcomer can try the keys at once."""
    drawn = server["root"] / "demo-images"
    found = _api(server, "/api/generations", user_id="demo", status="", limit=500)["generations"]
    mine = [item for item in found if Path(item["path"]).parent == drawn]
    assert len(mine) == 24 and all(Path(item["path"]).is_file() for item in mine)
    page.goto(server["base"] + "/?user_id=demo#/review")
    first = page.locator(f"#review-grid .thumb[data-id='{mine[0]['id']}']")
    expect(first.locator("img")).to_have_js_property("complete", True)
    assert first.locator("img").evaluate("image => image.naturalWidth") > 0


def test_the_review_page_size_is_a_remembered_setting(page: Page, server: dict[str, Any]) -> None:
    _queue_images(server, "pager")
    page.goto(server["base"] + "/?user_id=pager#/review")
    thumbs = page.locator("#review-grid .thumb")
    expect(thumbs).to_have_count(15)  # 24 a page by default
    page.locator("#page-size").select_option("12")
    expect(thumbs).to_have_count(12)
    expect(page.locator("#review-status")).to_contain_text("12 images on this page, 15 awaiting")
    page.reload()
    expect(page.locator("#page-size")).to_have_value("12")
    expect(thumbs).to_have_count(12)


def test_review_with_nothing_queued_says_where_images_come_from(
    page: Page, server: dict[str, Any]
) -> None:
    page.goto(server["base"] + "/?user_id=nobody-yet#/review")
    expect(page.locator("#review-empty")).to_contain_text(
        "Nothing awaits review: run tastebud import-images DIR or tastebud watch DIR"
    )


# -- data -------------------------------------------------------------------------------------


def test_export_then_import_into_a_new_profile(
    page: Page, server: dict[str, Any], tmp_path: Path
) -> None:
    page.goto(server["base"] + "/?user_id=demo#/data")
    with page.expect_download() as started:
        page.get_by_role("link", name="Download export (JSON)").click()
    saved = tmp_path / started.value.suggested_filename
    started.value.save_as(saved)
    document = json.loads(saved.read_text())
    events = len(document["preferences"])
    assert events == _api(server, "/api/preferences", user_id="demo", limit=1)["total"]

    page.get_by_label("New profile").fill("roundtrip")
    page.get_by_role("button", name="Create and switch").click()
    expect(page.locator("#profile")).to_have_value("roundtrip")
    page.get_by_label("Export file (JSON)").set_input_files(saved)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-summary")).to_contain_text(f"{events} added, 0 replaced")
    assert _api(server, "/api/preferences", user_id="roundtrip", limit=1)["total"] == events
    stats = _api(server, "/api/preferences/stats", user_id="roundtrip")
    assert (
        stats["action_counts"]
        == _api(server, "/api/preferences/stats", user_id="demo")["action_counts"]
    )
    expect(page.locator("#profile-table tr[data-profile=roundtrip]")).to_contain_text(f"{events:,}")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty-prompt.json", '{"version": "1.0", "preferences": [{"prompt": ""}]}'),
        ("not-json.json", "this is not JSON {"),
    ],
    ids=["empty-prompt", "not-json"],
)
def test_a_bad_import_file_shows_the_apis_error(
    page: Page, server: dict[str, Any], tmp_path: Path, name: str, content: str
) -> None:
    answer = httpx.post(
        server["base"] + "/api/preferences/import",
        params={"user_id": "bad-import"},
        content=content.encode(),
        timeout=30,
    )
    assert answer.status_code in (400, 422)
    error = answer.json()
    bad = tmp_path / name
    bad.write_text(content)
    page.goto(server["base"] + "/?user_id=bad-import#/data")
    page.get_by_label("Export file (JSON)").set_input_files(bad)
    page.get_by_role("button", name="Import", exact=True).click()
    shown = page.locator("#import-result .alert")
    expect(shown).to_contain_text(f"{error['status']} {error['error']}")
    assert error["details"]
    for detail in error["details"]:
        expect(shown).to_contain_text(f"{detail['field']}: {detail['reason']}")
    assert _api(server, "/api/preferences", user_id="bad-import", limit=1)["total"] == 0


def test_the_data_page_creates_and_switches_profiles(page: Page, server: dict[str, Any]) -> None:
    page.goto(server["base"] + "/?user_id=demo#/data")
    expect(page.locator("#profile-table tr[data-profile=demo]")).to_contain_text("current")
    page.get_by_label("New profile").fill("alice")
    page.get_by_role("button", name="Create and switch").click()
    expect(page.locator("#profile-result")).to_contain_text("Created profile “alice”")
    expect(page.locator("#profile")).to_have_value("alice")
    expect(page.locator("#profile-table tr[data-profile=alice]")).to_contain_text("current")
    profiles = _api(server, "/api/profiles")["profiles"]
    assert {"user_id": "alice", "total": 0} in profiles
    assert page.evaluate("localStorage.getItem('tastebud.user')") == "alice"
    assert "user_id=alice" in page.url  # a shared link names the profile shown

    page.goto(server["base"] + "/#/data")  # remembered without the query
    expect(page.locator("#profile")).to_have_value("alice")
    page.get_by_label("New profile").fill("alice")  # again: the API's 409, in the page
    page.get_by_role("button", name="Create and switch").click()
    expect(page.locator("#profile-result .alert")).to_contain_text("409 Conflict")
    expect(page.locator("#profile-result .alert")).to_contain_text("user_id: ")

    page.get_by_role("button", name="Switch to demo").click()
    expect(page.locator("#profile")).to_have_value("demo")
    page.locator("#profile").select_option("alice")  # and the switcher in the header
    expect(page.locator("#profile-table tr[data-profile=alice]")).to_contain_text("current")
    page.get_by_role("button", name="Check").click()
    report = _api(server, "/api/check")
    expect(page.locator("#check-report")).to_contain_text(
        f"{report['events']:,} events, {report['statistics']:,} statistics, 0 wrong"
    )
    page.locator("#profile").select_option("demo")
    expect(page.locator("#profile-table tr[data-profile=demo]")).to_contain_text("current")
    page.get_by_label("New profile").fill("")
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#check-report")).to_contain_text("All statistics match the events.")
    _docs_screenshot(page, "data")


def test_a_server_with_a_token_asks_for_it_once(page: Page, tmp_path: Path) -> None:
    env = {"TASTEBUD_TOKEN": "correct-horse-battery"}
    with serving("--db", str(tmp_path / "locked.db"), "--demo", env=env) as base:
        page.goto(base + "/?user_id=demo")
        expect(page.locator("#overview .alert")).to_contain_text("401 Unauthorized")
        page.get_by_label("This server needs its token").fill("correct-horse-battery")
        page.get_by_role("button", name="Use token").click()
        expect(page.locator("#overview [data-total=total]")).to_have_text("400")
        # The download is a plain browser request: the token travels as the panel's cookie.
        page.goto(base + "/?user_id=demo#/data")
        with page.expect_download() as started:
            page.get_by_role("link", name="Download export (JSON)").click()
        assert json.loads(Path(started.value.path()).read_text())["total_preferences"] == 400


# -- other web pages ---------------------------------------------------------------------------

ATTACK = """<!doctype html><title>a page</title>
<form id="form" method="POST" action="{target}/api/preferences" enctype="text/plain" target="sink">
<input name='{{"prompt":"csrf form","checkpoint":"evil.safetensors","selected":true,"session_id":"'
 value='"}}'></form><iframe name="sink"></iframe>
<script>
const event = JSON.stringify({{prompt: "csrf", checkpoint: "evil.safetensors", selected: true}});
const sent = {{method: "POST", mode: "no-cors", credentials: "include"}};
window.attack = () => Promise.allSettled([
  fetch("{target}/api/preferences", {{...sent, headers: {{"Content-Type": "text/plain"}}, body: event}}),
  fetch("{target}/api/preferences", {{...sent, body: new Blob([event],
    {{type: "application/x-www-form-urlencoded"}})}}),
  fetch("{target}/api/preferences/batch", {{...sent, body: event}}),
  fetch("{target}/api/repair", sent),
]).then(() => document.cookie);
</script>"""
"""What a page of another origin may try: a form and no-cors requests, with the browser's
cookies, none of which needs the server's permission (no CORS preflight)."""


@contextmanager
def attacker(target: str) -> Iterator[int]:
    """A real web server on another port of this machine, serving ``ATTACK`` aimed at
    ``target``; yields its port."""
    page = ATTACK.format(target=target).encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page) as served:
        thread = threading.Thread(target=served.serve_forever, daemon=True)
        thread.start()
        yield served.server_address[1]
        served.shutdown()


def test_a_page_of_another_origin_cannot_write_even_with_the_panels_cookie(
    browser: Browser, tmp_path: Path
) -> None:
    """CSRF, in Chromium: the panel is logged in (its token cookie is in the browser); pages on
    another port of 127.0.0.1 (the same site to a browser) and on localhost (another site)
    post to tastebud as an attacker would. Nothing is recorded, and their scripts cannot read
    the cookie. The same request from the panel's own page is recorded."""
    token = "correct-horse-battery-staple"
    env = {"TASTEBUD_TOKEN": token}
    auth = {"Authorization": f"Bearer {token}"}
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    tab = context.new_page()
    with serving("--db", str(tmp_path / "p.db"), env=env) as base:
        tab.goto(base + "/")
        tab.get_by_label("This server needs its token").fill(token)
        tab.get_by_role("button", name="Use token").click()
        expect(tab.locator("#overview")).not_to_contain_text("401")
        port = base.rsplit(":", 1)[1]
        assert context.cookies()[0]["name"] == f"tastebud_token_{port}"
        assert context.cookies()[0]["httpOnly"]
        for host in ("127.0.0.1", "localhost"):
            with attacker(base) as other:
                tab.goto(f"http://{host}:{other}/")
                with tab.expect_response(lambda answer: "/api/preferences" in answer.url) as form:
                    tab.evaluate("() => document.getElementById('form').submit()")
                assert form.value.status == 403
                readable = tab.evaluate("() => window.attack()")
                assert token not in readable
        stats = httpx.get(base + "/api/preferences/stats", headers=auth).json()
        assert stats["total_preferences"] == 0
        assert httpx.get(base + "/api/check", headers=auth).json()["ok"]
        # The test can fail: the panel's own page records with the very same request.
        tab.goto(base + "/")
        status = tab.evaluate(
            """() => fetch("/api/preferences", {method: "POST",
                headers: {"Content-Type": "application/json"},
                body: JSON.stringify({prompt: "mine", checkpoint: "ok.safetensors",
                                      selected: true})}).then((answer) => answer.status)"""
        )
        assert status == 201
        stats = httpx.get(base + "/api/preferences/stats", headers=auth).json()
        assert stats["total_preferences"] == 1
    context.close()


# -- layout and theme -------------------------------------------------------------------------


def test_phone_width_has_no_horizontal_scroll(page: Page, server: dict[str, Any]) -> None:
    page.set_viewport_size(PHONE)
    page.goto(server["base"] + "/?user_id=demo")
    expect(page.locator("#weeks")).to_be_visible()
    for route, ready in (("overview", "#weeks"), ("recommend", "#prompt"),
                         ("review", "#review-grid, #review-empty"), ("data", "#profile-table")):  # fmt: skip
        page.goto(f"{server['base']}/?user_id=demo#/{route}")
        expect(page.locator(ready)).to_be_visible()
        if route == "recommend":
            page.get_by_label("Prompt").fill("beach at sunset")
            page.get_by_role("button", name="Recommend").click()
            expect(page.locator("#ranking")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"#/{route} scrolls sideways: {width}px"
    page.goto(server["base"] + "/?user_id=demo")
    expect(page.locator("#weeks")).to_be_visible()
    _docs_screenshot(page, "phone")


def _background(page: Page) -> str:
    return str(page.evaluate("getComputedStyle(document.body).backgroundColor"))


def test_dark_mode_follows_the_system_and_the_toggle_is_remembered(
    page: Page, server: dict[str, Any]
) -> None:
    page.emulate_media(color_scheme="dark")
    page.goto(server["base"] + "/?user_id=demo")
    expect(page.locator("#weeks")).to_be_visible()
    dark = _background(page)
    assert dark == "rgb(17, 20, 24)"
    toggle = page.locator("#theme")
    expect(toggle).to_have_text(re.compile("Light theme"))  # what a click does, not what is
    _docs_screenshot(page, "dark")
    toggle.click()
    expect(toggle).to_have_text(re.compile("Dark theme"))
    assert _background(page) == "rgb(245, 246, 248)"
    page.reload()  # the choice outlives the page, whatever the system says
    expect(page.locator("#weeks")).to_be_visible()
    assert _background(page) == "rgb(245, 246, 248)"
    page.locator("#theme").click()
    expect(page.locator("#theme")).to_have_text(re.compile("Light theme"))
    assert _background(page) == dark
    assert page.evaluate("localStorage.getItem('tastebud.theme')") == "dark"


def test_the_api_docs_work_without_the_internet(page: Page, server: dict[str, Any]) -> None:
    """/docs shows every endpoint with nothing but this server: any other request is cut off
    (as on a machine offline), and none is even tried."""
    base = server["base"]
    elsewhere: list[str] = []

    def only_this_server(route: Any) -> None:
        if route.request.url.startswith(base + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto(base + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("tastebud")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/preferences/recommend/checkpoint" in path for path in paths), paths
    assert elsewhere == []


def test_the_data_page_deletes_another_profile_after_asking(
    page: Page, server: dict[str, Any]
) -> None:
    event = {"prompt": "owl at night", "checkpoint": "a", "selected": True, "user_id": "carol"}
    assert httpx.post(server["base"] + "/api/preferences", json=event).status_code == 201
    page.goto(server["base"] + "/?user_id=demo#/data")
    row = page.locator("#profile-table tr[data-profile=carol]")
    expect(row).to_be_visible()
    expect(page.locator("#profile-table tr[data-profile=demo] button")).to_have_count(0)
    asked: list[str] = []

    def answer(accept: bool) -> Any:
        def on_dialog(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return on_dialog

    page.once("dialog", answer(False))
    page.get_by_role("button", name="Delete carol").click()
    expect(row).to_be_visible()
    assert "carol" in asked[0] and "cannot be undone" in asked[0]
    assert any(p["user_id"] == "carol" for p in _api(server, "/api/profiles")["profiles"])
    page.once("dialog", answer(True))
    page.get_by_role("button", name="Delete carol").click()
    expect(page.locator("#profile-result")).to_contain_text("Deleted profile “carol” (1 event)")
    expect(row).to_have_count(0)
    assert not any(p["user_id"] == "carol" for p in _api(server, "/api/profiles")["profiles"])
    assert _api(server, "/api/check")["ok"]


def test_the_events_page_lists_filters_and_downloads_what_it_shows(
    page: Page, server: dict[str, Any]
) -> None:
    import csv
    import io

    everything = _api(server, "/api/preferences", user_id="demo", limit=1)
    page.goto(server["base"] + "/?user_id=demo#/events")
    expect(page.locator("#events-total")).to_have_text(f"{everything['total']:,} events")
    expect(page.locator("#events-table tbody tr")).to_have_count(50)
    page.get_by_role("button", name="More").click()
    expect(page.locator("#events-table tbody tr")).to_have_count(100)

    checkpoint = everything["preferences"][0]["checkpoint"]
    wanted = {"user_id": "demo", "checkpoint": checkpoint, "action": "rejected", "limit": 1}
    total = _api(server, "/api/preferences", **wanted)["total"]
    page.locator("#events-checkpoint").fill(checkpoint)
    page.get_by_label("Kept or rejected").select_option("rejected")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#events-total")).to_have_text(f"{total:,} events")
    shown = page.locator("#events-table tbody tr")
    expect(shown).to_have_count(min(total, 50))
    assert set(shown.locator("td:nth-child(2)").all_inner_texts()) == {"rejected"}
    assert set(shown.locator("td:nth-child(3)").all_inner_texts()) == {checkpoint}
    _docs_screenshot(page, "events")

    link = page.locator("#events-csv").get_attribute("href")
    assert link is not None
    answer = httpx.get(server["base"] + link, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == total
    assert {(row["checkpoint"], row["action"]) for row in rows} == {(checkpoint, "rejected")}
    link = page.locator("#events-json").get_attribute("href")
    assert link is not None
    assert len(httpx.get(server["base"] + link, timeout=30).json()) == total


def test_an_event_is_forgotten_from_the_events_page_after_asking(
    page: Page, server: dict[str, Any]
) -> None:
    event = {"prompt": "heron in reeds", "checkpoint": "a", "selected": False,
             "generation_id": "heron-1", "user_id": "dora"}  # fmt: skip
    assert httpx.post(server["base"] + "/api/preferences", json=event).status_code == 201
    page.goto(server["base"] + "/?user_id=dora#/events")
    row = page.locator("#events-table tr[data-generation=heron-1]")
    expect(row).to_be_visible()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Forget heron-1").click()
    expect(row).to_be_visible()
    assert _api(server, "/api/preferences", user_id="dora")["total"] == 1
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Forget heron-1").click()
    expect(page.locator("#events-total")).to_have_text("0 events")
    assert _api(server, "/api/preferences", user_id="dora")["total"] == 0
    assert _api(server, "/api/check")["ok"]


# -- cleanup ----------------------------------------------------------------------------------


def test_the_cleanup_page_moves_rejected_images_to_the_trash_and_back(
    page: Page, server: dict[str, Any]
) -> None:
    """Last in this file: its folder lies inside the image folders other tests import."""
    folder = server["root"] / "images" / "tidy"
    folder.mkdir()
    for index in range(3):
        _render(folder / f"tidy_{index}.png", 40 + index)
    body = {"folder": str(folder), "user_id": "tidy"}
    assert httpx.post(server["base"] + "/api/images/import", json=body, timeout=60).json()["queued"] == 3  # fmt: skip
    ids = [item["id"] for item in _api(server, "/api/generations", user_id="tidy")["generations"]]
    judged = {"ids": ids, "action": "rejected", "user_id": "tidy"}
    assert httpx.post(server["base"] + "/api/generations/review", json=judged).status_code == 200

    page.goto(server["base"] + "/?user_id=tidy#/cleanup")
    expect(page.locator("#cleanup-found")).to_have_text("Nothing to clean up")  # a week's grace
    expect(page.locator("#cleanup-skipped")).to_contain_text("3: rejected less than the grace")
    page.locator("#cleanup-days").fill("0")
    page.get_by_role("button", name="Look again").click()
    expect(page.locator("#cleanup-found")).to_contain_text("3 rejected images can go")
    _docs_screenshot(page, "cleanup")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#cleanup-apply").click()
    assert len(list(folder.glob("*.png"))) == 3  # asked, and said no
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#cleanup-apply").click()
    expect(page.locator("#cleanup-done")).to_contain_text("Moved 3 images")
    expect(page.locator("#cleanup-found")).to_have_text("Nothing to clean up")
    assert list(folder.glob("*.png")) == []
    assert len(list((server["root"] / "trash").rglob("*.png"))) == 3
    page.get_by_role("button", name="Undo the last cleanup").click()
    expect(page.locator("#cleanup-done")).to_contain_text("Put back 3 images")
    assert len(list(folder.glob("*.png"))) == 3
    assert _api(server, "/api/preferences", user_id="tidy")["total"] == 3
    shutil.rmtree(folder)


# -- vision -----------------------------------------------------------------------------------


def test_the_data_page_shows_what_the_vision_model_is_doing(
    page: Page, server: dict[str, Any], tmp_path: Path
) -> None:
    from fake_ollama import fake_ollama
    from test_server import serving

    page.goto(server["base"] + "/?user_id=demo#/data")
    expect(page.locator("#vision-state")).to_contain_text("Off. Start the server with --vision-url")
    picture = tmp_path / "coast.png"
    _render(picture, 3)
    with fake_ollama() as (url, _), serving("--db", str(tmp_path / "v.db"), "--vision-url", url, "--vision-model", "llava-stream", "--image-folders", str(tmp_path)) as base:  # fmt: skip
        event = {"prompt": "a coast", "checkpoint": "sdxl", "selected": True,
                 "image_path": str(picture)}  # fmt: skip
        assert httpx.post(base + "/api/preferences", json=event).status_code == 201
        for _ in range(200):  # a readiness wait: the queue looks every 2 s
            if httpx.get(base + "/api/vision").json()["described"]:
                break
            time.sleep(0.1)
        page.goto(base + "/#/data")
        expect(page.locator("#vision-state")).to_have_text("idle")
        expect(page.locator("#vision")).to_contain_text("llava-stream at http://127.0.0.1:")
        expect(page.locator("#vision")).to_contain_text("1 described, 0 failed.")
