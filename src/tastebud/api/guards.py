"""What every request passes before it reaches an endpoint: the token, then the body's size.

Both are plain ASGI middleware: they run on every request, and Starlette's ``BaseHTTPMiddleware``
would cost more than a recommendation's own work.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tastebud.api.errors import ApiError, detail, error_response


class RequireToken:
    """Refuse (401) every request that does not carry the token.

    The token comes as ``Authorization: Bearer TOKEN`` or, for the web panel (whose images and
    downloads a browser fetches without headers), as the cookie ``tastebud_token``, which the
    panel sets ``SameSite=Strict`` so that no other site's page can send it. The panel's own
    files (``/`` and ``/static/``) hold no data and are served without it, so that the page can
    ask for the token.
    """

    def __init__(self, app: ASGIApp, *, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _public(scope["path"]):
            given = _header(scope, b"authorization")
            cookie = _cookie(scope, b"tastebud_token")
            if not (
                (given is not None and hmac.compare_digest(given, self._expected))
                or (cookie is not None and hmac.compare_digest(cookie, self._token))
            ):
                reason = "is missing" if given is None else "does not carry the right token"
                response = error_response(
                    401,
                    "Unauthorized",
                    [detail("Authorization", f"{reason}: send 'Authorization: Bearer TOKEN'")],
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _public(path: str) -> bool:
    return path == "/" or path.startswith("/static/")


def _cookie(scope: Scope, name: bytes) -> bytes | None:
    header = _header(scope, b"cookie")
    if header is None:
        return None
    for part in header.split(b";"):
        key, _, value = part.strip().partition(b"=")
        if key == name:
            return unquote_to_bytes(value)
    return None


class BodyLimit:
    """Refuse (413) a request body larger than its path's limit, before or while it arrives."""

    def __init__(self, app: ASGIApp, *, default: int, by_path: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        self.by_path = dict(by_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.by_path.get(scope["path"], self.default)
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(limit)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            # A body sent in chunks, without a length: count it as it arrives. The endpoint
            # reading it gets the ApiError, which the app renders as a 413.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large_error(limit)
            return message

        await self.app(scope, counted, send)


def _too_large_error(limit: int) -> ApiError:
    return ApiError(
        413, "Request body too large", [detail("body", f"must be at most {limit} bytes")]
    )


def _too_large(limit: int) -> ASGIApp:
    error = _too_large_error(limit)
    return error_response(error.status, error.error, error.details)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None
