"""Plain values out of what the files write, for the readers of every format.

Files write numbers as numbers or as strings ("7", "7.0", "NaN"), hashes with or without ``0x``
and in either case, sizes as "512x768" or "(768, 1280)", JSON objects as text: each helper here
turns one such thing into a plain value, or None where it is not one, so that no reader has to
guard against a value's type.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, TypeVar

__all__ = ["as_float", "as_hash", "as_int", "as_size", "as_text", "first_set", "json_object"]

_T = TypeVar("_T")
_HEX = re.compile(r"[0-9a-fA-F]+")
_SIZE = re.compile(r"\(?\s*(\d+)\s*[x×,*]\s*(\d+)\s*\)?")


def first_set(value: _T | None, fallback: _T | None) -> _T | None:
    return fallback if value is None else value


def json_object(text: str | None) -> dict[str, Any] | None:
    if not text or not text.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def as_text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def as_int(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            number = as_float(text)
            return int(number) if number is not None and number.is_integer() else None
    return None


def as_float(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_size(value: object) -> tuple[int | None, int | None]:
    """``"512x768"``, Fooocus' ``"(768, 1280)"`` -> (512, 768)."""
    if isinstance(value, str):
        match = _SIZE.fullmatch(value.strip())
        if match:
            return int(match[1]), int(match[2])
    return None, None


def as_hash(value: object) -> str | None:
    """A hash as given, hex in lower case without a ``0x``; None for none."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[:2].lower() == "0x" and _HEX.fullmatch(text[2:]):
        text = text[2:]
    return text.lower() if _HEX.fullmatch(text) else text
