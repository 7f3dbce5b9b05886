"""Content keywords of a cleaned prompt: lower case, lemmatised, no stop words.

The input is plain text (prompt syntax already removed by ``tastebud.prompt``).
Keywords are what the learner compares between prompts, so the rules favour
words that say what is in the picture or how it looks, and drop the function
words and quality boilerplate that appear in almost every prompt.
"""

from __future__ import annotations

import functools
import re

import simplemma

__all__ = ["MAX_KEYWORD_CHARS", "STOP_WORDS", "keywords"]

MAX_KEYWORD_CHARS = 100
"""A longer run of letters is not a word of any language (and a keyword longer than this is
refused where keywords are given)."""

# Runs of word characters (letters, digits, underscores): booru tags such as
# "long_hair" or "score_8_up" arrive as one run and are judged as a whole first.
_WORD = re.compile(r"\w+")
# Letters of any script; digits and underscores split words ("1girl" -> "girl").
_LETTERS = re.compile(r"[^\W\d_]+")

# Alphanumeric tokens that are style words in their own right; the letter-only
# rule would reduce them to a single letter and lose them.
_KEEP_ALNUM = frozenset({"2d", "3d"})

# First code point of the CJK radicals block; from here on (CJK, kana, hangul,
# ...) a single character can be a word.
_CJK_START = "\u2e80"

# simplemma is a general-purpose English lemmatiser; these are prompt words it
# gets wrong for image prompts (plural-only garments, nouns it reads as verbs,
# irregular plurals it misses). Values are what the keyword should be.
_LEMMA_EXCEPTIONS: dict[str, str] = {
    "glasses": "glasses",  # -> "glass" would turn eyewear into a material
    "sunglasses": "sunglasses",
    "eyeglasses": "glasses",
    "shorts": "shorts",  # -> "short" is a size, not a garment
    "tights": "tights",
    "panties": "panties",
    "overalls": "overalls",
    "bangs": "bangs",  # the hairstyle, not a noise
    "leaves": "leaf",  # autumn leaves, not "leave"
    "lighting": "lighting",  # "studio lighting" is a photo style, "light" is not
    "shading": "shading",  # "cel shading"
    "painting": "painting",  # "oil painting" is the medium, not the verb
    "drawing": "drawing",
    "stunning": "stunning",  # -> "stun"
    "closed": "closed",  # booru "closed eyes" -> "close" means near
    "sitting": "sit",  # simplemma keeps "sitting" but turns "standing" into "stand"
    "media": "media",  # "mixed media"
    "lenses": "lens",
    "thieves": "thief",
    "wives": "wife",
    "calves": "calf",
    "halves": "half",
    "shelves": "shelf",
    "loaves": "loaf",
    "sepia": "sepia",  # -> "sepium"
}

