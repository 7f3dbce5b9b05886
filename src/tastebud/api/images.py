"""Endpoints of the images people already have: import a folder, and the review queue."""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Required

from fastapi import APIRouter, Body, Query, Request
from PIL import Image
from pydantic import ConfigDict, Field, StrictBool, StrictInt
from typing_extensions import TypedDict

from tastebud.api.bodies import JsonBodies
from tastebud.api.errors import ERROR_RESPONSES, ApiError, detail
from tastebud.api.routes import BodyUserId, Learning, Page, UserId, in_body
from tastebud.errors import InvalidInput
from tastebud.events import UserId as UserIdRule
from tastebud.generations import STATUSES, QueueFilter
from tastebud.importers.folders import (
    Rules,
    image_files,
    import_images,
    invokeai_kept,
    is_image_name,
)
from tastebud.problems import NO_NUL
from tastebud.settings import Settings
from tastebud.style import Style, style_of_image

router = APIRouter(prefix="/api", route_class=JsonBodies, responses=ERROR_RESPONSES)
MAX_REVIEW = 1_000


class ImageImport(TypedDict, total=False):
    """A folder to import, and what in it counts as kept or rejected."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    folder: Required[
        Annotated[
            str,
            Field(min_length=1, pattern=NO_NUL, description="A folder inside --image-folders."),
        ]
    ]
    recursive: Annotated[StrictBool, Field(description="Also the folders inside it.")]
    files: Annotated[
        list[Annotated[str, Field(min_length=1, pattern=NO_NUL)]],
        Field(
            min_length=1,
            max_length=MAX_REVIEW,
            description="Only these image files, each inside folder: what a generator just saved.",
        ),
    ]
    selected: Annotated[
        str, Field(min_length=1, pattern=NO_NUL, description="Images under it were kept.")
    ]
    rejected: Annotated[
        str, Field(min_length=1, pattern=NO_NUL, description="Images under it were rejected.")
    ]
    dry_run: Annotated[StrictBool, Field(description="Say what would happen; change nothing.")]
    user_id: UserIdRule


class Review(TypedDict, total=False):
    """Judge generations of the review queue (or, with 'unreviewed', take a judgement back)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    ids: Required[Annotated[list[StrictInt], Field(min_length=1, max_length=MAX_REVIEW)]]
    action: Required[Literal["selected", "rejected", "unreviewed"]]
    implicit: Annotated[
        StrictBool, Field(description="Rejections that were the unselected rest of a batch.")
    ]
    user_id: UserIdRule


