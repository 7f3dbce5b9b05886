"""What every part of ``PreferenceLearning`` is given: the store, opened on first use.

``StoreOpener`` opens the ``Repository`` (and migrates it) at the first call that needs it and
closes it in ``aclose``; each part (recording, recommending, the review queue, ...) is given the
one opener of its ``PreferenceLearning``. Also the ``user_id`` check the parts share.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, overload

from tastebud.errors import DatabaseUnavailable
from tastebud.events import check_user_id
from tastebud.store.repository import Repository


class StoreOpener:
    """The database's ``Repository``, opened and migrated by the first ``get()``."""

    def __init__(self, database: str | Path, *, durable: bool = True) -> None:
        self.database = database
        self._durable = durable
        self._repository: Repository | None = None
        self._opening = asyncio.Lock()

    async def get(self) -> Repository:
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

    async def aclose(self) -> None:
        """Close the connections; a later ``get()`` opens them again."""
        if self._repository is not None:
            repository, self._repository = self._repository, None
            await repository.close()


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
