"""The endpoints: the seed's four, and what a host app needs besides.

Each endpoint is a thin translation of HTTP to one ``PreferenceLearning`` call. Bodies and
parameters are declared with the service's own input types, so FastAPI checks them by the same
rules as the Python API (an error names the same field either way) and writes the OpenAPI schema
from them; bodies are JSON whatever their Content-Type (``bodies.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from tastebud import __version__
from tastebud.api.bodies import JsonBodies, raw_json
from tastebud.api.errors import ERROR_RESPONSES, ApiError, detail
from tastebud.api.spreadsheet import events_csv
from tastebud.batches import BatchInput
from tastebud.errors import InvalidInput
from tastebud.events import EventInput, check_user_id
from tastebud.exports import ExportInput
from tastebud.paging import MAX_PAGE, PageRequest
from tastebud.service import PreferenceLearning

router = APIRouter(prefix="/api", route_class=JsonBodies, responses=ERROR_RESPONSES)


async def _learning(request: Request) -> PreferenceLearning:
    # async: FastAPI runs a plain function dependency in a worker thread, a hand-off that cost
    # more than the recommendation it serves.
    learning: PreferenceLearning = request.app.state.preferences
    return learning


Learning = Annotated[PreferenceLearning, Depends(_learning)]


async def _profile(
    user_id: Annotated[str, Query(description="The profile: one person's taste.")] = "default",
) -> str:
    return check_user_id(user_id)


async def _profile_for_body(
    user_id: Annotated[
        str | None, Query(description="The profile, for a body that names none.")
    ] = None,
) -> str | None:
    return None if user_id is None else check_user_id(user_id)


# The profile a request is about, checked (and in NFC) like every user_id.
UserId = Annotated[str, Depends(_profile)]
BodyUserId = Annotated[str | None, Depends(_profile_for_body)]
Available = Annotated[
    list[str] | None,
    Query(description="Candidates to choose from: repeat the parameter, or separate by commas."),
]


async def _page(
    limit: Annotated[int, Query(description=f"Items per page (1 to {MAX_PAGE}).")] = 50,
    cursor: Annotated[str | None, Query(description="The next_cursor of the page before.")] = None,
) -> PageRequest:
    return PageRequest.from_text(limit, cursor)


Page = Annotated[PageRequest, Depends(_page)]


class EventFilters:
    """Which of a profile's events a listing or a download holds (GET /api/preferences)."""

    def __init__(
        self,
        checkpoint: Annotated[str | None, Query(description="Only this checkpoint.")] = None,
        keyword: Annotated[str | None, Query(description="Only prompts with this keyword.")] = None,
        action: Annotated[str | None, Query(description="'selected' or 'rejected'.")] = None,
        session_id: Annotated[str | None, Query(description="Only this session.")] = None,
    ) -> None:
        self.given = {
            "checkpoint": checkpoint, "keyword": keyword, "action": action,
            "session_id": session_id,
        }  # fmt: skip


Filters = Annotated[EventFilters, Depends()]


def _names(values: list[str] | None) -> list[str] | None:
    """``available=a&available=b,c`` -> ``["a", "b", "c"]``; absent -> None (every seen one)."""
    if values is None:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def in_body(body: Any, user_id: str | None) -> Any:
    """The query's ``user_id`` applies to a body that names none; the two must not disagree."""
    if user_id is None:
        return body
    if body.get("user_id") not in (None, user_id):
        raise InvalidInput("user_id", "the body and the query name different profiles")
    return {**body, "user_id": user_id}


# -- the seed's four ------------------------------------------------------------------------------


@router.get("/preferences/stats", summary="Totals and the best checkpoints and LoRAs")
async def stats(learning: Learning, user_id: UserId) -> dict[str, Any]:
    return await learning.get_stats(user_id=user_id)


@router.get("/preferences/export", summary="Every event and statistic of a profile, as JSON")
async def export(learning: Learning, user_id: UserId) -> Response:
    document = await learning.export_preferences(user_id=user_id)
    # Straight to JSON: FastAPI's encoder would walk 100,000 events a second time.
    return JSONResponse(
        document, headers={"Content-Disposition": 'attachment; filename="tastebud-export.json"'}
    )


Prompt = Annotated[str, Query(description="The prompt, in Stable Diffusion syntax.")]


@router.get(
    "/preferences/recommend/checkpoint", summary="The best checkpoint for a prompt, and why"
)
async def recommend_checkpoint(
    learning: Learning, prompt: Prompt, user_id: UserId, available: Available = None
) -> Response:
    found = await learning.recommend(prompt, _names(available), user_id=user_id)
    # Straight to JSON (as below): the answer is plain data, and FastAPI's encoder walking it
    # again was a tenth of a recommendation's time.
    return JSONResponse({**found.to_dict(), "user_id": user_id})


@router.get(
    "/preferences/explore",
    summary="Split a batch across the most promising checkpoints (Thompson sampling)",
)
async def explore(
    learning: Learning,
    prompt: Prompt,
    user_id: UserId,
    batch: Annotated[int, Query(description="Images in the batch (1 to 64).")] = 8,
    available: Available = None,
    top: Annotated[int, Query(description="Checkpoints to split it across, at most.")] = 3,
    seed: Annotated[int | None, Query(description="Makes the split repeatable.")] = None,
) -> Response:
    found = await learning.explore(
        prompt, batch, _names(available), top=top, seed=seed, user_id=user_id
    )
    return JSONResponse({**found.to_dict(), "user_id": user_id})