class Advance(TypedDict, total=False):
    """A reviewed page: what was kept, what was rejected, and the rest (rejected implicitly)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    selected: Annotated[list[StrictInt], Field(max_length=MAX_REVIEW)]
    rejected: Annotated[list[StrictInt], Field(max_length=MAX_REVIEW)]
    rest: Annotated[list[StrictInt], Field(max_length=MAX_REVIEW)]
    user_id: UserIdRule


def _allowed(settings: Settings, field: str, given: str) -> Path:
    """The folder, if the server may read it; 403 if not, 422 if it is not a folder."""
    folder = Path(given).expanduser().resolve()
    allowed = settings.allowed_folders
    if not allowed:
        reason = "this server reads no image folder: start it with --image-folders"
        raise ApiError(403, "Forbidden", [detail(field, reason)])
    if not any(folder.is_relative_to(root) for root in allowed):
        reason = f"{given!r} is not inside a folder this server may read (--image-folders)"
        raise ApiError(403, "Forbidden", [detail(field, reason)])
    if not folder.is_dir():
        raise InvalidInput(field, f"{given!r} is not a folder")
    return folder


def _inside(folder: Path, field: str, given: str) -> Path:
    """A file named in ``files``, if it is inside ``folder``; 403 if not."""
    path = Path(given).expanduser()
    path = (folder / path if not path.is_absolute() else path).resolve()
    if not path.is_relative_to(folder):
        reason = f"{given!r} is not inside the folder {str(folder)!r}"
        raise ApiError(403, "Forbidden", [detail(field, reason)])
    if not is_image_name(path.name):
        raise InvalidInput(field, f"{given!r} is not a PNG, JPEG or WebP file")
    return path


@router.post(
    "/images/import",
    summary="Import a folder of generated images: metadata in, kept / rejected / review queue",
)
async def import_folder(
    request: Request,
    learning: Learning,
    body: Annotated[ImageImport, Body()],
    user_id: BodyUserId,
) -> dict[str, Any]:
    given: ImageImport = in_body(body, user_id)
    settings: Settings = request.app.state.settings
    folder = _allowed(settings, "folder", given["folder"])
    selected = given.get("selected")
    rejected = given.get("rejected")
    rules = Rules(
        selected=(_allowed(settings, "selected", selected),) if selected else (),
        rejected=(_allowed(settings, "rejected", rejected),) if rejected else (),
        starred=invokeai_kept(folder, settings.kept_folder_names),
        kept_names=settings.kept_folder_names,
    )
    files = given.get("files")
    report = await import_images(
        learning,
        [_inside(folder, f"files[{i}]", name) for i, name in enumerate(files)]
        if files is not None
        else image_files(folder, recursive=given.get("recursive", False)),
        root=folder,
        rules=rules,
        user_id=given.get("user_id", "default"),
        dry_run=given.get("dry_run", False),
    )
    if report.imported:
        request.app.state.styles.start()  # their pixels, after the answer
    return {"user_id": given.get("user_id", "default"), "folder": str(folder), **report.to_dict()}


@router.get("/generations", summary="Images awaiting review (or judged), in the order found")
async def list_generations(
    learning: Learning,
    user_id: UserId,
    page: Page,
    status: Annotated[
        str | None, Query(description=f"One of {', '.join(STATUSES)}; every one when absent.")
    ] = "unreviewed",
    folder: Annotated[
        str | None,
        Query(max_length=4096, pattern=NO_NUL, description="Only images in this folder or below."),
    ] = None,
    checkpoint: Annotated[
        str | None, Query(max_length=512, pattern=NO_NUL, description="Only this checkpoint's.")
    ] = None,
    lora: Annotated[
        str | None, Query(max_length=512, pattern=NO_NUL, description="Only images with this LoRA.")
    ] = None,
    since: Annotated[
        date | None, Query(description="Only images made on this day or later.")
    ] = None,
    until: Annotated[
        date | None, Query(description="Only images made on this day or before.")
    ] = None,
) -> dict[str, Any]:
    only = QueueFilter(
        folder=folder or None, checkpoint=checkpoint or None, lora=lora or None,
        since=None if since is None else datetime.combine(since, time(), UTC),
        until=None if until is None else datetime.combine(until + timedelta(days=1), time(), UTC),
    )  # fmt: skip
    found = await learning.list_generations(
        status or None, user_id=user_id, limit=page.limit, cursor=page.cursor, only=only
    )
    return {
        "user_id": user_id,
        "status": status or None,
        "total": found.total,
        "generations": [item.to_dict() for item in found.generations],
        "next_cursor": None if found.next_cursor is None else str(found.next_cursor),
    }


@router.get(
    "/generations/facets",
    summary="What the review queue's filters can choose from: folders, checkpoints, LoRAs, days",
)
async def generation_facets(
    learning: Learning,
    user_id: UserId,
    status: Annotated[
        str | None, Query(description=f"One of {', '.join(STATUSES)}; every one when absent.")
    ] = "unreviewed",
) -> dict[str, Any]:
    found = await learning.queue_facets(status or None, user_id=user_id)
    return {"user_id": user_id, "status": status or None, **found}


@router.post(
    "/generations/review",
    summary="Keep or reject generations of the review queue (records their preferences)",
)
async def review(
    learning: Learning, body: Annotated[Review, Body()], user_id: BodyUserId
) -> dict[str, Any]:
    given: Review = in_body(body, user_id)
    profile = given.get("user_id", "default")
    judged = await learning.review_generations(
        given["ids"], given["action"], implicit=given.get("implicit", False), user_id=profile
    )
    return {"user_id": profile, "generations": [item.to_dict() for item in judged]}


@router.post(
    "/generations/advance",
    summary="Record a reviewed page in one transaction: kept, rejected, the rest implicitly",
)
async def advance(
    learning: Learning, body: Annotated[Advance, Body()], user_id: BodyUserId
) -> dict[str, Any]:
    given: Advance = in_body(body, user_id)
    profile = given.get("user_id", "default")
    judged = await learning.advance_generations(
        given.get("selected", []), given.get("rejected", []), given.get("rest", []),
        user_id=profile,
    )  # fmt: skip
    return {"user_id": profile, "generations": [item.to_dict() for item in judged]}


MAX_STYLE_IMAGES = 64
MAX_STYLE_BYTES = 8_000_000


class StyleRequest(TypedDict):
    """Images to read the look of: PNG, JPEG or WebP files in base64 (a small copy will do)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    images: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=MAX_STYLE_BYTES * 4 // 3 + 4)]],
        Field(min_length=1, max_length=MAX_STYLE_IMAGES),
    ]


@router.post("/style", summary="The look of images sent (for integrations that hold the pixels)")
async def read_style(request: Request, body: Annotated[StyleRequest, Body()]) -> dict[str, Any]:
    """What ``tastebud.style`` reads from each image, in order; an integration that holds the
    pixels (the ComfyUI picker) sends a small copy, and records the style with its events."""
    decoded = []
    for index, text in enumerate(body["images"]):
        try:
            decoded.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            raise InvalidInput(f"images[{index}]", "is not base64") from None
    styles = []
    for index, data in enumerate(decoded):
        try:
            async with request.app.state.decoding:
                found = await asyncio.to_thread(_style_of_bytes, data)
        except (OSError, ValueError, Image.DecompressionBombError):
            raise InvalidInput(
                f"images[{index}]", "is not a readable PNG, JPEG or WebP image"
            ) from None
        styles.append(found.to_dict())
    return {"styles": styles}


def _style_of_bytes(data: bytes) -> Style:
    with Image.open(io.BytesIO(data), formats=["PNG", "JPEG", "WEBP"]) as image:
        return style_of_image(image)
