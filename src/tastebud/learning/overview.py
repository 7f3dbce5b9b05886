"""What a profile's history says at a glance: the web panel's overview, from the statistics.

Pure arithmetic on counts the service fetched: the top checkpoints with their evidence, the LoRAs
that help or clash with a checkpoint (by the same rule recommendations use to avoid a LoRA), a
keyword x checkpoint table of the most used keywords, and the selection rate week by week.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from tastebud.learning.explain import label
from tastebud.learning.keys import Cell, Counts, StatType
from tastebud.learning.pairs import verdict

TOP_CHECKPOINTS = 10
HEAT_KEYWORDS, HEAT_CHECKPOINTS = 10, 6
PAIRS = 8


def _counts(found: Counts) -> dict[str, Any]:
    return {
        "selected": round(found.selected),
        "total": round(found.total),
        "rate": round(found.rate, 4),
    }


def overview(
    cells: Mapping[Cell, Counts],
    checkpoint_names: Mapping[str, str],
    lora_names: Mapping[str, str],
    judged: Iterable[tuple[datetime, bool]],
) -> dict[str, Any]:
    """The overview of one profile from its statistics and its ``(time, selected)`` judgements."""
    by_type: dict[StatType, dict[Cell, Counts]] = {}
    for cell, found in cells.items():
        by_type.setdefault(StatType(cell[0]), {})[cell] = found
    profile = cells.get((StatType.PROFILE, "", ""), Counts())
    checkpoints = sorted(
        by_type.get(StatType.CHECKPOINT, {}).items(),
        key=lambda item: (-item[1].total, -item[1].rate, item[0][1]),
    )

    def checkpoint_name(key: str) -> str:
        return checkpoint_names.get(key, key)

    def lora_name(key: str) -> str:
        return lora_names.get(key, key)

    works, clashes = [], []
    for (_, checkpoint, lora), pair in by_type.get(StatType.CHECKPOINT_LORA, {}).items():
        overall = cells.get((StatType.CHECKPOINT, checkpoint, ""), Counts())
        said = verdict(pair, overall)
        if said is None:
            continue
        without = overall - pair
        entry = {
            "lora": lora_name(lora),
            "checkpoint": checkpoint_name(checkpoint),
            **_counts(pair),
            "checkpoint_rate": round(without.rate, 4),
        }
        if said == "clashes":
            entry["why"] = (
                f"{entry['lora']} with {entry['checkpoint']}: {entry['selected']} of "
                f"{entry['total']} kept, against {without.rate:.0%} without it"
            )
            clashes.append(entry)
        else:
            works.append(entry)
    works.sort(key=lambda entry: (-(entry["rate"] - entry["checkpoint_rate"]), -entry["total"]))
    clashes.sort(key=lambda entry: (entry["rate"] - entry["checkpoint_rate"], -entry["total"]))

    return {
        "totals": {
            "selected": round(profile.selected),
            "rejected": round(profile.total - profile.selected),
            "total": round(profile.total),
        },
        "checkpoints": [
            {
                "checkpoint": checkpoint_name(cell[1]),
                **_counts(found),
                "evidence_level": round(found.evidence_level, 4),
                "label": label(found.evidence_level),
            }
            for cell, found in checkpoints[:TOP_CHECKPOINTS]
        ],
        "loras_that_work": works[:PAIRS],
        "clashes": clashes[:PAIRS],
        "heatmap": _heatmap(
            by_type.get(StatType.KEYWORD_CHECKPOINT, {}),
            [cell[1] for cell, _ in checkpoints[:HEAT_CHECKPOINTS]],
            checkpoint_name,
        ),
        "weeks": weekly(judged),
    }


def _heatmap(pairs: Mapping[Cell, Counts], checkpoints: Sequence[str], name: Any) -> dict[str, Any]:
    """The most used keywords against the most used checkpoints; None where never tried."""
    used: Counter[str] = Counter()
    for (_, keyword, _), counted in pairs.items():
        used[keyword] += round(counted.total)
    keywords = [keyword for keyword, _ in used.most_common(HEAT_KEYWORDS)]

    def cell(keyword: str, checkpoint: str) -> dict[str, Any] | None:
        found = pairs.get((StatType.KEYWORD_CHECKPOINT, keyword, checkpoint))
        return _counts(found) if found else None

    return {
        "keywords": keywords,
        "checkpoints": [name(key) for key in checkpoints],
        "cells": [[cell(keyword, key) for key in checkpoints] for keyword in keywords],
    }


def weekly(judged: Iterable[tuple[datetime, bool]]) -> list[dict[str, Any]]:
    """Selection rate per ISO week (weeks start on Monday), oldest first."""
    weeks: dict[datetime, list[int]] = {}
    for moment, selected in judged:
        start = (moment - timedelta(days=moment.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        counts = weeks.setdefault(start, [0, 0])
        counts[0] += bool(selected)
        counts[1] += 1
    found = []
    for start in sorted(weeks):
        kept, total = weeks[start]
        year, week, _ = start.isocalendar()
        found.append(
            {
                "week": f"{year}-W{week:02d}",
                "start": start.date().isoformat(),
                **_counts(Counts(kept, total)),
            }
        )
    return found
