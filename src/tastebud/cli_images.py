"""The ``tastebud`` commands that read image files: ``import-images`` and ``watch``.

Plain functions with their options; ``cli.py`` registers them on the app, in the help's order.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tastebud import terminal
from tastebud.cleanup import GRACE_DAYS
from tastebud.cli_common import (
    DATABASE,
    IMAGE_FOLDERS,
    TRASH_FOLDER,
    VISION_URL,
    AsJson,
    Database,
    ImageFolders,
    TrashFolder,
    User,
    VisionUrl,
    _errors_as_one_line,
    _option,
    _run,
    err,
)
from tastebud.errors import InvalidInput
from tastebud.settings import kept_names

if TYPE_CHECKING:
    from tastebud.service import PreferenceLearning

if TYPE_CHECKING:
    from tastebud.importers.folders import ImportReport, Rules
    from tastebud.importers.styles import StyleReport


SelectedFolders = Annotated[
    list[Path] | None,
    typer.Option(
        "--selected", metavar="FOLDER", help="Images under this folder were kept (repeat for more)."
    ),
]
RejectedFolders = Annotated[
    list[Path] | None,
    typer.Option(
        "--rejected",
        metavar="FOLDER",
        help="Images under this folder were rejected (repeat for more).",
    ),
]
KeptFolders = Annotated[str | None, _option("kept_folders", "--kept-folders")]
HashMap = Annotated[
    Path | None,
    typer.Option(
        "--hashes",
        metavar="FILE",
        help="A JSON map of model hashes to names, to name checkpoints that A1111 gives by "
        "'Model hash' only.",
    ),
]


def _rules(
    folder: Path, selected: list[Path] | None, rejected: list[Path] | None, kept: str | None
) -> Rules:
    from tastebud.importers.folders import Rules, invokeai_kept

    for given in (folder, *(selected or ()), *(rejected or ())):
        if not given.is_dir():
            raise InvalidInput("folder", f"{str(given)!r} is not a folder")
    return Rules(
        selected=tuple(path.resolve() for path in selected or ()),
        rejected=tuple(path.resolve() for path in rejected or ()),
        starred=invokeai_kept(folder, kept_names(kept)),
        kept_names=kept_names(kept),
    )


def import_images_command(
    folder: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="The folder of generated images.")
    ],
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Also the folders inside it.")
    ] = False,
    selected: SelectedFolders = None,
    rejected: RejectedFolders = None,
    kept_folders: KeptFolders = None,
    hashes: HashMap = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would happen; change nothing.")
    ] = False,
    user: User = "default",
    db: Database = DATABASE,
    as_json: AsJson = False,
) -> None:
    """Learn from the images you already have: read each one's prompt, checkpoint and LoRAs.

    Images under --selected folders, in folders named like favourites (Favorites, Starred,
    keep, or a name in --kept-folders), saved with A1111's Save button (log/images or its
    log.csv), or starred or on a favourites board in InvokeAI count as kept; under --rejected
    as rejected; the rest wait in the review queue. Importing again changes nothing.

    \b
    Example:
      tastebud import-images ~/ComfyUI/output --recursive --selected ~/ComfyUI/output/best
    """
    # Pillow and the metadata parsers load only for the commands that read images.
    from tastebud.importers.folders import image_files, import_images
    from tastebud.importers.metadata import load_hash_map
    from tastebud.importers.styles import StyleReport, read_styles

    with _errors_as_one_line():
        rules = _rules(folder, selected, rejected, kept_folders)
        hash_map = load_hash_map(hashes) if hashes is not None else None
        files = list(image_files(folder, recursive=recursive))
        with terminal.progress() as progress:
            task = progress.add_task("reading images", total=len(files))

            async def run(pl: PreferenceLearning) -> tuple[ImportReport, StyleReport]:
                report = await import_images(
                    pl, files, root=folder, rules=rules, hashes=hash_map, user_id=user,
                    dry_run=dry_run, progress=lambda done: progress.advance(task, done),
                )  # fmt: skip
                if dry_run:
                    return report, StyleReport()
                # Then the pixels, for each image's style: 20-50 times slower than the metadata,
                # so the import is stored first; stopped here, the next import goes on with it.
                looks = progress.add_task("reading their style", total=report.imported or None)
                return report, await read_styles(
                    pl, progress=lambda done: progress.advance(looks, done)
                )

            report, styles = _run(run, db)
    if as_json:
        terminal.print_json({**report.to_dict(), "styles": styles.to_dict()})
        return
    terminal.show_import(report)
    terminal.show_styles(styles)


def watch(
    folder: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="The output folder your generator writes to.")
    ],
    recursive: Annotated[
        bool, typer.Option("--recursive/--no-recursive", help="Also the folders inside it.")
    ] = True,
    selected: SelectedFolders = None,
    rejected: RejectedFolders = None,
    kept_folders: KeptFolders = None,
    hashes: HashMap = None,
    user: User = "default",
    db: Database = DATABASE,
) -> None:
    """Watch an output folder: new images join the review queue as they are written. Ctrl-C stops.

    \b
    Example:
      tastebud watch ~/ComfyUI/output
    """
    from tastebud.importers.metadata import load_hash_map
    from tastebud.importers.watch import watch as watch_folder

    with _errors_as_one_line():
        rules = _rules(folder, selected, rejected, kept_folders)
        hash_map = load_hash_map(hashes) if hashes is not None else None
        err.print(f"watching {folder} for new images (stop: Ctrl-C)", highlight=False)

        async def run(pl: PreferenceLearning) -> None:
            await watch_folder(
                pl, folder, recursive=recursive, rules=rules, hashes=hash_map, user_id=user,
                on_report=terminal.show_watched,
            )  # fmt: skip

        try:
            _run(run, db)
        except KeyboardInterrupt:
            err.print("stopped", highlight=False)


def cleanup(
    image_folders: ImageFolders = IMAGE_FOLDERS,
    older_than: Annotated[
        float,
        typer.Option(
            "--older-than", metavar="DAYS", help="Only images rejected at least this long ago."
        ),
    ] = GRACE_DAYS,
    apply: Annotated[
        bool, typer.Option("--apply", help="Move them to the trash folder (else only report).")
    ] = False,
    undo: Annotated[
        bool, typer.Option("--undo", help="Put back what the last cleanup moved.")
    ] = False,
    trash_folder: TrashFolder = TRASH_FOLDER,
    vision_url: VisionUrl = VISION_URL,
    user: User = "default",
    db: Database = DATABASE,
    as_json: AsJson = False,
) -> None:
    """Free the disk space your rejected images hold: first a report, then --apply, --undo.

    Only images every profile rejected, at least --older-than days ago, inside --image-folders,
    that still hold the bytes they were imported with and are no symbolic link. --apply moves them
    to the trash folder (never deletes); --undo puts the last cleanup back. With vision on
    (--vision-url), only images the vision model has described. What you judged stays: learning
    never needs the files.

    \b
    Example:
      tastebud cleanup --image-folders ~/ComfyUI/output --older-than 30
      tastebud cleanup --image-folders ~/ComfyUI/output --older-than 30 --apply
    """
    with _errors_as_one_line():
        if undo:
            back = _run(lambda pl: pl.undo_cleanup(user_id=user), db)
            if as_json:
                terminal.print_json(back.to_dict())
            else:
                terminal.show_put_back(back)
            return
        folders = [part for part in (image_folders or "").split(os.pathsep) if part.strip()]
        if apply:
            done = _run(
                lambda pl: pl.clean_up(
                    folders,
                    trash_folder,
                    user_id=user,
                    older_than_days=older_than,
                    described_first=bool(vision_url),
                ),
                db,
            )
            if as_json:
                terminal.print_json(done.to_dict())
            else:
                terminal.show_cleanup(
                    done.plan,
                    moved=done.moved,
                    failed=done.failed,
                    trash=done.batch_id and str(Path(trash_folder) / done.batch_id),
                )
            return
        plan = _run(
            lambda pl: pl.plan_cleanup(
                folders, user_id=user, older_than_days=older_than, described_first=bool(vision_url)
            ),
            db,
        )
        if as_json:
            terminal.print_json({**plan.to_dict(), "dry_run": True})
        else:
            terminal.show_cleanup(plan)
