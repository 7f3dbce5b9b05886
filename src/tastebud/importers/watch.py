"""Watch an output folder: images that appear join the review queue within a second or two.

ComfyUI and A1111 write an image in several writes. A file is read once nothing has changed in it
for ``settle`` seconds and its bytes run to the format's end; until then, and after a read that
fails, it is tried again, and reported as failed only when it has not become readable within
``give_up`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchfiles import Change, awatch

from tastebud.importers.folders import (
    ImportReport,
    Read,
    Rules,
    is_image_name,
    read_generation,
    store_reads,
)
from tastebud.importers.styles import read_styles
from tastebud.service import PreferenceLearning

SETTLE = 0.3
GIVE_UP = 20.0


@dataclass
class _Pending:
    first_seen: float
    last_change: float


async def watch(
    learning: PreferenceLearning,
    folder: Path,
    *,
    recursive: bool = True,
    rules: Rules | None = None,
    hashes: dict[str, str] | None = None,
    user_id: str = "default",
    settle: float = SETTLE,
    give_up: float = GIVE_UP,
    stop: asyncio.Event | None = None,
    on_report: Callable[[ImportReport], None] | None = None,
) -> None:
    """Add new images under ``folder`` until ``stop`` is set; ``on_report`` hears of each round."""
    root = folder.resolve()
    rules = rules or Rules()
    pending: dict[Path, _Pending] = {}
    seen: set[str] = set()

    def wanted(change: Change, path: str) -> bool:
        return change != Change.deleted and is_image_name(Path(path).name)

    async for changes in awatch(
        root, watch_filter=wanted, recursive=recursive, stop_event=stop, debounce=200, step=50,
        rust_timeout=int(settle * 1000), yield_on_timeout=True,
    ):  # fmt: skip
        now = time.monotonic()
        for _, name in changes:
            path = Path(name)
            if path.is_file():
                found = pending.setdefault(path, _Pending(now, now))
                found.last_change = now
        ready = [path for path, state in pending.items() if now - state.last_change >= settle]
        if not ready:
            continue
        reads = await asyncio.gather(
            *(asyncio.to_thread(read_generation, path, rules.status_of(path, root), hashes)
              for path in ready)
        )  # fmt: skip
        done: list[Read] = []
        for item in reads:
            state = pending[item.path]
            if item.generation is None and now - state.first_seen < give_up:
                state.last_change = now  # not readable yet: still being written, maybe
                continue
            del pending[item.path]
            done.append(item)
        if not done:
            continue
        report = ImportReport()
        await store_reads(learning, done, report, seen, user_id, False)
        await read_styles(learning)
        if on_report is not None:
            on_report(report)
