"""The endpoints: the seed's four, and what a host app needs besides.

Each endpoint is a thin translation of HTTP to one ``PreferenceLearning`` call. JSON bodies are
read here, whatever their Content-Type (``curl -d`` sends none that says JSON), and checked by the
same rules as the Python API, so an error names the same field either way.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from tastebud import __version__
from tastebud.api.errors import ApiError, detail
from tastebud.api.spreadsheet import events_csv
from tastebud.errors import InvalidInput, InvalidJson
from tastebud.names import canonical
from tastebud.service import MAX_PAGE, PreferenceLearning

router = APIRouter(prefix="/api")


async def _learning(request: Request) -> PreferenceLearning:
    # async: FastAPI runs a plain function dependency in a worker thread, a hand-off that cost
    # more than the recommendation it serves.
    learning: PreferenceLearning = request.app.state.preferences
    return learning


Learning = Annotated[PreferenceLearning, Depends(_learning)]
UserId = Annotated[str, Query(description="The profile: one person's taste.")]
Available = Annotated[
    list[str] | None,
    Query(description="Candidates to choose from: repeat the parameter, or separate by commas."),
]


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


async def _json_object(request: Request, schema: str) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        raise ApiError(400, "Empty body", [detail("body", f"must be a JSON object ({schema})")])
    try:
        value = json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidJson("body", "Invalid JSON: not UTF-8 text") from None
    except json.JSONDecodeError as error:
        reason = f"Invalid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        raise InvalidJson("body", reason) from None
    except RecursionError:
        raise InvalidJson("body", "Invalid JSON: nested too deep") from None
    except ValueError:  # Python's limit on the digits of an integer (4,300)
        raise InvalidJson("body", "Invalid JSON: a number with too many digits") from None
    if not isinstance(value, dict):
        raise InvalidInput("body", f"must be a JSON object ({schema})")
    return value


def _body(schema: str) -> dict[str, Any]:
    """The OpenAPI description of a JSON body whose schema is a component."""
    reference = {"$ref": f"#/components/schemas/{schema}"}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": reference}}}
    }


def _one_profile(body: dict[str, Any], user_id: str | None) -> None:
    """The query's ``user_id`` applies to a body that names none; the two must not disagree."""
    if user_id is None:
        return
    if body.get("user_id") not in (None, user_id):
        raise InvalidInput("user_id", "the body and the query name different profiles")
    body["user_id"] = user_id


# -- the seed's four ------------------------------------------------------------------------------


@router.get("/preferences/stats", summary="Totals and the best checkpoints and LoRAs")
async def stats(learning: Learning, user_id: UserId = "default") -> dict[str, Any]:
    return await learning.get_stats(user_id=user_id)


@router.get("/preferences/export", summary="Every event and statistic of a profile, as JSON")
async def export(learning: Learning, user_id: UserId = "default") -> Response:
    document = await learning.export_preferences(user_id=user_id)
    # Straight to JSON: FastAPI's encoder would walk 100,000 events a second time.
    return JSONResponse(
        document, headers={"Content-Disposition": 'attachment; filename="tastebud-export.json"'}
    )


@router.get(
    "/preferences/recommend/checkpoint", summary="The best checkpoint for a prompt, and why"
)
async def recommend_checkpoint(
    learning: Learning,
    prompt: Annotated[str, Query(description="The prompt, in Stable Diffusion syntax.")],
    available: Available = None,
    user_id: UserId = "default",
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
    prompt: Annotated[str, Query(description="The prompt, in Stable Diffusion syntax.")],
    batch: Annotated[int, Query(description="Images in the batch (1 to 64).")] = 8,
    available: Available = None,
    top: Annotated[int, Query(description="Checkpoints to split it across, at most.")] = 3,
    seed: Annotated[int | None, Query(description="Makes the split repeatable.")] = None,
    user_id: UserId = "default",
) -> Response:
    found = await learning.explore(
        prompt, batch, _names(available), top=top, seed=seed, user_id=user_id
    )
    return JSONResponse({**found.to_dict(), "user_id": user_id})


@router.get(
    "/preferences/recommend/lora-set",
    summary="The LoRAs to enable for a prompt and checkpoint, at their strengths",
)
async def recommend_lora_set(
    learning: Learning,
    prompt: Annotated[str, Query(description="The prompt, in Stable Diffusion syntax.")],
    checkpoint: Annotated[
        str | None, Query(description="The checkpoint they will be used with.")
    ] = None,
    most: Annotated[int, Query(description="How many LoRAs at most (1 to 20).")] = 3,
    available: Available = None,
    user_id: UserId = "default",
) -> Response:
    found = await learning.recommend_lora_set(
        prompt, checkpoint, most=most, available_loras=_names(available), user_id=user_id
    )
    return JSONResponse(found.to_dict())


