"""Import a folder of generated images: read each file's metadata, decide what it says of taste.

What counts as kept or thrown away, first rule that applies:

1. under a folder given as ``selected`` or ``rejected``;
2. starred in an image browser that keeps its favourites in a readable file (InvokeAI's
   ``databases/invokeai.db``, found beside the folder or above it), or in the image file itself
   (SwarmUI's ``sui_image_params.is_starred``);
3. under a folder named like a favourites folder (``favourites``, ``starred`` as SwarmUI names
   it, ``keep``...), or saved with A1111 / Forge's Save button: in ``log/images``, or listed in
   the ``log.csv`` the button keeps in whatever folder it saves to;
4. anything else joins the review queue.

A file is known by the hash of its bytes, so importing a folder again, or a copy of an image,
changes nothing; a file that cannot be read is a line in the report, never the end of the import.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

from tastebud.generations import FAVOURITE_FOLDERS, REJECTED, SELECTED, UNREVIEWED, Generation
from tastebud.importers.metadata import UnreadableImage, read_metadata
from tastebud.service import PreferenceLearning

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})
BATCH = 500
"""Generations stored per transaction: progress moves, and memory stays flat on a huge folder."""


@dataclass(frozen=True)
class Rules:
    """What makes an image kept or rejected, besides the review queue."""

    selected: tuple[Path, ...] = ()
    rejected: tuple[Path, ...] = ()
    starred: frozenset[Path] = frozenset()
    """Files an image browser marks as favourites (resolved paths)."""
    kept_names: frozenset[str] = frozenset()
    """More folder names (lowercased) whose images were kept: the person's own keepers folder."""
    _save_logs: dict[Path, tuple[int, frozenset[str]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    """Each folder's A1111 Save-button log as last read, with the log's modification time."""

    def status_of(self, path: Path, root: Path) -> str:
        resolved = path.resolve()
        if any(resolved.is_relative_to(folder) for folder in self.selected):
            return SELECTED
        if any(resolved.is_relative_to(folder) for folder in self.rejected):
            return REJECTED
        if resolved in self.starred:
            return SELECTED
        inside = [
            part.lower()
            for part in (path.relative_to(root).parts[:-1] if path.is_relative_to(root) else ())
        ]
        if any(part in FAVOURITE_FOLDERS or part in self.kept_names for part in inside):
            return SELECTED
        if ("log", "images") in pairwise(inside):
            return SELECTED  # A1111 / Forge's Save button copies an image to log/images
        if self._saved_with_the_save_button(path, root):
            return SELECTED
        return UNREVIEWED

    def _saved_with_the_save_button(self, path: Path, root: Path) -> bool:
        """Listed in the log.csv of A1111's Save button, in its folder or one above it (the
        button may save into dated subfolders), up to ``root``."""
        for folder in path.parents:
            if path.relative_to(folder).as_posix() in self._save_log(folder):
                return True
            if folder == root or not folder.is_relative_to(root):
                return False
        return False

    def _save_log(self, folder: Path) -> frozenset[str]:
        try:
            changed = (folder / "log.csv").stat().st_mtime_ns
        except OSError:
            return frozenset()
        known = self._save_logs.get(folder)
        if known is None or known[0] != changed:  # read again once the button appends to it
            known = self._save_logs[folder] = (changed, a1111_save_log(folder))
        return known[1]


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    read: int = 0
    """Image files looked at."""
    imported: int = 0
    """New generations stored."""
    selected: int = 0
    rejected: int = 0
    queued: int = 0
    """New generations awaiting review."""
    unchanged: int = 0
    """Files already known (imported before, or the same image twice)."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) of every file that could not be imported."""
    dry_run: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "read": self.read, "imported": self.imported, "selected": self.selected,
            "rejected": self.rejected, "queued": self.queued, "unchanged": self.unchanged,
            "failed": [{"path": path, "reason": reason} for path, reason in self.failed],
            "dry_run": self.dry_run,
        }  # fmt: skip


def image_files(folder: Path, *, recursive: bool) -> Iterator[Path]:
    """The image files in ``folder`` (and below it), in a stable order."""
    if recursive:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            base = Path(root)
            yield from (base / name for name in sorted(files) if is_image_name(name))
    else:
        yield from sorted(
            entry for entry in folder.iterdir() if entry.is_file() and is_image_name(entry.name)
        )


def is_image_name(name: str) -> bool:
    return not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES


def invokeai_kept(folder: Path, kept_names: frozenset[str] = frozenset()) -> frozenset[Path]:
    """Images InvokeAI marks as kept, where its database sits beside ``folder`` or above it:
    starred, or on a board named like a favourites folder (or one of ``kept_names``).

    InvokeAI keeps its outputs in ``<root>/outputs/images`` and its records in
    ``<root>/databases/invokeai.db``: the ``images`` table has a ``starred`` column, and
    ``board_images`` puts an image on one of the ``boards``.
    """
    folder = folder.resolve()
    for root in (folder, *folder.parents[:3]):
        database = root / "databases" / "invokeai.db"
        if not database.is_file():
            continue
        images = root / "outputs" / "images"
        names = kept_names | FAVOURITE_FOLDERS
        try:
            with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as connection:
                kept = connection.execute("SELECT image_name FROM images WHERE starred").fetchall()
                tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
                if {"boards", "board_images"} <= tables:
                    kept += connection.execute(
                        "SELECT board_images.image_name FROM board_images JOIN boards"
                        " ON boards.board_id = board_images.board_id"
                        f" WHERE lower(trim(boards.board_name)) IN ({','.join('?' * len(names))})",
                        sorted(names),
                    ).fetchall()
        except sqlite3.Error:
            return frozenset()  # another version's layout: no favourites rather than no import
        return frozenset((images / name).resolve() for (name,) in kept)
    return frozenset()


A1111_SAVE_LOG = ["prompt", "seed", "width", "height", "sampler", "cfgs", "steps", "filename"]
"""The first columns of the log.csv that A1111 / Forge's Save button appends to."""


def a1111_save_log(folder: Path) -> frozenset[str]:
    """The files (relative to ``folder``, with ``/``) that A1111's Save button logged in
    ``folder/log.csv``; none where there is no such log. The button saves to a folder of the
    person's choosing (``log/images`` by default), so the log, not the folder's name, says it."""
    try:
        with (folder / "log.csv").open(newline="", encoding="utf-8") as file:
            rows = csv.reader(file)
            if next(rows, [])[: len(A1111_SAVE_LOG)] != A1111_SAVE_LOG:
                return frozenset()
            column = len(A1111_SAVE_LOG) - 1
            return frozenset(
                Path(row[column]).as_posix() for row in rows if len(row) > column and row[column]
            )
    except (OSError, UnicodeDecodeError, csv.Error):
        return frozenset()


def is_complete(data: bytes) -> bool:
    """Whether a PNG, JPEG or WebP file's bytes run to the format's end marker.

    A file still being written (or cut short) often opens, metadata and all, before its pixels are
    there: hashing it then would make a second generation when the rest arrives.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data.endswith(b"IEND\xaeB`\x82")
    if data.startswith(b"\xff\xd8"):
        return data.rstrip(b"\x00").endswith(b"\xff\xd9")
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return len(data) >= 8 + int.from_bytes(data[4:8], "little")
    return True  # not one of ours: the metadata reader says what is wrong with it


@dataclass(frozen=True)
class Read:
    """One file read: a generation, or why not."""

    path: Path
    generation: Generation | None
    reason: str | None = None


def read_generation(path: Path, status: str, hashes: dict[str, str] | None = None) -> Read:
    """Hash the file and read its metadata; a file that cannot be read gives a reason."""
    try:
        data = path.read_bytes()
        made_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        if not is_complete(data):
            return Read(path, None, "truncated: the file ends before its image does")
        metadata = read_metadata(path, hashes=hashes)
    except UnreadableImage as error:
        return Read(path, None, error.reason)
    except OSError as error:
        return Read(path, None, f"cannot read: {error.strerror or error}")
    except Exception as error:  # noqa: BLE001  a reader's bug must not end a 10,000-file import
        return Read(path, None, f"unexpected {type(error).__name__}: {error}")
    if not metadata.checkpoints:
        return Read(path, None, "no checkpoint in its metadata")
    if status == UNREVIEWED and metadata.picked is not None:
        status = SELECTED if metadata.picked else REJECTED  # judged in tastebud's picker node
    if status == UNREVIEWED and metadata.starred:
        status = SELECTED  # starred where it was made (SwarmUI writes is_starred into the file)
    return Read(
        path,
        Generation(
            content_hash=hashlib.sha256(data).hexdigest(),
            path=str(path.resolve()),
            metadata=metadata.to_dict(),
            made_at=made_at,
            status=status,
        ),
    )


async def import_images(
    learning: PreferenceLearning,
    files: Iterable[Path],
    *,
    root: Path,
    rules: Rules | None = None,
    hashes: dict[str, str] | None = None,
    user_id: str = "default",
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import image files found under ``root``; ``progress`` is told how many more are done."""
    rules = rules or Rules()
    report = ImportReport(dry_run=dry_run)
    seen: set[str] = set()
    # Hashing and decompressing release the GIL: two threads keep both cores busy.
    with ThreadPoolExecutor(max_workers=2) as pool:

        def read(chunk: list[Path]) -> list[Read]:
            return list(
                pool.map(lambda path: read_generation(path, rules.status_of(path, root), hashes),
                         chunk)
            )  # fmt: skip

        for chunk in _chunks(files, BATCH):
            # Off the event loop: a server goes on answering while a folder is read.
            reads = await asyncio.to_thread(read, chunk)
            await store_reads(learning, reads, report, seen, user_id, dry_run)
            if progress is not None:
                progress(len(chunk))
    return report


async def store_reads(
    learning: PreferenceLearning,
    reads: Sequence[Read],
    report: ImportReport,
    seen: set[str],
    user_id: str,
    dry_run: bool,
) -> None:
    report.read += len(reads)
    found = [item.generation for item in reads if item.generation is not None]
    report.failed += [
        (str(item.path), item.reason or "") for item in reads if item.generation is None
    ]
    outcomes = await learning.add_generations(found, user_id=user_id, dry_run=dry_run)
    for generation in found:
        outcome = outcomes[generation.content_hash]
        if generation.content_hash in seen:
            report.unchanged += 1  # a copy of an image met earlier in this import
            continue
        seen.add(generation.content_hash)
        if outcome.startswith("failed: "):
            report.failed.append((generation.path, outcome.removeprefix("failed: ")))
            continue
        if outcome == "unchanged":
            report.unchanged += 1
            continue
        if outcome == "added":
            report.imported += 1
        if generation.status == SELECTED:
            report.selected += 1
        elif generation.status == REJECTED:
            report.rejected += 1
        else:
            report.queued += 1


def _chunks(items: Iterable[Path], size: int) -> Iterator[list[Path]]:
    chunk: list[Path] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
