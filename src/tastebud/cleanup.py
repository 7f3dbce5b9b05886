"""Cleanup of rejected images: which files are safe to move away, moving them, putting them back.

An image file is safe to move only when every one of these holds (``plan_cleanup``):

1. every profile that knows the image (by its content) rejected it: none kept it, and none still
   has it waiting for review; no profile recorded it as kept under its generation id either;
2. where vision is on, the vision model has described it (what it saw stays on the event);
3. it was rejected at least the grace period ago (``GRACE_DAYS`` by default): a rejection made
   a minute ago may still be undone;
4. its path is inside one of the image folders, with no symbolic link and no ``..`` on the way
   (the file itself is not a link either), and in no folder named like a favourites folder (a
   copy someone moved there to keep);
5. the file still holds the bytes it was imported with (its SHA-256 is the content hash): a file
   overwritten by another image since is someone else's image.

Nothing is ever deleted: ``move_one`` moves a file into a trash folder (one subfolder per
cleanup), checking its bytes once it is there (moved back if they changed); ``put_one_back``
returns it to where it was, never over a file that is there now.
The events stay as they were: learning never reads the file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tastebud.generations import FAVOURITE_FOLDERS, REJECTED
from tastebud.regular_files import open_regular

GRACE_DAYS = 7.0
"""Days since an image was rejected before it may be moved away."""
MAX_DAYS = 100_000
"""The longest grace period taken (about 270 years): any longer is not a date."""

KEPT = "kept, or waiting for review, in a profile"
FAVOURITES = "in a favourites folder"
UNDESCRIBED = "not described by the vision model yet"
RECENT = "rejected less than the grace period ago"
NO_FILE = "no file known"
LINK = "a symbolic link, or under one"
OUTSIDE = "outside the image folders"
MISSING = "the file is gone"
CHANGED = "the file holds other bytes than when it was imported"
REASONS = (KEPT, UNDESCRIBED, RECENT, NO_FILE, LINK, OUTSIDE, FAVOURITES, MISSING, CHANGED)
"""Why an image is left alone, in the order the rules are tried."""


@dataclass(frozen=True)
class Known:
    """A rejected image of the profile, with what every profile thinks of it."""

    content_hash: str
    path: str
    generation_id: str
    rejected_at: datetime | None
    statuses: frozenset[str]
    """The status of every profile's generation of this content (this profile's included)."""
    kept_elsewhere: bool = False
    """A profile recorded an event under its generation id as kept (tastebud's picker)."""
    described: bool = False
    """The vision model has described it (its event has a vision description)."""


@dataclass(frozen=True)
class Removable:
    """An image file safe to move away."""

    path: str
    content_hash: str
    generation_id: str
    size: int
    rejected_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "content_hash": self.content_hash,
            "generation_id": self.generation_id,
            "size": self.size,
            "rejected_at": self.rejected_at.isoformat() if self.rejected_at else None,
        }


@dataclass
class CleanupPlan:
    """The images safe to move away, and how many were left alone, by reason."""

    removable: list[Removable] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def size(self) -> int:
        """Bytes the removable images hold."""
        return sum(item.size for item in self.removable)

    def to_dict(self) -> dict[str, Any]:
        return {
            "images": len(self.removable),
            "bytes": self.size,
            "removable": [item.to_dict() for item in self.removable],
            "skipped": {reason: self.skipped[reason] for reason in REASONS if self.skipped[reason]},
        }


def plan_cleanup(
    known: Iterable[Known],
    folders: Sequence[Path],
    *,
    now: datetime,
    grace: timedelta = timedelta(days=GRACE_DAYS),
    described_first: bool = False,
) -> CleanupPlan:
    """The images of ``known`` that are safe to move away (see the module's rules);
    ``described_first``: vision is on, so only those the model has described."""
    roots = [Path(os.path.realpath(folder)) for folder in folders]
    plan = CleanupPlan()
    for item in known:
        if described_first and not item.described and item.statuses == {REJECTED}:
            plan.skipped[UNDESCRIBED] += 1
            continue
        reason, size = _why_not(item, roots, now - grace)
        if reason is None:
            plan.removable.append(
                Removable(item.path, item.content_hash, item.generation_id, size, item.rejected_at)
            )
        else:
            plan.skipped[reason] += 1
    return plan


