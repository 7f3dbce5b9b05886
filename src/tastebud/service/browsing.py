"""Browsing what has been learned and recorded: totals, the overview, profiles, the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tastebud.errors import InvalidInput
from tastebud.events import PreferenceEvent, check_user_id
from tastebud.generations import UNREVIEWED
from tastebud.learning.keys import StatType
from tastebud.learning.overview import overview
from tastebud.learning.styles import style_taste
from tastebud.names import model_key
from tastebud.paging import PageRequest
from tastebud.prompt import parse_prompt
from tastebud.service.base import StoreOpener, _profile
from tastebud.service.fitting import Fitting
from tastebud.store.repository import Page

TOP_CHECKPOINTS = 10
OVERVIEW_WEEKS = 52


class Browsing:
    """Reads of a profile's statistics and events, and its profiles."""

    def __init__(self, store: StoreOpener, fitting: Fitting) -> None:
        self.store = store
        self.fitting = fitting

    async def get_stats(self, *, user_id: str = "default") -> dict[str, Any]:
        """Totals and the top checkpoints and LoRAs, in the shape of the seed's stats endpoint."""
        user_id = _profile(user_id)
        store = await self.store.get()
        rows = await store.statistics(
            user_id, [StatType.PROFILE, StatType.CHECKPOINT, StatType.LORA]
        )
        profile = next((row.counts for row in rows if row.cell[0] == StatType.PROFILE), None)
        selected = profile.selected if profile else 0
        total = profile.total if profile else 0
        names = await store.known_models("checkpoint", user_id)
        lora_names = await store.known_models("lora", user_id)

        def top(stat_type: StatType, label: str, display: dict[str, str]) -> list[dict[str, Any]]:
            cells = [row for row in rows if row.cell[0] == stat_type]
            cells.sort(key=lambda row: (-row.counts.rate, -row.counts.total, row.cell[1]))
            return [
                {
                    label: display.get(row.cell[1], row.cell[1]),
                    "selection_rate": round(row.counts.rate, 4),
                    "total": row.counts.total,
                    "selected": row.counts.selected,
                    "evidence_level": round(row.counts.evidence_level, 4),
                }
                for row in cells[:TOP_CHECKPOINTS]
            ]

        return {
            "user_id": user_id,
            "total_preferences": total,
            "action_counts": {"selected": selected, "rejected": total - selected},
            "top_checkpoints": top(StatType.CHECKPOINT, "checkpoint", names),
            "top_loras": top(StatType.LORA, "lora", lora_names),
        }

    async def overview(self, *, user_id: str = "default") -> dict[str, Any]:
        """What the profile's history says at a glance (the web panel's overview page).

        Totals, the checkpoints with most images and their evidence, the LoRAs that work and
        those that clash with a checkpoint, a keyword x checkpoint table of the most used
        keywords, the selection rate of each of the last 52 weeks, how many images wait in
        the review queue, and the share kept of each look (``learning.styles.style_taste``).
        """
        user_id = _profile(user_id)
        store = await self.store.get()
        rows = await store.statistics(
            user_id,
            [StatType.PROFILE, StatType.CHECKPOINT, StatType.CHECKPOINT_LORA,
             StatType.KEYWORD_CHECKPOINT],
        )  # fmt: skip
        since = datetime.now(UTC) - timedelta(weeks=OVERVIEW_WEEKS)
        found = overview(
            {row.cell: row.counts for row in rows},
            await store.known_models("checkpoint", user_id),
            await store.known_models("lora", user_id),
            await store.judged_times(user_id, since),
        )
        waiting = (await store.queue_page(user_id, UNREVIEWED, 1, None)).total
        looks = style_taste(await store.judged_styles(user_id)).to_dict()
        return {"user_id": user_id, **found, "waiting": waiting, "style": looks}

    async def list_profiles(self) -> dict[str, int]:
        """Every profile on the database with its number of events, by name."""
        return await (await self.store.get()).profile_totals()

    async def create_profile(self, user_id: str) -> bool:
        """Make an empty profile (to switch to before anything is recorded); False if it exists."""
        user_id = check_user_id(user_id)
        return await (await self.store.get()).create_profile(user_id)

    async def delete_profile(self, user_id: str) -> int | None:
        """Delete a profile and everything of it (events, statistics, review queue, fitted
        state); returns how many events it had, None when there is no such profile. Nothing of
        another profile changes. (A second server worker forgets it at its next write of it, and
        its copy of the fitted state within 30 seconds.)"""
        user_id = check_user_id(user_id)
        removed = await (await self.store.get()).delete_profile(user_id)
        self.fitting.forget(user_id)
        return removed

    async def list_preferences(
        self,
        *,
        user_id: str = "default",
        checkpoint: str | None = None,
        keyword: str | None = None,
        action: str | None = None,
        session_id: str | None = None,
        limit: int = 50,
        cursor: int | None = None,
    ) -> Page:
        """One page of a profile's events, most recently recorded first.

        Filters: ``checkpoint`` (any form of its name), ``keyword`` (as a prompt word: "beaches"
        finds "beach"), ``action`` ("selected" or "rejected") and ``session_id``. Pass the page's
        ``next_cursor`` as ``cursor`` for the next page; ``total`` counts every match.
        """
        user_id = _profile(user_id)
        page = PageRequest(limit, cursor)
        if action not in (None, "selected", "rejected"):
            raise InvalidInput("action", "must be 'selected' or 'rejected'")
        checkpoint_key = None
        if checkpoint is not None:
            checkpoint_key = model_key(checkpoint) if isinstance(checkpoint, str) else ""
            if not checkpoint_key:
                raise InvalidInput("checkpoint", f"{checkpoint!r} is not a model name")
        word = None
        if keyword is not None:
            if not isinstance(keyword, str) or not keyword.strip():
                raise InvalidInput("keyword", "must be a word")
            found = parse_prompt(keyword).keywords
            # A stop word or punctuation leaves no keyword: look for it as written.
            word = found[0] if len(found) == 1 else keyword.strip().lower()
        return await (await self.store.get()).page(
            user_id,
            checkpoint=checkpoint_key,
            keyword=word,
            selected=None if action is None else action == "selected",
            session_id=session_id,
            limit=page.limit,
            before=page.cursor,
        )

    async def get_preferences(self, *, user_id: str | None = "default") -> list[PreferenceEvent]:
        """Every stored event of a profile (or of all profiles with ``user_id=None``), oldest first."""
        user_id = _profile(user_id, everyone_allowed=True)
        return await (await self.store.get()).events(user_id)
