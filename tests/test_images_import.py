"""Importing the images people already have: folders, the review queue, HTTP, the CLI and watch.

The images are the 40 real files of ../shared/data/png, copied at test time into a temporary folder
laid out the way people keep their outputs (never into the repository).
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import shutil
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tastebud import PreferenceLearning
from tastebud.api import create_app
from tastebud.cli import app as cli
from tastebud.generations import Generation
from tastebud.importers.folders import (
    ImportReport,
    Rules,
    image_files,
    import_images,
    invokeai_kept,
)
from tastebud.importers.watch import watch
from tastebud.names import model_key
from tastebud.settings import Settings


@pytest.fixture
def manifest(shared_data: Path) -> list[dict[str, Any]]:
    return json.loads((shared_data / "png" / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture
def outputs(shared_data: Path, manifest: list[dict[str, Any]], tmp_path: Path) -> Path:
    """An output folder: most images loose, those of one source in a SwarmUI-style Starred."""
    root = tmp_path / "outputs"
    for entry in manifest:
        source = shared_data / "png" / entry["file"]
        folder = root / "Starred" if entry["file"].startswith("sd-parsers/") else root / "day1"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, folder / Path(entry["file"]).name)
    return root


def _unusable(manifest: list[dict[str, Any]]) -> set[str]:
    """Files whose metadata names no checkpoint: they cannot become a preference."""
    return {Path(entry["file"]).name for entry in manifest if not entry["checkpoints"]}


async def _import(pl: PreferenceLearning, root: Path, **rules: Any) -> ImportReport:
    return await import_images(
        pl, image_files(root, recursive=True), root=root, rules=Rules(**rules)
    )


async def test_a_folder_import_reports_what_it_did_and_twice_changes_nothing(
    pl: PreferenceLearning, outputs: Path, manifest: list[dict[str, Any]]
) -> None:
    unusable = _unusable(manifest)
    starred = {Path(e["file"]).name for e in manifest if e["file"].startswith("sd-parsers/")}
    report = await _import(pl, outputs)
    failed = {Path(path).name: reason for path, reason in report.failed}
    assert report.read == 40
    assert set(failed) <= unusable, failed  # only files with no checkpoint may fail
    assert report.imported == 40 - len(failed)
    assert report.selected == len(starred - set(failed))
    assert report.queued == report.imported - report.selected
    assert report.rejected == report.unchanged == 0
    assert all(reason == "no checkpoint in its metadata" for reason in failed.values())

    queue = await pl.list_generations("unreviewed", limit=100)
    assert queue.total == report.queued
    stats = await pl.get_stats()
    assert stats["total_preferences"] == report.selected  # the starred ones are preferences

    again = await _import(pl, outputs)
    assert (again.imported, again.selected, again.queued) == (0, 0, 0)
    assert again.unchanged == report.imported
    assert (await pl.get_stats())["total_preferences"] == report.selected
    assert (await pl.list_generations(None, limit=100)).total == report.imported
    assert (await pl.check()).ok


async def test_each_imported_generation_keeps_what_made_it(
    pl: PreferenceLearning, outputs: Path, manifest: list[dict[str, Any]]
) -> None:
    await _import(pl, outputs)
    page = await pl.list_generations(None, limit=100)
    by_name = {Path(item.path).name: item for item in page.generations}
    for entry in manifest:
        name = Path(entry["file"]).name
        if not entry["checkpoints"]:
            continue
        item = by_name[name]
        assert model_key(item.checkpoint or "") in {model_key(c) for c in entry["checkpoints"]}
        assert {model_key(lora["name"]) for lora in item.metadata["loras"]} == {
            model_key(lora) for lora in entry["loras"]
        }, name
        copy = next(outputs.rglob(name))
        assert item.content_hash == hashlib.sha256(copy.read_bytes()).hexdigest()


async def test_bad_files_are_reported_and_the_rest_imported(
    pl: PreferenceLearning, shared_data: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    good = shared_data / "png" / "comfyui_examples" / "lora_lora.png"
    shutil.copyfile(good, folder / "good.png")
    data = good.read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    (folder / "garbage.png").write_bytes(b"this is not an image at all" * 10)
    (folder / "notes.jpg").write_text("a text file with an image's name", encoding="utf-8")
    (folder / "empty.webp").write_bytes(b"")
    report = await _import(pl, folder)
    failed = {Path(path).name: reason for path, reason in report.failed}
    assert report.read == 5 and report.imported == 1 and report.queued == 1
    assert set(failed) == {"truncated.png", "garbage.png", "notes.jpg", "empty.webp"}
    assert "truncated" in failed["truncated.png"]
    assert all(reason for reason in failed.values())


async def test_selected_and_rejected_folders_record_preferences(
    pl: PreferenceLearning, outputs: Path
) -> None:
    report = await _import(
        pl, outputs, selected=((outputs / "Starred").resolve(),),
        rejected=((outputs / "day1").resolve(),),
    )  # fmt: skip
    assert report.queued == 0
    assert report.selected + report.rejected == report.imported
    stats = await pl.get_stats()
    assert stats["action_counts"] == {"selected": report.selected, "rejected": report.rejected}


async def test_reviewing_records_the_preference_and_undo_takes_it_back(
    pl: PreferenceLearning, outputs: Path
) -> None:
    await _import(pl, outputs / "day1")
    queue = (await pl.list_generations("unreviewed", limit=100)).generations
    lora_image = next(item for item in queue if Path(item.path).name == "lora_lora_multiple.png")
    other = next(item for item in queue if item is not lora_image)
    assert lora_image.id is not None and other.id is not None
    judged = await pl.review_generations([lora_image.id], "selected")
    assert [item.status for item in judged] == ["selected"]
    await pl.review_generations([other.id], "rejected", implicit=True)
    events = {event.generation_id: event for event in await pl.get_preferences()}
    kept = events[lora_image.generation_id]
    assert kept.selected and kept.checkpoint == lora_image.checkpoint
    assert {model_key(lora.name) for lora in kept.loras} == {
        "epinoiseoffset_v2", "theovercomer8scontrastfix_sd15",
    }  # fmt: skip
    assert events[other.generation_id].implicit and not events[other.generation_id].selected
    assert (await pl.list_generations("unreviewed", limit=100)).total == len(queue) - 2

    await pl.review_generations([lora_image.id, other.id], "unreviewed")
    assert await pl.get_preferences() == []
    assert (await pl.list_generations("unreviewed", limit=100)).total == len(queue)
    assert (await pl.check()).ok


async def test_reviewing_an_unknown_generation_changes_nothing(
    pl: PreferenceLearning, outputs: Path
) -> None:
    await _import(pl, outputs / "day1")
    queue = (await pl.list_generations("unreviewed", limit=100)).generations
    assert queue[0].id is not None
    with pytest.raises(Exception, match="ids: no generation 999999"):
        await pl.review_generations([queue[0].id, 999999], "selected")
    assert await pl.get_preferences() == []
    with pytest.raises(Exception, match="status: must be one of"):
        await pl.list_generations("kept")


@pytest.fixture
async def api(database: str, outputs: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database=database, image_folders=str(outputs))
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8001"
    ) as client:
        yield client
    await app.state.styles.stop()
    await app.state.preferences.aclose()


async def test_import_and_review_over_http(api: httpx.AsyncClient, outputs: Path) -> None:
    dry = await api.post(
        "/api/images/import", json={"folder": str(outputs), "recursive": True, "dry_run": True}
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and dry.json()["imported"] > 0
    empty = await api.get("/api/generations", params={"status": "unreviewed"})
    assert empty.json()["total"] == 0  # a dry run stores nothing

    done = await api.post("/api/images/import", json={"folder": str(outputs), "recursive": True})
    report = done.json()
    assert report["imported"] == dry.json()["imported"] and report["read"] == 40
    page = await api.get("/api/generations", params={"status": "unreviewed", "limit": 5})
    body = page.json()
    assert body["total"] == report["queued"] and len(body["generations"]) == 5
    assert body["next_cursor"] is not None
    first = body["generations"][0]
    assert first["status"] == "unreviewed" and first["metadata"]["checkpoints"]

    judged = await api.post(
        "/api/generations/review", json={"ids": [first["id"]], "action": "selected"}
    )
    assert judged.status_code == 200, judged.text
    assert judged.json()["generations"][0]["status"] == "selected"
    events = (await api.get("/api/preferences")).json()["preferences"]
    assert first["generation_id"] in {event["generation_id"] for event in events}


async def test_the_server_reads_only_the_folders_it_was_given(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    refused = await api.post("/api/images/import", json={"folder": str(outside)})
    assert refused.status_code == 403
    assert refused.json()["details"][0]["field"] == "folder"
    sneaky = await api.post(
        "/api/images/import", json={"folder": str(tmp_path / "outputs" / ".." / "elsewhere")}
    )
    assert sneaky.status_code == 403
    missing = await api.post(
        "/api/images/import", json={"folder": str(tmp_path / "outputs" / "nope")}
    )
    assert missing.status_code == 422
    bad = await api.post("/api/generations/review", json={"ids": [], "action": "selected"})
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "ids"
    wrong = await api.get("/api/generations", params={"status": "kept"})
    assert wrong.status_code == 422 and wrong.json()["details"][0]["field"] == "status"


async def test_import_of_named_files_reads_only_those(
    api: httpx.AsyncClient, outputs: Path, tmp_path: Path
) -> None:
    """What a generator's extension sends after a run: the files it just saved."""
    day1 = sorted(image_files(outputs / "day1", recursive=False))
    named = [str(day1[0]), day1[1].name]  # absolute, or relative to the folder
    outside = tmp_path / "elsewhere.png"
    shutil.copy(day1[2], outside)
    refused = await api.post(
        "/api/images/import",
        json={"folder": str(outputs / "day1"), "files": [*named, str(outside)]},
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["details"][0]["field"] == "files[2]"
    escaping = await api.post(
        "/api/images/import", json={"folder": str(outputs / "day1"), "files": ["../day1/x.png",
                                                                              "../../x.png"]},
    )  # fmt: skip
    assert escaping.json()["details"][0]["field"] == "files[1]"
    (outputs / "day1" / "link.png").symlink_to(outside)  # inside by name, outside in fact
    linked = await api.post(
        "/api/images/import", json={"folder": str(outputs / "day1"), "files": ["link.png"]}
    )
    assert linked.status_code == 403 and linked.json()["details"][0]["field"] == "files[0]"
    notes = await api.post(
        "/api/images/import", json={"folder": str(outputs / "day1"), "files": [named[1], "a.txt"]}
    )
    assert notes.status_code == 422 and "is not a PNG, JPEG or WebP file" in notes.text
    assert (await api.get("/api/generations")).json()["total"] == 0  # refused: nothing read

    done = await api.post(
        "/api/images/import", json={"folder": str(outputs / "day1"), "files": named}
    )
    assert done.status_code == 200, done.text
    assert (done.json()["read"], done.json()["queued"]) == (2, 2)
    paths = {item["path"] for item in (await api.get("/api/generations")).json()["generations"]}
    assert paths == {str(day1[0].resolve()), str(day1[1].resolve())}
    empty = await api.post("/api/images/import", json={"folder": str(outputs), "files": []})
    assert empty.status_code == 422 and empty.json()["details"][0]["field"] == "files"


async def test_without_image_folders_the_server_reads_none(database: str, outputs: Path) -> None:
    app = create_app(Settings(database=database))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8001"
    ) as client:
        refused = await client.post("/api/images/import", json={"folder": str(outputs)})
    await app.state.styles.stop()
    await app.state.preferences.aclose()
    assert refused.status_code == 403
    assert "--image-folders" in refused.json()["details"][0]["reason"]


