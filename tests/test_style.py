"""What an image looks like: the style features from its pixels, read after an import and kept
with its generation and its event (pictures drawn here, real files in a temporary folder)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter
from PIL.PngImagePlugin import PngInfo
from typer.testing import CliRunner

from tastebud import PreferenceLearning, make_event
from tastebud.api import create_app
from tastebud.cli import app as cli
from tastebud.errors import InvalidInput
from tastebud.importers.folders import image_files, import_images
from tastebud.importers.styles import read_styles
from tastebud.settings import Settings
from tastebud.style import Style, asked, described, look, style_of_image, style_of_pixels


def _photo(brightness: float, tint: tuple[float, float, float] = (1, 1, 1), seed: int = 0):
    """A photograph's look: a soft gradient with grain, no outlines."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0.6, 1.4, 256)[:, None, None]
    x = np.linspace(0.8, 1.2, 256)[None, :, None]
    base = brightness * 255 * y * x * np.array(tint)[None, None, :]
    grain = rng.normal(0, 6, (256, 256, 3))
    return np.clip(base + grain, 0, 255).astype(np.uint8)


def _drawing() -> Image.Image:
    """An illustration's look: flat fills inside crisp dark outlines."""
    picture = Image.new("RGB", (256, 256), (250, 220, 180))
    draw = ImageDraw.Draw(picture)
    for index in range(8):
        left = 10 + index * 28
        draw.ellipse([left, 40 + index * 9, left + 60, 120 + index * 9], fill=(60 + index * 20, 180, 220), outline=(20, 20, 30), width=3)  # fmt: skip
        draw.rectangle([left, 170, left + 20, 240], fill=(230, 90, 90), outline=(20, 20, 30), width=3)  # fmt: skip
    return picture


def test_the_features_say_what_the_pictures_show() -> None:
    dark, bright = style_of_pixels(_photo(0.15)), style_of_pixels(_photo(0.75))
    assert dark.brightness < 0.2 and bright.brightness > 0.6
    assert "dark" in described(dark) and "bright" in described(bright)

    grey = style_of_pixels(_photo(0.5))
    orange = style_of_pixels(_photo(0.5, (1.3, 0.9, 0.5)))
    blue = style_of_pixels(_photo(0.5, (0.6, 0.9, 1.4)))
    assert grey.colourfulness < 0.1 and grey.saturation < 0.1
    assert orange.colourfulness > 0.3 and orange.saturation > 0.3
    assert orange.warmth > 0.6 and blue.warmth < 0.4 and 0.48 < grey.warmth < 0.52
    assert "warm" in described(orange) and "cool" in described(blue)

    picture = Image.fromarray(_photo(0.5, seed=1))
    soft = style_of_image(picture.filter(ImageFilter.GaussianBlur(3)))
    assert soft.sharpness < style_of_image(picture).sharpness

    drawing = style_of_image(_drawing())
    assert drawing.flatness > 0.28 and grey.flatness < 0.2
    assert "flat-colour" in described(drawing) and "photographic" in described(grey)
    assert look(drawing) == "illustration" and look(grey) == "photographic"


def test_a_large_image_reads_as_its_small_copy() -> None:
    # The features are read on a copy at most 128 pixels across: a 1024-pixel image says the same.
    large = Image.fromarray(_photo(0.6, (1.1, 1.0, 0.8))).resize((1024, 1024))
    big, small = style_of_image(large), style_of_image(large.resize((128, 128), Image.BOX))
    for name, value in big.to_dict().items():
        assert abs(value - small.to_dict()[name]) < 0.05, name


def test_where_the_pixels_are_unclear_the_checkpoint_and_prompt_decide_the_look() -> None:
    mixed = style_of_pixels(_photo(0.5)).__class__(**{**style_of_pixels(_photo(0.5)).to_dict(), "flatness": 0.24})  # fmt: skip
    assert look(mixed, "animagineXLV31") == "illustration"
    assert look(mixed, "realvisxlV40") == "photographic"
    assert look(mixed, "realvisxlV40", ["anime", "girl"]) == "illustration"
    assert asked(["a", "dark", "alley", "neon"]) == {"brightness": 0, "colourfulness": 2}


def test_a_style_given_with_an_event_is_held_to_its_rules() -> None:
    style = dict.fromkeys(("brightness", "contrast", "colourfulness", "saturation", "warmth", "sharpness", "flatness"), 0.5)  # fmt: skip
    event = make_event(prompt="a cat", checkpoint="sdxl", selected=True, style=style)
    assert event.style is not None and event.to_dict()["style"] == style
    for wrong, field in (
        ({**style, "brightness": 1.5}, "style.brightness"),
        ({**style, "warmth": "warm"}, "style.warmth"),
        ({**style, "hue": 0.1}, "style.hue"),
        ({k: v for k, v in style.items() if k != "flatness"}, "style.flatness"),
    ):
        with pytest.raises(InvalidInput) as error:
            make_event(prompt="a cat", checkpoint="sdxl", selected=True, style=wrong)
        assert error.value.field == field


def _generated(path: Path, pixels: np.ndarray | Image.Image, prompt: str = "a lake") -> None:
    """An image with A1111 metadata, as a generator writes it."""
    info = PngInfo()
    info.add_text(
        "parameters",
        f"{prompt}\nNegative prompt: blurry\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, "
        "Size: 256x256, Model: lakeModel_v1",
    )
    picture = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, pnginfo=info)


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    root = tmp_path / "outputs"
    _generated(root / "night.png", _photo(0.12), "a street at night")
    _generated(root / "noon.png", _photo(0.8), "a beach at noon")
    _generated(root / "drawn.png", _drawing(), "anime girl")
    _generated(root / "favourites" / "kept.png", _photo(0.7, (1.2, 1.0, 0.7)), "a sunset")
    return root


