"""PostgreSQL's write locks: transaction-level advisory locks that keep concurrent writes exact.

A write reads an image's stored event and moves the statistics by the difference; two writers
reading the same event before either commits would both take it away (statistics that no longer
recount the events). SQLite has one writer at a time and needs none of this.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping

import sqlalchemy as sa

LOCK_SPACE = 7274339
"""The first key of the profiles' advisory locks (the migration's lock is a single 64-bit key,
which PostgreSQL keeps apart from two-key locks)."""
IMAGE_SPACE = 7274340
"""The first key of the images' advisory locks; the second is a hash (``image_key``)."""
IMAGE_LOCKS = 64
"""A write of more images than this locks their profiles instead."""
_EXCLUSIVE_LOCK = sa.text("SELECT pg_advisory_xact_lock(:space, :key)")
# PostgreSQL evaluates the columns in order, and each array's locks in the array's order.
# Parameters: the lock space, the profiles locked shared, the profiles locked whole, the image
# space, the images. (``at_once`` takes these locks in the first step of its statements.)
WRITE_LOCKS = """
SELECT pg_advisory_xact_lock_shared($1, 0),
    (SELECT count(pg_advisory_xact_lock_shared($1, key)) FROM unnest($2::int[]) AS key),
    (SELECT count(pg_advisory_xact_lock($1, key)) FROM unnest($3::int[]) AS key),
    (SELECT count(pg_advisory_xact_lock($4, key)) FROM unnest($5::int[]) AS key)
"""
EVERYTHING = 0
"""The second key of the lock a repair holds alone and every writer shares (profile ids start
at 1)."""


def image_key(profile_id: int, generation_id: str) -> int:
    """A 32-bit key of an image: two images that share one merely wait for each other."""
    return zlib.crc32(f"{profile_id}:{generation_id}".encode()) - 2**31


def lock_images(
    connection: sa.Connection, profile_ids: Mapping[str, int], images: Iterable[tuple[str, str]]
) -> None:
    """Hold the write locks of these images, (user_id, generation_id), until the transaction
    ends.

    A write of a few images locks each image, so writes of different images run side by side
    (the statistics they share are atomic increments); a write of many (an import) locks its
    profiles whole rather than fill PostgreSQL's lock table. Locks are taken level by level
    (everything, profiles, images), sorted within each, so two writers never wait on each other
    in a circle.
    """
    wanted = set(images)
    profiles = sorted({profile_ids[user_id] for user_id, _ in wanted})
    whole = len(wanted) > IMAGE_LOCKS
    keys = [] if whole else sorted({image_key(profile_ids[u], i) for u, i in wanted})
    # One statement, one round trip: the shared lock of everything (exclusive to a repair,
    # ``lock_everything``), then the profiles', then the images'.
    connection.exec_driver_sql(
        WRITE_LOCKS,
        (LOCK_SPACE, [] if whole else profiles, profiles if whole else [], IMAGE_SPACE, keys),
    )


def lock_everything(connection: sa.Connection) -> None:
    """Wait for the writers in progress and keep new ones out until the transaction ends: a
    repair reads every event and every statistic and rewrites them, and a write committed in
    between would be counted by neither or lost."""
    connection.execute(_EXCLUSIVE_LOCK, {"space": LOCK_SPACE, "key": EVERYTHING})


def lock_profile(connection: sa.Connection, profile: int) -> None:
    """Wait for the profile's writers in progress and keep new ones out until the transaction
    ends (a profile's deletion): they hold its lock shared."""
    connection.execute(_EXCLUSIVE_LOCK, {"space": LOCK_SPACE, "key": profile})
