"""The vision queue: judged images described by a local model, in the background.

A server started with ``--vision-url`` runs one: it checks the model once (it must exist and see
images), then describes every judged image that has a file and no description yet, oldest first,
one at a time, each call bounded by ``--vision-timeout``. A failed call is tried again
``RETRIES`` times, waiting longer each time; an image that still fails is left for the next start.
Recording never waits for it. ``status()`` says what it is doing, for ``GET /api/vision``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tastebud.service import PreferenceLearning
from tastebud.vision import VisionError, check_model, describe

RETRIES = 3
"""Tries per image before it is left for the next start."""
BATCH = 20
IDLE_SECONDS = 2.0
"""How often an idle queue looks for newly judged images."""


@dataclass
class VisionSettings:
    url: str
    model: str
    timeout: float = 120.0


class Describing:
    """The vision queue of a server."""

    def __init__(
        self, learning: PreferenceLearning, settings: VisionSettings, *, retry_after: float = 1.0
    ) -> None:
        self.learning = learning
        self.settings = settings
        self.retry_after = retry_after
        self.described = 0
        self.failed = 0
        self.waiting = 0
        self.state = "starting"
        self.last_error: str | None = None
        self._given_up: set[int] = set()
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
                    break
                except VisionError as error:
                    self.state, self.last_error = "model not usable", str(error)
                await self._idle(30.0)  # Ollama started later, or the model pulled meanwhile
            self.state = "idle"
            while True:
                await self._round(client)
                await self._idle(IDLE_SECONDS)

    async def _idle(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass
        self._wake.clear()

    async def _round(self, client: httpx.AsyncClient) -> None:
        after = 0
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
            after = found[-1][0]
        self.state = "idle"

    async def _one(self, client: httpx.AsyncClient, path: str) -> tuple[str, list[str]] | None:
        try:
            image = await asyncio.to_thread(Path(path).read_bytes)
        except OSError as error:
            self.last_error = f"cannot read {path}: {error.strerror or error}"
            return None
        for attempt in range(RETRIES):
            try:
                seen = await describe(client, self.settings.model, image)
            except VisionError as error:
                self.last_error = f"{Path(path).name}: {error}"
                if attempt + 1 < RETRIES:
                    await asyncio.sleep(self.retry_after * 2**attempt)
                continue
            return seen.description, list(seen.words)
        return None
