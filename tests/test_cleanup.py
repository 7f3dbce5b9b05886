"""Cleanup of rejected images: only what every rule allows is moved, to a trash folder, and an
undo puts it back; real files in a temporary folder, real databases, random histories."""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from typer.testing import CliRunner

from tastebud import PreferenceLearning
from tastebud.api import create_app
from tastebud.cleanup import Known, plan_cleanup
from tastebud.cli import app as cli
from tastebud.errors import InvalidInput
from tastebud.importers.folders import import_images
from tastebud.settings import Settings


def _image(path: Path, index: int) -> None:
    """A small generated image of its own (its index in its pixels), with A1111 metadata."""
    info = PngInfo()
    info.add_text(
        "parameters",
        f"a lake number {index}\nNegative prompt: blurry\nSteps: 20, Sampler: Euler, "
        f"CFG scale: 7, Seed: {index}, Size: 64x64, Model: lakeModel_v1",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64), (index * 7 % 256, index * 13 % 256, 90)).save(path, pnginfo=info)


async def _judged(
    pl: PreferenceLearning, files: list[Path], root: Path, user: str, action: str
) -> None:
    await import_images(pl, files, root=root, user_id=user)
    waiting = (await pl.list_generations(user_id=user, limit=500)).generations
    wanted = {str(path.resolve()) for path in files}
    ids = [item.id for item in waiting if item.path in wanted and item.id is not None]
    if action != "unreviewed":
        await pl.review_generations(ids, action, user_id=user)


async def test_only_images_rejected_by_everyone_inside_the_folders_go_and_come_back(
    pl: PreferenceLearning, tmp_path: Path
) -> None:
    images = tmp_path / "outputs"
    files = {name: images / f"{name}.png" for name in ("plain", "kept_by_b", "waiting", "kept")}
    for index, path in enumerate(files.values()):
        _image(path, index)
    outside = tmp_path / "elsewhere" / "outside.png"
    _image(outside, 9)
    await _judged(
        pl, [files["plain"], files["kept_by_b"], files["waiting"]], images, "a", "rejected"
    )
    await _judged(pl, [files["kept"]], images, "a", "selected")
    await _judged(pl, [outside], outside.parent, "a", "rejected")
    await _judged(pl, [files["kept_by_b"]], images, "b", "selected")
    await _judged(pl, [files["waiting"]], images, "b", "unreviewed")
    events_before = await pl.export_preferences(user_id=None)

    recent = await pl.plan_cleanup([images], user_id="a")  # rejected just now: a week's grace
    assert recent.removable == []
    assert dict(recent.skipped) == {
        "kept, or waiting for review, in a profile": 2,
        "rejected less than the grace period ago": 2,
    }

    plan = await pl.plan_cleanup([images], user_id="a", older_than_days=0)
    assert [Path(item.path).name for item in plan.removable] == ["plain.png"]
    assert plan.size == files["plain"].stat().st_size
    assert plan.skipped["kept, or waiting for review, in a profile"] == 2
    assert plan.skipped["outside the image folders"] == 1
    assert all(path.exists() for path in files.values())  # a plan moves nothing

    bytes_before = files["plain"].read_bytes()
    trash = tmp_path / "trash"
    done = await pl.clean_up([images], trash, user_id="a", older_than_days=0)
    assert len(done.moved) == 1 and not files["plain"].exists()
    assert [path.read_bytes() for path in trash.rglob("*.png")] == [bytes_before]
    for name in ("kept_by_b", "waiting", "kept"):
        assert files[name].exists()
    assert outside.exists()
    events_after = await pl.export_preferences(user_id=None)
    assert events_after["preferences"] == events_before["preferences"]  # learning keeps it all
    assert (await pl.plan_cleanup([images], user_id="a", older_than_days=0)).removable == []

    back = await pl.undo_cleanup(user_id="a")
    assert back.restored == [str(files["plain"].resolve())] and back.failed == []
    assert files["plain"].read_bytes() == bytes_before
    assert list(trash.rglob("*.png")) == []
    assert (await pl.undo_cleanup(user_id="a")).restored == []  # nothing more to undo
    assert (await pl.check()).ok


