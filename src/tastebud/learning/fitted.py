"""The default strategy's fitted state: what a refit learns, and recommending only reads.

* each keyword's relevance (``relevance.Spread``), for checkpoints and for LoRAs apart;
* which keywords mean alike (``similarity.Similar``);
* how far keywords are trusted over the overall standing (``fallback.KeywordWeight``).

A refit reads the profile's statistics and prompts; the weights are carried forward and moved
only by images predicted before they were learned from. The statistics stay exact and
recomputable from the events; this state is a cache a refit rebuilds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tastebud.learning.fallback import KeywordWeight
from tastebud.learning.keys import Cell, StatType
from tastebud.learning.levels import expected_rate, keyword_lift, parents
from tastebud.learning.rates import Counts2
from tastebud.learning.relevance import Spread, relevance_of, spread
from tastebud.learning.similarity import NO_SIMILAR, Similar, similar_words
from tastebud.learning.styles import NO_STYLE, StyleFit, style_fit_from_json

KINDS = {
    StatType.CHECKPOINT: StatType.KEYWORD_CHECKPOINT,
    StatType.LORA: StatType.KEYWORD_LORA,
}
"""Each kind of candidate (by its overall statistic) and its keyword cells."""


@dataclass(frozen=True)
class KindFit:
    """What is fitted for one kind of candidate (checkpoints, or LoRAs)."""

    spreads: Mapping[str, Spread] = field(default_factory=dict)
    typical: float | None = None
    """All keywords' variance; None before any fit (the strategy's default applies)."""
    weight: KeywordWeight = field(default_factory=KeywordWeight)


@dataclass(frozen=True)
class Fitted:
    """One profile's fitted state."""

    checkpoints: KindFit = KindFit()
    loras: KindFit = KindFit()
    similar: Similar = NO_SIMILAR
    style: StyleFit = NO_STYLE
    """The style model (``styles.fit_style``): what each look is worth to this person."""
    events: int = 0
    """Events the profile had when this was fitted."""

    def kind(self, overall_type: StatType) -> KindFit:
        return self.loras if overall_type is StatType.LORA else self.checkpoints

    def with_kind(self, overall_type: StatType, found: KindFit) -> Fitted:
        if overall_type is StatType.LORA:
            return replace(self, loras=found)
        return replace(self, checkpoints=found)


NOTHING_FITTED = Fitted()


def fit_spreads(
    cells: Mapping[Cell, Counts2], overall_type: StatType
) -> tuple[dict[str, Spread], float]:
    """Each keyword's spread across the candidates, from all of one profile's statistics."""
    pair_type = KINDS[overall_type]
    by_word: dict[str, dict[str, Counts2]] = {}
    candidates: list[str] = []
    for (stat_type, key1, key2), counts in cells.items():
        if stat_type == pair_type and counts[1] > 0:
            by_word.setdefault(key1, {})[key2] = counts
        elif stat_type == overall_type and counts[1] > 0:
            candidates.append(key1)
    found = parents(candidates, cells.get, cells.get, overall_type)
    rates = dict(found.rates)
    for word_cells in by_word.values():
        for key in word_cells:
            if key not in rates:  # a cell without its overall statistic: a partial export
                rates[key] = found.profile_rate
    spreads: dict[str, Spread] = {}
    for word, word_cells in by_word.items():
        lift = keyword_lift(word_cells, rates, found.pseudo_count)
        spreads[word] = spread(
            (kept, total, expected_rate(rates[key], lift))
            for key, (kept, total) in word_cells.items()
        )
    _, typical = relevance_of(spreads)
    return spreads, typical


def refit(
    cells: Mapping[Cell, Counts2],
    prompts: Iterable[Sequence[str]],
    before: Fitted = NOTHING_FITTED,
    *,
    events: int = 0,
    meaning: bool = True,
    use: bool = True,
) -> Fitted:
    """The state fitted on a profile's statistics and prompts; weights carried from ``before``."""
    fitted = replace(before, events=events)
    vocabulary: set[str] = set()
    for overall_type in KINDS:
        spreads, typical = fit_spreads(cells, overall_type)
        vocabulary.update(spreads)
        fitted = fitted.with_kind(
            overall_type, KindFit(spreads, typical, before.kind(overall_type).weight)
        )
    if meaning or use:
        similar = similar_words(sorted(vocabulary), prompts, meaning=meaning, use=use)
    else:
        similar = NO_SIMILAR
    return replace(fitted, similar=similar)


def to_json(fitted: Fitted) -> dict[str, Any]:
    """The state as plain JSON, to keep in the store."""
    return {
        "events": fitted.events,
        "kinds": {
            str(overall_type): {
                "spreads": {
                    word: [round(found.variance, 7), round(found.images, 3)]
                    for word, found in kind.spreads.items()
                },
                "typical": kind.typical,
                "weight": kind.weight.as_list(),
            }
            for overall_type, kind in (
                (StatType.CHECKPOINT, fitted.checkpoints),
                (StatType.LORA, fitted.loras),
            )
        },
        "neighbours": {
            word: [[other, round(share, 4)] for other, share in pairs]
            for word, pairs in fitted.similar.neighbours.items()
        },
        "vocabulary": list(fitted.similar.vocabulary),
        "meaning": fitted.similar.meaning,
        "style": fitted.style.to_json(),
    }


def from_json(data: Mapping[str, Any]) -> Fitted:
    """The state read back from ``to_json``."""
    fitted = Fitted(events=int(data.get("events", 0)))
    for name, kind in data.get("kinds", {}).items():
        overall_type = StatType(name)
        fitted = fitted.with_kind(
            overall_type,
            KindFit(
                {word: Spread(float(v), float(n)) for word, (v, n) in kind["spreads"].items()},
                None if kind.get("typical") is None else float(kind["typical"]),
                KeywordWeight.from_list(kind.get("weight", ())),
            ),
        )
    similar = Similar(
        {
            word: tuple((str(other), float(share)) for other, share in pairs)
            for word, pairs in data.get("neighbours", {}).items()
        },
        tuple(data.get("vocabulary", ())),
        bool(data.get("meaning", False)),
    )
    return replace(fitted, similar=similar, style=style_fit_from_json(data.get("style")))
