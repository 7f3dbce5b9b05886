"""tastebud for Automatic1111 / Forge: an always-visible "tastebud" accordion in txt2img and
img2img.

When it is on, each generation asks a running ``tastebud serve`` which installed checkpoint suits
the prompt (the best, or in Explore mode one drawn with its propensity) and which LoRAs to add at
what strengths, sets them before the images are made, and afterwards sends the images it saved
to tastebud's review queue. An image saved with A1111's own **Save** button counts as kept.

Python's standard library only (nothing enters A1111's environment), and tastebud being down
or slow never stops a generation: the checkpoint you chose is used, and the console says why.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import gradio as gr
from modules import script_callbacks, scripts, sd_models, shared

DEFAULT_SERVER = "http://127.0.0.1:8001"
TIMEOUT_SECONDS = 3.0
"""Long enough for a recommendation (milliseconds), short enough that a server that is down or
hung never holds a generation for long."""


class Unreachable(Exception):
    """tastebud did not answer, or did not answer well; the message says which."""


def ask(server: str, path: str, query: dict[str, Any] | None = None, body: Any = None) -> Any:
    """tastebud's JSON answer to a GET with ``query`` (list values repeat) or a POST of ``body``."""
    pairs = [
        (name, item)
        for name, value in (query or {}).items()
        if value is not None
        for item in (value if isinstance(value, list) else [value])
    ]
    url = server.rstrip("/") + path + ("?" + urllib.parse.urlencode(pairs) if pairs else "")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            details = json.loads(error.read()).get("details") or []
            reason = "; ".join(f"{item['field']}: {item['reason']}" for item in details)
        except (ValueError, AttributeError, KeyError, TypeError):
            reason = ""
        raise Unreachable(f"tastebud answered {error.code} {reason}".rstrip()) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        cause = getattr(error, "reason", None) or error
        raise Unreachable(f"tastebud at {server} is unreachable ({cause})") from None
    except ValueError:
        raise Unreachable("tastebud's answer was not JSON") from None


def say(message: str) -> None:
    print(f"[tastebud] {message}", flush=True)


def installed_loras() -> list[str]:
    """The LoRAs A1111's built-in Lora extension lists (none where it is missing)."""
    try:
        import networks  # A1111's extensions-builtin/Lora, on sys.path inside A1111
    except ImportError:
        return []
    return sorted(networks.available_networks)


class Settings:
    """What the accordion said for the last generation: the Save button, which runs outside a
    generation, records to the same server and profile."""

    on = False
    server = DEFAULT_SERVER
    user_id = "default"


LAST = Settings()
SAVED: dict[int, list[str]] = {}
"""The files each running generation (by ``id(p)``) saved, for its postprocess to send."""


def choose(p: Any, mode: str, with_loras: bool, server: str, user_id: str) -> None:
    """Set the recommended checkpoint and LoRAs on ``p`` and note them in its infotext."""
    titles = {info.name: info.title for info in sd_models.checkpoints_list.values()}
    if not titles:
        return
    query = {"prompt": p.prompt, "available": sorted(titles), "user_id": user_id}
    propensity = None
    if mode == "explore":
        found = ask(server, "/api/preferences/explore", {**query, "batch": 1})
        name, propensity = found["slots"][0]["checkpoint"], found["slots"][0]["propensity"]
    else:
        found = ask(server, "/api/preferences/recommend/checkpoint", query)
        name = found["checkpoint"]
    if name not in titles:
        raise Unreachable(f"tastebud chose {name!r}, which is not installed")
    p.override_settings["sd_model_checkpoint"] = titles[name]
    chosen: dict[str, Any] = {
        "recommendation_id": uuid.uuid4().hex, "user_id": user_id, "mode": mode,
        "checkpoint": name, "propensity": propensity, "loras": [],
    }  # fmt: skip
    loras = installed_loras() if with_loras else []
    if loras:
        found = ask(server, "/api/preferences/recommend/lora-set", {
            "prompt": p.prompt, "checkpoint": name, "available": loras, "user_id": user_id,
        })  # fmt: skip
        enabled = [item for item in found["enabled"] if item["lora"] in loras]
        chosen["loras"] = [
            {"name": item["lora"], "strength": float(item.get("strength") or 1.0)}
            for item in enabled
        ]
        tags = " ".join(f"<lora:{lora['name']}:{lora['strength']:g}>" for lora in chosen["loras"])
        if tags:
            p.prompt = f"{p.prompt} {tags}"
    # A1111 writes extra_generation_params into the infotext; tastebud's importer reads it back.
    p.extra_generation_params["tastebud"] = json.dumps(chosen)
    say(f"{mode}: {name}" + (f" with {len(chosen['loras'])} LoRAs" if chosen["loras"] else ""))


