"""The ``tastebud`` command: serve the API, record, recommend, show, export, import, check.

Each command opens a ``PreferenceLearning`` on ``--db``, makes one or two calls, and shows the
answer as rich tables (or JSON with ``--json``). Errors are one line on stderr and exit status 1;
usage mistakes are click's message and exit status 2. This module holds the app and most
commands; the image commands are in ``cli_images.py``, what they all share in ``cli_common.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tastebud import terminal
from tastebud.cli_common import (
    DATABASE,
    HALF_LIFE,
    IMAGE_FOLDERS,
    TRASH_FOLDER,
    VISION_URL,
    AsJson,
    Database,
    HalfLife,
    ImageFolders,
    PlainHelp,
    TrashFolder,
    User,
    VisionUrl,
    _errors_as_one_line,
    _option,
    _run,
    err,
    out,
    shown,
)
from tastebud.cli_data import check, export, forget, forget_profile, import_, profiles, repair
from tastebud.cli_images import cleanup, import_images_command, watch
from tastebud.demo import DEMO_PROFILE, demo_history, draw_demo_images
from tastebud.errors import InvalidInput
from tastebud.names import canonical
from tastebud.recommendations import Exploration, LoraScore, LoraSet, Recommendation
from tastebud.settings import Settings, setting

if TYPE_CHECKING:
    from tastebud.service import PreferenceLearning

app = typer.Typer(
    name="tastebud",
    help="Learns which checkpoints and LoRAs you like from the images you keep and reject.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help and one-paragraph usage errors
    context_settings={"help_option_names": ["-h", "--help"]},
)


Available = Annotated[
    list[str] | None,
    typer.Option(
        "--available",
        "-a",
        metavar="NAME",
        help="A checkpoint to choose from (repeat, or separate by commas).",
    ),
]


def _names(available: list[str] | None) -> list[str] | None:
    """``-a a -a b,c`` -> ``["a", "b", "c"]``; none given -> None (every checkpoint seen)."""
    if available is None:
        return None
    return [name.strip() for text in available for name in text.split(",") if name.strip()]


def main() -> None:
    """The console script's entry point."""
    app()


def _show_version(wanted: bool) -> None:
    if wanted:
        from tastebud import __version__

        out.print(f"tastebud {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _everything(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Say the version."),
    ] = False,
) -> None:
    """Learns which checkpoints and LoRAs you like from the images you keep and reject."""


# -- the main job -------------------------------------------------------------------------------


