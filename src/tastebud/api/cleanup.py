"""Endpoints of the cleanup of rejected images: what may go, moving it to the trash, undoing.

Only images inside the server's ``--image-folders`` are ever touched; a server without any
refuses (403). The rules are ``tastebud.cleanup``'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import ConfigDict, Field
from typing_extensions import TypedDict

from tastebud.api.bodies import JsonBodies
from tastebud.api.errors import ERROR_RESPONSES, ApiError, detail
from tastebud.api.routes import BodyUserId, Learning, UserId, in_body
from tastebud.cleanup import GRACE_DAYS, MAX_DAYS
from tastebud.events import UserId as UserIdRule
from tastebud.settings import Settings

router = APIRouter(prefix="/api", route_class=JsonBodies, responses=ERROR_RESPONSES)

Days = Annotated[
    float,
    Field(
        ge=0,
        le=MAX_DAYS,
        allow_inf_nan=False,
        description="Only images rejected at least this many days ago.",
    ),
]


class Cleanup(TypedDict, total=False):
    """Move the rejected images that are safe to move to the server's trash folder."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    older_than_days: Days
    user_id: UserIdRule


class Undo(TypedDict, total=False):
    """Put back what the profile's last cleanup moved."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    user_id: UserIdRule


def _folders(request: Request) -> list[Path]:
    settings: Settings = request.app.state.settings
    if not settings.allowed_folders:
        reason = "this server reads no image folder: start it with --image-folders"
        raise ApiError(403, "Forbidden", [detail("image_folders", reason)])
    return list(settings.allowed_folders)


@router.get("/vision", summary="What the vision model is doing (off unless --vision-url)")
async def vision_status(request: Request) -> dict[str, Any]:
    queue = request.app.state.vision
    return {"enabled": False} if queue is None else dict(queue.status())


def _needs_vision(request: Request) -> bool:
    return request.app.state.vision is not None


@router.get("/cleanup", summary="The rejected images that are safe to move away (a dry run)")
async def cleanup_plan(
    request: Request,
    learning: Learning,
    user_id: UserId,
    older_than_days: Annotated[float, Query(ge=0, le=MAX_DAYS, allow_inf_nan=False)] = GRACE_DAYS,
) -> dict[str, Any]:
    plan = await learning.plan_cleanup(
        _folders(request), user_id=user_id, older_than_days=older_than_days,
        described_first=_needs_vision(request),
    )  # fmt: skip
    return {"user_id": user_id, **plan.to_dict(), "dry_run": True}


@router.post("/cleanup", summary="Move the rejected images that are safe to move to the trash")
async def clean_up(
    request: Request, learning: Learning, body: Annotated[Cleanup, Body()], user_id: BodyUserId
) -> dict[str, Any]:
    given: Cleanup = in_body(body, user_id)
    settings: Settings = request.app.state.settings
    user = given.get("user_id", "default")
    done = await learning.clean_up(
        _folders(request), settings.trash_folder, user_id=user,
        older_than_days=given.get("older_than_days", GRACE_DAYS),
        described_first=_needs_vision(request),
    )  # fmt: skip
    return {"user_id": user, **done.to_dict()}


@router.post("/cleanup/undo", summary="Put back what the last cleanup moved")
async def undo_cleanup(
    request: Request, learning: Learning, body: Annotated[Undo, Body()], user_id: BodyUserId
) -> dict[str, Any]:
    given: Undo = in_body(body, user_id)
    _folders(request)
    user = given.get("user_id", "default")
    return {"user_id": user, **(await learning.undo_cleanup(user_id=user)).to_dict()}
