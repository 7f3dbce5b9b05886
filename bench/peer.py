"""Another tastebud in a child process, timed side by side with this one (bench/performance.py).

The issue's speed goals compare the code of today with the code of the day the goal was set.
Two versions of one package cannot share a process, so the older one runs here, from a source
tree given as ``PYTHONPATH``, and answers one command per line on stdin with one JSON line on
stdout. It times its own calls, so the pipe costs nothing in the figures, and the parent waits
while it works, so the two never compete for the cores.

Only the public API that both versions have is used: ``PreferenceLearning(database=...)``,
``import_preferences(text)``, ``recommend_checkpoint``, ``record_preference`` and ``aclose``.

    {"do": "import", "file": "export.json", "database": "old.db"}  -> {"seconds": ..., "added": ...}
    {"do": "open", "database": "old.db"}                            -> {"ok": true}
    {"do": "recommend", "prompt": "...", "candidates": [...]}       -> {"ms": ..., "best": "..."}
    {"do": "record", "event": {...}}                                -> {"ms": ...}
    {"do": "close"}                                                 -> {"ok": true}
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

import tastebud
from tastebud import PreferenceLearning


async def serve() -> None:
    learning: PreferenceLearning | None = None
    print(json.dumps({"tastebud": tastebud.__file__}), flush=True)
    for line in sys.stdin:
        command: dict[str, Any] = json.loads(line)
        reply: dict[str, Any] = {"ok": True}
        if command["do"] == "import":  # read the file, open a new database, import, close
            began = time.perf_counter()
            text = Path(command["file"]).read_bytes()
            importer = PreferenceLearning(database=command["database"])
            summary = await importer.import_preferences(text)
            await importer.aclose()
            reply = {"seconds": time.perf_counter() - began, "added": summary.added}
            del text
            gc.collect()
        elif command["do"] == "open":
            learning = PreferenceLearning(database=command["database"])
        elif command["do"] == "recommend":
            assert learning is not None
            began = time.perf_counter()
            best, _ = await learning.recommend_checkpoint(command["prompt"], command["candidates"])
            reply = {"ms": (time.perf_counter() - began) * 1000, "best": best}
        elif command["do"] == "record":
            assert learning is not None
            began = time.perf_counter()
            await learning.record_preference(**command["event"])
            reply = {"ms": (time.perf_counter() - began) * 1000}
        elif command["do"] == "close" and learning is not None:
            await learning.aclose()
            learning = None
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    asyncio.run(serve())
