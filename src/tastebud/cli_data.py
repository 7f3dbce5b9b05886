"""Your data on a database: the profiles, forgetting an image or a profile, export and import,
and the check and repair of the statistics.

Plain functions with their options; ``cli.py`` registers them on the app, in the help's order.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tastebud import terminal
from tastebud.cli_common import (
    DATABASE,
    AsJson,
    Database,
    User,
    _errors_as_one_line,
    _run,
    err,
    out,
)
from tastebud.errors import InvalidInput


def profiles(db: Database = DATABASE, as_json: AsJson = False) -> None:
    """List the profiles on the database, with each one's number of judged images.

    \b
    Example:
      tastebud profiles
    """
    with _errors_as_one_line():
        found = _run(lambda pl: pl.list_profiles(), db)
    if as_json:
        terminal.print_json(found)
        return
    if not found:
        out.print("No profiles yet: the first recorded image makes one ('default').")
        return
    width = max(len(name) for name in found)
    for name, total in sorted(found.items()):
        out.print(f"{name:<{width}}  {_images(total)}", highlight=False, markup=False)


def forget(
    generation_id: Annotated[
        str, typer.Argument(metavar="GENERATION_ID", help="The image's generation id.")
    ],
    user: User = "default",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
    db: Database = DATABASE,
) -> None:
    """Forget one recorded image (a mis-click): its event goes, and the statistics with it.

    \b
    Example:
      tastebud forget g1 --user demo
    """
    if not yes and not typer.confirm(
        f"Forget image {generation_id!r} of profile {user!r}?", err=True
    ):
        err.print("nothing forgotten", highlight=False)
        raise typer.Exit(1)
    with _errors_as_one_line():
        if not _run(lambda pl: pl.delete_preference(generation_id, user_id=user), db):
            raise InvalidInput("generation_id", f"profile {user!r} has no image {generation_id!r}")
    out.print(f"forgot {generation_id!r} of profile {user!r}", highlight=False, markup=False)


def forget_profile(
    profile: Annotated[str, typer.Argument(metavar="PROFILE", help="The profile to delete.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
    db: Database = DATABASE,
) -> None:
    """Delete a profile and everything of it: its events, statistics and review queue.

    \b
    Example:
      tastebud forget-profile demo
    """
    if not yes and not typer.confirm(
        f"Delete profile {profile!r} and everything learned of it?", err=True
    ):
        err.print("nothing deleted", highlight=False)
        raise typer.Exit(1)
    with _errors_as_one_line():
        events = _run(lambda pl: pl.delete_profile(profile), db)
        if events is None:
            raise InvalidInput("profile", f"there is no profile {profile!r}")
    out.print(f"deleted profile {profile!r} ({_images(events)})", highlight=False, markup=False)


def _images(count: int) -> str:
    return f"{count:,} image" if count == 1 else f"{count:,} images"


def export(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="File to write (default: stdout)."),
    ] = None,
    user: User = "default",
    all_profiles: Annotated[
        bool, typer.Option("--all-profiles", help="Every profile on the database.")
    ] = False,
    db: Database = DATABASE,
) -> None:
    """Write a profile's events and statistics as a JSON export document.

    \b
    Example:
      tastebud export -o my_preferences.json
    """
    with _errors_as_one_line(), terminal.progress() as progress:
        task = progress.add_task("reading the database", total=None)
        document = _run(
            lambda pl: pl.export_preferences(user_id=None if all_profiles else user), db
        )
        events = document["preferences"]
        progress.update(task, description="writing", total=len(events), completed=0)
        target = sys.stdout if output is None else output.open("w", encoding="utf-8")
        try:
            terminal.write_export(
                target, document, lambda done: progress.update(task, completed=done)
            )
        finally:
            if output is not None:
                target.close()
    if output is not None:
        err.print(f"{len(events)} events written to {output}", highlight=False)


def import_(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="An export document (tastebud export).")
    ],
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            "-u",
            metavar="PROFILE",
            help="Move every event into this profile (default: keep).",
        ),
    ] = None,
    db: Database = DATABASE,
) -> None:
    """Merge an export document; importing the same file again changes nothing.

    A bad document is refused whole, with where it is wrong, and changes nothing.

    \b
    Example:
      tastebud import my_preferences.json
    """
    with _errors_as_one_line(), terminal.progress() as progress:
        size = file.stat().st_size
        task = progress.add_task(f"reading {file.name}", total=size)
        chunks = []
        with file.open("rb") as source:
            while chunk := source.read(4 * 1024 * 1024):
                chunks.append(chunk)
                progress.advance(task, len(chunk))
        progress.update(task, description="checking and importing", total=None)
        summary = _run(lambda pl: pl.import_preferences(b"".join(chunks), user_id=user), db)
    out.print(
        f"{summary.added} added, {summary.replaced} replaced, {summary.unchanged} unchanged, "
        f"{summary.kept_newer} kept (the stored event was newer)",
        highlight=False,
    )


def check(db: Database = DATABASE) -> None:
    """Recount every statistic from the events and compare; exit status 1 if any differs.

    \b
    Example:
      tastebud check || tastebud repair
    """
    with _errors_as_one_line(), terminal.progress() as progress:
        progress.add_task("recounting", total=None)
        report = _run(lambda pl: pl.check(), db)
    terminal.show_report(report, "statistics differ from the events: run 'tastebud repair'")
    if not report.ok:
        raise typer.Exit(1)


def repair(db: Database = DATABASE) -> None:
    """Rebuild every statistic from the events (after 'tastebud check' found a difference).

    \b
    Example:
      tastebud repair
    """
    with _errors_as_one_line(), terminal.progress() as progress:
        progress.add_task("rebuilding", total=None)
        report = _run(lambda pl: pl.repair(), db)
    terminal.show_report(report, "statistics differed and are now rebuilt")
