"""``TastebudPicker``: the person keeps or rejects a batch inside ComfyUI's page, and tastebud
learns from it.

How a pick goes (the pattern of ComfyUI pickers such as cg-image-filter, written anew):

1. The node saves the batch as previews (ComfyUI's ``PreviewImage``) and tells the page with
   ``PromptServer.instance.send_sync("tastebud.pick", ...)``.
2. The page (``web/tastebud_picker.js``) shows them; the person picks and presses Keep, Reject
   all or Skip, and the page posts the answer to this pack's route ``/tastebud/picker/{pick_id}``.
3. The node waits for it, in steps of a quarter second, never for ever: ComfyUI's own Cancel
   stops the wait, and past ``timeout`` seconds it gives up and passes every image on.
4. Keep and Reject all are posted to tastebud as one judged batch (``/api/preferences/batch``)
   with the checkpoint, LoRAs and propensity the other tastebud nodes wrote in
   ``extra_pnginfo``; the kept images go on to the next node.

Each image's generation id is a hash of its pixels as ``SaveImage`` stores them, and the batch's
verdicts go into ``extra_pnginfo``: a kept image that a later ``SaveImage`` writes to disk, and
tastebud then imports, is recognised as the same judgement, never counted a second time.
"""

from __future__ import annotations

import base64
import hashlib
import io
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import client
from .nodes import CATEGORY, PROVENANCE, provenance_of, server_inputs

SHOW = "tastebud.pick"
"""The message that asks the page to show a batch (``send_sync``'s event)."""
CLOSE = "tastebud.pick.closed"
"""The message that tells the page a pick is over (answered, timed out or cancelled)."""
ROUTE = "/tastebud/picker/{pick_id}"
"""Where the page posts the person's answer (ComfyUI serves it under ``/api`` too)."""
OUTCOMES = ("advance", "reject_all", "skip")
POLL_SECONDS = 0.25
"""How often the wait looks for ComfyUI's Cancel: short enough to feel immediate."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The person's answer to one pick: an outcome and the indices of the kept images."""

    outcome: str
    kept: tuple[int, ...] = ()


def parse_answer(body: Any, count: int) -> Answer:
    """The answer in a posted body, for a batch of ``count`` images; raises ValueError
    naming what is wrong."""
    if not isinstance(body, Mapping):
        raise ValueError("the body must be a JSON object")  # noqa: TRY004  one error for any bad answer
    outcome = body.get("outcome")
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome: must be one of {', '.join(OUTCOMES)}")
    kept = body.get("kept", [])
    if not isinstance(kept, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in kept
    ):
        raise ValueError("kept: must be a list of image indices")
    if any(not 0 <= i < count for i in kept):
        raise ValueError(f"kept: an index is outside the batch of {count} images")
    if len(set(kept)) != len(kept):
        raise ValueError("kept: an index is given twice")
    if outcome == "advance" and not kept:
        raise ValueError("kept: Keep needs at least one image (or answer reject_all)")
    if outcome != "advance" and kept:
        raise ValueError(f"kept: must be empty for {outcome}")
    return Answer(outcome, tuple(sorted(kept)))


@dataclass(slots=True)
class _Pick:
    count: int
    answered: threading.Event = field(default_factory=threading.Event)
    answer: Answer | None = None


