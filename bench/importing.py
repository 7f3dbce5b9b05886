"""How fast a folder of generated images is imported: images per second, metadata, then style.

    .venv/bin/python bench/importing.py            # 2,000 images, about a minute
    .venv/bin/python bench/importing.py --quick    # 200 images, a smoke run

The images are the 40 real files of ../shared/data/png (A1111, ComfyUI, InvokeAI, NovelAI, Fooocus,
SwarmUI, Civitai, Tensor.Art; 25 MB, most of it full-size ComfyUI outputs), each copied many times
into a temporary folder with one extra text chunk (PNG) or comment (JPEG) so that every copy is a
different file, as in a real output folder. Three figures, in the same run:

* sd-parsers alone: the library tastebud reads most formats with, one file after another;
* tastebud reading: hash + metadata of every file (what an import does before it stores);
* tastebud import: ``tastebud import-images`` as a user runs it, into a new SQLite file;
* Pillow decoding alone: every file's pixels decoded, one after another (JPEGs at the reduced size
  the style reader asks for): the floor under anything that reads pixels;
* tastebud style pass: the pixels of every imported image read for its style
  (``tastebud.importers.styles``, two threads), stored with the generation.

The page cache is warm (the files were just written), as it is for a folder a generator has just
filled. Thumbnails are not made (the issue excludes them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path

from sd_parsers import ParserManager

from tastebud import PreferenceLearning
from tastebud.importers.folders import image_files, import_images, read_generation
from tastebud.importers.styles import read_styles
from tastebud.style import SIDE

HERE = Path(__file__).resolve().parent
PNG_DATA = HERE.parent.parent / "shared" / "data" / "png"
RESULTS = HERE / "results" / "importing.json"
GOAL = 200.0
"""Images per second, for the import (metadata) and, as issue 17 asks, for the style features."""


def decode(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        if image.format == "JPEG":
            image.draft("RGB", (SIDE, SIDE))
        image.load()


def distinct_copy(data: bytes, index: int) -> bytes:
    """The same image with a marker that makes its bytes (and content hash) its own."""
    marker = f"copy {index}".encode()
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        body = b"tEXt" + b"tastebud-bench\x00" + marker
        chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
        return data[:33] + chunk + data[33:]  # right after the IHDR chunk
    if data.startswith(b"\xff\xd8"):
        return data[:2] + b"\xff\xfe" + struct.pack(">H", len(marker) + 2) + marker + data[2:]
    return data


def make_folder(target: Path, count: int) -> list[Path]:
    sources = sorted(
        path for path in PNG_DATA.rglob("*")
        if path.suffix.lower() in {".png", ".jpg", ".jpeg", ".webp"}
    )  # fmt: skip
    made = []
    for index in range(count):
        source = sources[index % len(sources)]
        path = target / f"{index:05d}_{source.name}"
        path.write_bytes(distinct_copy(source.read_bytes(), index))
        made.append(path)
    return made


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 images instead of 2,000")
    parser.add_argument("--images", type=int, default=None)
    args = parser.parse_args()
    if not PNG_DATA.is_dir():
        sys.exit(f"skipped: {PNG_DATA} (the real images) is absent")
    count = args.images or (200 if args.quick else 2000)
    folder = Path(tempfile.mkdtemp(prefix="tastebud-import-bench-"))
    try:
        (folder / "images").mkdir()
        files = make_folder(folder / "images", count)
        size = sum(path.stat().st_size for path in files)

        manager = ParserManager()
        started = time.perf_counter()
        parsed = 0
        for path in files:
            try:
                parsed += manager.parse(path) is not None
            except Exception:  # noqa: BLE001,S112  it fails on some real graphs; count, go on
                continue
        sd_parsers_rate = rate(count, time.perf_counter() - started)

        started = time.perf_counter()
        reads = [read_generation(path, "unreviewed") for path in files]
        reading_rate = rate(count, time.perf_counter() - started)

        started = time.perf_counter()
        for path in files:
            decode(path)
        decode_rate = rate(count, time.perf_counter() - started)

        async def run() -> tuple[float, float, int]:
            async with PreferenceLearning(folder / "bench.db") as learning:
                began = time.perf_counter()
                report = await import_images(
                    learning, image_files(folder / "images", recursive=False),
                    root=folder / "images",
                )  # fmt: skip
                took = time.perf_counter() - began
                assert report.read == count, report
                began = time.perf_counter()
                styles = await read_styles(learning)
                styled = time.perf_counter() - began
                return rate(count, took), rate(styles.read, styled), styles.read

        import_rate, style_rate, styled = asyncio.run(run())
        ok = sum(item.generation is not None for item in reads)
        rows = [
            ("sd-parsers alone (parse only, one thread)", sd_parsers_rate),
            ("tastebud reading (hash + metadata, one thread)", reading_rate),
            ("tastebud import-images (two threads, SQLite)", import_rate),
            ("Pillow decoding alone (one thread)", decode_rate),
            (f"tastebud style pass ({styled} images, two threads)", style_rate),
        ]
        print(f"{count} images, {size / 1e6:.0f} MB; {ok} with a checkpoint, {parsed} parsed by "
              f"sd-parsers; {platform.processor() or platform.machine()}, {os.cpu_count()} cores")  # fmt: skip
        print(f"| {'':48} | images/s |")
        print(f"| {'-' * 48} | -------- |")
        for name, value in rows:
            print(f"| {name:48} | {value:8.0f} |")
        print(
            f"goal: import at least {GOAL:.0f} images/s: {'met' if import_rate >= GOAL else 'MISSED'}"
        )
        print(
            f"goal: style features at least {GOAL:.0f} images/s: "
            f"{'met' if style_rate >= GOAL else 'MISSED'}"
        )
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(
            json.dumps(
                {"images": count, "bytes": size, **{name: value for name, value in rows}}, indent=2
            ),
            encoding="utf-8",
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