def test_import_images_command(outputs: Path, tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    runner = CliRunner()
    dry = runner.invoke(cli, ["import-images", str(outputs), "-r", "--dry-run", "--db", str(db)])
    assert dry.exit_code == 0, dry.stderr
    assert "nothing was changed" in dry.stdout
    done = runner.invoke(cli, ["import-images", str(outputs), "-r", "--db", str(db), "--json"])
    assert done.exit_code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["read"] == 40 and report["imported"] > 30 and not report["dry_run"]
    again = runner.invoke(cli, ["import-images", str(outputs), "-r", "--db", str(db), "--json"])
    assert json.loads(again.stdout)["unchanged"] == report["imported"]
    missing = runner.invoke(cli, ["import-images", str(tmp_path / "nope"), "--db", str(db)])
    assert missing.exit_code == 1 and "is not a folder" in missing.stderr


async def test_watch_picks_up_an_image_written_in_several_chunks(
    pl: PreferenceLearning, shared_data: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "output"
    folder.mkdir()
    stop = asyncio.Event()
    rounds: list[ImportReport] = []
    watching = asyncio.create_task(watch(pl, folder, stop=stop, on_report=rounds.append))
    await asyncio.sleep(0.5)  # let the watcher start before the first write
    data = (shared_data / "png" / "comfyui_examples" / "lora_lora.png").read_bytes()
    target = folder / "ComfyUI_00001_.png"
    with target.open("wb") as out:
        for start in range(0, len(data), len(data) // 3 + 1):
            out.write(data[start : start + len(data) // 3 + 1])
            out.flush()
            await asyncio.sleep(0.4)  # a generator writing slowly: longer than the settle time
    page = None
    for _ in range(100):  # up to 20 s on a slow machine; usually well under 2
        page = await pl.list_generations("unreviewed")
        if page.total:
            break
        await asyncio.sleep(0.2)
    stop.set()
    await watching
    assert page is not None and page.total == 1
    assert page.generations[0].content_hash == hashlib.sha256(data).hexdigest()
    assert not any(report.failed for report in rounds)


async def test_watch_follows_a_renamed_file_and_an_overwritten_one(
    pl: PreferenceLearning, shared_data: Path, tmp_path: Path
) -> None:
    """A host app writes ``tmp_1.png`` and renames it 0.6 s later: the generation follows the
    file. The file is then overwritten with another image: the first generation keeps its
    history but not the file, whose bytes are now the second's."""
    folder = tmp_path / "output"
    folder.mkdir()
    first = (shared_data / "png" / "comfyui_examples" / "lora_lora.png").read_bytes()
    second = (
        shared_data / "png" / "comfyui_examples" / "sdxl_sdxl_simple_example.png"
    ).read_bytes()
    final = folder / "ComfyUI_00001_.png"

    async def until(count: int, path: Path) -> list[Generation]:
        for _ in range(100):  # up to 20 s on a slow machine; usually well under 2
            found = (await pl.list_generations(None)).generations
            if len(found) == count and any(item.path == str(path) for item in found):
                return found
            await asyncio.sleep(0.2)
        return found

    stop = asyncio.Event()
    watching = asyncio.create_task(watch(pl, folder, stop=stop))
    await asyncio.sleep(0.5)  # let the watcher start before the first write
    (folder / "tmp_1.png").write_bytes(first)
    await asyncio.sleep(0.6)  # longer than the settle time: the temporary name is read
    (folder / "tmp_1.png").rename(final)
    renamed = await until(1, final)
    final.write_bytes(second)
    both = await until(2, final)
    stop.set()
    await watching
    assert [item.path for item in renamed] == [str(final)]
    by_content = {item.content_hash: item for item in both}
    assert by_content[hashlib.sha256(first).hexdigest()].path == ""
    assert by_content[hashlib.sha256(second).hexdigest()].path == str(final)


async def test_an_overwritten_file_is_not_served_as_the_image_it_replaced(
    api: httpx.AsyncClient, outputs: Path
) -> None:
    await api.post("/api/images/import", json={"folder": str(outputs), "recursive": True})
    queued = (await api.get("/api/generations", params={"limit": 2})).json()["generations"]
    old, other = (Path(item["path"]) for item in queued)
    old.write_bytes(other.read_bytes())  # a host app reusing a file name
    await api.post("/api/images/import", json={"folder": str(outputs), "recursive": True})
    answer = await api.get(f"/api/generations/{queued[0]['id']}/image")
    assert answer.status_code == 404
    assert answer.json()["details"][0]["reason"] == "its file now holds another image"
    assert (await api.get(f"/api/generations/{queued[1]['id']}/image")).status_code == 200


async def test_images_starred_in_invokeai_count_as_kept(
    pl: PreferenceLearning, shared_data: Path, tmp_path: Path
) -> None:
    # InvokeAI's layout: <root>/outputs/images/*.png and <root>/databases/invokeai.db, whose
    # images table marks favourites in its starred column.
    root = tmp_path / "invokeai"
    images = root / "outputs" / "images"
    images.mkdir(parents=True)
    (root / "databases").mkdir()
    for name in ("lora_lora.png", "sdxl_sdxl_simple_example.png", "lcm_lcm_basic_example.png"):
        shutil.copyfile(shared_data / "png" / "comfyui_examples" / name, images / name)
    with sqlite3.connect(root / "databases" / "invokeai.db") as connection:
        connection.execute("CREATE TABLE images (image_name TEXT PRIMARY KEY, starred BOOLEAN)")
        connection.executemany(
            "INSERT INTO images VALUES (?, ?)",
            [("lora_lora.png", True), ("sdxl_sdxl_simple_example.png", False)],
        )
    connection.close()
    report = await _import(pl, images, starred=invokeai_kept(images))
    assert (report.selected, report.queued) == (1, 2)
    kept = await pl.list_generations("selected")
    assert [Path(item.path).name for item in kept.generations] == ["lora_lora.png"]
    # Imported from the InvokeAI root, the database is found all the same.
    assert invokeai_kept(root) == invokeai_kept(images)


def test_images_on_an_invokeai_favourites_board_count_as_kept(
    shared_data: Path, tmp_path: Path
) -> None:
    # InvokeAI's boards: boards (board_id, board_name) and board_images (board_id, image_name).
    root = tmp_path / "invokeai"
    images = root / "outputs" / "images"
    images.mkdir(parents=True)
    (root / "databases").mkdir()
    with closing(sqlite3.connect(root / "databases" / "invokeai.db")) as connection, connection:
        connection.execute("CREATE TABLE images (image_name TEXT PRIMARY KEY, starred BOOLEAN)")
        connection.execute("CREATE TABLE boards (board_id TEXT PRIMARY KEY, board_name TEXT)")
        connection.execute("CREATE TABLE board_images (board_id TEXT, image_name TEXT)")
        connection.executemany("INSERT INTO images VALUES (?, 0)", [("a.png",), ("b.png",),
                                                                      ("c.png",)])  # fmt: skip
        connection.executemany(
            "INSERT INTO boards VALUES (?, ?)",
            [("1", " Favorites "), ("2", "Portfolio"), ("3", "Trash")],
        )
        connection.executemany(
            "INSERT INTO board_images VALUES (?, ?)",
            [("1", "a.png"), ("2", "b.png"), ("3", "c.png")],
        )
    assert invokeai_kept(images) == {(images / "a.png").resolve()}
    assert invokeai_kept(images, frozenset({"portfolio"})) == {
        (images / "a.png").resolve(), (images / "b.png").resolve()
    }  # fmt: skip


def comfyui_output(shared_data: Path, tmp_path: Path) -> Path:
    """ComfyUI writes everything to output/; this person moves keepers to output/portfolio/."""
    output = tmp_path / "ComfyUI" / "output"
    (output / "portfolio").mkdir(parents=True)
    examples = shared_data / "png" / "comfyui_examples"
    shutil.copyfile(examples / "lora_lora.png", output / "ComfyUI_00001_.png")
    shutil.copyfile(examples / "sdxl_sdxl_simple_example.png", output / "portfolio" / "b.png")
    return output


async def test_a_subfolder_named_in_kept_folders_counts_as_kept(
    database: str, shared_data: Path, tmp_path: Path
) -> None:
    output = comfyui_output(shared_data, tmp_path)
    body = {"folder": str(output), "recursive": True, "dry_run": True}
    for kept_folders, selected in [(None, 0), ("Portfolio, picks", 1)]:
        settings = Settings(database=database, image_folders=str(output), kept_folders=kept_folders)
        app = create_app(settings)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8001"
        ) as client:
            report = (await client.post("/api/images/import", json=body)).json()
        await app.state.styles.stop()
        await app.state.preferences.aclose()
        assert (report["selected"], report["queued"]) == (selected, 2 - selected), kept_folders


def test_import_images_takes_kept_folders_from_the_environment(
    shared_data: Path, tmp_path: Path
) -> None:
    output = comfyui_output(shared_data, tmp_path)
    db = str(tmp_path / "cli.db")
    ran = CliRunner().invoke(
        cli, ["import-images", str(output), "-r", "--json", "--db", db],
        env={"TASTEBUD_KEPT_FOLDERS": "portfolio"},
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.output)["selected"] == 1


async def test_images_saved_with_a1111s_save_button_count_as_kept(
    pl: PreferenceLearning, shared_data: Path, tmp_path: Path
) -> None:
    # A1111 / Forge's layout: generations in outputs/txt2img-images/<date>/; the Save button
    # saves the image again to log/images/ (and appends a line to log/images/log.csv).
    root = tmp_path / "stable-diffusion-webui"
    made = root / "outputs" / "txt2img-images" / "2026-12-01"
    saved = root / "log" / "images"
    made.mkdir(parents=True)
    saved.mkdir(parents=True)
    names = ("lora_lora.png", "sdxl_sdxl_simple_example.png", "lcm_lcm_basic_example.png")
    for number, name in enumerate(names):
        shutil.copyfile(shared_data / "png" / "comfyui_examples" / name, made / f"0000{number}.png")
    shutil.copyfile(made / "00001.png", saved / "00001-1.png")
    (saved / "log.csv").write_text("prompt,seed,width,height,sampler,cfgs,steps,filename\n")
    report = await _import(pl, root)
    assert (report.selected, report.queued) == (1, 2)
    kept = (await pl.list_generations("selected")).generations
    assert (
        len(kept) == 1
        and kept[0].content_hash == hashlib.sha256((made / "00001.png").read_bytes()).hexdigest()
    )


async def test_a1111s_save_log_marks_the_saved_images_in_a_folder_of_any_name(
    pl: PreferenceLearning, shared_data: Path, tmp_path: Path
) -> None:
    # The Save button's folder is a setting ("Directory for saving images using the Save
    # button"); whatever its name, the button appends to the log.csv in it: the header, then a
    # line per click naming the file it saved (in a dated subfolder with "save to subdirectory").
    saved = tmp_path / "Pictures" / "sd-saved"
    (saved / "2026-12-01").mkdir(parents=True)
    examples = shared_data / "png" / "comfyui_examples"
    shutil.copyfile(examples / "lora_lora.png", saved / "00003-1234.png")
    shutil.copyfile(examples / "sdxl_sdxl_simple_example.png", saved / "2026-12-01" / "00004-1.png")
    shutil.copyfile(examples / "lcm_lcm_basic_example.png", saved / "notes-not-saved.png")
    with (saved / "log.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["prompt", "seed", "width", "height", "sampler", "cfgs", "steps",
                         "filename", "negative_prompt"])  # fmt: skip
        writer.writerow(["a, b", 1234, 512, 512, "Euler a", 7, 20, "00003-1234.png", "x"])
        writer.writerow(["c", 1, 512, 512, "Euler a", 7, 20, "2026-12-01/00004-1.png", ""])
    report = await _import(pl, tmp_path / "Pictures")
    assert (report.selected, report.queued) == (2, 1), report
    kept = {Path(item.path).name for item in (await pl.list_generations("selected")).generations}
    assert kept == {"00003-1234.png", "00004-1.png"}


async def test_images_starred_in_swarmui_count_as_kept(
    pl: PreferenceLearning, tmp_path: Path
) -> None:
    # SwarmUI writes its star into the image's own metadata (sui_image_params.is_starred), as
    # well as copying the image to Starred/ (which counts already).
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    folder = tmp_path / "Output" / "local" / "raw" / "2026-12-01"
    folder.mkdir(parents=True)
    for number, starred in enumerate((True, False, None)):
        params: dict[str, Any] = {"prompt": f"a lake at dawn {number}", "model": "juggernautXL",
                                  "seed": number, "steps": 20}  # fmt: skip
        if starred is not None:
            params["is_starred"] = starred
        info = PngInfo()
        info.add_text("parameters", json.dumps({"sui_image_params": params}))
        Image.new("RGB", (32, 32), (number * 50, 0, 0)).save(folder / f"{number}.png", pnginfo=info)
    report = await _import(pl, tmp_path / "Output")
    assert (report.selected, report.queued) == (1, 2), report
    (kept,) = (await pl.list_generations("selected")).generations
    assert Path(kept.path).name == "0.png" and kept.metadata["starred"] is True

    # An older SwarmUI writes no is_starred: its star is the copy in Output/local/Starred/.
    starred = tmp_path / "Output" / "local" / "Starred" / "2026-12-01"
    starred.mkdir(parents=True)
    shutil.copyfile(folder / "2.png", starred / "2.png")
    again = await _import(pl, tmp_path / "Output")
    assert (again.selected, again.unchanged) == (1, 3), again
    kept_now = (await pl.list_generations("selected")).generations
    assert sorted(Path(item.path).name for item in kept_now) == ["0.png", "2.png"]
    assert len((await pl.list_generations(None, limit=100)).generations) == 3  # one image each


async def test_a_reviewed_page_advances_in_one_transaction(api: httpx.AsyncClient) -> None:
    learning: PreferenceLearning = api._transport.app.state.preferences  # type: ignore[attr-defined]
    settings: Settings = api._transport.app.state.settings  # type: ignore[attr-defined]
    root = settings.allowed_folders[0]
    await import_images(learning, image_files(root, recursive=True), root=root)
    ids = [item.id for item in (await learning.list_generations(limit=4)).generations]
    before = await learning.get_preferences()  # the Starred ones
    # One bad id, and nothing is recorded: not even the valid part of the page.
    refused = await api.post(
        "/api/generations/advance", json={"selected": ids[:1], "rest": [*ids[1:], 999999]}
    )
    assert refused.status_code == 422 and refused.json()["details"][0]["field"] == "rest"
    assert await learning.get_preferences() == before
    assert (await learning.list_generations(limit=4)).generations[0].id == ids[0]
    twice = await api.post("/api/generations/advance", json={"selected": ids[:1], "rest": ids})
    assert twice.status_code == 422 and "two lists" in twice.json()["details"][0]["reason"]

    done = await api.post(
        "/api/generations/advance",
        json={"selected": ids[:1], "rejected": ids[1:2], "rest": ids[2:]},
    )
    assert done.status_code == 200, done.text
    events = {event.generation_id: event for event in await learning.get_preferences()}
    judged = {item["id"]: item for item in done.json()["generations"]}
    assert [judged[id_]["status"] for id_ in ids] == [
        "selected",
        "rejected",
        "rejected",
        "rejected",
    ]
    implicit = [events[judged[id_]["generation_id"]].implicit for id_ in ids]
    assert implicit == [False, False, True, True]


async def test_an_export_carries_the_review_queue_into_another_database(
    pl: PreferenceLearning, outputs: Path, database: str, tmp_path: Path
) -> None:
    """Export, import on another machine, import the same folder there again: what was judged
    stays judged (it came back "unreviewed" before), and nothing is counted twice."""
    await _import(pl, outputs / "day1")
    queue = (await pl.list_generations("unreviewed", limit=100)).generations
    kept, rejected = queue[0], queue[1]
    assert kept.id is not None and rejected.id is not None
    await pl.review_generations([kept.id], "selected")
    await pl.review_generations([rejected.id], "rejected")
    document = json.loads(json.dumps(await pl.export_preferences()))
    assert len(document["generations"]) == len(queue)

    other = str(tmp_path / "elsewhere.db")
    async with PreferenceLearning(database=other) as elsewhere:
        await elsewhere.import_preferences(document)
        await elsewhere.import_preferences(document)  # again: changes nothing
        await _import(elsewhere, outputs / "day1")
        statuses = {
            item.content_hash: item.status
            for item in (await elsewhere.list_generations(None, limit=100)).generations
        }
        assert statuses[kept.content_hash] == "selected"
        assert statuses[rejected.content_hash] == "rejected"
        assert list(statuses.values()).count("unreviewed") == len(queue) - 2
        assert (await elsewhere.get_stats())["total_preferences"] == 2
        assert (await elsewhere.check()).ok
        # An export of version 1.0 (no review queue) still imports.
        old = {"version": "1.0", "preferences": document["preferences"]}
        assert (await elsewhere.import_preferences(old)).unchanged == 2
