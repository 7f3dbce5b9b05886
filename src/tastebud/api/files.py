"""Opening an image the server may show: inside the allowed folders once opened, not before.

Checking a path and then opening it leaves a moment in which the file can be swapped for a
symbolic link to anything (a check-then-use race); a link inside an allowed folder can also point
out of it. So the file is opened first, refusing a link as its last component, and the path the
opened file really has (``/proc/self/fd`` on Linux) is what must lie inside a folder. Elsewhere
the resolved path is checked before the open and the opened file must be that same file (device
and inode), which leaves only a swap of a parent folder in between.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

MAX_PIXELS = 50_000_000
"""Pixels an image may have for a thumbnail (8,192 x 6,104): a generated image has at most a
few tens of millions; more is a decompression bomb, a small file that would fill the memory."""


class Outside(Exception):
    """The file is not inside a folder this server may read."""


def open_inside(path: str | Path, roots: Sequence[Path]) -> int:
    """A descriptor of ``path`` opened for reading, if it is a regular file inside ``roots``.

    Raises ``Outside`` (a link out of the folders, or a path outside them), ``FileNotFoundError``
    or another ``OSError``; the caller closes the descriptor.
    """
    resolved = Path(path).resolve()
    if not _inside(resolved, roots):
        raise Outside(str(path))
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(resolved, flags)
    except OSError as error:
        if error.errno == errno.ELOOP:  # the last component became a link after the check
            raise Outside(str(path)) from None
        raise
    try:
        opened = os.fstat(descriptor)
        really = _opened_path(descriptor)
        if really is not None:
            if not _inside(really, roots):
                raise Outside(str(path))
        elif (opened.st_dev, opened.st_ino) != _identity(resolved):
            raise Outside(str(path))
        if not stat.S_ISREG(opened.st_mode):
            raise IsADirectoryError(str(path))
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def _opened_path(descriptor: int) -> Path | None:
    """The path the kernel has for an open file (Linux), or None where it cannot say."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{descriptor}"))
    except OSError:
        return None


def _identity(path: Path) -> tuple[int, int]:
    found = os.stat(path, follow_symlinks=False)
    return found.st_dev, found.st_ino