@router.get("/preferences/recommend/loras", summary="The best LoRAs for a prompt and checkpoint")
async def recommend_loras(
    learning: Learning,
    prompt: Annotated[str, Query(description="The prompt, in Stable Diffusion syntax.")],
    checkpoint: Annotated[
        str | None, Query(description="The checkpoint they will be used with.")
    ] = None,
    count: Annotated[int, Query(description="How many, at most (1 to 100).")] = 3,
    available: Available = None,
    include_avoided: Annotated[
        bool, Query(description="Also list the LoRAs left out for the checkpoint, and why.")
    ] = False,
    user_id: UserId = "default",
) -> Response:
    loras = await learning.explain_loras(
        prompt, checkpoint, count, available_loras=_names(available), user_id=user_id
    )
    return JSONResponse([lora.to_dict() for lora in loras if include_avoided or not lora.avoided])


# -- recording --------------------------------------------------------------------------------


@router.post(
    "/preferences",
    status_code=201,
    summary="Record one selected or rejected image",
    openapi_extra=_body("EventInput"),
)
async def record(
    request: Request,
    learning: Learning,
    user_id: Annotated[str | None, Query(description="For a body that names none.")] = None,
) -> dict[str, Any]:
    body = await _json_object(request, "an event")
    _one_profile(body, user_id)
    event = await learning.record_preference(**body)
    return event.to_dict()


@router.post(
    "/preferences/batch",
    summary="Record a judged batch: 'advance' or 'reject_all'",
    openapi_extra=_body("BatchInput"),
)
async def record_batch(
    request: Request,
    learning: Learning,
    user_id: Annotated[str | None, Query(description="For a body that names none.")] = None,
) -> dict[str, Any]:
    body = await _json_object(request, "a batch: images, outcome, selected")
    _one_profile(body, user_id)
    for required in ("images", "outcome"):
        if required not in body:
            raise InvalidInput(required, "is required")
    images = body.pop("images")
    summary = await learning.record_judged_batch(images, **body)
    kept = len(set(body.get("selected") or ()))
    return {
        "user_id": canonical(str(body.get("user_id") or "default")),
        "images": len(images),
        "selected": kept,
        "rejected": len(images) - kept,
        "added": summary.added,
        "replaced": summary.replaced,
        "unchanged": summary.unchanged,
    }


@router.post(
    "/preferences/import",
    summary="Merge an export document into a profile",
    openapi_extra=_body("Export"),
)
async def import_(
    request: Request, learning: Learning, user_id: UserId = "default"
) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        raise ApiError(400, "Empty body", [detail("body", "must be an export document")])
    # The text goes to the import as it is: parsed and checked in one pass.
    summary = await learning.import_preferences(raw, user_id=user_id)
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
    learning: Learning,
    filters: Filters,
    user_id: UserId = "default",
    limit: Annotated[int, Query(description=f"Events per page (1 to {MAX_PAGE}).")] = 50,
    cursor: Annotated[str | None, Query(description="The next_cursor of the page before.")] = None,
) -> dict[str, Any]:
    if cursor is not None and not (cursor.isascii() and cursor.isdigit()):  # "²" is a digit
        raise InvalidInput("cursor", "must be the next_cursor of an earlier page")
    page = await learning.list_preferences(
        user_id=user_id, **filters.given, limit=limit,
        cursor=None if cursor is None else int(cursor),
    )  # fmt: skip
    return {
        "user_id": user_id,
        "total": page.total,
        "preferences": [event.to_dict() for event in page.events],
        "next_cursor": None if page.next_cursor is None else str(page.next_cursor),
    }


@router.get(
    "/preferences/download", summary="A profile's events (filtered as above) as a CSV or JSON file"
)
async def download_preferences(
    learning: Learning,
    filters: Filters,
    user_id: UserId = "default",
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
async def delete(
    generation_id: str, learning: Learning, user_id: UserId = "default"
) -> dict[str, Any]:
    if not await learning.delete_preference(generation_id, user_id=user_id):
        reason = f"no event with this generation id in profile {user_id!r}"
        raise ApiError(404, "Not found", [detail("generation_id", reason)])
    return {"deleted": True, "generation_id": generation_id, "user_id": user_id}


@router.get("/health", summary="Whether the service and its database answer")
async def health(learning: Learning) -> dict[str, Any]:
    return {"status": "ok", "version": __version__, "database": await learning.ping()}
