"""The store's side of what tastebud does with image files after recording: their look (the
style pass), a vision model's description, and the cleanup of rejected ones.

A part of ``Repository`` (which it is mixed into), kept apart so that each stays readable: it runs
its work in the repository's transactions (``_read``, ``_write``) and records through its writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa

from tastebud.cleanup import Known, Moved
from tastebud.events import with_vision
from tastebud.store import looks, reads, trash
from tastebud.store.ids import Lookup
from tastebud.style import Style

if TYPE_CHECKING:
    from collections.abc import Callable

    from tastebud.store.writes import Writer

T = TypeVar("T")


class ImageWork:
    """Looks, descriptions and the cleanup, in ``Repository``'s transactions."""

    if TYPE_CHECKING:
        _writer: Writer

        async def _read(
            self, work: Callable[[sa.Connection, Lookup], T], *, small: bool = False
        ) -> T: ...

        async def _write(
            self, work: Callable[[sa.Connection, Lookup], T], *, autocommit: bool = False
        ) -> T: ...

    # -- looks -------------------------------------------------------------------------------

    async def unstyled(self, limit: int, after: int = 0) -> list[looks.Unstyled]:
        """Generations (of every profile) whose style is not read yet, oldest first."""
        return await self._read(lambda c, ids: looks.unstyled(c, limit, after), small=True)

    async def set_styles(self, found: Sequence[tuple[looks.Unstyled, Style | None]]) -> None:
        """Store the styles the style pass read, on generations and their events."""
        await self._write(lambda c, ids: looks.set_styles(c, found))

    # -- vision ------------------------------------------------------------------------------

    async def undescribed(self, limit: int, after: int = 0) -> list[tuple[int, str, str, str]]:
        """Judged images the vision model has not described yet (``looks.undescribed``)."""
        return await self._read(lambda c, ids: looks.undescribed(c, limit, after), small=True)

    async def describe(
        self, user_id: str, generation_id: str, description: str, words: Sequence[str]
    ) -> bool:
        """Keep what the vision model saw on the event: its description, and its words as
        ``vision_themes`` and among the event's keywords (the statistics move with them); False
        when the event is gone or was described meanwhile."""

        def work(connection: sa.Connection, ids: Lookup) -> bool:
            place = (user_id, generation_id)
            profile_ids = ids.profile_ids([user_id])
            if user_id not in profile_ids:
                return False
            # Read under the profile's lock: a judgement changed meanwhile is not written over.
            self._writer.lock_profile(connection, profile_ids[user_id])
            stored = reads.stored_events(connection, ids, profile_ids, [place])
            if place not in stored or stored[place][1].vision_description is not None:
                return False
            old = stored[place][1]
            new = with_vision(old, description, words)
            self._writer.record(connection, ids, {place: new}, False)
            return True

        return await self._write(work)

    # -- the cleanup ---------------------------------------------------------------------------

    async def rejected_images(self, user_id: str) -> list[Known]:
        """The profile's rejected generations, with what every profile thinks of each."""
        return await self._read(lambda c, ids: trash.rejected_images(c, ids, user_id))

    async def record_moves(self, user_id: str, batch_id: str, moved: Sequence[Moved]) -> None:
        """Keep what a cleanup moved to the trash folder."""
        now = datetime.now(UTC)
        await self._write(lambda c, ids: trash.record_moves(c, ids, user_id, batch_id, moved, now))

    async def last_trash_batch(
        self, user_id: str
    ) -> tuple[str | None, list[tuple[int, str, str, str]]]:
        """The profile's latest cleanup with files still in the trash."""
        return await self._read(lambda c, ids: trash.last_batch(c, ids, user_id))

    async def mark_restored(self, user_id: str, restored: Sequence[tuple[int, str]]) -> None:
        """The files an undo put back: (row id, generation id) each."""
        now = datetime.now(UTC)
        await self._write(lambda c, ids: trash.mark_restored(c, ids, user_id, restored, now))

    async def judged_styles(self, user_id: str) -> list[tuple[bool, Style]]:
        """(selected, style) of the profile's events whose style is known."""
        return await self._read(lambda c, ids: looks.judged_styles(c, ids, user_id))
