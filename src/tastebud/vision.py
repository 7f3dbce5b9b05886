"""Vision analysis by a local model, through Ollama's HTTP API (optional, off by default).

A judged image is sent to ``POST /api/generate`` with the image in base64 and a JSON-schema
``format`` asking for a one-sentence description and a few subject and style words; Ollama
answers with the model's text, which is that JSON. The model is checked first with
``POST /api/show``: it must list the ``vision`` capability. Nothing is sent anywhere unless a
person configured the URL (``--vision-url``): tastebud never calls out on its own.

Ollama answers ``stream: false`` with one JSON object; a streaming answer (NDJSON, one object
per line, the last with ``"done": true``) is read as well, and an ``"error"`` in it, at any line,
is an error. Every failure is a ``VisionError`` saying what went wrong in words.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

PROMPT = (
    "Describe this image in one sentence. Then give up to five single words for what it shows "
    "(subjects) and up to five single words for how it looks (style)."
)
FORMAT = {
    "type": "object",
    "properties": {
        "description": {"type": "string"},
        "subjects": {"type": "array", "items": {"type": "string"}},
        "styles": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["description", "subjects", "styles"],
}
"""The JSON schema Ollama holds the model's answer to (structured outputs)."""
MAX_WORDS = 10
MAX_DESCRIPTION = 1_000
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")


class VisionError(Exception):
    """The model could not describe the image; the message says why, in words."""


class OllamaAway(VisionError):
    """Ollama cannot be reached, or no longer has the model: not the image's fault."""


@dataclass(frozen=True)
class Seen:
    """What the model saw: one sentence, and a few words (subjects, then styles)."""

    description: str
    words: tuple[str, ...]


def words_of(given: list[Any]) -> list[str]:
    """Single lower-case words out of the model's lists ("Golden hour" gives two)."""
    found: list[str] = []
    for item in given:
        if isinstance(item, str):
            found.extend(match.lower() for match in _WORD.findall(item))
    return list(dict.fromkeys(found))


def seen_of(text: str) -> Seen:
    """The model's answer (the JSON of ``FORMAT``) read; ``VisionError`` if it is not that."""
    try:
        found = json.loads(text)
    except json.JSONDecodeError:
        raise VisionError("the model's answer is not the JSON asked for") from None
    if not isinstance(found, dict) or not isinstance(found.get("description"), str):
        raise VisionError("the model's answer has no description")
    description = " ".join(found["description"].split())[:MAX_DESCRIPTION]
    if not description:
        raise VisionError("the model's description is empty")
    lists = [found.get(name) for name in ("subjects", "styles")]
    given = [item for found_list in lists if isinstance(found_list, list) for item in found_list]
    return Seen(description, tuple(words_of(given)[:MAX_WORDS]))


async def check_model(client: httpx.AsyncClient, model: str) -> None:
    """Whether Ollama has the model and it can see images; ``VisionError`` saying why not."""
    answer = await _post(client, "/api/show", {"model": model})
    if answer.status_code == 404:
        raise OllamaAway(f"Ollama has no model {model!r} (ollama pull {model})")
    _raise_for(answer)
    capabilities = _json(answer).get("capabilities")
    if isinstance(capabilities, list) and "vision" not in capabilities:
        raise VisionError(f"the model {model!r} cannot see images (no 'vision' capability)")


async def describe(client: httpx.AsyncClient, model: str, image: bytes) -> Seen:
    """What the model sees in the image (PNG, JPEG or WebP bytes)."""
    body = {
        "model": model,
        "prompt": PROMPT,
        "images": [base64.b64encode(image).decode("ascii")],
        "format": FORMAT,
        "stream": False,
        "options": {"temperature": 0},
    }
    try:
        async with client.stream("POST", "/api/generate", json=body) as answer:
            if answer.status_code == 404:
                raise OllamaAway(f"Ollama has no model {model!r} (ollama pull {model})")
            if answer.status_code >= 400:
                await answer.aread()
                _raise_for(answer)
            if "ndjson" in answer.headers.get("content-type", ""):
                text = await _streamed(answer)
            else:
                found = _json(httpx.Response(200, content=await answer.aread()))
                if "error" in found:
                    raise VisionError(f"Ollama: {found['error']}")
                text = str(found.get("response", ""))
    except httpx.TimeoutException:
        raise VisionError("Ollama did not answer in time") from None
    except (httpx.ConnectError, httpx.RemoteProtocolError) as error:
        raise OllamaAway(f"cannot reach Ollama: {error}") from None
    except httpx.HTTPError as error:
        raise VisionError(f"Ollama's answer broke off: {error}") from None
    return seen_of(text)


async def _streamed(answer: httpx.Response) -> str:
    parts: list[str] = []
    done = False
    async for line in answer.aiter_lines():
        if not line.strip():
            continue
        try:
            found = json.loads(line)
        except json.JSONDecodeError:
            raise VisionError("Ollama's stream holds a line that is not JSON") from None
        if not isinstance(found, dict):
            raise VisionError("Ollama's stream holds a line that is not an object")
        if "error" in found:
            raise VisionError(f"Ollama, in the middle of its answer: {found['error']}")
        parts.append(str(found.get("response", "")))
        done = done or bool(found.get("done"))
    if not done:
        raise VisionError("Ollama's answer ended before it was done")
    return "".join(parts)


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    try:
        return await client.post(path, json=body)
    except httpx.TimeoutException:
        raise OllamaAway("Ollama did not answer in time") from None
    except httpx.HTTPError as error:
        raise OllamaAway(f"cannot reach Ollama: {error}") from None


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        found = answer.json()
    except ValueError:
        raise VisionError("Ollama's answer is not JSON") from None
    if not isinstance(found, dict):
        raise VisionError("Ollama's answer is not a JSON object")
    return found


def _raise_for(answer: httpx.Response) -> None:
    if answer.status_code < 400:
        return
    try:
        reason = answer.json().get("error")
    except ValueError:
        reason = None
    raise VisionError(f"Ollama answered {answer.status_code}: {reason or answer.reason_phrase}")