async def test_an_import_then_its_style_pass_keeps_each_images_style(
    pl: PreferenceLearning, outputs: Path
) -> None:
    report = await import_images(pl, image_files(outputs, recursive=True), root=outputs)
    assert (report.imported, report.selected, report.queued) == (4, 1, 3)
    waiting = (await pl.list_generations(limit=10)).generations
    assert all(item.style is None for item in waiting)  # the metadata first, the pixels after
    night = next(item for item in waiting if item.path.endswith("night.png"))
    await pl.review_generations([night.id], "rejected")  # judged before its style is read

    styles = await read_styles(pl)
    assert (styles.read, styles.failed) == (4, [])
    found = {Path(item.path).name: item for item in (await pl.list_generations(None, limit=10)).generations}  # fmt: skip
    assert all(item.style is not None for item in found.values())
    assert "dark" in described(found["night.png"].style)
    assert "flat-colour" in described(found["drawn.png"].style)
    events = {Path(event.image_path or "").name: event for event in await pl.get_preferences()}
    assert events["kept.png"].style == found["kept.png"].style  # kept in a favourites folder
    assert events["night.png"].style == found["night.png"].style  # judged before the pass

    drawn = found["drawn.png"]
    await pl.review_generations([drawn.id], "selected")  # judged after: its style comes along
    events = {Path(event.image_path or "").name: event for event in await pl.get_preferences()}
    assert events["drawn.png"].style == drawn.style

    assert (await read_styles(pl)).read == 0  # nothing is read twice
    exported = await pl.export_preferences(user_id=None)
    styled = [event["style"] for event in exported["preferences"]]
    assert len(styled) == 3 and all(styled)


async def test_an_image_whose_pixels_cannot_be_read_is_reported_once(
    pl: PreferenceLearning, tmp_path: Path
) -> None:
    folder = tmp_path / "outputs"
    _generated(folder / "fine.png", _photo(0.5))
    _generated(folder / "broken.png", _photo(0.4, seed=3))
    data = bytearray((folder / "broken.png").read_bytes())
    start = data.index(b"IDAT") + 40
    data[start : start + 200] = bytes(200)  # the pixels spoiled; metadata and end marker intact
    (folder / "broken.png").write_bytes(bytes(data))

    report = await import_images(pl, image_files(folder, recursive=False), root=folder)
    assert report.imported == 2
    styles = await read_styles(pl)
    assert styles.read == 1
    assert [Path(path).name for path, _ in styles.failed] == ["broken.png"]
    again = await read_styles(pl)
    assert (again.read, again.failed) == (0, [])  # not tried again
    assert (await pl.check()).ok


def test_import_images_reads_the_styles_after_the_metadata(outputs: Path, tmp_path: Path) -> None:
    database = str(tmp_path / "cli.db")
    result = CliRunner().invoke(
        cli, ["import-images", str(outputs), "--recursive", "--db", database, "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["imported"] == 4 and report["styles"] == {"read": 4, "failed": []}
    shown = CliRunner().invoke(cli, ["import-images", str(outputs), "--recursive", "--db", database])  # fmt: skip
    assert shown.exit_code == 0 and "unchanged" in shown.stdout


async def test_the_server_reads_the_styles_after_an_import(database: str, outputs: Path) -> None:
    app = create_app(Settings(database=database, image_folders=str(outputs)))
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8001") as api:
        done = await api.post("/api/images/import", json={"folder": str(outputs), "recursive": True})  # fmt: skip
        assert done.json()["imported"] == 4
        await app.state.styles.settled()  # the pass the import started, after its answer
        page = (await api.get("/api/generations", params={"status": "unreviewed"})).json()
        assert {"dark"} <= set(described(from_dict(next(
            item["style"] for item in page["generations"] if item["path"].endswith("night.png")
        ))))  # fmt: skip

        style = page["generations"][0]["style"]
        sent = await api.post("/api/preferences", json={"prompt": "cat", "checkpoint": "sdxl", "selected": True, "style": style})  # fmt: skip
        assert sent.status_code == 201, sent.text
        bad = await api.post("/api/preferences", json={"prompt": "cat", "checkpoint": "sdxl", "selected": True, "style": {**style, "contrast": -1}})  # fmt: skip
        assert bad.status_code == 422
        assert bad.json()["details"][0]["field"].endswith("style.contrast")
        assert (await api.get("/api/preferences")).json()["total"] == 2  # the kept one, and cat
    await app.state.styles.stop()
    await app.state.preferences.aclose()


def from_dict(given: dict[str, float]) -> Style:
    return Style(**given)


async def test_an_integration_holding_the_pixels_asks_for_their_look(database: str) -> None:
    app = create_app(Settings(database=database))
    picture = io.BytesIO()
    Image.fromarray(_photo(0.12)).save(picture, "PNG")
    sent = base64.b64encode(picture.getvalue()).decode()
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8001") as api:
        found = await api.post("/api/style", json={"images": [sent, sent]})
        assert found.status_code == 200, found.text
        first, second = found.json()["styles"]
        assert first == second and "dark" in described(Style(**first))
        for images, field in ((["not base64!"], "images[0]"), ([sent, "aGVsbG8="], "images[1]")):
            bad = await api.post("/api/style", json={"images": images})
            assert bad.status_code == 422 and bad.json()["details"][0]["field"].endswith(field)
        assert (await api.post("/api/style", json={"images": []})).status_code == 422
    await app.state.styles.stop()
    await app.state.preferences.aclose()
