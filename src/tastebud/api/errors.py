"""One JSON shape for every error the API sends, built in one place.

    {"status": 422, "error": "Invalid input",
     "details": [{"field": "loras[0].strength", "reason": "must be a number"}]}

Bad input is always a 4xx naming the field. An unexpected failure is a bare 500 whose body says
nothing about the exception (the server's log has the traceback).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from typing_extensions import TypedDict

from tastebud.errors import DatabaseUnavailable, InvalidInput, InvalidJson
from tastebud.problems import describe_problem

log = logging.getLogger("tastebud.api")

Detail = dict[str, str]


class ErrorDetail(TypedDict):
    field: str
    reason: str


class ErrorBody(TypedDict):
    """Every error the API answers: its status, a short title, and the fields it is about."""

    status: int
    error: str
    details: list[ErrorDetail]


# The routers declare it, so the OpenAPI document describes the errors as they are answered.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "Refused: the details name what is wrong"},
    "5XX": {"model": ErrorBody, "description": "The database is unavailable, or a bug"},
}


class ApiError(Exception):
    """An error the API answers with its status, a short title and the fields it is about."""

    def __init__(self, status: int, error: str, details: Iterable[Detail] = ()) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.details = list(details)


def error_body(status: int, error: str, details: Iterable[Detail] = ()) -> dict[str, Any]:
    """The body of every error response."""
    return {"status": status, "error": error, "details": list(details)}


def error_response(
    status: int,
    error: str,
    details: Iterable[Detail] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(status, error, details), status_code=status, headers=headers)


def detail(field: str, reason: str) -> Detail:
    return {"field": field, "reason": reason}


def install(app: FastAPI) -> None:
    """Render every error, expected or not, in the one shape."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.error, error.details)

    @app.exception_handler(InvalidInput)
    async def invalid_input(request: Request, error: InvalidInput) -> JSONResponse:
        if isinstance(error, InvalidJson):
            return error_response(400, "Not valid JSON", [detail(error.field, error.reason)])
        return error_response(422, "Invalid input", [detail(error.field, error.reason)])

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        details = []
        for problem in error.errors():
            # FastAPI's places start with where the value was: "query", "path" or "body".
            field, reason = describe_problem({**problem, "loc": tuple(problem["loc"])[1:]})
            details.append(detail(field or str(problem["loc"][0]), reason))
        return error_response(422, "Invalid input", details)

    @app.exception_handler(DatabaseUnavailable)
    async def unavailable(request: Request, error: DatabaseUnavailable) -> JSONResponse:
        log.error("%s", error)  # the driver's message is for the log, not for the client
        return error_response(503, "Database unavailable")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        # Starlette's own: 404 for an unknown path, 405 for a wrong method.
        title = _TITLES.get(error.status_code, "Error")
        return error_response(error.status_code, title, headers=error.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "Internal error")


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
}
