"""Statistics kept in memory between recommendations, dropped as soon as the database changes.

A recommendation reads the same few hundred statistics again and again (the profile's
checkpoints, the words of its prompts); read from SQLite each time, they were half of its time.
The cache keeps every row read, by (stat type, key1), for all profiles, and answers a question
from memory when it holds every key1 the question names.

The rule that keeps it exact: each read first takes a *stamp* and starts again from an empty
cache when the stamp differs from the one the cache was filled under. The stamp is

* this process's count of finished write transactions (``Repository`` counts one when a write
  returns, committed or not), so a recording that has returned is always seen by the next read;
* ``PRAGMA data_version`` of the reading connection, with that connection's identity: SQLite
  changes it whenever another connection (another thread of this process, another worker
  process, the ``tastebud`` CLI) commits, so a second worker sees a write at its next read.

The stamp is taken before the read's snapshot starts, so rows cached under a stamp are never older
than what the stamp promises. PostgreSQL has no ``data_version``: there nothing is cached.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tastebud.learning.keys import StatType
from tastebud.learning.levels import SettledCounts

Stamp = tuple[int, int, int]
MOST_CELLS = 400_000
"""Cells held at most (about 100 MB); past it the cache starts again empty."""


@dataclass
class Snapshot:
    """What was read under one stamp."""

    stamp: Stamp
    loaded: set[tuple[StatType, str]] = field(default_factory=set)
    """(stat type, key1) whose rows, every key2 and every profile, are all in ``pooled``."""
    pooled: SettledCounts = field(default_factory=SettledCounts)
    personal: dict[int | None, SettledCounts] = field(default_factory=dict)
    """By profile id; one dict per profile, the same object for as long as the snapshot lives."""
    known_models: dict[tuple[str, int | None], dict[str, str]] = field(default_factory=dict)


class StatisticsCache:
    """The statistics read since the database last changed."""

    def __init__(self) -> None:
        self.writes = 0
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def wrote(self) -> None:
        """A write transaction of this process has finished: nothing read before is trusted."""
        self.writes += 1

    def snapshot(self, connection: sa.Connection, writes: int) -> Snapshot | None:
        """The snapshot for this read (``writes`` counted before it began); None on PostgreSQL."""
        if connection.dialect.name != "sqlite":
            return None
        driver: Any = connection.connection.driver_connection
        version = driver.execute("PRAGMA data_version").fetchone()[0]
        stamp = (writes, id(driver), int(version))
        with self._lock:
            held = self._snapshot
            if held is None or held.stamp != stamp or len(held.pooled) > MOST_CELLS:
                self._snapshot = Snapshot(stamp)
            return self._snapshot
