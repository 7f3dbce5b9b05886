"""``PreferenceLearning``: the one object every adapter (HTTP, CLI, importers) talks to.

A facade over the service's parts, each given the store (``base.StoreOpener``) and no more than
it needs: recording.py (writes of events), recommending.py (checkpoints), loras.py (LoRAs),
fitting.py (the default strategy's fitted state, which the recommenders read), browsing.py
(statistics, events, profiles), reviewing.py (the review queue) and upkeep.py (export, import,
check, repair, ping). Each public method is one part's, written once there (``Delegated``).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

from tastebud.errors import InvalidInput
from tastebud.learning.default import DefaultStrategy
from tastebud.learning.strategy import Strategy
from tastebud.paging import MAX_PAGE
from tastebud.service.base import StoreOpener
from tastebud.service.browsing import OVERVIEW_WEEKS, TOP_CHECKPOINTS, Browsing
from tastebud.service.cleaning import Cleaning
from tastebud.service.delegated import Delegated
from tastebud.service.fitting import Fitting
from tastebud.service.loras import STRENGTH_HISTORY, RecommendingLoras
from tastebud.service.recommending import MAX_BATCH, Recommending
from tastebud.service.recording import Recording
from tastebud.service.reviewing import Reviewing
from tastebud.service.upkeep import Upkeep, collector_paused
from tastebud.settings import DEFAULT_DATABASE
from tastebud.store.repository import Repository

__all__ = [
    "DEFAULT_DATABASE",
    "MAX_BATCH",
    "MAX_PAGE",
    "OVERVIEW_WEEKS",
    "STRENGTH_HISTORY",
    "TOP_CHECKPOINTS",
    "PreferenceLearning",
    "collector_paused",
]


class PreferenceLearning:
    """Records selections and rejections and recommends checkpoints and LoRAs from them.

    ``database`` is a file path (SQLite, created on first use) or a SQLAlchemy URL
    (``sqlite:///...``, ``postgresql://user@host/db``). Nothing is opened until the first call;
    close with ``aclose()`` or use ``async with``.
    """

    def __init__(
        self,
        database: str | Path = DEFAULT_DATABASE,
        *,
        strategy: Strategy | None = None,
        half_life_days: float | None = None,
        durable: bool = True,
        refit_in_background: bool = True,
    ) -> None:
        if half_life_days is not None and not half_life_days > 0:
            raise InvalidInput("half_life_days", f"must be more than 0, not {half_life_days}")
        self.database = database
        self.strategy: Strategy = strategy or DefaultStrategy()
        self.half_life_days = half_life_days
        store = self._opener = StoreOpener(database, durable=durable)
        self.fitting = Fitting(store, self.strategy, refit_in_background=refit_in_background)
        self.recording = Recording(store)
        self.recommending = Recommending(store, self.fitting, half_life_days)
        self.loras = RecommendingLoras(store, self.fitting, half_life_days)
        self.browsing = Browsing(store, self.fitting)
        self.reviewing = Reviewing(store)
        self.upkeep = Upkeep(store)
        self.cleaning = Cleaning(store)

    async def __aenter__(self) -> Self:
        await self._opener.get()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the database connections; the object may be opened again by a later call."""
        await self.fitting.cancel()
        await self._opener.aclose()

    async def _store(self) -> Repository:
        """The store, opened on first use (for tests and tools that look underneath)."""
        return await self._opener.get()

    # Recording
    record_preference = Delegated("recording", Recording.record_preference)
    record_event = Delegated("recording", Recording.record_event)
    record_batch = Delegated("recording", Recording.record_batch)
    record_judged_batch = Delegated("recording", Recording.record_judged_batch)
    record_judged = Delegated("recording", Recording.record_judged)
    delete_preference = Delegated("recording", Recording.delete_preference)

    # Recommending checkpoints
    rank_checkpoints = Delegated("recommending", Recommending.rank_checkpoints)
    recommend = Delegated("recommending", Recommending.recommend)
    explore = Delegated("recommending", Recommending.explore)
    recommend_checkpoint = Delegated("recommending", Recommending.recommend_checkpoint)

    # Recommending LoRAs
    recommend_loras = Delegated("loras", RecommendingLoras.recommend_loras)
    explain_loras = Delegated("loras", RecommendingLoras.explain_loras)
    recommend_lora_set = Delegated("loras", RecommendingLoras.recommend_lora_set)

    # The fitted state
    refit = Delegated("fitting", Fitting.refit)
    settled = Delegated("fitting", Fitting.settled)

    # Browsing
    get_stats = Delegated("browsing", Browsing.get_stats)
    overview = Delegated("browsing", Browsing.overview)
    list_profiles = Delegated("browsing", Browsing.list_profiles)
    create_profile = Delegated("browsing", Browsing.create_profile)
    delete_profile = Delegated("browsing", Browsing.delete_profile)
    list_preferences = Delegated("browsing", Browsing.list_preferences)
    get_preferences = Delegated("browsing", Browsing.get_preferences)

    # The review queue
    add_generations = Delegated("reviewing", Reviewing.add_generations)
    list_generations = Delegated("reviewing", Reviewing.list_generations)
    generation = Delegated("reviewing", Reviewing.generation)
    review_generations = Delegated("reviewing", Reviewing.review_generations)
    advance_generations = Delegated("reviewing", Reviewing.advance_generations)
    queue_facets = Delegated("reviewing", Reviewing.queue_facets)
    unstyled_generations = Delegated("reviewing", Reviewing.unstyled_generations)
    set_styles = Delegated("reviewing", Reviewing.set_styles)
    undescribed = Delegated("reviewing", Reviewing.undescribed)
    keep_vision = Delegated("reviewing", Reviewing.keep_vision)

    # Cleanup of rejected images
    plan_cleanup = Delegated("cleaning", Cleaning.plan_cleanup)
    clean_up = Delegated("cleaning", Cleaning.clean_up)
    undo_cleanup = Delegated("cleaning", Cleaning.undo_cleanup)

    # Upkeep
    export_preferences = Delegated("upkeep", Upkeep.export_preferences)
    import_preferences = Delegated("upkeep", Upkeep.import_preferences)
    ping = Delegated("upkeep", Upkeep.ping)
    check = Delegated("upkeep", Upkeep.check)
    repair = Delegated("upkeep", Upkeep.repair)