STOP_WORDS: frozenset[str] = frozenset(
    # English function words: articles, determiners, pronouns, prepositions,
    # conjunctions, auxiliaries (also their lemmas: "is" -> "be"), and
    # intensifiers that only modify the word next to them.
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "some",
        "any",
        "each",
        "every",
        "all",
        "both",
        "either",
        "neither",
        "no",
        "not",
        "nor",
        "another",
        "other",
        "such",
        "what",
        "which",
        "whose",
        "who",
        "whom",
        "i",
        "me",
        "my",
        "mine",
        "myself",
        "we",
        "us",
        "our",
        "ours",
        "ourselves",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "he",
        "him",
        "his",
        "himself",
        "she",
        "her",
        "hers",
        "herself",
        "it",
        "its",
        "itself",
        "they",
        "them",
        "their",
        "theirs",
        "themselves",
        "one",
        "ones",
        "of",
        "on",
        "at",
        "in",
        "into",
        "onto",
        "with",
        "without",
        "by",
        "for",
        "from",
        "to",
        "up",
        "down",
        "out",
        "off",
        "over",
        "under",
        "above",
        "below",
        "between",
        "among",
        "through",
        "during",
        "before",
        "after",
        "behind",
        "beside",
        "besides",
        "near",
        "around",
        "about",
        "against",
        "along",
        "across",
        "toward",
        "towards",
        "upon",
        "within",
        "via",
        "per",
        "as",
        "than",
        "like",
        "and",
        "or",
        "but",
        "so",
        "yet",
        "if",
        "then",
        "else",
        "while",
        "because",
        "though",
        "although",
        "whether",
        "be",
        "is",
        "are",
        "was",
        "were",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "doing",
        "have",
        "has",
        "had",
        "having",
        "will",
        "would",
        "shall",
        "should",
        "can",
        "could",
        "may",
        "might",
        "must",
        "cannot",
        "very",
        "too",
        "also",
        "just",
        "only",
        "really",
        "quite",
        "rather",
        "much",
        "more",
        "most",
        "less",
        "least",
        "even",
        "still",
        "again",
        "ever",
        "never",
        "here",
        "there",
        "where",
        "when",
        "why",
        "how",
        "now",
        "etc",
        "ultra",
        "super",
        "hyper",
        "highly",
        "extremely",
        "insanely",
        "incredibly",
    ]
    # Prompt boilerplate: quality and resolution incantations that appear in
    # almost every prompt (positive or negative) and so say nothing about what
    # the person wants. The noun they decorate ("anatomy", "hands") survives.
    # "detailed" is borderline but is in most prompts; "intricate" is rarer
    # and kept as a style word.
    + [
        "masterpiece",
        "quality",
        "best",
        "better",
        "good",
        "worst",
        "worse",
        "bad",
        "high",
        "highres",
        "absurdres",
        "lowres",
        "resolution",
        "res",
        "hd",
        "uhd",
        "fhd",
        "detailed",
        "detail",
        "hyperdetailed",
        "trending",
        "award",
        "winning",
        "score",
        "rating",
        "source",
    ]
)


@functools.lru_cache(maxsize=65536)
def _lemma(word: str) -> str:
    """Return the keyword for one lower-case word, or "" if it is not one."""
    if word in STOP_WORDS:
        return ""
    lemma = _LEMMA_EXCEPTIONS.get(word)
    if lemma is None:
        # simplemma restores capitals for proper names ("greg" -> "Greg") and
        # can return non-letters ("etc" -> "etc."); fall back to the word then.
        lemma = simplemma.lemmatize(word, lang="en").lower()
        if not lemma.isalpha() or len(lemma) < 2:
            lemma = word
    if lemma in STOP_WORDS or lemma != lemma.lower():
        return ""
    return lemma


def _is_meta_tag(token: str) -> bool:
    """Return True for underscore-joined tags that are scores or counters.

    Rule: a tag with underscores where some part is only digits is metadata,
    not content, and is dropped whole: Pony "score_9", "score_8_up",
    "year_2023". Tags with letters next to digits ("1girl", "2boys") are not
    matched; their letters are kept below.
    """
    return "_" in token and any(part.isdigit() for part in token.split("_"))


def keywords(text: str) -> tuple[str, ...]:
    """Return the content keywords of `text`, lemmatised, in first-seen order.

    Lower case, one entry per lemma, stop words and single letters dropped,
    pure numbers dropped, runs of more than ``MAX_KEYWORD_CHARS`` letters
    dropped; every keyword is kept, however long the text (``make_event``
    bounds how many an event counts).
    """
    seen: dict[str, None] = {}
    for token in _WORD.findall(text.lower()):
        if token.isalpha():
            words: list[str] = [token]
        elif token in _KEEP_ALNUM:
            seen.setdefault(token, None)
            continue
        elif _is_meta_tag(token):
            continue
        else:
            words = _LETTERS.findall(token)
        for word in words:
            # Single letters are debris ("8k", "girl's"), except in scripts
            # where one ideograph or syllable is a whole word ("猫").
            if (len(word) < 2 and word < _CJK_START) or len(word) > MAX_KEYWORD_CHARS:
                continue
            lemma = _lemma(word)
            if lemma and len(lemma) <= MAX_KEYWORD_CHARS:
                seen.setdefault(lemma, None)
    return tuple(seen)
