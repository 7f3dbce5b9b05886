"""The statistics tastebud keeps, and which of them an event counts towards.

Each statistic is a cell ``(stat_type, key1, key2)`` holding a selected count and a total count,
kept per profile. The seed's four dimensions plus two overall rates:

==================== ============ ==========
stat_type            key1         key2
==================== ============ ==========
keyword_checkpoint   keyword      checkpoint
keyword_lora         keyword      LoRA
checkpoint_lora      checkpoint   LoRA
checkpoint           checkpoint   ""
lora                 LoRA         ""
profile              ""           ""
==================== ============ ==========

Checkpoints and LoRAs appear by their canonical key (``tastebud.names.model_key``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from tastebud.events import PreferenceEvent


class StatType(StrEnum):
    KEYWORD_CHECKPOINT = "keyword_checkpoint"
    KEYWORD_LORA = "keyword_lora"
    CHECKPOINT_LORA = "checkpoint_lora"
    CHECKPOINT = "checkpoint"
    LORA = "lora"
    PROFILE = "profile"


Cell = tuple[str, str, str]
"""(stat_type, key1, key2) of one statistic."""


class Counts(NamedTuple):
    """Selected and total images of one statistic.

    A tuple of two ints: hundreds are made for every recommendation, and the garbage collector
    stops tracking tuples of plain numbers.
    """

    selected: int = 0
    total: int = 0

    @property
    def rate(self) -> float:
        """The selection rate; 0.0 when nothing was counted."""
        return self.selected / self.total if self.total else 0.0

    @property
    def confidence(self) -> float:
        """The seed's evidence level: ``min(n / 20, 1)``."""
        return min(self.total / 20.0, 1.0)

    def __add__(self, other: tuple[object, ...]) -> Counts:
        assert isinstance(other, Counts)
        return Counts(self.selected + other.selected, self.total + other.total)

    def __sub__(self, other: Counts) -> Counts:
        return Counts(self.selected - other.selected, self.total - other.total)


NO_COUNTS = Counts()


_BY_NAME: dict[StatType, Any] = {stat_type: stat_type for stat_type in StatType}


def cells(
    keywords: Sequence[Any],
    checkpoint: Any,
    loras: Sequence[Any],
    nothing: Any,
    tags: Mapping[StatType, Any] = _BY_NAME,
) -> list[tuple[Any, Any, Any]]:
    """Every cell an image counts towards, each once, in whatever keys the caller uses.

    The core names cells by ``StatType`` and name; the store by a code and ids (``tags`` maps the
    one to the other, ``nothing`` fills an unused key). One definition serves both.
    """
    keyword_checkpoint = tags[StatType.KEYWORD_CHECKPOINT]
    keyword_lora = tags[StatType.KEYWORD_LORA]
    checkpoint_lora = tags[StatType.CHECKPOINT_LORA]
    found = [(tags[StatType.PROFILE], nothing, nothing), (tags[StatType.CHECKPOINT], checkpoint, nothing)]
    found += [(tags[StatType.LORA], lora, nothing) for lora in loras]
    found += [(checkpoint_lora, checkpoint, lora) for lora in loras]
    found += [(keyword_checkpoint, keyword, checkpoint) for keyword in keywords]
    found += [(keyword_lora, keyword, lora) for keyword in keywords for lora in loras]
    return found


def cells_of(event: PreferenceEvent) -> list[Cell]:
    """Every cell the event counts towards, each once, by name."""
    return cells(event.keywords, event.checkpoint_key, [lora.key for lora in event.loras], "")


def stat_key(cell: Cell) -> str:
    """The seed's single-string form of a cell's key: ``"beach:epicrealismxl"``."""
    _, key1, key2 = cell
    return f"{key1}:{key2}" if key2 else key1


StatChanges = dict[tuple[str, Cell], Counts]
"""Per (user_id, cell): how much its selected and total counts move."""


