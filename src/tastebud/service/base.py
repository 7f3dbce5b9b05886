"""The core every part of ``PreferenceLearning`` builds on: opening and closing the store.

``ServiceBase`` holds the constructor, the lazily opened ``Repository``, ``aclose`` and the
``async with`` protocol; the mixins (recording, recommending, ...) subclass it, so each sees
``database``, ``strategy``, ``half_life_days`` and ``_store()``. Also the user_id check that
several parts share.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType
from typing import Any, Self, overload

from tastebud.errors import DatabaseUnavailable, InvalidInput
from tastebud.events import check_user_id
from tastebud.learning.default import DefaultStrategy
from tastebud.learning.fitted import Fitted
from tastebud.learning.strategy import Strategy
from tastebud.settings import DEFAULT_DATABASE
from tastebud.store.repository import Repository


class ServiceBase:
    """The database, the strategy and the half-life, and the store opened on first use."""

    def __init__(
        self,
        database: str | Path = DEFAULT_DATABASE,
        *,
        strategy: Strategy | None = None,
        half_life_days: float | None = None,
        durable: bool = True,
        refit_in_background: bool = True,
    ) -> None:
        if half_life_days is not None and not half_life_days > 0:
            raise InvalidInput("half_life_days", f"must be more than 0, not {half_life_days}")
        self.database = database
        self.strategy: Strategy = strategy or DefaultStrategy()
        # The default strategy's fitted state per profile: (read at, state), and the refits
        # under way in the background (service/fitting.py).
        self._fitted: dict[str, tuple[float, Fitted]] = {}
        self._versions: dict[str, tuple[int, str] | None] = {}
        self._strategies: dict[str, DefaultStrategy] = {}
        self._refits: dict[str, asyncio.Task[Fitted]] = {}
        self._refit_locks: dict[str, asyncio.Lock] = {}
        # A server refits in the background; a short-lived process (the CLI) refits before it
        # answers, since a background task would not outlive it.
        self.refit_in_background = refit_in_background
        self.half_life_days = half_life_days
        self._durable = durable
        self._repository: Repository | None = None
        self._opening = asyncio.Lock()

    async def __aenter__(self) -> Self:
        await self._store()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the database connections; the object may be opened again by a later call."""
        for task in list(self._refits.values()):
            task.cancel()
        await asyncio.gather(*self._refits.values(), return_exceptions=True)
        if self._repository is not None:
            repository, self._repository = self._repository, None
            await repository.close()

    async def _store(self) -> Repository:
        if self._repository is None:
            async with self._opening:
                if self._repository is None:
                    try:
                        repository = Repository(self.database, durable=self._durable)
                    except OSError as error:  # the SQLite file's folder cannot be made
                        raise DatabaseUnavailable(str(self.database), str(error)) from error
                    try:
                        await repository.migrate()
                    except BaseException:
                        await repository.close()
                        raise
                    self._repository = repository
        return self._repository


@overload
def _profile(user_id: Any) -> str: ...
@overload
def _profile(user_id: Any, *, everyone_allowed: bool) -> str | None: ...
def _profile(user_id: Any, *, everyone_allowed: bool = False) -> str | None:
    """The profile's id in NFC, or ``InvalidInput`` for one that names no profile (``None``
    means every profile where allowed)."""
    if user_id is None and everyone_allowed:
        return None
    return check_user_id(user_id)
