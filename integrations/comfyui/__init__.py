"""tastebud for ComfyUI: copy or link this folder into ``ComfyUI/custom_nodes/``.

The nodes talk to a running ``tastebud serve`` (http://127.0.0.1:8001 by default) with Python's
standard library only; see README.md.
"""

from .nodes import TastebudCheckpoint, TastebudLoras

NODE_CLASS_MAPPINGS = {
    "TastebudCheckpoint": TastebudCheckpoint,
    "TastebudLoras": TastebudLoras,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "TastebudCheckpoint": "tastebud: recommended checkpoint",
    "TastebudLoras": "tastebud: recommended LoRAs",
}
__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
