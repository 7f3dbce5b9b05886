"""Recorded events as a CSV file a spreadsheet opens: one row per image, one column per field."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

COLUMNS = (
    "timestamp", "action", "implicit", "checkpoint", "loras", "prompt", "keywords",
    "negative_prompt", "generation_id", "session_id", "batch_id", "stage", "feedback",
    "image_path", "propensity", "user_id",
)  # fmt: skip


def events_csv(events: Iterable[Mapping[str, Any]]) -> str:
    """The events (``PreferenceEvent.to_dict``) as CSV text with a header row. LoRAs read
    ``name:strength`` and keywords are separated by spaces, so that each cell is one value."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for event in events:
        row = dict(event)
        row["loras"] = " ".join(f"{lora['name']}:{lora['strength']}" for lora in event["loras"])
        row["keywords"] = " ".join(event["keywords"])
        writer.writerow(["" if row.get(name) is None else row[name] for name in COLUMNS])
    return out.getvalue()
