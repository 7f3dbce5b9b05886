"""The style pass: each imported image's pixels read once, after its metadata, for its style.

An import reads an image's metadata in about a millisecond; decoding its pixels takes 20 to 50
times longer (a 1024-pixel PNG is 3 MB to inflate). So an import stores what the metadata says
first, and the review queue is ready at once; this pass then reads the pixels of every generation
whose style is not known yet (``tastebud.style``), on two threads, in batches that each end in
one transaction. It can stop at any point: the next pass goes on where it stopped. A generation
judged before its style was read gets its style on its event too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from tastebud.service import PreferenceLearning
from tastebud.store.looks import Unstyled
from tastebud.style import Style, style_of_image

BATCH = 100
"""Generations read per transaction."""

log = logging.getLogger("tastebud.styles")


@dataclass
class StyleReport:
    """What a style pass did."""

    read: int = 0
    """Images whose style was read."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) of every image whose pixels could not be read (not tried again)."""

    def to_dict(self) -> dict[str, object]:
        return {
            "read": self.read,
            "failed": [{"path": path, "reason": reason} for path, reason in self.failed],
        }


def style_of_file(path: Path) -> Style:
    """The style of an image file; raises ``OSError`` or Pillow's errors where it cannot."""
    with Image.open(path) as image:
        return style_of_image(image)


def _read(item: Unstyled) -> tuple[Style | None, str | None]:
    if not item.path:
        return None, "its file was overwritten by another image"
    try:
        return style_of_file(Path(item.path)), None
    except OSError as error:
        return None, f"cannot read: {error.strerror or error}"
    except Exception as error:  # noqa: BLE001  a decoder's error must not end the pass
        return None, f"unexpected {type(error).__name__}: {error}"


async def read_styles(
    learning: PreferenceLearning,
    *,
    progress: Callable[[int], None] | None = None,
    decoding: asyncio.Semaphore | None = None,
) -> StyleReport:
    """Read the style of every generation that has none yet; ``progress`` is told how many more
    are done. With ``decoding`` (a server's), one image at a time, each holding it: the server
    decodes thumbnails under it too, so a huge image is never decoded twice at once."""
    report = StyleReport()
    after = 0

    async def one_at_a_time(found: list[Unstyled]) -> list[tuple[Style | None, str | None]]:
        assert decoding is not None
        outcomes = []
        for item in found:
            async with decoding:
                outcomes.append(await asyncio.to_thread(_read, item))
        return outcomes

    # Decoding releases the GIL: two threads keep both cores busy.
    with ThreadPoolExecutor(max_workers=2) as pool:
        while found := await learning.unstyled_generations(BATCH, after):
            # Off the event loop: a server goes on answering while the pictures are read.
            if decoding is not None:
                outcomes = await one_at_a_time(found)
            else:
                outcomes = await asyncio.to_thread(lambda: list(pool.map(_read, found)))
            await learning.set_styles([(item, style) for item, (style, _) in zip(found, outcomes)])
            for item, (style, reason) in zip(found, outcomes):
                if style is None:
                    report.failed.append((item.path, reason or ""))
                else:
                    report.read += 1
            after = found[-1].id
            if progress is not None:
                progress(len(found))
    return report


class StylePass:
    """A server's style pass: one at a time in the background, started at start-up and after
    each import. Asked while one runs, it runs once more when that one ends, for what the new
    import added."""

    def __init__(self, learning: PreferenceLearning, decoding: asyncio.Semaphore) -> None:
        self.learning = learning
        self.decoding = decoding
        self.read = 0
        """Images whose style this server has read."""
        self.failed = 0
        self._task: asyncio.Task[None] | None = None
        self._again = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Read the styles not read yet, in the background."""
        if self.running:
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                report = await read_styles(self.learning, decoding=self.decoding)
            except Exception:  # the next import starts it again
                log.exception("the style pass")
                return
            self.read += report.read
            self.failed += len(report.failed)
            if not self._again:
                return

    async def settled(self) -> None:
        """Wait for the pass under way (tests; a clean stop)."""
        while self.running and self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
