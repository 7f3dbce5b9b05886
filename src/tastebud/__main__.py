"""``python -m tastebud``: for now, a short demo that records a history and recommends from it.

The HTTP service and the full CLI replace this with ``tastebud serve`` (issue 3).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from tastebud.demo import DEMO_PROFILE, demo_history
from tastebud.errors import TastebudError
from tastebud.service import PreferenceLearning
from tastebud.store.database import DEFAULT_DATABASE

PROMPTS = ["beach at sunset", "misty forest at dawn", "anime girl in a garden"]


async def demo(database: str) -> None:
    async with PreferenceLearning(database=database) as pl:
        summary = await pl.record_batch(demo_history())
        print(f"tastebud demo on {database}: profile {DEMO_PROFILE!r}, "
              f"{summary.added} events recorded, {summary.unchanged} already there")  # fmt: skip
        stats = await pl.get_stats(user_id=DEMO_PROFILE)
        counts = stats["action_counts"]
        print(f"\n{stats['total_preferences']} images judged: "
              f"{counts['selected']} kept, {counts['rejected']} rejected")  # fmt: skip
        print("\nCheckpoints by selection rate:")
        for row in stats["top_checkpoints"]:
            print(f"  {row['checkpoint']:<40} {row['selection_rate']:6.0%}"
                  f"  ({row['selected']} of {row['total']})")  # fmt: skip
        for prompt in PROMPTS:
            checkpoint, confidence = await pl.recommend_checkpoint(prompt, user_id=DEMO_PROFILE)
            loras = await pl.recommend_loras(prompt, checkpoint, count=2, user_id=DEMO_PROFILE)
            lora_text = ", ".join(f"{name} ({score:.2f})" for name, score in loras) or "none"
            print(f"\n{prompt!r}\n  checkpoint: {checkpoint} (confidence {confidence:.2f})"
                  f"\n  LoRAs:      {lora_text}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tastebud", description=__doc__)
    parser.add_argument(
        "--db",
        default=os.environ.get("TASTEBUD_DB", DEFAULT_DATABASE),
        help="SQLite file or database URL (env TASTEBUD_DB; default %(default)s)",
    )
    arguments = parser.parse_args(argv)
    try:
        asyncio.run(demo(arguments.db))
    except TastebudError as error:
        print(f"tastebud: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
