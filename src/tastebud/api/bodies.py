"""JSON bodies, read the same way whatever their Content-Type.

Every endpoint that takes a body declares it as a type (``EventInput``, ``BatchInput``, ...):
FastAPI checks it and writes its schema into the OpenAPI document from that one source. Two things
FastAPI does not do the way tastebud's users need are done here, by the routers' route class:

- ``curl -d '{...}'`` sends its JSON as ``application/x-www-form-urlencoded``: a body is JSON
  whatever its Content-Type says (the API takes no forms).
- A body that is not JSON gets an answer that says why ("nested too deep", "line 1 column 9"),
  in the one error shape, rather than FastAPI's bare "There was an error parsing the body".

An endpoint that reads the text itself (the import, which checks 100,000 events in one pass over
the text) declares its body with ``raw_json``: the same schema, the text handed over as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import PlainValidator

from tastebud.api.errors import ApiError, detail
from tastebud.errors import InvalidJson

_JSON = (b"content-type", b"application/json")


def parse_json(raw: bytes) -> Any:
    """The JSON value of a body, or ``InvalidJson`` saying what is wrong with it."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidJson("body", "Invalid JSON: not UTF-8 text") from None
    except json.JSONDecodeError as error:
        reason = f"Invalid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        raise InvalidJson("body", reason) from None
    except RecursionError:
        raise InvalidJson("body", "Invalid JSON: nested too deep") from None
    except ValueError:  # Python's limit on the digits of an integer (4,300)
        raise InvalidJson("body", "Invalid JSON: a number with too many digits") from None


class _JsonRequest(Request):
    """A request whose body has been read and parsed once, before FastAPI looks at it."""

    parsed: Any = None
    raw: bool = False

    async def json(self) -> Any:
        return await self.body() if self.raw else self.parsed


def raw_json(documented_as: Any) -> PlainValidator:
    """For a ``bytes`` body of an endpoint that parses the JSON text itself
    (``Annotated[bytes, raw_json(ExportInput), Body()]``): the OpenAPI schema is
    ``documented_as``'s, the value the endpoint gets is the body's bytes."""
    return PlainValidator(_as_given, json_schema_input_type=documented_as)


def _as_given(value: Any) -> Any:
    return value


class JsonBodies(APIRoute):
    """The route class of every router of the API (see the module's docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        raw = any(
            isinstance(rule, PlainValidator) and rule.func is _as_given
            for rule in self.body_field.field_info.metadata
        )

        async def read_json_first(request: Request) -> Response:
            body = await request.body()
            if not body.strip():
                raise ApiError(400, "Empty body", [detail("body", "must be a JSON object")])
            # Told it is JSON, FastAPI asks for the value (below) rather than passing bytes on.
            headers = [pair for pair in request.scope["headers"] if pair[0] != b"content-type"]
            scope = {**request.scope, "headers": [*headers, _JSON]}
            parsed = _JsonRequest(scope, request.receive)
            parsed._body = body  # read once: the stream is spent
            parsed.raw = raw
            parsed.parsed = None if raw else parse_json(body)
            return await handler(parsed)

        return read_json_first
