"""Bad input in the caller's terms: pydantic's problems as a field and a reason.

The text patterns the fields of an event are held to live here beside the words for text that
breaks them, so that a refusal reads "keywords[3]: must be one word of 1-100 characters" rather
than pydantic's own phrasing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from tastebud.errors import InvalidInput, InvalidJson
from tastebud.keywords import MAX_KEYWORD_CHARS

NO_NUL = r"^[^\x00]*$"
ONE_WORD = rf"^[^\s\x00]{{1,{MAX_KEYWORD_CHARS}}}$"  # PostgreSQL's text holds no NUL
SOME_TEXT = r"\S"
PRINTABLE = r"^(?:[^\p{C}\p{Z}]| )*$"  # str.isprintable: no control or separator but space

_REASONS = {
    "missing": "is required",
    "missing_argument": "is required",
    "extra_forbidden": "unknown field",
    "unexpected_keyword_argument": "unknown field",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "bool_parsing": "must be true or false",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "model_type": "must be an object",
    "dataclass_type": "must be an object",
    "dict_type": "must be an object",
    "datetime_type": "must be a date and time (ISO 8601)",
    "datetime_parsing": "must be a date and time (ISO 8601)",
    "datetime_from_date_parsing": "must be a date and time (ISO 8601)",
    "json_invalid": "is not valid JSON",
}
# Reasons that name the limit broken, from the problem's context.
_LIMITS = {
    "literal_error": "must be {expected}",
    "string_too_short": "must be at least {min_length} characters",
    "string_too_long": "must be at most {max_length} characters",
    "too_short": "must have at least {min_length} items",
    "too_long": "must have at most {max_length} items",
    "greater_than": "must be more than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
}
_PATTERNS = {
    NO_NUL: "must not contain NUL characters",
    ONE_WORD: "must be one word of 1-100 characters",
    SOME_TEXT: "must not be empty",
    PRINTABLE: "must be printable text",
}


def invalid_input(error: ValidationError, *, whole: str = "event") -> InvalidInput:
    """The first problem pydantic found, as ``InvalidInput`` naming the field the tastebud way."""
    problem = error.errors(include_url=False, include_input=False)[0]
    field, reason = describe_problem(problem)
    kind = InvalidJson if problem["type"] == "json_invalid" else InvalidInput
    return kind(field or whole, reason)


def describe_problem(problem: Mapping[str, Any]) -> tuple[str, str]:
    """One of pydantic's error entries as (field, reason): ``("loras[0].strength", "must be a
    number")``. The field is empty when the problem is the whole input."""
    place = ""
    for part in problem["loc"]:
        place += f"[{part}]" if isinstance(part, int) else f".{part}" if place else str(part)
    context = problem.get("ctx") or {}
    kind = problem["type"]
    if kind in ("string_too_short", "too_short") and context.get("min_length") == 1:
        return place, "must not be empty"
    reason = _PATTERNS.get(context.get("pattern", "")) or _REASONS.get(kind)
    if reason is None and kind in _LIMITS:
        try:
            reason = _LIMITS[kind].format(**context)
        except (KeyError, IndexError):
            reason = None
    return place, reason or str(problem["msg"])


def whole_number(field: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """``value`` if it is a whole number (``True`` is not one) from ``low`` to ``high``; else
    ``InvalidInput`` naming the field and the range. The one check of the Python API's
    counts, limits and ids (the HTTP API's come checked by their declared types)."""
    whole = isinstance(value, int) and not isinstance(value, bool)
    if whole and (low is None or value >= low) and (high is None or value <= high):
        return int(value)
    within = f" from {low} to {high}" if low is not None and high is not None else ""
    raise InvalidInput(field, f"must be a whole number{within}")
