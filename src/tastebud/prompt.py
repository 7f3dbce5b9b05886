"""Stable Diffusion prompt syntax -> clean text, keywords, LoRA tags, embeddings.

Understands the A1111 / Forge / ComfyUI dialects: emphasis ``(word:1.2)``,
``((word))``, ``[word]``; escapes ``\\(``; extra networks ``<lora:name:0.8>``;
``BREAK`` and ``AND`` (with ``:weight``); prompt editing ``[from:to:0.5]``;
alternation ``[a|b]``; ComfyUI ``embedding:name``; dynamic-prompts ``{a|b}``
and ``__wildcard__``.

The goal is what the image is about, not how the sampler weighs it, so every
bracket, colon and pipe is a phrase separator: that keeps all alternatives
and both sides of a prompt edit (each shows up in the image at some step),
and makes unbalanced or garbage input harmless. Everything is a handful of
linear regex passes plus one split, so there is no backtracking blow-up.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from tastebud.keywords import keywords
from tastebud.names import canonical

__all__ = ["ParsedPrompt", "PromptLora", "parse_prompt"]


@dataclass(frozen=True, slots=True)
class PromptLora:
    """One extra-network tag: a LoRA, LyCORIS or hypernetwork and its weight."""

    name: str  # as written in the tag, path parts kept
    strength: float  # always finite; 1.0 when absent or unreadable
    kind: str  # "lora" | "lyco" | "hypernet"


@dataclass(frozen=True, slots=True)
class ParsedPrompt:
    """A prompt split into readable text, keywords and the networks it loads."""

    text: str  # prompt without tags and syntax, phrases joined by ", "
    keywords: tuple[str, ...]
    loras: tuple[PromptLora, ...]  # in order of appearance, repeats kept
    embeddings: tuple[str, ...]  # file stems, first-seen order, no repeats


# A1111 reads extra networks off the raw prompt before any other parsing, so
# this runs first and its body may hold anything except angle brackets.
# `[^<>]*` cannot run past the next "<", which keeps "<lora:" * n linear.
_EXTRA_NETWORK = re.compile(r"<\s*(lora|lyco|hypernet)\s*:([^<>]*)>", re.IGNORECASE)
# A tag opener with no ">" is truncated syntax; without this, "lora" would
# become a keyword.
_UNCLOSED_NETWORK = re.compile(r"<\s*(?:lora|lyco|hypernet)\s*:", re.IGNORECASE)

# ComfyUI embeddings. The name stops at a colon so "(embedding:x:1.2)" keeps
# its weight outside the name; slashes and backslashes are folders.
_EMBEDDING = re.compile(r"(?<!\w)embedding:([^\s,:()\[\]{}|<>]+)", re.IGNORECASE)
_EMBEDDING_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")

# Characters a backslash makes literal. Each becomes a private-use placeholder
# while separators are split on, then is turned back into itself.
_ESCAPE = re.compile(r"\\([\\()\[\]:{}|])")
_ESCAPABLE = "\\()[]:{}|"
_PLACEHOLDER_BASE = 0xE000
_TO_PLACEHOLDER = {c: chr(_PLACEHOLDER_BASE + i) for i, c in enumerate(_ESCAPABLE)}
_FROM_PLACEHOLDER = {_PLACEHOLDER_BASE + i: c for i, c in enumerate(_ESCAPABLE)}

# Upper case only: "break" and "and" in lower case are ordinary words.
_KEYWORD_SEPARATOR = re.compile(r"\b(?:BREAK|AND)\b")
# Wildcard file references name a list we cannot see; their words are noise.
_WILDCARD = re.compile(r"__[\w/*.-]+?__")
# Captured so each phrase knows which separator came before it.
_SEPARATOR = re.compile(r"([,\n\r()\[\]{}|<>:])")
# A number right after a colon is an emphasis weight, an edit step or an AND
# weight: "(cat:1.2)", "[a:b:0.5]", "cat :1.2 AND dog".
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)")


def _strength(arg: str) -> float:
    """Return the multiplier written in `arg`, or 1.0 if it is not a finite number."""
    # A1111 also accepts named arguments ("te=0.8"); the value is what counts.
    _, eq, value = arg.partition("=")
    try:
        strength = float(value if eq else arg)
    except ValueError:
        return 1.0
    return strength if math.isfinite(strength) else 1.0


def _extract_networks(prompt: str, found: list[PromptLora]) -> str:
    """Return `prompt` without extra-network tags, appending them to `found`."""

    def take(match: re.Match[str]) -> str:
        name, _, args = match.group(2).partition(":")
        name = name.strip()
        if name:
            # "<lora:name:0.8:0.6>" is text-encoder then UNet weight; the first
            # is the one people tune and the one tools display.
            first = args.split(":", 1)[0].strip()
            strength = _strength(first) if first else 1.0
            found.append(PromptLora(name, strength, match.group(1).lower()))
        return " "

    prompt = _EXTRA_NETWORK.sub(take, prompt)
    return _UNCLOSED_NETWORK.sub(" ", prompt)


def _embedding_stem(name: str) -> str:
    """Return the embedding's file name without folders or known extension."""
    stem = name.replace("\\", "/").rsplit("/", 1)[-1]
    lowered = stem.lower()
    for suffix in _EMBEDDING_SUFFIXES:
        if lowered.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def _extract_embeddings(prompt: str, found: dict[str, None]) -> str:
    """Return `prompt` without ComfyUI embedding references, adding stems to `found`."""

    def take(match: re.Match[str]) -> str:
        stem = _embedding_stem(match.group(1))
        if stem:
            found.setdefault(stem, None)
        return " "

    return _EMBEDDING.sub(take, prompt)


def _phrases(prompt: str) -> list[str]:
    """Return the prompt's phrases with brackets, weights and separators removed."""
    escaped = "\\" in prompt
    if escaped:
        prompt = _ESCAPE.sub(lambda m: _TO_PLACEHOLDER[m.group(1)], prompt)
    prompt = _KEYWORD_SEPARATOR.sub("\n", prompt)
    if "__" in prompt:
        prompt = _WILDCARD.sub(" ", prompt)
    phrases: list[str] = []
    previous = ""
    for i, part in enumerate(_SEPARATOR.split(prompt)):
        if i % 2:
            previous = part
            continue
        phrase = " ".join(part.split())
        if not phrase or (previous == ":" and _NUMBER.fullmatch(phrase)):
            continue
        phrases.append(phrase.translate(_FROM_PLACEHOLDER) if escaped else phrase)
    return phrases


@lru_cache(maxsize=2048)  # a batch of images shares one prompt; ParsedPrompt is immutable
def parse_prompt(prompt: str) -> ParsedPrompt:
    """Return the clean text, keywords, LoRAs and embeddings of an SD prompt.

    Never raises for any string; malformed syntax degrades to separators. The text is read in
    its composed Unicode form (NFC), so "café" is one keyword however it was typed.
    """
    prompt = canonical(prompt)
    loras: list[PromptLora] = []
    embeddings: dict[str, None] = {}
    if "<" in prompt:
        prompt = _extract_networks(prompt, loras)
    if ":" in prompt:
        prompt = _extract_embeddings(prompt, embeddings)
    text = ", ".join(_phrases(prompt))
    return ParsedPrompt(text, keywords(text), tuple(loras), tuple(embeddings))