@app.command(cls=PlainHelp)
def serve(
    db: Database = DATABASE,
    host: Annotated[str, _option("host", "--host")] = setting("host").default,
    port: Annotated[int, _option("port", "--port")] = setting("port").default,
    token: Annotated[str | None, _option("token", "--token")] = setting("token").default,
    allowed_hosts: Annotated[str | None, _option("allowed_hosts", "--allowed-hosts")] = setting(
        "allowed_hosts"
    ).default,
    workers: Annotated[int, _option("workers", "--workers")] = setting("workers").default,
    max_body_mb: Annotated[float, _option("max_body_mb", "--max-body-mb")] = setting(
        "max_body_mb"
    ).default,
    max_import_mb: Annotated[float, _option("max_import_mb", "--max-import-mb")] = setting(
        "max_import_mb"
    ).default,
    image_folders: ImageFolders = IMAGE_FOLDERS,
    kept_folders: Annotated[str | None, _option("kept_folders", "--kept-folders")] = setting(
        "kept_folders"
    ).default,
    thumbnail_folder: Annotated[str, _option("thumbnail_folder", "--thumbnail-folder")] = setting(
        "thumbnail_folder"
    ).default,
    trash_folder: TrashFolder = TRASH_FOLDER,
    vision_url: VisionUrl = VISION_URL,
    vision_model: Annotated[str, _option("vision_model", "--vision-model")] = setting(
        "vision_model"
    ).default,
    vision_timeout: Annotated[float, _option("vision_timeout", "--vision-timeout")] = setting(
        "vision_timeout"
    ).default,
    half_life_days: HalfLife = HALF_LIFE,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="First fill the 'demo' profile (see 'tastebud demo'), and give it a review "
            "queue of pictures drawn into demo-images/ beside the thumbnail folder.",
        ),
    ] = False,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs) until Ctrl-C.

    \b
    Example:
      tastebud serve --demo
      curl "http://127.0.0.1:8001/api/preferences/stats?user_id=demo"
    """
    import uvicorn  # only this command needs the server

    from tastebud.api import create_app
    from tastebud.api.workers import SUPERVISOR_VARIABLE

    with _errors_as_one_line():
        # The demo's review queue is drawn beside the thumbnails, and served like any image.
        demo_images = Path(thumbnail_folder).expanduser().parent / "demo-images"
        if demo:
            image_folders = os.pathsep.join(filter(None, [image_folders, str(demo_images)]))
        settings = Settings(
            database=db, host=host, port=port, token=token, allowed_hosts=allowed_hosts,
            workers=workers,
            max_body_mb=max_body_mb, max_import_mb=max_import_mb, half_life_days=half_life_days,
            image_folders=image_folders, kept_folders=kept_folders,
            thumbnail_folder=thumbnail_folder, trash_folder=trash_folder,
            vision_url=vision_url or None, vision_model=vision_model,
            vision_timeout=vision_timeout,
        )  # fmt: skip
        if demo:
            _run(_fill_demo, db)
            _run(lambda learning: _fill_demo_queue(learning, demo_images), db)
        err.print(
            f"tastebud {shown(db)} on http://{_url_host(host)}:{port}"
            "  (API docs: /docs, stop: Ctrl-C)",
            highlight=False,
        )
        if demo:
            err.print(
                f"demo data: curl 'http://{_url_host(host)}:{port}"
                f"/api/preferences/stats?user_id={DEMO_PROFILE}'",
                highlight=False,
            )
    # Bodies are limited by the app itself (413 in the API's error shape). Start-up and
    # shutdown are logged (info), each worker's too; the access log is off: a line per request
    # would cost more than a recommendation.
    served: dict[str, Any] = {"host": host, "port": port, "log_level": "info",
                              "access_log": False, "timeout_graceful_shutdown": 10}  # fmt: skip
    if settings.workers == 1:
        uvicorn.run(create_app(settings), **served)
    else:
        # Each worker process builds its own app, from the same settings passed down in the
        # environment, and ends when this process does. A worker starting on a busy machine
        # may not answer the supervisor's health check for several seconds; uvicorn's 5 s
        # had workers killed and replaced again and again, with nothing listening meanwhile.
        os.environ.update(settings.as_environment())
        os.environ[SUPERVISOR_VARIABLE] = str(os.getpid())
        uvicorn.run(
            "tastebud.api.app:from_environment", factory=True, workers=settings.workers,
            timeout_worker_healthcheck=60, **served,
        )  # fmt: skip


@app.command(cls=PlainHelp)
def demo(db: Database = DATABASE) -> None:
    """Fill the 'demo' profile with a simulated history, and show what tastebud learned.

    Running it again changes nothing. Your own profile ('default') is not touched.

    \b
    Example:
      tastebud demo
      tastebud recommend "beach at sunset" --user demo
    """
    with _errors_as_one_line():
        added = _run(_fill_demo, db)
        err.print(f"demo profile {DEMO_PROFILE!r}: {added} events added", highlight=False)
        terminal.show_stats(_run(lambda pl: pl.get_stats(user_id=DEMO_PROFILE), db))
        out.print(f'\nTry: tastebud recommend "beach at sunset" --user {DEMO_PROFILE}')


async def _fill_demo(learning: PreferenceLearning) -> int:
    added = (await learning.record_batch(demo_history())).added
    await learning.refit(DEMO_PROFILE)  # so the first question is answered from a fitted state
    return added


async def _fill_demo_queue(learning: PreferenceLearning, folder: Path) -> int:
    """The demo's own review queue: pictures drawn into ``folder``, imported for the demo
    profile (again, nothing changes)."""
    from tastebud.importers.folders import import_images

    drawn = draw_demo_images(folder)
    report = await import_images(learning, drawn, root=folder, user_id=DEMO_PROFILE)
    return report.queued


# -- recording and recommending -------------------------------------------------------------------


@app.command(cls=PlainHelp)
def record(
    prompt: Annotated[str, typer.Argument(metavar="PROMPT", help="The image's prompt.")],
    checkpoint: Annotated[
        str, typer.Option("--checkpoint", "-c", metavar="NAME", help="The checkpoint used.")
    ],
    selected: Annotated[bool, typer.Option("--selected", help="You kept the image.")] = False,
    rejected: Annotated[bool, typer.Option("--rejected", help="You rejected the image.")] = False,
    lora: Annotated[
        list[str] | None,
        typer.Option("--lora", "-l", metavar="NAME[:STRENGTH]", help="A LoRA used (repeat)."),
    ] = None,
    generation_id: Annotated[
        str | None,
        typer.Option(
            "--generation-id",
            "-g",
            metavar="ID",
            help="The image's id; recording it again replaces.",
        ),
    ] = None,
    session_id: Annotated[
        str | None, typer.Option("--session", metavar="ID", help="The session.")
    ] = None,
    stage: Annotated[int | None, typer.Option(metavar="N", help="The stage (0 = first).")] = None,
    feedback: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Why, in your words.")
    ] = None,
    user: User = "default",
    db: Database = DATABASE,
) -> None:
    """Record one image you kept or rejected.

    \b
    Example:
      tastebud record "beach at sunset" -c epicrealismXL_pureFix.safetensors \\
          --lora add_detail:0.6 --selected
    """
    if selected == rejected:
        said = "give one of them, not both" if selected else "was the image kept? Say which"
        raise typer.BadParameter(said, param_hint="--selected / --rejected")
    with _errors_as_one_line():
        loras = [_lora(text) for text in lora or ()]
        event = _run(
            lambda pl: pl.record_preference(
                prompt=prompt, checkpoint=checkpoint, selected=selected, loras=loras,
                generation_id=generation_id, session_id=session_id, stage=stage,
                feedback=feedback, user_id=user,
            ),
            db,
        )  # fmt: skip
    out.print(
        f"recorded {event.action}: {event.checkpoint} for {event.prompt!r} "
        f"(generation {event.generation_id}, profile {event.user_id!r})",
        highlight=False,
    )


def _lora(text: str) -> dict[str, Any]:
    name, _, strength = text.rpartition(":")
    if not name or "/" in strength or "\\" in strength:
        return {"name": text}  # no strength, or a colon of a path (C:\models\...)
    try:
        return {"name": name, "strength": float(strength)}
    except ValueError:
        reason = f"{text!r}: the strength after the last ':' must be a number, as NAME:0.6"
        raise typer.BadParameter(reason, param_hint="--lora") from None


@app.command(cls=PlainHelp)
def recommend(
    prompt: Annotated[
        str, typer.Argument(metavar="PROMPT", help="The prompt you are about to generate.")
    ],
    available: Available = None,
    count: Annotated[int, typer.Option(metavar="N", help="How many LoRAs to suggest.")] = 3,
    user: User = "default",
    db: Database = DATABASE,
    half_life_days: HalfLife = HALF_LIFE,
    as_json: AsJson = False,
) -> None:
    """Recommend a checkpoint and LoRAs for a prompt, with the evidence behind them.

    \b
    Example:
      tastebud recommend "beach at sunset" -a epicrealismXL,realvisxlV40
    """
    names = _names(available)

    async def ask(pl: PreferenceLearning) -> tuple[Recommendation, list[LoraScore]]:
        found = await pl.recommend(prompt, names, user_id=user)
        loras = await pl.explain_loras(prompt, found.checkpoint, count, user_id=user)
        return found, loras

    with _errors_as_one_line():
        found, loras = _run(ask, db, half_life_days)
    if as_json:
        # The HTTP API's answer (GET /api/preferences/recommend/checkpoint), with the LoRAs of
        # GET /api/preferences/recommend/loras?include_avoided=true beside it.
        terminal.print_json({**found.to_dict(), "loras": [lora.to_dict() for lora in loras]})
        return
    if found.checkpoint is None:
        out.print(f"No checkpoint to recommend: profile {user!r} has no history; give --available.")
        return
    terminal.show_recommendation(found, loras)


@app.command(cls=PlainHelp)
def loras(
    prompt: Annotated[
        str, typer.Argument(metavar="PROMPT", help="The prompt you are about to generate.")
    ],
    checkpoint: Annotated[
        str | None,
        typer.Option("--checkpoint", "-c", metavar="NAME", help="The checkpoint they go with."),
    ] = None,
    most: Annotated[int, typer.Option(metavar="N", help="How many LoRAs at most.")] = 3,
    user: User = "default",
    db: Database = DATABASE,
    half_life_days: HalfLife = HALF_LIFE,
    as_json: AsJson = False,
) -> None:
    """The LoRAs to enable for a prompt and checkpoint, at their strengths (smart selection).

    \b
    Example:
      tastebud loras "beach at sunset" -c epicrealismXL
    """

    async def ask(pl: PreferenceLearning) -> LoraSet:
        return await pl.recommend_lora_set(prompt, checkpoint, most=most, user_id=user)

    with _errors_as_one_line():
        found = _run(ask, db, half_life_days)
    if as_json:
        terminal.print_json(found.to_dict())
        return
    terminal.show_lora_set(found)


@app.command(cls=PlainHelp)
def explore(
    prompt: Annotated[
        str, typer.Argument(metavar="PROMPT", help="The prompt you are about to generate.")
    ],
    batch: Annotated[
        int, typer.Option("--batch", "-b", metavar="N", help="Images in the batch.")
    ] = 8,
    available: Available = None,
    top: Annotated[
        int, typer.Option(metavar="N", help="Checkpoints to split the batch across, at most.")
    ] = 3,
    seed: Annotated[
        int | None, typer.Option(metavar="N", help="Makes the split repeatable.")
    ] = None,
    user: User = "default",
    db: Database = DATABASE,
    half_life_days: HalfLife = HALF_LIFE,
    as_json: AsJson = False,
) -> None:
    """Split a batch across the most promising checkpoints (Explore mode, Thompson sampling).

    \b
    Example:
      tastebud explore "beach at sunset" --batch 8
    """
    names = _names(available)

    async def ask(pl: PreferenceLearning) -> Exploration:
        return await pl.explore(prompt, batch, names, top=top, seed=seed, user_id=user)

    with _errors_as_one_line():
        found = _run(ask, db, half_life_days)
    if as_json:
        terminal.print_json(found.to_dict())
        return
    if not found.allocations:
        out.print(f"Nothing to explore: profile {user!r} has no history; give --available.")
        return
    terminal.show_exploration(found)


# -- what has been learned ----------------------------------------------------------------------


@app.command(cls=PlainHelp)
def stats(user: User = "default", db: Database = DATABASE, as_json: AsJson = False) -> None:
    """Show totals and the checkpoints and LoRAs you keep most.

    \b
    Example:
      tastebud stats --user demo
    """

    async def ask(pl: PreferenceLearning) -> dict[str, Any]:
        profiles = await pl.list_profiles()
        if user != "default" and canonical(user) not in profiles:
            # A typo ("defualt") must not read as a profile with nothing learned.
            known = ", ".join(sorted(profiles)) or "none yet"
            raise InvalidInput("user", f"no profile {user!r} (profiles: {known})")
        return await pl.get_stats(user_id=user)

    with _errors_as_one_line():
        found = _run(ask, db)
    if as_json:
        terminal.print_json(found)
    else:
        terminal.show_stats(found)


app.command(cls=PlainHelp)(profiles)
app.command(cls=PlainHelp)(forget)
app.command("forget-profile", cls=PlainHelp)(forget_profile)


# -- export, import, check ------------------------------------------------------------------------


app.command("export", cls=PlainHelp)(export)
app.command("import", cls=PlainHelp)(import_)
# The image commands (cli_images.py), registered here to keep their place in the help.
app.command("import-images", cls=PlainHelp)(import_images_command)
app.command(cls=PlainHelp)(watch)
app.command(cls=PlainHelp)(cleanup)
app.command(cls=PlainHelp)(check)
app.command(cls=PlainHelp)(repair)


# -- plumbing -----------------------------------------------------------------------------------


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