class Picks:
    """The picks waiting for an answer, between the node (on ComfyUI's worker thread) and the
    route (on its event loop)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, _Pick] = {}

    def open(self, pick_id: str, count: int) -> None:
        with self._lock:
            self._waiting[pick_id] = _Pick(count)

    def answer(self, pick_id: str, body: Any) -> Answer:
        """Give the waiting pick its answer. Raises KeyError for a pick that is not waiting
        (never opened, answered already, timed out) and ValueError for a bad answer."""
        with self._lock:
            pick = self._waiting.get(pick_id)
            if pick is None or pick.answered.is_set():
                raise KeyError(pick_id)
            pick.answer = parse_answer(body, pick.count)
            pick.answered.set()
            return pick.answer

    def wait(
        self, pick_id: str, timeout: float, interrupted: Callable[[], None] = lambda: None
    ) -> Answer | None:
        """The answer, or None when ``timeout`` seconds pass without one. ``interrupted`` is
        called between steps and raises to stop the wait (ComfyUI's Cancel). The pick is closed
        however the wait ends: a late answer finds nothing waiting."""
        with self._lock:
            pick = self._waiting[pick_id]
        deadline = time.monotonic() + timeout
        try:
            while not pick.answered.wait(min(POLL_SECONDS, max(deadline - time.monotonic(), 0))):
                interrupted()
                if time.monotonic() >= deadline:
                    break
        finally:
            with self._lock:
                self._waiting.pop(pick_id, None)
        # Read after the pick is closed: an answer that came in just before the deadline, and
        # was told it was taken, is the answer; after the close no answer is taken.
        return pick.answer

    def waiting(self) -> list[str]:
        with self._lock:
            return list(self._waiting)


PICKS = Picks()


def add_routes(routes: Any, picks: Picks = PICKS) -> None:
    """Add the answer route to an aiohttp ``RouteTableDef`` (ComfyUI's
    ``PromptServer.instance.routes``)."""
    from aiohttp import web

    async def answer_pick(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        try:
            answer = picks.answer(request.match_info["pick_id"], body)
        except KeyError:
            return web.json_response(
                {"error": "no pick is waiting under this id: it was answered, timed out or "
                 "cancelled"},
                status=404,
            )  # fmt: skip
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response({"outcome": answer.outcome, "kept": list(answer.kept)})

    routes.post(ROUTE)(answer_pick)


def pixel_id(image: Any) -> str:
    """A generation id from an image's pixels as ``SaveImage`` stores them (RGB, 8 bits): the
    same id tastebud's importer computes from the saved PNG."""
    import numpy

    array = image.cpu().numpy() if hasattr(image, "cpu") else numpy.asarray(image)
    pixels = numpy.clip(255.0 * array, 0, 255).astype(numpy.uint8)
    return "pixels:" + hashlib.sha256(numpy.ascontiguousarray(pixels).tobytes()).hexdigest()


def small_copy(image: Any) -> str:
    """The image as a PNG in base64, reduced to 128 to 255 pixels across as tastebud reduces a
    saved file before reading its look (``POST /api/style``): the same look either way."""
    import numpy
    from PIL import Image

    array = image.cpu().numpy() if hasattr(image, "cpu") else numpy.asarray(image)
    picture = Image.fromarray(numpy.clip(255.0 * array, 0, 255).astype(numpy.uint8))
    factor = max(picture.size) // 128
    if factor > 1:
        picture = picture.reduce(factor)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def styles_of(server: str, ids: Sequence[str], images: Any) -> dict[str, Any]:
    """Each image's look as tastebud reads it, by pixel id; none where tastebud cannot say (an
    older server): the judgement is recorded all the same."""
    try:
        found = client.post(server, "/api/style", {"images": [small_copy(i) for i in images]})
    except client.Unreachable:
        return {}
    styles = found.get("styles") if isinstance(found, dict) else None
    if not isinstance(styles, list) or len(styles) != len(ids):
        return {}
    return dict(zip(ids, styles, strict=True))


def judged_batch(
    ids: Sequence[str],
    kept: set[str],
    prompt: str,
    provenance: Mapping[str, Any],
    checkpoint: str,
    user_id: str,
    styles: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The body of ``POST /api/preferences/batch`` for an answered pick: the images by pixel id
    (two identical images are one image, kept if either was), the ``kept`` ones selected, each
    with its look where ``styles`` has it."""
    ids = list(dict.fromkeys(ids))
    styles = styles or {}
    image: dict[str, Any] = {"prompt": prompt, "checkpoint": checkpoint}
    loras = [lora for lora in provenance.get("loras") or () if isinstance(lora, dict)]
    if loras:
        image["loras"] = loras
    if provenance.get("checkpoint") == checkpoint and isinstance(
        provenance.get("propensity"), float
    ):
        image["propensity"] = provenance["propensity"]  # the chance of the checkpoint judged
    return {
        "outcome": "advance" if kept else "reject_all",
        "selected": [generation_id for generation_id in ids if generation_id in kept],
        "batch_id": "pick:" + hashlib.sha256("\n".join(ids).encode()).hexdigest()[:32],
        "user_id": user_id,
        "images": [
            {**image, "generation_id": generation_id}
            | ({"style": styles[generation_id]} if generation_id in styles else {})
            for generation_id in ids
        ],
    }


class TastebudPicker:
    """Show a batch in ComfyUI's page; the person keeps or rejects, tastebud records it, and
    the kept images go on."""

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "images": ("IMAGE",),
                "prompt": ("STRING", {"multiline": True, "default": ""}),
            },
            "optional": {
                "ckpt_name": ("STRING", {"default": ""}),
                **server_inputs(),
                "timeout": ("INT", {"default": 600, "min": 5, "max": 86_400}),
            },
            "hidden": {"unique_id": "UNIQUE_ID", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    RETURN_TYPES = ("IMAGE", "STRING")
    RETURN_NAMES = ("images", "status")
    FUNCTION = "pick"
    CATEGORY = CATEGORY
    OUTPUT_NODE = True  # it runs even as the last node: judging is what it is for

    @classmethod
    def IS_CHANGED(cls, **_: Any) -> float:
        return float("nan")

    def pick(
        self,
        images: Any,
        prompt: str,
        ckpt_name: str = "",
        server: str = client.DEFAULT_SERVER,
        user_id: str = "default",
        timeout: int = 600,
        unique_id: Any = None,
        extra_pnginfo: Any = None,
        picks: Picks = PICKS,
    ) -> tuple[Any, str]:
        import comfy.model_management
        import nodes

        from server import PromptServer

        count = len(images)
        previews = nodes.PreviewImage().save_images(images, filename_prefix="tastebud.pick")
        provenance = provenance_of(extra_pnginfo)
        checkpoint = ckpt_name or str(provenance.get("checkpoint") or "")
        pick_id = uuid.uuid4().hex
        picks.open(pick_id, count)
        PromptServer.instance.send_sync(SHOW, {
            "pick_id": pick_id, "node": unique_id, "images": previews["ui"]["images"],
            "prompt": prompt, "checkpoint": checkpoint, "timeout": timeout,
        })  # fmt: skip
        try:
            answer = picks.wait(
                pick_id, timeout, comfy.model_management.throw_exception_if_processing_interrupted
            )
        finally:
            PromptServer.instance.send_sync(CLOSE, {"pick_id": pick_id})
        if answer is None or answer.outcome == "skip":
            reason = f"not judged within {timeout} s" if answer is None else "skipped"
            return (images, f"{reason}: all {count} images passed on, nothing recorded")

        ids = [pixel_id(image) for image in images]
        kept = {ids[i] for i in answer.kept}
        if checkpoint:
            provenance.setdefault("checkpoint", checkpoint)  # what the saved copies were made with
        # Added to what an earlier picker of the same run wrote: its images may be saved too.
        earlier = provenance.get("picked")
        picked: dict[str, Any] = earlier if isinstance(earlier, dict) else {}
        provenance["picked"] = {
            "kept": list(dict.fromkeys([*picked.get("kept", []), *sorted(kept)])),
            "rejected": list(dict.fromkeys(
                [*picked.get("rejected", []), *(i for i in ids if i not in kept)]
            )),
        }  # fmt: skip
        status = f"kept {len(answer.kept)} of {count}"
        if not checkpoint:
            status += ": not recorded, no checkpoint (connect ckpt_name)"
        else:
            styles = styles_of(server, ids, images)
            body = judged_batch(ids, kept, prompt, provenance, checkpoint, user_id, styles)
            try:
                client.post(server, "/api/preferences/batch", body)
                status += ", recorded in tastebud"
            except client.Unreachable as error:
                status += f": not recorded, {error}"
        if not answer.kept:
            # Nothing to pass on: the rest of this run stops, as ComfyUI's Cancel would stop it.
            print(f"[tastebud] {status}")
            raise comfy.model_management.InterruptProcessingException()
        return (images[list(answer.kept)], status)


__all__ = ["PROVENANCE", "TastebudPicker", "add_routes", "parse_answer", "pixel_id"]