async def test_a_file_changed_or_replaced_by_a_link_since_it_was_judged_stays(
    pl: PreferenceLearning, tmp_path: Path
) -> None:
    images = tmp_path / "outputs"
    changed, linked = images / "changed.png", images / "linked.png"
    _image(changed, 1)
    _image(linked, 2)
    await _judged(pl, [changed, linked], images, "default", "rejected")
    _image(changed, 3)  # overwritten by another image since
    moved_away = tmp_path / "kept-copy.png"
    linked.rename(moved_away)
    linked.symlink_to(moved_away)  # the same bytes, behind a link
    plan = await pl.plan_cleanup([images], older_than_days=0)
    assert plan.removable == []
    assert plan.skipped["the file holds other bytes than when it was imported"] == 1
    assert plan.skipped["a symbolic link, or under one"] == 1


async def test_bad_requests_change_nothing(pl: PreferenceLearning, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as error:
        await pl.plan_cleanup([])
    assert error.value.field == "image_folders"
    for wrong in (-1, float("nan"), "7", 1e300):
        with pytest.raises(InvalidInput) as error:
            await pl.clean_up([tmp_path], tmp_path / "trash", older_than_days=wrong)  # type: ignore[arg-type]
        assert error.value.field == "older_than_days"
    assert not (tmp_path / "trash").exists()


STATUS = st.sampled_from([None, "unreviewed", "selected", "rejected"])
IMAGE = st.fixed_dictionaries({
    "a": st.sampled_from(["unreviewed", "selected", "rejected"]), "b": STATUS,
    "outside": st.booleans(), "changed": st.booleans(), "linked": st.booleans(),
})  # fmt: skip


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(IMAGE, min_size=1, max_size=6))
def test_cleanup_never_touches_what_it_must_not_over_random_histories(history: list[dict]) -> None:
    """Whatever two profiles did: exactly the images every rule allows are moved (rejected by
    every profile that knows them, inside the folders, the same bytes, no link); every other file
    stays as it was; the undo puts every moved file back, byte for byte."""
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_random_history(Path(folder), history))


async def _random_history(root: Path, history: list[dict]) -> None:
    inside, outside = root / "outputs", root / "elsewhere"
    files = []
    for index, image in enumerate(history):
        path = (outside if image["outside"] else inside) / f"image{index}.png"
        _image(path, index)
        files.append(path)
    async with PreferenceLearning(root / "t.db") as pl:
        for user in ("a", "b"):
            for path, image in zip(files, history, strict=True):
                if image[user] is not None:
                    await _judged(pl, [path], path.parent, user, image[user])
        for index, (path, image) in enumerate(zip(files, history, strict=True)):
            if image["changed"]:
                _image(path, 100 + index)
            elif image["linked"]:
                copy = root / f"copy{index}.png"
                path.rename(copy)
                path.symlink_to(copy)
        before = {path: path.read_bytes() for path in files}
        done = await pl.clean_up([inside], root / "trash", user_id="a", older_than_days=0)
        may_go = {
            path for path, image in zip(files, history, strict=True)
            if image["a"] == "rejected" and image["b"] in (None, "rejected")
            and not (image["outside"] or image["changed"] or image["linked"])
        }  # fmt: skip
        assert {Path(item.original_path) for item in done.moved} == {p.resolve() for p in may_go}
        for path in files:
            if path not in may_go:
                assert path.read_bytes() == before[path]  # (through its link, if one)
        await pl.undo_cleanup(user_id="a")
        for path in may_go:
            assert path.read_bytes() == before[path]


@pytest.fixture
def judged_folder(tmp_path: Path) -> tuple[Path, str]:
    images = tmp_path / "outputs"
    for index in range(3):
        _image(images / f"img{index}.png", index)
    database = str(tmp_path / "cli.db")

    async def judge() -> None:
        async with PreferenceLearning(database) as pl:
            await _judged(pl, sorted(images.glob("*.png")), images, "default", "rejected")

    asyncio.run(judge())
    return images, database