def _why_not(item: Known, roots: Sequence[Path], before: datetime) -> tuple[str | None, int]:
    """Why the image must stay (None: it may go), and its size."""
    if item.statuses != {REJECTED} or item.kept_elsewhere:
        return KEPT, 0
    if item.rejected_at is None or item.rejected_at > before:
        return RECENT, 0
    if not item.path:
        return NO_FILE, 0
    path = Path(item.path)
    if not path.is_absolute() or _through_a_link(path):
        return LINK, 0
    if not any(path.is_relative_to(root) for root in roots):
        return OUTSIDE, 0
    if any(part.lower() in FAVOURITE_FOLDERS for part in path.parent.parts):
        return FAVOURITES, 0
    try:
        found = path.lstat()
    except OSError:
        return MISSING, 0
    if not stat.S_ISREG(found.st_mode):
        return LINK, 0
    if _sha256(path) != item.content_hash:
        return CHANGED, 0
    return None, found.st_size


def _through_a_link(path: Path) -> bool:
    """Whether the path, or a folder on its way, is a symbolic link, or it holds a ``..`` (which
    a containment test by text would let out of a folder)."""
    if ".." in path.parts or os.path.normpath(path) != str(path):
        return True
    try:
        return Path(os.path.realpath(path)) != path or path.is_symlink()
    except OSError:
        return True


def _sha256(path: Path) -> str | None:
    """The file's SHA-256; None for anything but a regular file (a FIFO swapped in would block)."""
    try:
        file, _ = open_regular(path)
    except (OSError, ValueError):
        return None
    with file:
        return hashlib.file_digest(file, "sha256").hexdigest()


@dataclass(frozen=True)
class Moved:
    """A file moved to the trash folder."""

    original_path: str
    trash_path: str
    content_hash: str
    generation_id: str
    size: int


def move_one(item: Removable, trash: Path, batch_id: str) -> Moved | str:
    """Move one file into ``trash/<batch_id>/`` (named by its content); the reason it stays,
    where it does.

    Within a file system: renamed, then its bytes checked where it now is (renamed back if they
    are not the image's). Across file systems: copied, the copy checked, and the original removed
    only if it is still the file that was copied (same inode, size and time).
    """
    path = Path(item.path)
    if _through_a_link(path) or _sha256(path) != item.content_hash:
        return CHANGED
    folder = trash / batch_id
    target = folder / f"{item.content_hash}{path.suffix.lower()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            return "already in the trash folder"
        before = path.stat()
        if before.st_dev == folder.stat().st_dev:
            os.rename(path, target)
            if _sha256(target) != item.content_hash:  # changed between the check and the move
                os.rename(target, path)
                return CHANGED
        else:
            shutil.copy2(path, target)
            after = path.stat()
            same = (before.st_ino, before.st_size, before.st_mtime_ns) == (
                after.st_ino, after.st_size, after.st_mtime_ns,
            )  # fmt: skip
            if not same or _sha256(target) != item.content_hash:
                target.unlink()
                return CHANGED
            path.unlink()
    except OSError as error:
        return f"cannot move it: {error.strerror or error}"
    return Moved(str(path), str(target), item.content_hash, item.generation_id, item.size)


@dataclass
class PutBack:
    """What an undo did: the files put back where they were, and those that could not be."""

    restored: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "restored": self.restored,
            "failed": [{"path": path, "reason": reason} for path, reason in self.failed],
        }


def put_one_back(original: str, in_trash: str) -> str | None:
    """Move a file back from the trash to where it was; the reason it cannot, or None.

    Never over another file: a hard link claims the place (failing if anything is there), then
    the trash's name goes; across file systems, the copy is written to a new file only.
    """
    source, target = Path(in_trash), Path(original)
    if not source.is_file() or source.is_symlink():
        return "it is no longer in the trash folder"
    if target.exists() or target.is_symlink():
        return "another file is there now"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except FileExistsError:
            return "another file is there now"
        except OSError:  # another file system (or one without hard links): copy to a new file
            with source.open("rb") as given, target.open("xb") as made:
                shutil.copyfileobj(given, made)
            shutil.copystat(source, target)
        source.unlink()
    except FileExistsError:
        return "another file is there now"
    except OSError as error:
        return f"cannot put it back: {error.strerror or error}"
    return None
