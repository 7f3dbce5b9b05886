"""The vision queue: judged images described by a local model, in the background.

A server started with ``--vision-url`` runs one: it checks the model (it must exist and see
images), then describes every judged image that has a file inside the server's image folders and
no description yet, oldest first, one at a time, each call bounded by ``--vision-timeout``. A
failed call is tried ``RETRIES`` times, waiting longer each time; an image that still fails is
left for the next start. Ollama away or the model gone is no image's fault: the queue waits and
looks at the model again, giving up no image.
Recording never waits for it. ``status()`` says what it is doing, for ``GET /api/vision``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tastebud.regular_files import open_regular
from tastebud.service import PreferenceLearning
from tastebud.vision import OllamaAway, VisionError, check_model, describe

RETRIES = 3
"""Tries per image before it is left for the next start."""
BATCH = 20
IDLE_SECONDS = 2.0
"""How often an idle queue looks for newly judged images."""
AWAY_SECONDS = 30.0
"""How long the queue waits before it looks at Ollama again after a failure that is not an
image's (Ollama away, the model missing)."""
FULL_SCAN_ROUNDS = 150
"""Rounds (about 5 minutes when idle) between two looks at every event."""
MAX_IMAGE_BYTES = 50_000_000

log = logging.getLogger("tastebud.vision")


@dataclass
class VisionSettings:
    url: str
    model: str
    timeout: float = 120.0


class Describing:
    """The vision queue of a server."""

    def __init__(
        self,
        learning: PreferenceLearning,
        settings: VisionSettings,
        folders: Sequence[Path],
        *,
        retry_after: float = 1.0,
    ) -> None:
        self.learning = learning
        self.settings = settings
        self.folders = [Path(os.path.realpath(folder)) for folder in folders]
        self.retry_after = retry_after
        self.described = 0
        self.failed = 0
        self.waiting = 0
        self.state = "starting"
        self.last_error: str | None = None
        self._given_up: set[int] = set()
        self._seen_up_to = 0
        self._rounds = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def wake(self) -> None:
        """Look for newly judged images now rather than at the next idle check."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def status(self) -> dict[str, Any]:
        return {
            "enabled": True, "url": self.settings.url, "model": self.settings.model,
            "state": self.state, "described": self.described, "failed": self.failed,
            "waiting": self.waiting, "last_error": self.last_error,
        }  # fmt: skip

    async def _run(self) -> None:
        timeout = httpx.Timeout(self.settings.timeout, connect=10.0)
        async with httpx.AsyncClient(base_url=self.settings.url, timeout=timeout) as client:
            while True:
                try:
                    await check_model(client, self.settings.model)
                    self.state = "idle"
                    while True:
                        await self._round(client)
                        await self._idle(IDLE_SECONDS)
                except OllamaAway as error:
                    # Not the images' fault: none is given up; the model is looked at again.
                    self.state, self.last_error = "Ollama unreachable", str(error)
                except VisionError as error:
                    self.state, self.last_error = "model not usable", str(error)
                except Exception as error:
                    log.exception("the vision queue")
                    self.state, self.last_error = "error", f"{type(error).__name__}: {error}"
                await self._idle(AWAY_SECONDS)

    async def _idle(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass
        self._wake.clear()

    async def _round(self, client: httpx.AsyncClient) -> None:
        # From where the last round ended: an idle queue looks at new events only, not the whole
        # table every 2 s. Now and then from the start, for an event recorded again since (it
        # keeps its row, and loses its description).
        self._rounds += 1
        if self._rounds % FULL_SCAN_ROUNDS == 0:
            self._seen_up_to = 0
        after = self._seen_up_to
        while found := await self.learning.undescribed(BATCH, after):
            todo = [item for item in found if item[0] not in self._given_up]
            self.waiting = len(todo)
            if todo:
                self.state = "describing"
            for row_id, user_id, generation_id, path in todo:
                seen = await self._one(client, path)
                if seen is None:
                    self._given_up.add(row_id)
                    self.failed += 1
                else:
                    await self.learning.keep_vision(user_id, generation_id, *seen)
                    self.described += 1
                self.waiting -= 1
            after = self._seen_up_to = max(self._seen_up_to, found[-1][0])
        self.state = "idle"

    async def _one(self, client: httpx.AsyncClient, path: str) -> tuple[str, list[str]] | None:
        """What the model saw in the image at ``path``; None when it cannot say (given up)."""
        try:
            image = await asyncio.to_thread(readable_image, path, self.folders)
        except (OSError, ValueError) as error:
            self.last_error = f"{Path(path).name}: {getattr(error, 'strerror', None) or error}"
            return None
        for attempt in range(RETRIES):
            try:
                seen = await describe(client, self.settings.model, image)
            except OllamaAway:
                raise
            except VisionError as error:
                self.last_error = f"{Path(path).name}: {error}"
                if attempt + 1 < RETRIES:
                    await asyncio.sleep(self.retry_after * 2**attempt)
                continue
            return seen.description, list(seen.words)
        return None


def readable_image(path: str, folders: Sequence[Path]) -> bytes:
    """The bytes of an image file the server may read: a regular file (no link) inside one of
    ``folders``, at most ``MAX_IMAGE_BYTES``; ``ValueError`` saying why not."""
    real = Path(os.path.realpath(path))
    if not any(real.is_relative_to(folder) for folder in folders):
        raise ValueError("outside the image folders (--image-folders)")
    file, size = open_regular(real)
    with file:
        if size > MAX_IMAGE_BYTES:
            raise ValueError(f"over {MAX_IMAGE_BYTES // 1_000_000} MB")
        return file.read()