def test_the_cleanup_command_reports_first_then_moves_and_undoes(
    judged_folder: tuple[Path, str], tmp_path: Path
) -> None:
    images, database = judged_folder
    common = ["--db", database, "--image-folders", str(images), "--older-than", "0"]
    trash = ["--trash-folder", str(tmp_path / "trash")]
    report = CliRunner().invoke(cli, ["cleanup", *common, *trash])
    assert report.exit_code == 0, report.output
    assert "3 rejected images" in report.stdout and "dry run" in report.stdout
    assert len(list(images.glob("*.png"))) == 3
    applied = CliRunner().invoke(cli, ["cleanup", *common, *trash, "--apply", "--json"])
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.stdout)["moved"] == 3 and not list(images.glob("*.png"))
    undone = CliRunner().invoke(cli, ["cleanup", "--db", database, "--undo"])
    assert undone.exit_code == 0, undone.output
    assert "put back 3 images" in undone.stdout and len(list(images.glob("*.png"))) == 3
    refused = CliRunner().invoke(
        cli, ["cleanup", "--db", database], env={"TASTEBUD_IMAGE_FOLDERS": ""}
    )
    assert refused.exit_code != 0 and "image_folders" in refused.output


async def test_cleanup_over_http_reads_only_the_servers_folders(
    judged_folder: tuple[Path, str], tmp_path: Path
) -> None:
    images, database = judged_folder
    settings = Settings(
        database=database, image_folders=str(images), trash_folder=str(tmp_path / "trash")
    )
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8001"
    ) as api:
        plan = (await api.get("/api/cleanup", params={"older_than_days": 0})).json()
        assert plan["images"] == 3 and plan["bytes"] > 0 and plan["dry_run"] is True
        assert len(list(images.glob("*.png"))) == 3
        bad = await api.post("/api/cleanup", json={"older_than_days": -2})
        assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "older_than_days"
        done = await api.post("/api/cleanup", json={"older_than_days": 0})
        assert done.status_code == 200 and done.json()["moved"] == 3
        assert not list(images.glob("*.png"))
        back = await api.post("/api/cleanup/undo", json={})
        assert len(back.json()["restored"]) == 3 and len(list(images.glob("*.png"))) == 3
    await app.state.styles.stop()
    await app.state.preferences.aclose()
    closed = create_app(Settings(database=database))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(closed), base_url="http://127.0.0.1:8001"
    ) as api:
        refused = await api.get("/api/cleanup")
        assert refused.status_code == 403
    await closed.state.styles.stop()
    await closed.state.preferences.aclose()


async def test_with_vision_on_only_described_images_go(
    pl: PreferenceLearning, tmp_path: Path
) -> None:
    images = tmp_path / "outputs"
    _image(images / "seen.png", 1)
    await _judged(pl, [images / "seen.png"], images, "default", "rejected")
    plan = await pl.plan_cleanup([images], older_than_days=0, described_first=True)
    assert plan.removable == [] and plan.skipped["not described by the vision model yet"] == 1
    (event,) = await pl.get_preferences()
    assert await pl.keep_vision("default", event.generation_id, "A lake.", ["lake"])
    plan = await pl.plan_cleanup([images], older_than_days=0, described_first=True)
    assert [Path(item.path).name for item in plan.removable] == ["seen.png"]


async def test_a_dotted_path_a_favourites_copy_and_a_file_kept_over_the_api_stay(
    pl: PreferenceLearning, tmp_path: Path
) -> None:
    images = tmp_path / "outputs"
    first, kept_by_event = images / "copy.png", images / "api.png"
    _image(first, 1)
    _image(kept_by_event, 2)
    await _judged(pl, [first, kept_by_event], images, "default", "rejected")
    # Rejected, then moved into a favourites folder after all: the import follows the file.
    copy = images / "best" / "copy.png"
    copy.parent.mkdir()
    first.rename(copy)
    await import_images(pl, [copy], root=images)
    # Another profile kept the second file under an id of its own, naming the file.
    await pl.record_preference(
        prompt="a lake", checkpoint="lakeModel_v1", selected=True, user_id="other",
        image_path=str(kept_by_event.resolve()),
    )  # fmt: skip
    plan = await pl.plan_cleanup([images], older_than_days=0)
    assert plan.removable == []
    assert plan.skipped["in a favourites folder"] == 1
    assert plan.skipped["kept, or waiting for review, in a profile"] == 1

    outside = tmp_path / "elsewhere" / "x.png"
    _image(outside, 3)
    sneaky = Known(
        content_hash=hashlib.sha256(outside.read_bytes()).hexdigest(),
        path=str(images / ".." / "elsewhere" / "x.png"), generation_id="g", statuses=frozenset({"rejected"}),
        rejected_at=datetime(2020, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    found = plan_cleanup([sneaky], [images], now=datetime.now(UTC))
    assert found.removable == [] and found.skipped["a symbolic link, or under one"] == 1
