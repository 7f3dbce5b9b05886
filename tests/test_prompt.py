"""Tests for prompt syntax parsing (tastebud.prompt) and keywords (tastebud.keywords)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tastebud.keywords import STOP_WORDS, keywords
from tastebud.prompt import ParsedPrompt, PromptLora, parse_prompt


def kw(prompt: str) -> tuple[str, ...]:
    return parse_prompt(prompt).keywords


# --- keywords -------------------------------------------------------------


def test_seed_example() -> None:
    assert kw("beautiful woman on beach at sunset") == ("beautiful", "woman", "beach", "sunset")


@pytest.mark.parametrize(
    ("word", "lemma"),
    [("beaches", "beach"), ("women", "woman"), ("clouds", "cloud"), ("Eyes", "eye")],
)
def test_lemmatised(word: str, lemma: str) -> None:
    assert kw(word) == (lemma,)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("glasses", "glasses"),
        ("sunglasses", "sunglasses"),
        ("lighting", "lighting"),
        ("pants", "pants"),
        ("jeans", "jeans"),
        ("shorts", "shorts"),
        ("tights", "tights"),
        ("clothes", "clothes"),
        ("leaves", "leaf"),
        ("painting", "painting"),
        ("closed", "closed"),
        ("bangs", "bangs"),
        ("hair", "hair"),
        ("anime", "anime"),
        ("cyberpunk", "cyberpunk"),
        ("bokeh", "bokeh"),
        ("hdr", "hdr"),
        ("photorealistic", "photorealistic"),
        ("cinematic", "cinematic"),
        ("sepia", "sepia"),
    ],
)
def test_prompt_vocabulary_survives_lemmatiser(word: str, expected: str) -> None:
    assert keywords(word) == (expected,)


def test_proper_names_stay_lower_case() -> None:
    assert kw("by Greg Rutkowski and Simon Stalenhag") == (
        "greg",
        "rutkowski",
        "simon",
        "stalenhag",
    )


@pytest.mark.parametrize(
    "word",
    [
        "realistic",
        "anime",
        "dark",
        "bright",
        "old",
        "young",
        "man",
        "face",
        "light",
        "night",
        "portrait",
        "photo",
        "beautiful",
        "ugly",
        "intricate",
    ],
)
def test_style_and_content_words_are_not_stop_words(word: str) -> None:
    assert word not in STOP_WORDS
    assert keywords(word) == (word,)


def test_boilerplate_and_function_words_dropped() -> None:
    prompt = "masterpiece, best quality, high quality, highres, absurdres, very detailed, the of a"
    assert kw(prompt) == ()
    assert kw("worst quality, lowres, better") == ()


def test_old_man_face_and_style_words_kept() -> None:
    assert kw("old man face") == ("old", "man", "face")
    assert kw("dark, bright, realistic, anime") == ("dark", "bright", "realistic", "anime")


def test_long_prompt_is_not_truncated() -> None:
    words = [
        "cat",
        "dog",
        "bird",
        "horse",
        "castle",
        "river",
        "forest",
        "mountain",
        "dragon",
        "knight",
        "sword",
        "shield",
        "armor",
        "cloak",
        "lantern",
        "tavern",
        "market",
        "harbor",
        "ship",
        "sail",
        "storm",
        "lightning",
        "thunder",
        "rain",
        "puddle",
        "umbrella",
        "bicycle",
        "train",
        "station",
        "clock",
        "tower",
        "bridge",
        "garden",
        "fountain",
        "statue",
        "marble",
        "velvet",
        "curtain",
        "mirror",
        "candle",
    ]
    assert len(set(words)) == 40
    assert kw(", ".join(words)) == tuple(words)


def test_duplicates_removed_keeping_first_occurrence() -> None:
    assert kw("Cats, cat, dog, CAT, dogs") == ("cat", "dog")


def test_booru_tags_and_counts() -> None:
    assert kw("1girl, 2boys, long_hair, blue_eyes") == (
        "girl",
        "boy",
        "long",
        "hair",
        "blue",
        "eye",
    )


def test_scores_numbers_and_resolution_are_not_keywords() -> None:
    prompt = "score_9, score_8_up, score_7_up, year_2023, 42, 3.5, 8k, 4k uhd, source_anime"
    assert kw(prompt) == ("anime",)


def test_3d_and_2d_are_kept() -> None:
    assert kw("3d render, 2d") == ("3d", "render", "2d")


def test_other_scripts_survive() -> None:
    assert kw("café, 猫, naïve") == ("café", "猫", "naïve")


def test_single_latin_letters_dropped() -> None:
    assert kw("x y z, girl's dog") == ("girl", "dog")


# --- syntax ---------------------------------------------------------------


def test_full_example() -> None:
    parsed = parse_prompt(
        r"(masterpiece:1.2), ((best quality)), 1girl, [red hair], a \(cute\) cat "
        "<lora:anime_v2:0.7> <lyco:Detail Tweaker:0.5> <lora:foo>"
    )
    assert parsed.text == "masterpiece, best quality, 1girl, red hair, a (cute) cat"
    assert parsed.keywords == ("girl", "red", "hair", "cute", "cat")
    assert parsed.loras == (
        PromptLora("anime_v2", 0.7, "lora"),
        PromptLora("Detail Tweaker", 0.5, "lyco"),
        PromptLora("foo", 1.0, "lora"),
    )
    assert parsed.embeddings == ()


def test_nested_weights() -> None:
    parsed = parse_prompt("(((red, (blue:1.3):0.8) sky:1.1)), [[[green]]]")
    assert parsed.text == "red, blue, sky, green"
    assert parsed.keywords == ("red", "blue", "sky", "green")


def test_unbalanced_brackets_are_separators() -> None:
    assert parse_prompt("(cat, [dog)) bird]]:").keywords == ("cat", "dog", "bird")


def test_escapes_are_literal() -> None:
    parsed = parse_prompt(r"a \(cute\) \[red\] hair\:long \\ end, (x\):1.5)")
    assert parsed.text == r"a (cute) [red] hair:long \ end, x)"
    assert parsed.keywords == ("cute", "red", "hair", "long", "end")


def test_break_and_and_are_separators() -> None:
    assert parse_prompt("a photo BREAK of a dog").keywords == ("photo", "dog")
    parsed = parse_prompt("a cat :1.2 AND a dog :0.8")
    assert parsed.text == "a cat, a dog"
    assert parsed.keywords == ("cat", "dog")
    # Only the upper-case keywords are syntax.
    assert kw("coffee break") == ("coffee", "break")
    assert kw("BREAKFAST") == ("breakfast",)


def test_prompt_editing_keeps_both_sides() -> None:
    assert kw("[cat:dog:0.5]") == ("cat", "dog")
    assert kw("[cat:dog:12]") == ("cat", "dog")
    assert kw("a [castle:0.5]") == ("castle",)
    assert kw("a [castle::0.5]") == ("castle",)


def test_alternation_keeps_all_options() -> None:
    assert kw("[cat|dog|bird]") == ("cat", "dog", "bird")


def test_dynamic_prompts_and_wildcards() -> None:
    parsed = parse_prompt("{red|blue} car, __colors/warm__ sky, __season__")
    assert parsed.keywords == ("red", "blue", "car", "sky")


def test_text_joins_phrases() -> None:
    assert parse_prompt("  a  cat,\n\n dog ,, ").text == "a cat, dog"


# --- embeddings -----------------------------------------------------------


def test_embedding_removed() -> None:
    parsed = parse_prompt("embedding:easynegative, ugly")
    assert parsed.embeddings == ("easynegative",)
    assert parsed.keywords == ("ugly",)
    assert parsed.text == "ugly"


def test_embedding_with_folder_extension_and_weight() -> None:
    parsed = parse_prompt(
        r"(embedding:neg/bad-hands-5.pt:1.2), embedding:sub\EasyNeg.safetensors, "
        "embedding:easynegative, blurry"
    )
    assert parsed.embeddings == ("bad-hands-5", "EasyNeg", "easynegative")
    assert parsed.keywords == ("blurry",)


# --- LoRAs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "strength"),
    [
        ("<lora:x:0.8>", 0.8),
        ("<lora:x>", 1.0),
        ("<lora:x:>", 1.0),
        ("<lora:x:nan>", 1.0),
        ("<lora:x:inf>", 1.0),
        ("<lora:x:-inf>", 1.0),
        ("<lora:x:1e999>", 1.0),
        ("<lora:x:strong>", 1.0),
        ("<lora:x:0.8:0.6>", 0.8),
        ("<lora:x: -0.5 >", -0.5),
        ("<lora:x:te=0.3:unet=0.9>", 0.3),
    ],
)
def test_lora_strength(tag: str, strength: float) -> None:
    (lora,) = parse_prompt(f"cat {tag}").loras
    assert lora == PromptLora("x", strength, "lora")


def test_lora_kinds_case_insensitive_and_names_as_written() -> None:
    parsed = parse_prompt(
        r"<LoRA:My Style v1.5:0.5> <LYCO:chars/hero-2:1> <HyperNet:sub\net.x:0.3>, cat"
    )
    assert parsed.loras == (
        PromptLora("My Style v1.5", 0.5, "lora"),
        PromptLora("chars/hero-2", 1.0, "lyco"),
        PromptLora("sub\\net.x", 0.3, "hypernet"),
    )
    assert parsed.keywords == ("cat",)


def test_broken_lora_tags_leave_no_junk() -> None:
    parsed = parse_prompt("<lora::0.5> <lora: cat")
    assert parsed.loras == ()
    assert parsed.keywords == ("cat",)


# --- robustness -----------------------------------------------------------

_PIECES = [
    "(",
    ")",
    "((",
    "))",
    "[",
    "]",
    "{",
    "}",
    "|",
    ":",
    "::",
    ",",
    "\n",
    " ",
    "1.2",
    "0.5",
    "-1",
    "nan",
    "inf",
    "1e999",
    "<lora:",
    "<LyCo:",
    "<hypernet:",
    ">",
    "BREAK",
    "AND",
    "\\(",
    "\\)",
    "\\[",
    "\\]",
    "\\:",
    "\\\\",
    "\\",
    "embedding:",
    ".pt",
    "/",
    "__",
    "_",
    "cat",
    "Dogs",
    "best",
    "score_9",
    "1girl",
    "8k",
    "café",
    "猫",
    "te=",
    "=",
    "\ue000",
]


def _check(parsed: ParsedPrompt) -> None:
    assert isinstance(parsed.text, str)
    assert len(set(parsed.keywords)) == len(parsed.keywords)
    for word in parsed.keywords:
        assert word
        assert word == word.lower()
        assert not any(c.isspace() or c in "()[]{}<>:|,_" for c in word)
        assert word not in STOP_WORDS
    for lora in parsed.loras:
        assert isinstance(lora.strength, float) and math.isfinite(lora.strength)
        assert lora.kind in {"lora", "lyco", "hypernet"}
        assert lora.name
    assert all(parsed.embeddings)


@given(st.text())
def test_never_raises_on_any_text(prompt: str) -> None:
    _check(parse_prompt(prompt))


@given(st.lists(st.sampled_from(_PIECES) | st.text(max_size=4), max_size=40).map("".join))
def test_never_raises_on_syntax_soup(prompt: str) -> None:
    _check(parse_prompt(prompt))


@settings(deadline=None, max_examples=30)
@given(
    st.sampled_from(["(((((", "<lora:", "[a:", "\\(", "__a", "embedding:", "1.2:", "BREAK ", "<"]),
    st.integers(min_value=1000, max_value=5000),
)
def test_long_garbage(piece: str, repeat: int) -> None:
    _check(parse_prompt(piece * repeat))
    _check(parse_prompt("<lora:" + "a" * 100_000))
