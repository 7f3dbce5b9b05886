"""What every ``tastebud`` command shares: its options, its database call, its errors.

The options made from the settings' declarations (``--db``, ``--half-life-days``) and the common
ones (``--user``, ``--json``); ``_run``, which opens a ``PreferenceLearning`` for one call; and
``_errors_as_one_line``, which turns any error into one line on stderr and exit status 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit

import typer
from typer.core import TyperCommand

from tastebud import terminal
from tastebud.errors import TastebudError
from tastebud.settings import Settings, setting

if TYPE_CHECKING:
    from tastebud.service import PreferenceLearning

T = TypeVar("T")

out, err = terminal.out, terminal.err


# What each setting's value is, as the help shows it ("--port PORT", not "--port <int>").
_METAVARS = {
    "database": "PATH|URL", "host": "HOST", "port": "PORT", "token": "TOKEN",
    "allowed_hosts": "HOSTS", "workers": "N", "max_body_mb": "MB", "max_import_mb": "MB",
    "image_folders": "FOLDERS", "thumbnail_folder": "FOLDER", "half_life_days": "DAYS",
    "kept_folders": "NAMES", "trash_folder": "FOLDER", "vision_url": "URL",
    "vision_model": "MODEL", "vision_timeout": "SECONDS",
}  # fmt: skip


class PlainHelp(TyperCommand):
    """A command whose help names its arguments plainly: ``tastebud recommend [OPTIONS] PROMPT``
    and ``PROMPT  The prompt ...``, not Typer's ``{PROMPT}`` and ``PROMPT <str>``."""

    # (Typer's own copy of click's Context and HelpFormatter, which it keeps private.)
    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [piece.strip("{}") for piece in super().collect_usage_pieces(ctx)]

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                arguments.append((param.metavar or str(param.name).upper(), record[1]))
            else:
                options.append(record)
        for title, records in (("Arguments", arguments), ("Options", options)):
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)


def _option(name: str, *flags: str) -> Any:
    """A CLI option made from a setting's declaration: its help and environment variable."""
    declared = setting(name)
    return typer.Option(
        *flags, envvar=declared.env, help=declared.help, show_envvar=True, metavar=_METAVARS[name]
    )


Database = Annotated[str, _option("database", "--db")]


def shown(database: str) -> str:
    """A database as the terminal may show it: a URL's password masked."""
    parts = urlsplit(database)
    if "://" not in database or parts.password is None:
        return database
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


DATABASE = str(setting("database").default)
HalfLife = Annotated[float, _option("half_life_days", "--half-life-days")]
HALF_LIFE = float(setting("half_life_days").default)
User = Annotated[
    str, typer.Option("--user", "-u", metavar="PROFILE", help="The profile (user_id).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
# Settings that serve and cleanup both take.
ImageFolders = Annotated[str | None, _option("image_folders", "--image-folders")]
TrashFolder = Annotated[str, _option("trash_folder", "--trash-folder")]
VisionUrl = Annotated[str | None, _option("vision_url", "--vision-url")]
IMAGE_FOLDERS: str | None = setting("image_folders").default
TRASH_FOLDER = str(setting("trash_folder").default)
VISION_URL: str | None = setting("vision_url").default


def _run(
    call: Callable[[PreferenceLearning], Awaitable[T]], database: str, half_life_days: float = 0.0
) -> T:
    """Open the database, make the call, close it."""
    # Imported here: the storage and learning code takes half a second to import, which
    # `tastebud --help` and a usage error need not wait for.
    from tastebud.service import PreferenceLearning

    half_life = Settings(database=database, half_life_days=half_life_days).half_life

    async def run() -> T:
        async with PreferenceLearning(
            database=database, half_life_days=half_life, refit_in_background=False
        ) as learning:
            return await call(learning)

    return asyncio.run(run())


@contextmanager
def _errors_as_one_line() -> Iterator[None]:
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt, typer.BadParameter):
        raise  # a usage error is click's to show: its message and exit status 2
    except TastebudError as error:
        _fail(str(error))
    except OSError as error:  # a file to read or write
        where = f" {error.filename}" if error.filename else ""
        _fail(f"cannot use{where}: {error.strerror or error}")
    except Exception as error:  # noqa: BLE001  a bug: still one line, saying what it was
        _fail(f"unexpected {type(error).__name__}: {error}")


def _fail(message: str) -> NoReturn:
    err.print(f"tastebud: error: {message}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(1)