Checkpoint = Annotated[str | None, Query(description="The checkpoint they will be used with.")]


@router.get(
    "/preferences/recommend/lora-set",
    summary="The LoRAs to enable for a prompt and checkpoint, at their strengths",
)
async def recommend_lora_set(
    learning: Learning,
    prompt: Prompt,
    user_id: UserId,
    checkpoint: Checkpoint = None,
    most: Annotated[int, Query(description="How many LoRAs at most (1 to 20).")] = 3,
    available: Available = None,
) -> Response:
    found = await learning.recommend_lora_set(
        prompt, checkpoint, most=most, available_loras=_names(available), user_id=user_id
    )
    return JSONResponse(found.to_dict())


@router.get("/preferences/recommend/loras", summary="The best LoRAs for a prompt and checkpoint")
async def recommend_loras(
    learning: Learning,
    prompt: Prompt,
    user_id: UserId,
    checkpoint: Checkpoint = None,
    count: Annotated[int, Query(description="How many, at most (1 to 100).")] = 3,
    available: Available = None,
    include_avoided: Annotated[
        bool, Query(description="Also list the LoRAs left out for the checkpoint, and why.")
    ] = False,
) -> Response:
    loras = await learning.explain_loras(
        prompt, checkpoint, count, available_loras=_names(available), user_id=user_id
    )
    return JSONResponse([lora.to_dict() for lora in loras if include_avoided or not lora.avoided])


# -- recording --------------------------------------------------------------------------------


@router.post("/preferences", status_code=201, summary="Record one selected or rejected image")
async def record(
    learning: Learning, body: Annotated[EventInput, Body()], user_id: BodyUserId
) -> dict[str, Any]:
    event = await learning.record_event(in_body(body, user_id))
    return event.to_dict()


@router.post("/preferences/batch", summary="Record a judged batch: 'advance' or 'reject_all'")
async def record_batch(
    learning: Learning, body: Annotated[BatchInput, Body()], user_id: BodyUserId
) -> dict[str, Any]:
    batch: BatchInput = in_body(body, user_id)
    summary = await learning.record_judged(batch)
    images = len(batch["images"])
    kept = len(set(batch.get("selected") or ()))
    return {
        "user_id": check_user_id(batch.get("user_id") or "default"),  # in NFC
        "images": images,
        "selected": kept,
        "rejected": images - kept,
        "added": summary.added,
        "replaced": summary.replaced,
        "unchanged": summary.unchanged,
    }


EXPORT_BODY = (
    "An export document (GET /api/preferences/export), of any version 1.x. Its events and review "
    "queue move into the profile user_id, if given; statistics are recomputed from the events."
)


@router.post("/preferences/import", summary="Merge an export document into a profile")
async def import_(
    learning: Learning,
    # The text goes to the import as it is: parsed and checked in one pass.
    document: Annotated[bytes, raw_json(ExportInput), Body(description=EXPORT_BODY)],
    user_id: UserId,
) -> dict[str, Any]:
    summary = await learning.import_preferences(document, user_id=user_id)
    return {
        "user_id": user_id,
        "added": summary.added,
        "replaced": summary.replaced,
        "unchanged": summary.unchanged,
        "kept_newer": summary.kept_newer,
    }


# -- browsing and undoing -------------------------------------------------------------------------


@router.get("/preferences", summary="A profile's events, most recently recorded first")
async def list_preferences(
    learning: Learning, filters: Filters, user_id: UserId, page: Page
) -> dict[str, Any]:
    found = await learning.list_preferences(
        user_id=user_id, **filters.given, limit=page.limit, cursor=page.cursor
    )
    return {
        "user_id": user_id,
        "total": found.total,
        "preferences": [event.to_dict() for event in found.events],
        "next_cursor": None if found.next_cursor is None else str(found.next_cursor),
    }


@router.get(
    "/preferences/download", summary="A profile's events (filtered as above) as a CSV or JSON file"
)
async def download_preferences(
    learning: Learning,
    filters: Filters,
    user_id: UserId,
    format: Annotated[str, Query(description="'csv' (a spreadsheet) or 'json'.")] = "csv",
) -> Response:
    if format not in ("csv", "json"):
        raise InvalidInput("format", "must be 'csv' or 'json'")
    events: list[dict[str, Any]] = []
    cursor = None
    while True:  # page by page, as GET /api/preferences reads them
        page = await learning.list_preferences(
            user_id=user_id, **filters.given, limit=MAX_PAGE, cursor=cursor
        )
        events.extend(event.to_dict() for event in page.events)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    name = "tastebud-events-" + "".join(c if c.isalnum() else "_" for c in user_id)
    if format == "json":
        return JSONResponse(
            events, headers={"Content-Disposition": f'attachment; filename="{name}.json"'}
        )
    return Response(
        events_csv(events),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.delete("/preferences/{generation_id:path}", summary="Forget one event (undo a mis-click)")
async def delete(generation_id: str, learning: Learning, user_id: UserId) -> dict[str, Any]:
    if not await learning.delete_preference(generation_id, user_id=user_id):
        reason = f"no event with this generation id in profile {user_id!r}"
        raise ApiError(404, "Not found", [detail("generation_id", reason)])
    return {"deleted": True, "generation_id": generation_id, "user_id": user_id}


@router.get("/health", summary="Whether the service and its database answer")
async def health(learning: Learning) -> dict[str, Any]:
    return {"status": "ok", "version": __version__, "database": await learning.ping()}
