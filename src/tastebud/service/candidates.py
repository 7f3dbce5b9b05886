"""What the recommenders share: the candidates asked about, by the names the caller gave."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tastebud.errors import InvalidInput
from tastebud.names import model_key
from tastebud.store.repository import Repository


async def candidates(
    store: Repository, kind: str, available: Sequence[str] | None, user_id: str, field: str
) -> dict[str, str]:
    """Stored key -> name to answer with, for each candidate checkpoint (or LoRA).

    Without ``available``, the models this profile has used, by their recorded names.
    """
    if available is None:
        return await store.known_models(kind, user_id)
    if isinstance(available, str):
        available = [available]
    requested: dict[str, str] = {}
    for index, name in enumerate(available):
        if not isinstance(name, str) or not model_key(name):
            raise InvalidInput(f"{field}[{index}]", f"is not a {kind} name")
        if "\x00" in name:  # no stored name holds one, and PostgreSQL refuses to compare it
            raise InvalidInput(f"{field}[{index}]", "must not contain NUL characters")
        requested.setdefault(model_key(name), name)
    stored = await store.resolve(kind, list(requested), user_id)
    names: dict[str, str] = {}
    for key, name in requested.items():
        names.setdefault(stored[key], name)
    return names


def prompt_text(prompt: Any) -> str:
    """The prompt, if it is text."""
    if not isinstance(prompt, str):
        raise InvalidInput("prompt", "must be a string")
    return prompt
