"""Upkeep: export and import documents, check and repair the statistics, ping the database."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from tastebud.exports import EXPORT_VERSION, events_from_export
from tastebud.learning.keys import stat_key
from tastebud.service.base import StoreOpener, _profile
from tastebud.store.repository import CheckReport, WriteSummary

_pauses = 0
_pauses_lock = threading.Lock()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for a bulk import, then let it run again.

    An import builds hundreds of thousands of objects that all live until it ends; the collector
    would walk them over and over and free nothing, which was a third of an import's time.
    Reference counting frees memory as usual meanwhile. Overlapping imports share one pause.
    """
    global _pauses
    with _pauses_lock:
        ours = _pauses > 0 or gc.isenabled()  # a host program that paused it keeps it paused
        if ours:
            _pauses += 1
            gc.disable()
    try:
        yield
    finally:
        if ours:
            with _pauses_lock:
                _pauses -= 1
                if _pauses == 0:
                    gc.enable()


class Upkeep:
    """Export, import, check, repair and ping."""

    def __init__(self, store: StoreOpener) -> None:
        self.store = store

    async def export_preferences(self, *, user_id: str | None = "default") -> dict[str, Any]:
        """Every event, statistic and image of the review queue of a profile (all profiles with
        ``user_id=None``) as JSON data."""
        user_id = _profile(user_id, everyone_allowed=True)
        events, stats, generations = await (await self.store.get()).export(user_id)
        return {
            "version": EXPORT_VERSION,
            "total_preferences": len(events),
            "preferences": [event.to_dict() for event in events],
            # The review queue, judged and not: after an import, images already judged are not
            # "unreviewed" again when their folder is imported anew.
            "generations": [item.to_dict() for item in generations],
            "stats": [
                {
                    "user_id": row.user_id,
                    "stat_type": row.cell[0],
                    "key": stat_key(row.cell),
                    "key1": row.cell[1],
                    "key2": row.cell[2],
                    "selected_count": row.counts.selected,
                    "total_count": row.counts.total,
                    "selection_rate": row.counts.rate,
                    "evidence_level": row.counts.evidence_level,
                }
                for row in stats
            ],
        }

    async def import_preferences(
        self, data: Mapping[str, Any] | bytes | str, *, user_id: str | None = None
    ) -> WriteSummary:
        """Merge an export document; importing the same document again changes nothing.

        ``data`` is the document, or its JSON text as read from the file (faster: parsed and
        checked in one pass). Each event keeps its profile unless ``user_id`` moves them all into
        one. An event whose generation id is stored already replaces it only when it is newer.
        Statistics are recomputed from the events, never taken from the document. A bad document
        raises ``InvalidInput`` naming where it is wrong, and nothing is written.
        """
        with collector_paused():
            events, generations = events_from_export(data, user_id=user_id)
            store = await self.store.get()
            summary = await store.record(events, newer_wins=True)
            if generations:
                # After the events (a retry of a failed import finds them and goes on).
                await store.restore_generations(generations)
            return summary

    async def ping(self) -> str:
        """Open the database if need be and run a query; returns "sqlite" or "postgresql".

        Raises ``tastebud.errors.DatabaseUnavailable`` when it cannot be reached.
        """
        store = await self.store.get()
        await store.ping()
        return store.db.dialect

    async def check(self) -> CheckReport:
        """Compare every statistic with a recomputation from the events."""
        return await (await self.store.get()).check()

    async def repair(self) -> CheckReport:
        """Rebuild the statistics from the events; returns what was wrong before."""
        return await (await self.store.get()).repair()
