"""Generations: images whose metadata was read but which nobody has judged yet.

An import or a watch finds an image, reads what made it (prompt, checkpoint, LoRAs) and keeps it as a
generation with the status ``unreviewed``. Judging it (keep or reject) records the preference event
and sets the status to ``selected`` or ``rejected``. A generation is known by its file's content
hash, so the same image imported twice, or copied to another folder, is one generation; its event's
generation id is ``image:<content hash>``, so judging it again replaces the event, never adds one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any

from tastebud.errors import InvalidInput
from tastebud.names import model_key
from tastebud.style import Style, described, look

UNREVIEWED, SELECTED, REJECTED = "unreviewed", "selected", "rejected"
FAVOURITE_FOLDERS = frozenset(
    {"favorites", "favourites", "favorite", "favourite", "faves", "starred", "keep", "kept",
     "keepers", "liked", "best"}
)  # fmt: skip
"""Folder names whose images were kept: an import counts them as kept, and a cleanup never moves
anything from them."""
STATUSES = (UNREVIEWED, SELECTED, REJECTED)


def event_id(content_hash: str, metadata: Mapping[str, Any]) -> str:
    """The generation id of a generation's preference event: the one tastebud's picker node
    recorded it under, or else from the file's content."""
    return str(metadata.get("generation_id") or f"image:{content_hash}")


@dataclass(frozen=True, slots=True)
class Generation:
    """One image awaiting review, or already judged."""

    content_hash: str
    """SHA-256 of the file's bytes, in hex."""
    path: str
    metadata: Mapping[str, Any]
    """What the image's file says made it: ``tastebud.importers.metadata.ImageMetadata.to_dict``."""
    made_at: datetime
    """When the image was made (the file's modification time)."""
    status: str = UNREVIEWED
    user_id: str = "default"
    id: int | None = None
    seen_at: datetime | None = None
    reviewed_at: datetime | None = None
    style: Style | None = None
    """What the image looks like (``tastebud.style``): None until the style pass has read the
    pixels, and where they could not be read."""

    @property
    def generation_id(self) -> str:
        """The generation id of the preference event that judging this image records."""
        return event_id(self.content_hash, self.metadata)

    @property
    def checkpoint(self) -> str | None:
        checkpoints = self.metadata.get("checkpoints") or ()
        return str(checkpoints[0]["name"]) if checkpoints else None

    def event_fields(self, selected: bool) -> dict[str, Any]:
        """The fields of ``make_event`` for judging this image."""
        checkpoint = self.checkpoint
        if checkpoint is None:
            raise InvalidInput("checkpoint", f"the metadata of {self.path} names no checkpoint")
        return {
            "prompt": self.metadata.get("prompt") or "",
            "negative_prompt": self.metadata.get("negative_prompt") or None,
            "checkpoint": checkpoint,
            "loras": [
                {"name": lora["name"], "strength": lora.get("strength", 1.0)}
                for lora in self.metadata.get("loras") or ()
            ],
            "selected": selected,
            "generation_id": self.generation_id,
            "image_path": self.path,
            "timestamp": self.made_at,
            "user_id": self.user_id,
            # Drawn by Explore mode in tastebud's ComfyUI node: the chance it had.
            "propensity": self.metadata.get("propensity"),
            "style": self.style,
        }

    def _look(self, style: Style) -> list[str]:
        # Here: the prompt parser loads the lemmatiser, which `tastebud --help` need not wait for.
        from tastebud.prompt import parse_prompt

        words = [word for word in described(style) if word not in ("flat-colour", "photographic")]
        prompt = str(self.metadata.get("prompt") or "")
        return [*words, look(style, self.checkpoint or "", parse_prompt(prompt).keywords)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "status": self.status,
            "path": self.path,
            "content_hash": self.content_hash,
            "generation_id": self.generation_id,
            "made_at": self.made_at.isoformat(),
            "seen_at": self.seen_at.isoformat() if self.seen_at else None,
            "reviewed_at": self.reviewed_at.isoformat() if self.reviewed_at else None,
            "metadata": dict(self.metadata),
            "style": None if self.style is None else self.style.to_dict(),
            # The style in words ("dark", "warm"), and illustration or photographic: the texture,
            # backed by the checkpoint's name and the prompt where the pixels are unclear.
            "look": None if self.style is None else self._look(self.style),
        }


def check_status(status: str) -> str:
    """``status`` if it is one of ``STATUSES``; else ``InvalidInput`` naming them."""
    if status not in STATUSES:
        raise InvalidInput("status", f"must be one of {', '.join(STATUSES)}, not {status!r}")
    return status


@dataclass(frozen=True)
class QueueFilter:
    """Which generations of the queue to show: under a folder, of a checkpoint, with a LoRA,
    made within dates (each None: any)."""

    folder: str | None = None
    """A folder path: generations whose file is in it or below it."""
    checkpoint: str | None = None
    """A checkpoint, matched by its key (``tastebud.names.model_key``)."""
    lora: str | None = None
    since: datetime | None = None
    """Made at this moment or later."""
    until: datetime | None = None
    """Made before this moment."""

    @property
    def empty(self) -> bool:
        return not (self.folder or self.checkpoint or self.lora or self.since or self.until)

    def takes(self, generation: Generation) -> bool:
        """Whether the generation passes the filter's checkpoint and LoRA (the folder and dates
        are the store's to check)."""
        metadata = generation.metadata
        if self.checkpoint:
            wanted = model_key(self.checkpoint)
            names = [str(item.get("name", "")) for item in metadata.get("checkpoints") or ()]
            if wanted not in {model_key(name) for name in names}:
                return False
        if self.lora:
            wanted = model_key(self.lora)
            names = [str(item.get("name", "")) for item in metadata.get("loras") or ()]
            if wanted not in {model_key(name) for name in names}:
                return False
        return True


def facets(found: list[Generation]) -> dict[str, Any]:
    """What the queue's filters can choose from: folders, checkpoints and LoRAs (by how many
    generations have each, most first), and the first and last day made."""
    folders: dict[str, int] = {}
    checkpoints: dict[str, int] = {}
    loras: dict[str, int] = {}
    for item in found:
        if item.path:
            folder = str(PurePath(item.path).parent)
            folders[folder] = folders.get(folder, 0) + 1
        for kind, counted in (("checkpoints", checkpoints), ("loras", loras)):
            for entry in {str(part.get("name", "")) for part in item.metadata.get(kind) or ()}:
                if entry:
                    counted[entry] = counted.get(entry, 0) + 1
    made = sorted(item.made_at for item in found)

    def ranked(counted: dict[str, int]) -> list[dict[str, Any]]:
        return [{"name": name, "count": count}
                for name, count in sorted(counted.items(), key=lambda pair: (-pair[1], pair[0]))]  # fmt: skip

    return {
        "total": len(found),
        "folders": ranked(folders),
        "checkpoints": ranked(checkpoints),
        "loras": ranked(loras),
        "first": made[0].date().isoformat() if made else None,
        "last": made[-1].date().isoformat() if made else None,
    }
