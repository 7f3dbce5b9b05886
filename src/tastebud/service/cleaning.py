"""The cleanup of rejected images: what may go, moving it to the trash folder, and undoing that.

The rules are ``tastebud.cleanup``'s; this asks the store what every profile thinks of each image
and keeps the record of what was moved, so that the last cleanup can be undone.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tastebud.cleanup import (
    GRACE_DAYS,
    MAX_DAYS,
    CleanupPlan,
    Moved,
    PutBack,
    move_one,
    plan_cleanup,
    put_one_back,
)
from tastebud.errors import InvalidInput
from tastebud.service.base import StoreOpener, _profile


@dataclass
class CleanupDone:
    """What ``clean_up`` moved, and the plan it followed."""

    plan: CleanupPlan
    moved: list[Moved]
    batch_id: str | None
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) of the files planned that could not be moved, and stay."""

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.plan.to_dict(),
            "failed": [{"path": path, "reason": reason} for path, reason in self.failed],
            "moved": len(self.moved),
            "moved_bytes": sum(item.size for item in self.moved),
            "batch_id": self.batch_id,
            "dry_run": False,
        }


class Cleaning:
    """Rejected images moved to a trash folder, and put back."""

    def __init__(self, store: StoreOpener) -> None:
        self.store = store
        self._locks: dict[str, asyncio.Lock] = {}

    async def plan_cleanup(
        self,
        image_folders: Sequence[str | Path],
        *,
        user_id: str = "default",
        older_than_days: float = GRACE_DAYS,
        described_first: bool = False,
    ) -> CleanupPlan:
        """The profile's rejected images that are safe to move away (``tastebud.cleanup``),
        with the disk space they hold; nothing is moved. ``described_first`` (vision is on):
        only images the vision model has described."""
        user_id = _profile(user_id)
        folders = _folders(image_folders)
        grace = _grace(older_than_days)
        known = await (await self.store.get()).rejected_images(user_id)
        now = datetime.now(UTC)
        return await asyncio.to_thread(
            plan_cleanup, known, folders, now=now, grace=grace, described_first=described_first
        )

    async def clean_up(
        self,
        image_folders: Sequence[str | Path],
        trash_folder: str | Path,
        *,
        user_id: str = "default",
        older_than_days: float = GRACE_DAYS,
        described_first: bool = False,
    ) -> CleanupDone:
        """Move the images ``plan_cleanup`` finds into ``trash_folder`` (never deleted), and
        keep what moved where, for ``undo_cleanup``."""
        user_id = _profile(user_id)
        plan = await self.plan_cleanup(
            image_folders, user_id=user_id, older_than_days=older_than_days,
            described_first=described_first,
        )  # fmt: skip
        if not plan.removable:
            return CleanupDone(plan, [], None)
        batch_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S-") + secrets.token_hex(3)
        trash = Path(trash_folder).expanduser().resolve()
        store = await self.store.get()
        moved: list[Moved] = []
        failed: list[tuple[str, str]] = []
        async with self._lock(user_id):
            for item in plan.removable:
                # Each file recorded as soon as it is moved: stopped half-way, nothing moved is
                # left without its record.
                found = await asyncio.to_thread(move_one, item, trash, batch_id)
                if isinstance(found, Moved):
                    await store.record_moves(user_id, batch_id, [found])
                    moved.append(found)
                else:
                    failed.append((item.path, found))
        return CleanupDone(plan, moved, batch_id, failed)

    async def undo_cleanup(self, *, user_id: str = "default") -> PutBack:
        """Put the files of the profile's last cleanup back where they were (a place another file
        has taken since is left as it is, and said)."""
        user_id = _profile(user_id)
        store = await self.store.get()
        done = PutBack()
        async with self._lock(user_id):
            _, rows = await store.last_trash_batch(user_id)
            for row_id, original, in_trash, generation_id in rows:
                reason = await asyncio.to_thread(put_one_back, original, in_trash)
                if reason is None:
                    await store.mark_restored(user_id, [(row_id, generation_id)])
                    done.restored.append(original)
                else:
                    done.failed.append((original, reason))
        return done

    def _lock(self, user_id: str) -> asyncio.Lock:
        """One cleanup or undo of a profile at a time (a second click waits for the first)."""
        return self._locks.setdefault(user_id, asyncio.Lock())


def _folders(given: Sequence[str | Path]) -> list[Path]:
    folders = [Path(folder).expanduser() for folder in given if str(folder).strip()]
    if not folders:
        raise InvalidInput(
            "image_folders",
            "name at least one: cleanup never touches an image outside the image folders",
        )
    return folders


def _grace(days: float) -> timedelta:
    if isinstance(days, bool) or not isinstance(days, int | float) or not math.isfinite(days):
        raise InvalidInput("older_than_days", f"must be a number of days, not {days!r}")
    if not 0 <= days <= MAX_DAYS:
        raise InvalidInput("older_than_days", f"must be from 0 to {MAX_DAYS:,}, not {days}")
    return timedelta(days=days)
