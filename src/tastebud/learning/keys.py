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

    Stored statistics are whole numbers; where old images count less (a half-life) they are sums
    of weights. A plain tuple: hundreds are made for every recommendation, and the garbage
    collector stops tracking tuples of plain numbers.
    """

    selected: float = 0
    total: float = 0

    @property
    def rate(self) -> float:
        """The selection rate; 0.0 when nothing was counted."""
        return self.selected / self.total if self.total else 0.0

    @property
    def evidence_level(self) -> float:
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
    found = [
        (tags[StatType.PROFILE], nothing, nothing),
        (tags[StatType.CHECKPOINT], checkpoint, nothing),
    ]
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
    # Images are sorted into groups by (arriving or leaving, profile). Within one, each image's
    # keys are only appended to plain lists: once to the group's lists of all images, and once
    # more to those of the selected images.
    groups: dict[tuple[int, Any], tuple[_Keys, _Keys]] = {}
    for sign, profile, keywords, checkpoint, loras, selected in judged:
        group = groups.get((sign, profile))
        if group is None:
            group = groups[(sign, profile)] = (_Keys(), _Keys())
        for keys in group if selected else group[:1]:
            keys.checkpoints.append(checkpoint)
            words = keys.by_checkpoint.get(checkpoint)
            if words is None:
                words = keys.by_checkpoint[checkpoint] = []
            words.extend(keywords)
            for lora in loras:
                keys.loras.append(lora)
                keys.pairs.append((checkpoint, lora))
                words = keys.by_lora.get(lora)
                if words is None:
                    words = keys.by_lora[lora] = []
                words.extend(keywords)
    moved: dict[tuple[Any, Any, Any, Any], tuple[int, int]] = {}
    profiles_seen: set[Any] = set()
    added_up = False
    for (sign, profile), (every, chosen) in groups.items():
        counted = _count(every, chosen, tags, nothing, profile, sign)
        if profile not in profiles_seen:  # no cell of this profile yet: nothing to add up
            profiles_seen.add(profile)
            moved.update(counted)
            continue
        added_up = True  # the same profile arriving and leaving (a replacement)
        for place, (kept, total) in counted.items():
            before = moved.get(place)
            moved[place] = (
                (kept, total) if before is None else (before[0] + kept, before[1] + total)
            )
    if not added_up:
        return moved  # every count of a group is at least one image: none is (0, 0)
    return {place: counts for place, counts in moved.items() if counts != (0, 0)}


def _count(
    every: _Keys, chosen: _Keys, tags: Mapping[StatType, Any], nothing: Any, profile: Any, sign: int
) -> dict[tuple[Any, Any, Any, Any], tuple[int, int]]:
    """The cells of one group and how they move: totals from ``every``, selected from ``chosen``."""
    counted: dict[tuple[Any, Any, Any, Any], tuple[int, int]] = {
        (tags[StatType.PROFILE], nothing, nothing, profile): (
            sign * len(chosen.checkpoints), sign * len(every.checkpoints),
        ),
    }  # fmt: skip
    for tag, all_keys, chosen_keys in (
        (tags[StatType.CHECKPOINT], every.checkpoints, chosen.checkpoints),
        (tags[StatType.LORA], every.loras, chosen.loras),
    ):
        selected = Counter(chosen_keys).get
        counted.update(
            {
                (tag, key, nothing, profile): (sign * selected(key, 0), sign * total)
                for key, total in Counter(all_keys).items()
            }
        )
    selected = Counter(chosen.pairs).get
    tag = tags[StatType.CHECKPOINT_LORA]
    counted.update(
        {
            (tag, checkpoint, lora, profile): (sign * selected((checkpoint, lora), 0), sign * total)
            for (checkpoint, lora), total in Counter(every.pairs).items()
        }
    )
    for tag, all_words, chosen_words in (
        (tags[StatType.KEYWORD_CHECKPOINT], every.by_checkpoint, chosen.by_checkpoint),
        (tags[StatType.KEYWORD_LORA], every.by_lora, chosen.by_lora),
    ):
        for second, words in all_words.items():  # the hot loop: ~90% of an import's cells
            selected = Counter(chosen_words.get(second, ())).get
            counted.update(
                {
                    (tag, word, second, profile): (sign * selected(word, 0), sign * total)
                    for word, total in Counter(words).items()
                }
            )
    return counted


class _Keys:
    """The keys of the images of one group, in plain lists."""

    __slots__ = ("by_checkpoint", "by_lora", "checkpoints", "loras", "pairs")

    def __init__(self) -> None:
        self.checkpoints: list[Any] = []
        self.loras: list[Any] = []
        self.pairs: list[tuple[Any, Any]] = []
        self.by_checkpoint: dict[Any, list[Any]] = {}
        self.by_lora: dict[Any, list[Any]] = {}