def send(files: list[str], kept: bool = False) -> None:
    """Import the saved files into tastebud: awaiting review, or kept. One request per folder
    (a generation saves into one; on Windows, folders may even be on different drives)."""
    if not files or not LAST.on:
        return
    folders: dict[str, list[str]] = {}
    for name in files:
        folders.setdefault(os.path.dirname(name), []).append(name)
    for folder, names in folders.items():
        body: dict[str, Any] = {"folder": folder, "files": names, "user_id": LAST.user_id}
        if kept:
            body["selected"] = folder
        try:
            report = ask(LAST.server, "/api/images/import", body=body)
        except Unreachable as error:
            say(f"the images were not sent: {error} (start tastebud with --image-folders "
                f"covering {folder})")  # fmt: skip
            continue
        say(f"sent {report['read']} images: {report['selected']} kept, "
            f"{report['queued']} to review")  # fmt: skip


# What a generation saves besides its images: the grid of a batch, and the copies "before
# highres fix", "before face restoration" and "before color correction" (A1111's suffixes).
NOT_AN_IMAGE_OF_THE_BATCH = ("-before-highres-fix", "-before-face-restoration",
                             "-before-color-correction")  # fmt: skip


def on_image_saved(params: Any) -> None:
    filename = Path(params.filename).absolute()
    if filename.is_relative_to(Path(shared.opts.outdir_save).absolute()):
        send([str(filename)], kept=True)  # the Save button: the person kept this one
        return
    saved = SAVED.get(id(params.p))
    grids = getattr(params.p, "outpath_grids", None)
    if saved is None or (grids and filename.is_relative_to(Path(grids).absolute())):
        return
    if not filename.stem.endswith(NOT_AN_IMAGE_OF_THE_BATCH):
        saved.append(str(filename))


class TastebudScript(scripts.Script):  # type: ignore[misc]  # A1111's, untyped here
    def title(self) -> str:
        return "tastebud"

    def show(self, is_img2img: bool) -> Any:
        return scripts.AlwaysVisible

    def ui(self, is_img2img: bool) -> list[Any]:
        with gr.Accordion("tastebud", open=False):
            enabled = gr.Checkbox(value=False, label="Let tastebud choose the checkpoint and LoRAs")
            mode = gr.Radio(["best", "explore"], value="best", label="Mode")
            with_loras = gr.Checkbox(value=True, label="Add the recommended LoRAs")
            server = gr.Textbox(value=DEFAULT_SERVER, label="tastebud server")
            user_id = gr.Textbox(value="default", label="Profile")
        return [enabled, mode, with_loras, server, user_id]

    def before_process(
        self, p: Any, enabled: bool, mode: str, with_loras: bool, server: str, user_id: str
    ) -> None:
        LAST.on, LAST.server, LAST.user_id = bool(enabled), server, user_id
        if not enabled:
            return
        SAVED[id(p)] = []
        try:
            choose(p, mode, with_loras, server, user_id)
        except (Unreachable, KeyError, IndexError, TypeError, ValueError) as error:
            say(f"{error}: generating with the checkpoint you chose")

    def postprocess(self, p: Any, processed: Any, *args: Any) -> None:
        send(SAVED.pop(id(p), []))


script_callbacks.on_image_saved(on_image_saved)
