"""Opening a file that must be a plain file: no symbolic link, no FIFO, no device.

Cleanup hashes the files it may move and the vision queue reads the images it sends; a link
swapped in could lead anywhere, and a FIFO or ``/dev/zero`` would block a thread or fill memory.
"""

from __future__ import annotations

import os
import stat
from io import BufferedReader
from pathlib import Path

_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def open_regular(path: str | Path) -> tuple[BufferedReader, int]:
    """The file opened for reading, and its size; ``OSError`` if it cannot be opened (a link
    included), ``ValueError`` if it is not a regular file."""
    descriptor = os.open(path, _FLAGS)
    found = os.fstat(descriptor)
    if not stat.S_ISREG(found.st_mode):
        os.close(descriptor)
        raise ValueError("not a regular file")
    return os.fdopen(descriptor, "rb"), found.st_size
