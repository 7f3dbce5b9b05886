"""Why a recommendation: a sentence a person reads, and the evidence beside it for a UI.

"Based on your 15 'beach' selections from epicrealismXL (75%)"; "New here: no history for
'forest' yet"; "Avoided anime_v2 with epicrealismXL: 8 of 25 kept". Every sentence is built from
the counts the ranking used, and the structured evidence lists the same counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tastebud.learning.keys import Counts
from tastebud.learning.strategy import Scored
from tastebud.learning.strengths import PreferredStrength
from tastebud.learning.styles import reason as style_reason

HIGH_CONFIDENCE = 0.75
"""Evidence level from which a recommendation is "High confidence": 15 images or more."""
FEW_IMAGES = 10
"""Images of a keyword's own below which its reason also names the similar words it borrowed
from (the strategy's ``BORROW``: from there on they carry less than half)."""
IGNORED_SHARE = 0.1
"""A word whose prior variance is under this share of the prompt's most telling word's is said to
be ignored: it moves the ranking by a tenth as much, or less."""
LEARNING = 0.25
"""Evidence level from which it is "Learning" (5 images or more); below, "Exploring"."""


@dataclass(frozen=True)
class Explanation:
    """The sentence, and the evidence it names as plain data."""

    why: str
    evidence: list[dict[str, Any]] = field(default_factory=list)


def label(evidence_level: float) -> str:
    """What a UI shows for an evidence level: "High confidence", "Learning" or "Exploring"."""
    if evidence_level >= HIGH_CONFIDENCE:
        return "High confidence"
    if evidence_level >= LEARNING:
        return "Learning"
    return "Exploring"


def _rate(selected: int, total: int) -> float:
    return round(selected / total, 4) if total else 0.0


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def new_keywords(keywords: Sequence[str], ranking: Sequence[Scored]) -> list[str]:
    """The prompt's keywords no candidate has any history with."""
    seen = {item.keyword for scored in ranking for item in scored.keywords}
    return [word for word in keywords if word not in seen]


def explain_choice(
    keywords: Sequence[str], ranking: Sequence[Scored], names: Mapping[str, str], kind: str
) -> Explanation:
    """Why ``ranking[0]`` (a checkpoint or a LoRA, by ``kind``) leads for the prompt."""
    if not ranking:
        return Explanation(
            f"No {kind}s to choose from yet: record a few selections, "
            f"or name the available {kind}s."
        )
    best = ranking[0]
    name = names.get(best.key, best.key)
    evidence: list[dict[str, Any]] = []
    sentences: list[str] = []
    ignored: list[str] = []
    if best.keywords:
        # Words that never separated the candidates weigh next to nothing (their prior variance
        # is a small share of the prompt's most telling word's): say so rather than cite them.
        top = max(item.weight for item in best.keywords)
        telling = [item for item in best.keywords if item.weight >= IGNORED_SHARE * top]
        ignored = [item.keyword for item in best.keywords if item.weight < IGNORED_SHARE * top]
        # A word's own images lead; a word read only through similar words comes after them.
        strongest = sorted(
            telling,
            key=lambda item: (
                not item.total,
                -item.total,
                0 if item.total else -sum(lent[2] for lent in item.similar),
            ),
        )
        lead = strongest[0]
        lent = ", ".join(f"'{word}' {kept} of {total}" for word, kept, total in lead.similar[:3])
        if lead.total:
            selections = _plural(lead.selected, f"'{lead.keyword}' selection")
            sentences.append(
                f"Based on your {selections} from {name} ({lead.rate:.0%} of {lead.total} kept)"
            )
            if lent and lead.total < FEW_IMAGES:  # its own images are few: the similar words count
                sentences[-1] += f" and on similar words ({lent} kept)"
        else:
            sentences.append(
                f"Based on words like '{lead.keyword}' with {name}: {lent} kept "
                f"('{lead.keyword}' itself is new)"
            )
        if len(strongest) > 1:
            others = ", ".join(
                f"'{item.keyword}' {item.selected} of {item.total}"
                for item in strongest[1:3]
                if item.total
            )
            if others:
                sentences[-1] += f"; also {others}"
        for item in strongest:
            evidence.append(
                {
                    "kind": "keyword", "keyword": item.keyword, kind: name,
                    "selected": item.selected, "total": item.total,
                    "rate": _rate(item.selected, item.total),
                }
            )  # fmt: skip
            for word, kept, total in item.similar:
                evidence.append(
                    {
                        "kind": "similar", "keyword": word, "similar_to": item.keyword,
                        kind: name, "selected": kept, "total": total,
                        "rate": _rate(kept, total),
                    }
                )  # fmt: skip
    elif best.overall[1]:
        selected, total = best.overall
        sentences.append(
            f"{name} is your best overall for these words: {selected} of {total} kept "
            f"({selected / total:.0%})"
        )
    elif any(item.overall[1] or item.keywords for item in ranking):
        sentences.append(f"Untried: {name} has no history yet, so it starts at your average")
        beaten = next(item for item in ranking if item.overall[1] or item.keywords)
        other = names.get(beaten.key, beaten.key)
        if beaten.keywords:
            worst = min(beaten.keywords, key=lambda item: item.rate)
            sentences.append(
                f"Avoided {other} for '{worst.keyword}': {worst.selected} of {worst.total} kept"
            )
            evidence.append(
                {
                    "kind": "keyword", "keyword": worst.keyword, kind: other,
                    "selected": worst.selected, "total": worst.total,
                    "rate": _rate(worst.selected, worst.total),
                }
            )  # fmt: skip
        else:
            selected, total = beaten.overall
            sentences.append(f"Ahead of {other}: {selected} of {total} kept")
    elif len({round(item.score, 4) for item in ranking}) > 1:
        # None of this profile's images, yet the scores differ: what the other profiles on this
        # database kept (pooled) moves them. "Every one scores the same" here was plainly false
        # above scores of 53% and 47%.
        sentences.append(
            f"No history of yours yet: {name} leads on what other profiles here kept; "
            "Explore mode spreads a batch across them"
        )
    else:
        sentences.append(
            f"No history yet: every {kind} scores the same, so {name} is simply the first; "
            "Explore mode spreads a batch across them"
        )
    if best.overall[1]:
        selected, total = best.overall
        evidence.append(
            {"kind": "overall", kind: name, "selected": selected, "total": total,
             "rate": _rate(selected, total)}
        )  # fmt: skip
    read_through = [
        item for item in best.keywords
        if not item.total and item.similar and item.keyword not in ignored
        and (not sentences or f"'{item.keyword}' itself is new" not in sentences[0])
    ]  # fmt: skip
    for item in read_through[:2]:
        lent = ", ".join(f"'{word}' {kept} of {total}" for word, kept, total in item.similar[:2])
        sentences.append(f"New here: '{item.keyword}', read through similar words ({lent} kept)")
    if ignored:
        quoted = ", ".join(f"'{word}'" for word in ignored[:3])
        says = "says" if len(ignored) == 1 else "say"
        sentences.append(f"{quoted} {says} nothing about your taste: ignored")
        evidence.extend({"kind": "ignored", "keyword": word} for word in ignored)
    _ranked_down_by_look(ranking, names, kind, sentences, evidence)
    new = new_keywords(keywords, ranking)
    if new and any(item.overall[1] or item.keywords for item in ranking):
        quoted = ", ".join(f"'{word}'" for word in new[:3]) + (", ..." if len(new) > 3 else "")
        sentences.append(f"New here: no history for {quoted} yet")
    evidence.extend({"kind": "new", "keyword": word} for word in new)
    return Explanation(". ".join(sentences) + ".", evidence)


def _ranked_down_by_look(
    ranking: Sequence[Scored],
    names: Mapping[str, str],
    kind: str,
    sentences: list[str],
    evidence: list[dict[str, Any]],
) -> None:
    """The checkpoint the look of its images cost most, where that is notable: "Ranked down:
    you usually reject the dark images realvisxlV40 makes (3 of 25 kept)"."""
    costly = [item for item in ranking[1:] if item.style is not None and item.style.word]
    if not costly:
        return
    worst = min(costly, key=lambda item: item.style.value if item.style else 0.0)
    part = worst.style
    name = names.get(worst.key, worst.key)
    said = None if part is None else style_reason(name, part)
    if part is None or said is None:
        return
    sentences.append(f"Ranked down: {said}")
    evidence.append(
        {"kind": "style", kind: name, "look": part.word, "feature": part.feature,
         "asked": part.asked,
         "selected": part.selected, "total": part.total, "rate": _rate(part.selected, part.total),
         "score_change": round(part.value, 4)}
    )  # fmt: skip


def explain_strength(
    explained: Explanation,
    lora: str,
    preferred: PreferredStrength,
    checkpoint: str | None,
) -> Explanation:
    """A chosen LoRA's reason, with the strength it is best kept at ("Strength 0.8 with
    epicrealismXL: 12 of 15 kept.")."""
    where = f" with {checkpoint}" if preferred.checkpoint and checkpoint else ""
    return Explanation(
        explained.why[:-1]
        + f". Strength {preferred.strength:g}{where}: {preferred.selected} of "
        f"{preferred.total} kept.",
        [*explained.evidence, {
            "kind": "strength", "lora": lora, "strength": preferred.strength,
            "selected": preferred.selected, "total": preferred.total,
            "checkpoint": checkpoint if preferred.checkpoint else None,
        }],
    )  # fmt: skip


def explain_avoided(lora: str, checkpoint: str, selected: int, total: int) -> Explanation:
    """Why a LoRA is left out: it clashes with the checkpoint."""
    return Explanation(
        f"Avoided {lora} with {checkpoint}: {selected} of {total} kept",
        [{"kind": "clash", "lora": lora, "checkpoint": checkpoint, "selected": selected,
          "total": total, "rate": _rate(selected, total)}],
    )  # fmt: skip


def explain_family(lora: str, lora_family: str, checkpoint: str, family: str) -> Explanation:
    """Why a LoRA is left out: it was made for another base model."""
    return Explanation(
        f"Left out {lora}: it is a {lora_family} LoRA and {checkpoint} is {family}",
        [{"kind": "family", "lora": lora, "lora_family": lora_family,
          "checkpoint": checkpoint, "checkpoint_family": family}],
    )  # fmt: skip


def explain_not_enabled(
    lora: str, with_it: Counts, without: Counts, checkpoint: str, *, against_words: bool
) -> Explanation:
    """Why smart selection leaves a LoRA off: it does not clearly help (yet), or not here."""
    where = f" with {checkpoint}" if checkpoint else ""
    if against_words:
        why = f"Not enabled: {lora} fares worse than usual with these words"
    else:
        why = (
            f"Not enabled: {lora}{where} kept {round(with_it.selected)} of "
            f"{round(with_it.total)}, not clearly more than the {without.rate:.0%} without it"
        )
    return Explanation(
        why,
        [{"kind": "not_enabled", "lora": lora, "selected": round(with_it.selected),
          "total": round(with_it.total), "rate": _rate(round(with_it.selected),
          round(with_it.total)), "rate_without": round(without.rate, 4),
          "against_words": against_words}],
    )  # fmt: skip
