"""Thumbnails of generated images for the web panel, made once with Pillow and kept on disk.

A thumbnail is named by the image's content hash and size, so it never goes stale: a different
image is a different generation. Written to a temporary name and renamed, so that two requests
for the same thumbnail never see half a file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from tastebud.api.files import MAX_PIXELS

SIZES = range(32, 1025)


def thumbnail(source: BinaryIO, content_hash: str, folder: Path, size: int) -> Path:
    """The path of the ``size``-pixel WebP thumbnail of the open image ``source``, made if it is
    not there. An image of more than ``MAX_PIXELS`` is refused before it is decoded."""
    target = folder / content_hash[:2] / f"{content_hash}-{size}.webp"
    if target.is_file():
        return target
    with Image.open(source) as image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ValueError(f"{width} x {height} pixels is more than {MAX_PIXELS:,}")
        image.draft("RGB", (size, size))  # JPEG decodes at a fraction of its size: much faster
        image.thumbnail((size, size))
        picture = image if image.mode in ("RGB", "RGBA") else image.convert("RGBA")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.part")
        picture.save(partial, "WEBP", quality=80)
    partial.replace(target)
    return target
