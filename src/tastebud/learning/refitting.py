"""A profile's refit: new relevance and similar words, and the weights moved by new batches.

Each batch judged since the last fit is predicted from the statistics *without that batch* (the
counts less its own cells) before the weight on keywords learns from it: out of sample, as if it
had been predicted just before it was recorded. Then the relevance and the similar words are
fitted anew on all of the profile's statistics and prompts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from tastebud.learning.default import DefaultStrategy
from tastebud.learning.fitted import Fitted, refit
from tastebud.learning.keys import Cell, StatType, cells
from tastebud.learning.levels import ByRow
from tastebud.learning.rates import Counts2
from tastebud.learning.strategy import Evidence
from tastebud.learning.styles import NO_STYLE, fit_style
from tastebud.style import Style

MAX_SCORED = 2000
"""Images of the newest batches scored at one refit: older ones were scored by earlier refits
(or, for an imported history, are long past)."""


@dataclass(frozen=True, slots=True)
class Judged:
    """One judged image, by its keys: what a refit reads of an event."""

    keywords: tuple[str, ...]
    checkpoint: str
    loras: tuple[str, ...]
    selected: bool


class _Without(Mapping[Cell, Counts2], ByRow):
    """The profile's counts less one batch's own: its cells read as if it was not yet recorded."""

    def __init__(
        self,
        counts: Mapping[Cell, Counts2],
        rows: Mapping[tuple[str, str], Mapping[str, Counts2]],
        batch: Sequence[Judged],
    ) -> None:
        self._counts = counts
        self._rows = rows
        """``counts`` by their first two keys, then the second key (``by_row``)."""
        self._less: dict[Cell, tuple[float, float]] = {}
        for image in batch:
            kept = 1.0 if image.selected else 0.0
            for cell in cells(image.keywords, image.checkpoint, image.loras, ""):
                before = self._less.get(cell, (0.0, 0.0))
                self._less[cell] = (before[0] + kept, before[1] + 1.0)
        self._touched: dict[tuple[str, str], list[str]] = {}
        for stat_type, key1, key2 in self._less:
            self._touched.setdefault((stat_type, key1), []).append(key2)

    def __getitem__(self, cell: Cell) -> Counts2:
        found = self._counts[cell]
        less = self._less.get(cell)
        if less is None:
            return found
        left = (found[0] - less[0], found[1] - less[1])
        if left[1] <= 0:
            raise KeyError(cell)
        return left

    def row(self, stat_type: str, key1: str) -> Mapping[str, Counts2]:
        found = self._rows.get((stat_type, key1), _NOTHING)
        touched = self._touched.get((stat_type, key1))
        if touched is None:
            return found
        row = dict(found)
        for key2 in touched:
            if key2 in row:
                less = self._less[(stat_type, key1, key2)]
                left = (row[key2][0] - less[0], row[key2][1] - less[1])
                if left[1] <= 0:
                    del row[key2]
                else:
                    row[key2] = left
        return row

    def __iter__(self) -> Iterator[Cell]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)


_NOTHING: Mapping[str, Counts2] = {}


def by_row(
    counts: Mapping[Cell, Counts2],
) -> dict[tuple[str, str], dict[str, Counts2]]:
    """Counts by their first two keys, then the second key."""
    rows: dict[tuple[str, str], dict[str, Counts2]] = {}
    for (stat_type, key1, key2), found in counts.items():
        rows.setdefault((stat_type, key1), {})[key2] = found
    return rows


def learn_weights(
    fitted: Fitted,
    counts: Mapping[Cell, Counts2],
    batches: Sequence[Sequence[Judged]],
    strategy: DefaultStrategy,
) -> Fitted:
    """``fitted`` with its weights on keywords moved by ``batches``, each predicted without it."""
    checkpoints = sorted({key for kind, key, _ in counts if kind == StatType.CHECKPOINT})
    loras = sorted({key for kind, key, _ in counts if kind == StatType.LORA})
    scoring = strategy.with_fitted(fitted)
    kinds = {StatType.CHECKPOINT: fitted.checkpoints.weight, StatType.LORA: fitted.loras.weight}
    left = MAX_SCORED
    rows = by_row(counts)
    for batch in reversed(batches):
        left -= len(batch)
        if left < 0:
            break
        without = _Without(counts, rows, batch)
        evidence = Evidence(without, without)
        keywords = batch[0].keywords
        parts = {
            part.key: part
            for part in scoring.parts(keywords, checkpoints, evidence, StatType.CHECKPOINT)
        }
        kinds[StatType.CHECKPOINT] = kinds[StatType.CHECKPOINT].scored_with(
            (parts[i.checkpoint].base + parts[i.checkpoint].lift, parts[i.checkpoint].keywords,
             i.selected)
            for i in batch if i.checkpoint in parts
        )  # fmt: skip
        used = sorted({lora for image in batch for lora in image.loras})
        if used and loras:
            parts = {
                part.key: part for part in scoring.parts(keywords, loras, evidence, StatType.LORA)
            }
            kinds[StatType.LORA] = kinds[StatType.LORA].scored_with(
                (parts[lora].base + parts[lora].lift, parts[lora].keywords, i.selected)
                for i in batch for lora in i.loras if lora in parts
            )  # fmt: skip
    return replace(
        fitted,
        checkpoints=replace(fitted.checkpoints, weight=kinds[StatType.CHECKPOINT]),
        loras=replace(fitted.loras, weight=kinds[StatType.LORA]),
    )


def refit_profile(
    counts: Mapping[Cell, Counts2],
    history: Sequence[Sequence[Judged]],
    before: Fitted,
    *,
    new_batches: int,
    strategy: DefaultStrategy | None = None,
    styles: Sequence[tuple[str, bool, Style, Sequence[str]]] = (),
) -> Fitted:
    """The profile's state refitted: the last ``new_batches`` of ``history`` move the weights;
    ``styles`` are (checkpoint key, selected, style, keywords) of the judged images whose style
    is known."""
    strategy = strategy or DefaultStrategy()
    fresh = history[len(history) - new_batches :] if new_batches > 0 else []
    weighted = learn_weights(before, counts, fresh, strategy)
    images = sum(len(batch) for batch in history)
    fitted = refit(
        counts,
        [batch[0].keywords for batch in history],
        weighted,
        events=images,
        meaning=strategy.similar,
        use=strategy.similar,
    )
    return replace(fitted, style=fit_style(styles) if strategy.style else NO_STYLE)
