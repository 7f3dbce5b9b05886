"""How the ``tastebud`` command shows things: rich tables, progress bars, JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from tastebud.recommendations import Exploration, LoraScore, LoraSet, Recommendation

if TYPE_CHECKING:
    from tastebud.cleanup import CleanupPlan, Moved, PutBack
    from tastebud.importers.folders import ImportReport
    from tastebud.importers.styles import StyleReport

out = Console()
err = Console(stderr=True)


def show_recommendation(found: Recommendation, loras: list[LoraScore]) -> None:
    out.print(
        f"[bold]{found.checkpoint}[/bold]  confidence {found.confidence:.2f}  ({found.label})",
        highlight=False,
    )
    out.print(f"Why: {found.why}", highlight=False)
    table = Table("checkpoint", "score", "images", "evidence", title="Every candidate")
    for item in found.ranking[:10]:
        table.add_row(
            item.checkpoint, f"{item.score:.2f}", str(item.evidence), f"{item.evidence_level:.0%}"
        )
    out.print(table)
    kept = [lora for lora in loras if not lora.avoided]
    if kept:
        lora_table = Table("LoRA", "score", "strength", "why", title="LoRAs for it")
        for lora in kept:
            strength = "1 (untried)" if lora.strength is None else f"{lora.strength:g}"
            lora_table.add_row(lora.name, f"{lora.score:.2f}", strength, lora.why)
        out.print(lora_table)
    else:
        out.print("No LoRA to suggest yet.")
    for lora in loras:
        if lora.avoided:
            out.print(f"[dim]{lora.why}[/dim]", highlight=False)


def show_lora_set(found: LoraSet) -> None:
    if found.enabled:
        table = Table("LoRA", "score", "strength", "why", title="Enable")
        for lora in found.enabled:
            strength = "1 (untried)" if lora.strength is None else f"{lora.strength:g}"
            table.add_row(lora.name, f"{lora.score:.2f}", strength, lora.why)
        out.print(table)
        out.print(f"Prompt tags: {found.tags}", highlight=False, markup=False)
    else:
        out.print(found.why, highlight=False)
    for lora in found.left_out:
        out.print(f"[dim]{escape(lora.why)}[/dim]", highlight=False)


def show_exploration(found: Exploration) -> None:
    table = Table("checkpoint", "images", "propensity", "score", title=f"A batch of {found.batch}")
    for item in found.allocations:
        table.add_row(
            item.checkpoint, str(item.images), f"{item.propensity:.3f}", f"{item.score:.2f}"
        )
    out.print(table)
    out.print(found.why, highlight=False)


def show_stats(found: dict[str, Any]) -> None:
    counts = found["action_counts"]
    out.print(
        f"profile {found['user_id']!r}: {found['total_preferences']} images judged, "
        f"{counts['selected']} kept, {counts['rejected']} rejected",
        highlight=False,
    )
    for key, title in (("top_checkpoints", "checkpoint"), ("top_loras", "lora")):
        if not found[key]:
            continue
        table = Table(title, "kept", "of", "rate")
        for row in found[key]:
            table.add_row(
                row[title], str(row["selected"]), str(row["total"]), f"{row['selection_rate']:.0%}"
            )
        out.print(table)


def write_export(target: Any, document: dict[str, Any], done: Callable[[int], None]) -> None:
    # Written event by event, so that the progress bar moves; the result is the same JSON as
    # json.dump of the whole document.
    head = {key: value for key, value in document.items() if key not in ("preferences", "stats")}
    target.write(json.dumps(head)[:-1] + ', "preferences": [')
    events = document["preferences"]
    for index, event in enumerate(events):
        target.write(("" if index == 0 else ", ") + json.dumps(event))
        if index % 1000 == 999:
            done(index + 1)
    done(len(events))
    target.write('], "stats": ' + json.dumps(document["stats"]) + "}\n")


def show_report(report: Any, wrong: str) -> None:
    out.print(f"{report.events} events, {report.statistics} statistics", highlight=False)
    if report.ok:
        out.print("every statistic matches the events")
        return
    table = Table(
        "profile", "statistic", "stored", "recounted", title=f"{len(report.wrong)} {wrong}"
    )
    for user_id, cell, stored, recounted in report.wrong[:20]:
        table.add_row(
            user_id,
            " × ".join(str(part) for part in cell if part),
            f"{stored.selected}/{stored.total}",
            f"{recounted.selected}/{recounted.total}",
        )
    out.print(table)


def show_import(report: ImportReport, shown: int = 20) -> None:
    title = "What the import would do (nothing was changed)" if report.dry_run else "Imported"
    table = Table("read", "imported", "selected", "rejected", "queued", "unchanged", "failed",
                  title=title)  # fmt: skip
    table.add_row(*(str(value) for value in (
        report.read, report.imported, report.selected, report.rejected, report.queued,
        report.unchanged, len(report.failed),
    )))  # fmt: skip
    out.print(table)
    _show_failed(report.failed, "Failed", "why it failed", shown)


def show_styles(report: StyleReport, shown: int = 20) -> None:
    """What the style pass after an import read."""
    if report.read:
        out.print(f"read the style of {report.read} images", highlight=False)
    _show_failed(report.failed, "No style", "why its pixels could not be read", shown)


def _show_failed(failed: list[tuple[str, str]], title: str, why: str, shown: int) -> None:
    """The first ``shown`` files that failed, and how many more."""
    if not failed:
        return
    table = Table("file", why, title=title)
    for path, reason in failed[:shown]:
        table.add_row(path, reason)
    out.print(table)
    if len(failed) > shown:
        out.print(f"... and {len(failed) - shown} more", highlight=False)


def _megabytes(size: int) -> str:
    unit, scale = ("GB", 1e9) if size >= 1e9 else ("MB", 1e6) if size >= 1e6 else ("KB", 1e3)
    return f"{size / scale:,.1f} {unit}"


def show_cleanup(
    plan: CleanupPlan, *, moved: list[Moved] | None = None, trash: str | None = None,
    failed: Sequence[tuple[str, str]] = (), shown: int = 20,
) -> None:  # fmt: skip
    """What a cleanup would move (a dry run), or moved."""
    count = len(plan.removable)
    if moved is None:
        out.print(
            f"{count} rejected images, {_megabytes(plan.size)}, are safe to move to the trash "
            "(dry run: nothing moved; --apply moves them)",
            highlight=False,
        )
        if plan.removable:
            table = Table("file", "size", "rejected", title="Safe to move")
            for item in plan.removable[:shown]:
                when = item.rejected_at.date().isoformat() if item.rejected_at else ""
                table.add_row(item.path, _megabytes(item.size), when)
            out.print(table)
            if count > shown:
                out.print(f"... and {count - shown} more", highlight=False)
    else:
        size = sum(item.size for item in moved)
        out.print(
            f"moved {len(moved)} images ({_megabytes(size)}) to {trash or 'the trash folder'}; "
            "tastebud cleanup --undo puts them back",
            highlight=False,
        )
    if plan.skipped:
        left = "; ".join(f"{number} {reason}" for reason, number in plan.skipped.items() if number)
        out.print(f"left alone: {left}", highlight=False)
    _show_failed(list(failed), "Not moved", "why", shown)


def show_put_back(done: PutBack) -> None:
    out.print(f"put back {len(done.restored)} images", highlight=False)
    _show_failed(done.failed, "Not put back", "why", 20)


def show_watched(report: ImportReport) -> None:
    """One line per round of a watch: what joined the queue, and what could not."""
    parts = [
        f"{count} {label}"
        for count, label in (
            (report.queued, "queued for review"), (report.selected, "kept"),
            (report.rejected, "rejected"), (report.unchanged, "already known"),
        )
        if count
    ]  # fmt: skip
    if parts:
        out.print(", ".join(parts), highlight=False)
    for path, reason in report.failed:
        err.print(f"cannot import {path}: {reason}", highlight=False, markup=False)


@contextmanager
def progress() -> Iterator[Progress]:
    """A progress display on stderr, shown only on a terminal and gone when done."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        yield progress


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