def stat_changes(
    removed: Iterable[PreferenceEvent], added: Iterable[PreferenceEvent]
) -> StatChanges:
    """How the statistics move when ``removed`` events leave and ``added`` events arrive.

    A replaced event is one of each: a changed mind from rejected to selected moves only the
    selected counts. Cells whose counts do not move are left out.
    """
    # Counter.update counts in C: this runs over every cell of every event of an import.
    totals: Counter[tuple[str, Cell]] = Counter()
    selected: Counter[tuple[str, Cell]] = Counter()
    for sign, events in ((-1, removed), (1, added)):
        for event in events:
            places = [(event.user_id, cell) for cell in cells_of(event)]
            (totals.update if sign > 0 else totals.subtract)(places)
            if event.selected:
                (selected.update if sign > 0 else selected.subtract)(places)
    return {
        place: Counts(selected[place], total)
        for place, total in totals.items()
        if total or selected[place]
    }


Judged = tuple[int, Any, Sequence[Any], Any, Sequence[Any], bool]
"""(sign, profile, keywords, checkpoint, LoRAs, selected) of one image: +1 arriving, -1 leaving."""


def tally(
    judged: Iterable[Judged], tags: Mapping[StatType, Any] = _BY_NAME, nothing: Any = ""
) -> dict[tuple[Any, Any, Any, Any], tuple[int, int]]:
    """How every cell moves, as ``(tag, key1, key2, profile) -> (selected, total)``.

    The same counts as adding up ``cells`` image by image, reached faster: an import moves
    millions of cells, so keys are gathered in plain lists per checkpoint and per LoRA, counted by
    ``Counter`` in C, and each cell is formed once at the end. Cells that do not move are left out.
    """
    # Images are sorted into buckets by (selected, arriving or leaving, profile); within one, the
    # keys are only appended to plain lists, and each list is counted once at the end.
    buckets: dict[tuple[bool, int, Any], _Bucket] = {}
    for sign, profile, keywords, checkpoint, loras, selected in judged:
        bucket = buckets.get((selected, sign, profile))
        if bucket is None:
            bucket = buckets[(selected, sign, profile)] = _Bucket()
        bucket.checkpoints.append(checkpoint)
        words = bucket.by_checkpoint.get(checkpoint)
        if words is None:
            words = bucket.by_checkpoint[checkpoint] = []
        words.extend(keywords)
        for lora in loras:
            bucket.loras.append(lora)
            bucket.pairs.append((checkpoint, lora))
            words = bucket.by_lora.get(lora)
            if words is None:
                words = bucket.by_lora[lora] = []
            words.extend(keywords)
    moved: dict[tuple[Any, Any, Any, Any], list[int]] = {}

    def move(place: tuple[Any, Any, Any, Any], count: int, selected: bool) -> None:
        counts = moved.get(place)
        if counts is None:
            counts = moved[place] = [0, 0]
        counts[1] += count
        if selected:
            counts[0] += count

    for (selected, sign, profile), bucket in buckets.items():
        move((tags[StatType.PROFILE], nothing, nothing, profile), sign * len(bucket.checkpoints), selected)
        for checkpoint, count in Counter(bucket.checkpoints).items():
            move((tags[StatType.CHECKPOINT], checkpoint, nothing, profile), sign * count, selected)
        for lora, count in Counter(bucket.loras).items():
            move((tags[StatType.LORA], lora, nothing, profile), sign * count, selected)
        for (checkpoint, lora), count in Counter(bucket.pairs).items():
            move((tags[StatType.CHECKPOINT_LORA], checkpoint, lora, profile), sign * count, selected)
        for tag, grouped in (
            (tags[StatType.KEYWORD_CHECKPOINT], bucket.by_checkpoint),
            (tags[StatType.KEYWORD_LORA], bucket.by_lora),
        ):
            for second, words in grouped.items():
                for keyword, count in Counter(words).items():  # move(), inlined: the hot loop
                    place = (tag, keyword, second, profile)
                    counts = moved.get(place)
                    if counts is None:
                        moved[place] = [sign * count if selected else 0, sign * count]
                    else:
                        counts[1] += sign * count
                        if selected:
                            counts[0] += sign * count
    return {place: (selected, total) for place, (selected, total) in moved.items() if selected or total}


class _Bucket:
    """The keys of the images of one (selected, arriving or leaving, profile) bucket."""

    __slots__ = ("by_checkpoint", "by_lora", "checkpoints", "loras", "pairs")

    def __init__(self) -> None:
        self.checkpoints: list[Any] = []
        self.loras: list[Any] = []
        self.pairs: list[tuple[Any, Any]] = []
        self.by_checkpoint: dict[Any, list[Any]] = {}
        self.by_lora: dict[Any, list[Any]] = {}
