"""A fake Ollama: a real local HTTP server speaking the part of Ollama's API tastebud uses.

``GET /api/tags``, ``POST /api/show`` (capabilities) and ``POST /api/generate`` (one JSON
object, or NDJSON when the model streams), with a model per behaviour:

* ``llava``: answers at once, one JSON object;
* ``llava-stream``: answers in NDJSON chunks, the last with ``"done": true``;
* ``broken``: starts an NDJSON answer, then sends an error in the middle of it;
* ``slow``: answers after ``SLOW_SECONDS``;
* ``flaky``: fails with 500 twice, then answers;
* ``llama3``: exists, but cannot see images;
* any other name: 404, as Ollama answers for a model not pulled.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SLOW_SECONDS = 3.0
ANSWER = {
    "description": "A quiet beach at sunset, the sea calm under an orange sky.",
    "subjects": ["beach", "sea", "Sunset sky"],
    "styles": ["warm", "photographic"],
}
MODELS = {
    "llava": ["completion", "vision"],
    "llava-stream": ["completion", "vision"],
    "broken": ["completion", "vision"],
    "slow": ["completion", "vision"],
    "flaky": ["completion", "vision"],
    "llama3": ["completion"],
}


class FakeOllama:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.flaky_calls = 0
        self.lock = threading.Lock()


def _handler(fake: FakeOllama) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet in the tests' output
            return

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, lines: list[dict[str, Any]]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for line in lines:
                data = (json.dumps(line) + "\n").encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def do_GET(self) -> None:
            if self.path == "/api/tags":
                self._send(
                    200,
                    {
                        "models": [
                            {"name": f"{name}:latest", "model": f"{name}:latest"} for name in MODELS
                        ]
                    },
                )
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with fake.lock:
                fake.requests.append((self.path, body))
            model = str(body.get("model", "")).removesuffix(":latest")
            if model not in MODELS:
                self._send(404, {"error": f"model '{model}' not found"})
            elif self.path == "/api/show":
                self._send(200, {"capabilities": MODELS[model], "details": {"family": model}})
            elif self.path == "/api/generate":
                self._generate(model, body)
            else:
                self._send(404, {"error": "not found"})

        def _generate(self, model: str, body: dict[str, Any]) -> None:
            images = body.get("images") or []
            if not images or not all(base64.b64decode(image, validate=True) for image in images):
                self._send(400, {"error": "an image is required"})
                return
            if "vision" not in MODELS[model]:
                self._send(500, {"error": f"{model} does not support images"})
                return
            text = json.dumps(ANSWER)
            if model == "slow":
                time.sleep(SLOW_SECONDS)
            if model == "flaky":
                with fake.lock:
                    fake.flaky_calls += 1
                    failing = fake.flaky_calls <= 2
                if failing:
                    self._send(500, {"error": "server busy"})
                    return
            if model in ("llava-stream", "broken"):
                parts = [text[i : i + 16] for i in range(0, len(text), 16)]
                lines = [{"model": model, "response": part, "done": False} for part in parts]
                if model == "broken":
                    lines = lines[:2] + [
                        {"error": "an error was encountered while running the model"}
                    ]
                else:
                    lines.append(
                        {"model": model, "response": "", "done": True, "done_reason": "stop"}
                    )
                self._stream(lines)
                return
            self._send(200, {"model": model, "response": text, "done": True, "done_reason": "stop"})

    return Handler


@contextmanager
def fake_ollama() -> Iterator[tuple[str, FakeOllama]]:
    """A fake Ollama on a free loopback port: (its URL, what it was asked)."""
    fake = FakeOllama()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", fake
    finally:
        server.shutdown()
        server.server_close()
