"""What every request passes before it reaches an endpoint, in order: the host it names, where a
browser says it comes from, the token, then the body's size and a URL without NUL characters;
and the headers every answer carries (docs/security.md says why each is there).

All are plain ASGI middleware: they run on every request, and Starlette's ``BaseHTTPMiddleware``
would cost more than a recommendation's own work.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tastebud.api.errors import ApiError, detail, error_response


class RequireToken:
    """Refuse (401) every request that does not carry the token.

    The token comes as ``Authorization: Bearer TOKEN`` or, for the web panel (whose images and
    downloads a browser fetches without headers), as the cookie ``tastebud_token_PORT``, which
    ``POST /api/session`` sets ``HttpOnly`` and ``SameSite=Strict``. The panel's own files (``/``
    and ``/static/``) hold no data and are served without it, so that the page can ask for the
    token, and so is ``/api/session``, which checks the token itself.
    """

    def __init__(self, app: ASGIApp, *, token: str, cookie: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()
        self._token = token.encode()
        self._cookie = cookie.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _public(scope["path"]):
            given = _header(scope, b"authorization")
            cookie = _cookie(scope, self._cookie)
            if not (
                (given is not None and hmac.compare_digest(given, self._expected))
                or (cookie is not None and hmac.compare_digest(cookie, self._token))
            ):
                if given is not None:
                    problem = detail("Authorization", "does not carry this server's token")
                elif cookie is not None:  # kept by the panel, for a server since restarted
                    problem = detail("token", "the one this browser kept is not this server's")
                else:
                    problem = detail(
                        "Authorization", "is missing: send 'Authorization: Bearer TOKEN'"
                    )
                response = error_response(
                    401, "Unauthorized", [problem], headers={"WWW-Authenticate": "Bearer"}
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _public(path: str) -> bool:
    return path in ("/", SESSION_PATH) or path.startswith("/static/")


SESSION_PATH = "/api/session"


class AllowedHosts:
    """Refuse (400) a request naming a host this server is not reached by.

    A web page can point a name of its own at 127.0.0.1 (DNS rebinding) and then read this
    server as its own origin; the ``Host`` header still carries that name, so it is refused.
    Addresses (``192.168.1.5``) are always answered: a page cannot repoint an address.
    """

    def __init__(self, app: ASGIApp, *, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            named = _header(scope, b"host")
            name = host_name(named)
            if name not in self.hosts and not _address(name):
                shown = "missing" if named is None else repr(named.decode("latin-1"))
                response = error_response(400, "Bad Request", [detail(
                    "Host",
                    f"is {shown}: this server answers only to "
                    + ", ".join(sorted(self.hosts))
                    + " (add names with --allowed-hosts)",
                )])  # fmt: skip
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _address(name: str | None) -> bool:
    """True for an IP address: no page can point an address at another machine, so a request
    naming one (a LAN client's http://192.168.1.5:8001) is no rebinding."""
    try:
        ipaddress.ip_address(name or "")
    except ValueError:
        return False
    return True


def host_name(value: bytes | None) -> str | None:
    """The host of a ``Host`` header, lowercased, without its port or an IPv6 address's
    brackets: ``[::1]:8001`` -> ``::1``."""
    if value is None:
        return None
    text = value.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else None
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


UNSAFE_TYPES = (b"text/plain", b"multipart/form-data")
"""Bodies a page of any site may send without asking (no CORS preflight), and no API call is."""


class SameOrigin:
    """Refuse (403) a request that would change something when the browser says another page
    sent it, and (415) a body a page could send without asking.

    Browsers tell where a request comes from: ``Sec-Fetch-Site`` (same-origin, same-site,
    cross-site, none) and ``Origin``. A request that changes anything (any method but GET, HEAD
    and OPTIONS) passes only from this server's own pages, or from a program that is not a
    browser (curl, Python, a generator's plug-in), which sends neither header. A page on another
    port of 127.0.0.1 is "same-site" to a browser, and refused here too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            site = _header(scope, b"sec-fetch-site")
            origin = _header(scope, b"origin")
            kind = (_header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
            refused = None
            if site is not None and site not in (b"same-origin", b"none"):
                refused = (403, "Forbidden", "Sec-Fetch-Site", f"is {site.decode('latin-1')!r}")
            elif origin is not None and not _same_origin(origin, _header(scope, b"host")):
                refused = (403, "Forbidden", "Origin", f"is {origin.decode('latin-1')!r}")
            elif kind in UNSAFE_TYPES:
                refused = (415, "Unsupported Media Type", "Content-Type",
                           f"is {kind.decode('latin-1')!r}: send JSON (application/json)")  # fmt: skip
            if refused is not None:
                status, title, field, reason = refused
                if status == 403:
                    reason += ": a page of another site or port may not change anything here"
                await error_response(status, title, [detail(field, reason)])(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _same_origin(origin: bytes, host: bytes | None) -> bool:
    """True when ``Origin`` (``http://127.0.0.1:8001``) names the host and port asked."""
    scheme, separator, netloc = origin.strip().lower().partition(b"://")
    return bool(separator) and scheme in (b"http", b"https") and netloc == (host or b"").lower()


_POLICY = (
    b"default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
    b"form-action 'self'; frame-ancestors 'none'"
)
PANEL_POLICY = [(b"content-security-policy", _POLICY)]
"""The panel's page and files: its own scripts, styles and images only (no inline code)."""
EVERY_ANSWER = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    """Headers every answer carries (no framing, no type sniffing, no referrer), and the
    panel's content security policy on its page and files. The API's own ``/docs`` page (Swagger
    UI, served by this server) starts with an inline script, so it is left without the policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        added = (
            EVERY_ANSWER + PANEL_POLICY
            if path == "/" or path.startswith("/static/")
            else EVERY_ANSWER
        )

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        await self.app(scope, receive, with_headers)


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


class NoNulInUrl:
    """Refuse (422) a path or query parameter holding a NUL character (``%00``), naming it.

    No name, keyword or id can hold one (PostgreSQL's text cannot store it, and the bodies'
    rules refuse it), and PostgreSQL fails a query that merely compares one: each endpoint that
    passes a filter or a name on to the database was a 500 on it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            field = _nul_field(scope)
            if field is not None:
                problem = detail(field, "must not contain NUL characters")
                await error_response(422, "Invalid input", [problem])(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _nul_field(scope: Scope) -> str | None:
    if "\x00" in scope["path"] or "%00" in scope.get("raw_path", b"").decode("latin-1"):
        return "path"
    query = scope.get("query_string", b"")
    if b"%00" not in query and b"\x00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name + value:  # parse_qsl has undone the %-escapes
            return str(name)
    return "query"
