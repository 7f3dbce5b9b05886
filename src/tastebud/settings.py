"""The server's settings, each declared once: its default, its environment variable, its help.

The CLI builds its ``serve`` options from these declarations (a flag, then the environment
variable, then the default), docs/http.md lists them, and a test checks that every one is
documented. ``Settings`` is a plain value: ``create_app(settings)`` builds everything from it, so a
test can run many apps side by side.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tastebud.errors import InvalidInput

DEFAULT_DATABASE = "data/preferences.db"
"""Where the data is kept unless told otherwise: a SQLite file, relative to the working folder."""

MIB = 1024 * 1024
MIN_TOKEN = 16
"""Characters a token has at least: one short enough to guess is no lock."""
WILDCARDS = frozenset(("0.0.0.0", "::", ""))
"""Listening addresses that mean every address: no host name of their own."""
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[?[0-9a-f:.]+\]?")


def _about(env: str, help: str) -> dict[str, str]:
    return {"env": env, "help": help}


@dataclass(frozen=True)
class Settings:
    """How ``tastebud serve`` runs; every field has a default."""

    database: str | Path = field(
        default=DEFAULT_DATABASE,
        metadata=_about(
            "TASTEBUD_DB",
            "SQLite file (created on first use) or database URL (postgresql://user@host/db).",
        ),
    )
    host: str = field(
        default="127.0.0.1",
        metadata=_about(
            "TASTEBUD_HOST", "Address to listen on. Any address but loopback requires a token."
        ),
    )
    port: int = field(default=8001, metadata=_about("TASTEBUD_PORT", "Port to listen on."))
    token: str | None = field(
        default=None,
        metadata=_about(
            "TASTEBUD_TOKEN",
            "Secret every request must carry as 'Authorization: Bearer TOKEN'. "
            "Required when the host is not a loopback address.",
        ),
    )
    allowed_hosts: str | None = field(
        default=None,
        metadata=_about(
            "TASTEBUD_ALLOWED_HOSTS",
            "More host names the server answers to, separated by commas (besides localhost, "
            "the address it listens on and any IP address): a request naming any other host "
            "name is refused, so that no web page can reach it through a name of its own.",
        ),
    )
    workers: int = field(
        default=1,
        metadata=_about(
            "TASTEBUD_WORKERS",
            "Server processes. Two on a two-core machine serve about twice the requests; "
            "each keeps its own connections to the database.",
        ),
    )
    max_body_mb: float = field(
        default=1.0,
        metadata=_about(
            "TASTEBUD_MAX_BODY_MB",
            "Largest request body, in MiB, for every endpoint but the import (413 above it).",
        ),
    )
    max_import_mb: float = field(
        default=512.0,
        metadata=_about(
            "TASTEBUD_MAX_IMPORT_MB",
            "Largest export document POST /api/preferences/import takes, in MiB (413 above "
            "it). 100,000 events are about 160 MiB.",
        ),
    )

    image_folders: str | None = field(
        default=None,
        metadata=_about(
            "TASTEBUD_IMAGE_FOLDERS",
            "Folders the server may read images from (POST /api/images/import), separated by "
            f"{os.pathsep!r}. Without it, the server reads no image folder.",
        ),
    )
    kept_folders: str | None = field(
        default=None,
        metadata=_about(
            "TASTEBUD_KEPT_FOLDERS",
            "More folder names whose images count as kept, separated by commas: the subfolder "
            "you move keepers into, or an InvokeAI board (besides Favorites, Starred, keep, "
            "best and the like).",
        ),
    )
    thumbnail_folder: str = field(
        default="data/thumbnails",
        metadata=_about(
            "TASTEBUD_THUMBNAIL_FOLDER",
            "Where the web panel's thumbnails are kept once made (made again if deleted).",
        ),
    )
    trash_folder: str = field(
        default="data/trash",
        metadata=_about(
            "TASTEBUD_TRASH_FOLDER",
            "Where tastebud cleanup --apply moves rejected images (one subfolder per cleanup; "
            "nothing is deleted, and --undo puts them back).",
        ),
    )
    vision_url: str | None = field(
        default=None,
        metadata=_about(
            "TASTEBUD_VISION_URL",
            "Ollama's address (http://127.0.0.1:11434), to have a local vision model describe "
            "each judged image. Off without it: nothing is ever sent anywhere.",
        ),
    )
    vision_model: str = field(
        default="llava",
        metadata=_about(
            "TASTEBUD_VISION_MODEL", "The Ollama model that describes images (it must see images)."
        ),
    )
    vision_timeout: float = field(
        default=120.0,
        metadata=_about(
            "TASTEBUD_VISION_TIMEOUT", "Seconds the vision model may take over one image."
        ),
    )
    half_life_days: float = field(
        default=0.0,
        metadata=_about(
            "TASTEBUD_HALF_LIFE_DAYS",
            "Let old judgements count less: an image's weight halves every this many days "
            "(0, the default, counts every image fully). Recommendations then read the events "
            "instead of the statistics, which is slower on a large history.",
        ),
    )

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise InvalidInput("port", f"must be from 1 to 65535, not {self.port}")
        if not 1 <= self.workers <= 64:
            raise InvalidInput("workers", f"must be from 1 to 64, not {self.workers}")
        for name in ("max_body_mb", "max_import_mb"):
            if not getattr(self, name) > 0:
                raise InvalidInput(name, "must be more than 0")
        if not self.half_life_days >= 0:
            raise InvalidInput("half_life_days", "must be 0 (off) or more")
        if self.vision_url is not None and not re.fullmatch(r"https?://[^\s/]+/?", self.vision_url):
            raise InvalidInput(
                "vision_url",
                f"must be Ollama's address, like http://127.0.0.1:11434, not {self.vision_url!r}",
            )
        if not 0 < self.vision_timeout <= 3600:
            raise InvalidInput("vision_timeout", "must be more than 0 and at most 3600 seconds")
        if self.token is not None and len(self.token.strip()) < MIN_TOKEN:
            raise InvalidInput(
                "token",
                f"must be at least {MIN_TOKEN} characters (make one with: python3 -c "
                "'import secrets; print(secrets.token_urlsafe(24))')",
            )
        for name in self.extra_hosts:
            if not _HOST_NAME.fullmatch(name):
                raise InvalidInput(
                    "allowed_hosts", f"{name!r} is not a host name (give names like tastebud.lan)"
                )
        if self.token is None and not is_loopback(self.host):
            raise InvalidInput(
                "token",
                f"is required to listen on {self.host!r}, which other machines can reach: "
                "give --token or set TASTEBUD_TOKEN",
            )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        """Settings from the declared environment variables, defaults for the rest."""
        given: dict[str, Any] = {}
        for item in fields(cls):
            text = environ.get(item.metadata["env"])
            if text is None or text == "":
                continue
            kind: type = str if item.default is None else type(item.default)
            if kind is not str:
                try:
                    given[item.name] = kind(text)
                except ValueError:
                    raise InvalidInput(
                        item.metadata["env"], f"must be a {kind.__name__}, not {text!r}"
                    ) from None
            else:
                given[item.name] = text
        return cls(**given)

    def as_environment(self) -> dict[str, str]:
        """The environment variables that give these settings (for worker processes)."""
        return {
            item.metadata["env"]: str(getattr(self, item.name))
            for item in fields(self)
            if getattr(self, item.name) is not None
        }

    @property
    def allowed_folders(self) -> tuple[Path, ...]:
        """The image folders the server may read, resolved."""
        if not self.image_folders:
            return ()
        return tuple(
            Path(part).expanduser().resolve()
            for part in self.image_folders.split(os.pathsep)
            if part.strip()
        )

    @property
    def kept_folder_names(self) -> frozenset[str]:
        """The names ``kept_folders`` gives, lowercased."""
        return kept_names(self.kept_folders)

    @property
    def extra_hosts(self) -> tuple[str, ...]:
        """The names ``allowed_hosts`` gives, lowercased."""
        text = self.allowed_hosts or ""
        return tuple(name.strip().lower() for name in text.split(",") if name.strip())

    @property
    def hosts(self) -> frozenset[str]:
        """Every host name a request may name: loopback, the listening address, the extras."""
        listening = self.host.strip().lower().strip("[]")
        own = () if listening in WILDCARDS else (listening,)
        extra = (name.strip("[]") for name in self.extra_hosts)
        return frozenset(("127.0.0.1", "localhost", "::1", *own, *extra))

    @property
    def token_cookie(self) -> str:
        """The cookie the panel keeps the token in: one per port, as cookies know no ports."""
        return f"tastebud_token_{self.port}"

    @property
    def half_life(self) -> float | None:
        """The half-life in days, or None when old judgements count fully."""
        return self.half_life_days or None

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * MIB)

    @property
    def max_import_bytes(self) -> int:
        return int(self.max_import_mb * MIB)


@dataclass(frozen=True)
class Declared:
    """One setting as declared: what the CLI and the docs show."""

    name: str
    default: Any
    env: str
    help: str


def declared() -> list[Declared]:
    """Every setting, in declaration order."""
    return [
        Declared(item.name, item.default, item.metadata["env"], item.metadata["help"])
        for item in fields(Settings)
    ]


def setting(name: str) -> Declared:
    """The declaration of one setting."""
    return next(item for item in declared() if item.name == name)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach: 127.0.0.0/8, ::1 and ``localhost``."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def kept_names(text: str | None) -> frozenset[str]:
    """Folder names, separated by commas, as the rules compare them: lowercased."""
    return frozenset(name.strip().lower() for name in (text or "").split(",") if name.strip())
