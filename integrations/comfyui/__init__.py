"""tastebud for ComfyUI: copy or link this folder into ``ComfyUI/custom_nodes/``.

The nodes talk to a running ``tastebud serve`` (http://127.0.0.1:8001 by default) with Python's
standard library only; see README.md.
"""

from .nodes import TastebudCheckpoint, TastebudLoras
from .picker import TastebudPicker, add_routes

NODE_CLASS_MAPPINGS = {
    "TastebudCheckpoint": TastebudCheckpoint,
    "TastebudLoras": TastebudLoras,
    "TastebudPicker": TastebudPicker,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "TastebudCheckpoint": "tastebud: recommended checkpoint",
    "TastebudLoras": "tastebud: recommended LoRAs",
    "TastebudPicker": "tastebud: keep or reject",
}
WEB_DIRECTORY = "./web"
"""The picker's page side, which ComfyUI's front end loads as an extension."""


def _add_picker_routes() -> None:
    # ComfyUI adds a pack's routes when it imports the pack; without ComfyUI (a tool listing
    # the nodes) there is no server to add them to.
    try:
        from server import PromptServer
    except ImportError:
        return
    add_routes(PromptServer.instance.routes)


_add_picker_routes()
__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
