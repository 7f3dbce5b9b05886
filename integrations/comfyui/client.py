"""A thin client of the tastebud server, with Python's standard library only.

Nothing of tastebud's own dependencies enters ComfyUI's environment: the nodes ask a running
``tastebud serve`` over HTTP. Every call has a short timeout, and every failure (the server down,
slow, or answering an error) is one ``Unreachable`` the nodes turn into their fallback.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DEFAULT_SERVER = "http://127.0.0.1:8001"
TIMEOUT_SECONDS = 3.0
"""Long enough for a recommendation (milliseconds), short enough that a server that is down or
hung never holds a queued workflow for long."""


class Unreachable(Exception):
    """tastebud did not answer, or did not answer well; the message says which, in words."""


def get(server: str, path: str, **query: Any) -> Any:
    """The JSON answer of ``GET server/path?query``; list values repeat their parameter."""
    pairs = [
        (name, item)
        for name, value in query.items()
        if value is not None
        for item in (value if isinstance(value, list | tuple) else [value])
    ]
    url = server.rstrip("/") + path + "?" + urllib.parse.urlencode(pairs)
    return _answer(urllib.request.Request(url, headers={"Accept": "application/json"}))


def post(server: str, path: str, body: Any) -> Any:
    """The JSON answer of ``POST server/path`` with a JSON body."""
    request = urllib.request.Request(
        server.rstrip("/") + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    return _answer(request)


def _answer(request: urllib.request.Request) -> Any:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            details = json.loads(error.read()).get("details") or []
            reason = "; ".join(f"{item['field']}: {item['reason']}" for item in details)
        except (ValueError, AttributeError, KeyError, TypeError):
            reason = ""
        raise Unreachable(f"tastebud answered {error.code} {reason}".rstrip()) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        cause: object = getattr(error, "reason", None) or error
        raise Unreachable(
            f"tastebud at {request.full_url.split('/api')[0]} is unreachable ({cause})"
        ) from None
    except ValueError:
        raise Unreachable("tastebud's answer was not JSON") from None
