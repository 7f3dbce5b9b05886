"""Endpoints the web panel needs beyond the rest: the overview, profiles, check and repair, and
the images of the review queue (thumbnails and originals), which are served only from the folders
the server may read."""

from __future__ import annotations

import asyncio
import hmac
import mimetypes
import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import FileResponse, Response
from PIL import Image
from pydantic import ConfigDict, StrictStr
from typing_extensions import TypedDict

from tastebud.api.bodies import JsonBodies
from tastebud.api.errors import ERROR_RESPONSES, ApiError, detail
from tastebud.api.files import Outside, open_inside
from tastebud.api.routes import Learning, UserId
from tastebud.api.thumbnails import SIZES, thumbnail
from tastebud.errors import InvalidInput
from tastebud.events import UserId as UserIdRule
from tastebud.events import check_user_id
from tastebud.generations import Generation
from tastebud.service import PreferenceLearning
from tastebud.settings import Settings

router = APIRouter(prefix="/api", route_class=JsonBodies, responses=ERROR_RESPONSES)


class TokenInput(TypedDict):
    """The server's token, as the panel's log-in sends it."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    token: StrictStr


class ProfileInput(TypedDict):
    """A new, empty profile."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    user_id: UserIdRule


@router.post(
    "/session",
    status_code=204,
    summary="Keep the server's token in this browser (the web panel's log-in)",
)
async def session(request: Request, body: Annotated[TokenInput, Body()]) -> Response:
    """Check the token and hand it back as an ``HttpOnly``, ``SameSite=Strict`` cookie named for
    this port: the panel's images and downloads are plain browser requests that carry no
    header, and no script of any page can read the cookie."""
    settings: Settings = request.app.state.settings
    token = body["token"]
    if settings.token is None:
        return Response(status_code=204)  # nothing to keep: every request is let in
    if not hmac.compare_digest(token.encode(), settings.token.encode()):
        raise ApiError(401, "Unauthorized", [detail("token", "is not this server's token")])
    response = Response(status_code=204)
    response.set_cookie(settings.token_cookie, token, httponly=True, samesite="strict", path="/")
    return response


@router.get("/preferences/overview", summary="What the profile's history says at a glance")
async def overview(learning: Learning, user_id: UserId) -> dict[str, Any]:
    return await learning.overview(user_id=user_id)


@router.get("/profiles", summary="Every profile, with its number of events")
async def profiles(learning: Learning) -> dict[str, Any]:
    found = await learning.list_profiles()
    return {"profiles": [{"user_id": name, "total": total} for name, total in found.items()]}


@router.post("/profiles", status_code=201, summary="Make an empty profile")
async def create_profile(
    learning: Learning, body: Annotated[ProfileInput, Body()]
) -> dict[str, Any]:
    user_id = check_user_id(body["user_id"])
    if not await learning.create_profile(user_id):
        raise ApiError(409, "Conflict", [detail("user_id", "this profile exists already")])
    return {"user_id": user_id, "total": 0}


@router.delete(
    "/profiles/{user_id:path}",
    summary="Delete a profile and everything of it (events, statistics, review queue)",
)
async def delete_profile(user_id: str, learning: Learning) -> dict[str, Any]:
    forgotten = await learning.delete_profile(user_id)
    if forgotten is None:
        raise ApiError(404, "Not found", [detail("user_id", f"no profile {user_id!r}")])
    return {"user_id": user_id, "events": forgotten}


def _report(report: Any) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "events": report.events,
        "statistics": report.statistics,
        "wrong": len(report.wrong),
    }


@router.get("/check", summary="Recount every statistic from the events and compare")
async def check(learning: Learning) -> dict[str, Any]:
    return _report(await learning.check())


@router.post("/repair", summary="Rebuild the statistics from the events (says what was wrong)")
async def repair(learning: Learning) -> dict[str, Any]:
    return _report(await learning.repair())


async def _readable(
    request: Request, learning: PreferenceLearning, generation_id: int, user_id: str
) -> tuple[Generation, int]:
    """The generation and its file opened for reading, if it is one this server may read (inside
    the image folders once opened: see files.py) and is there. The caller closes the file."""
    found = await learning.generation(generation_id, user_id=user_id)
    if found is None:
        reason = f"no generation {generation_id} for profile {user_id!r}"
        raise ApiError(404, "Not found", [detail("id", reason)])
    if not found.path:  # its file was overwritten by another image (queue.follow_files)
        reason = "its file now holds another image"
        raise ApiError(404, "Not found", [detail("id", reason)])
    settings: Settings = request.app.state.settings
    try:
        descriptor = open_inside(found.path, settings.allowed_folders)
    except Outside:
        reason = "the image is not inside a folder this server may read (--image-folders)"
        raise ApiError(403, "Forbidden", [detail("id", reason)]) from None
    except OSError:
        name = Path(found.path).name
        raise ApiError(404, "Not found", [detail("id", f"the file {name} is gone")]) from None
    return found, descriptor


@router.get("/generations/{generation_id}/image", summary="The image file of a generation")
async def image(
    request: Request, generation_id: int, learning: Learning, user_id: UserId
) -> Response:
    found, descriptor = await _readable(request, learning, generation_id, user_id)
    with os.fdopen(descriptor, "rb") as opened:
        content = await asyncio.to_thread(opened.read)
    kind = mimetypes.guess_type(found.path)[0] or "application/octet-stream"
    return Response(content, media_type=kind)


@router.get("/generations/{generation_id}/thumbnail", summary="A small WebP of a generation")
async def thumbnail_of(
    request: Request,
    generation_id: int,
    learning: Learning,
    user_id: UserId,
    size: Annotated[int, Query(description="The longer side, 32 to 1024 pixels.")] = 256,
) -> FileResponse:
    if size not in SIZES:
        raise InvalidInput("size", "must be from 32 to 1024 pixels")
    found, descriptor = await _readable(request, learning, generation_id, user_id)
    settings: Settings = request.app.state.settings
    try:
        with os.fdopen(descriptor, "rb") as opened:
            # One decode at a time (create_app's semaphore): each may take an image's full size.
            async with request.app.state.decoding:
                made = await asyncio.to_thread(
                    thumbnail, opened, found.content_hash, Path(settings.thumbnail_folder), size
                )
    except (OSError, ValueError, Image.DecompressionBombError) as error:  # not a readable image
        raise InvalidInput("id", f"cannot make a thumbnail: {error}") from None
    return FileResponse(made, media_type="image/webp", headers={"Cache-Control": "max-age=86400"})
