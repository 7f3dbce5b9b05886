"""The default strategy's fitted state: read from the store, refitted in the background.

Recommending reads the stored state (kept in memory; every ``FRESH_SECONDS`` it checks whether
the stored one was refitted since, so a second worker's refit is seen soon) and never refits.
When a question shows that the profile has grown by ``REFIT_SHARE`` since the fit (at least
``REFIT_EVENTS`` events), a refit is started in the background; the answer uses the state at
hand. ``refit()`` does it at once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from tastebud.events import PreferenceEvent
from tastebud.learning.default import DefaultStrategy
from tastebud.learning.fitted import NOTHING_FITTED, Fitted, from_json, to_json
from tastebud.learning.keys import StatType
from tastebud.learning.refitting import Judged, refit_profile
from tastebud.learning.strategy import Block, Evidence, Strategy
from tastebud.prompt import parse_prompt
from tastebud.service.base import StoreOpener, _profile

REFIT_EVENTS = 20
"""New events, at least, before a question starts a refit."""
REFIT_SHARE = 0.1
"""...and at least this share of the events at the last fit."""
FRESH_SECONDS = 30.0
"""How long a state read from the store is used before the store is asked whether it changed."""
FIT_TYPES = (
    StatType.PROFILE, StatType.CHECKPOINT, StatType.KEYWORD_CHECKPOINT, StatType.LORA,
    StatType.KEYWORD_LORA,
)  # fmt: skip


def prompt_keywords(event: PreferenceEvent) -> tuple[str, ...]:
    """The event's keywords but those only a vision model gave (``events.with_vision`` lists
    its words in ``vision_themes``): what the prompt asked for, not what was seen."""
    if not event.vision_themes:
        return event.keywords
    seen = set(event.vision_themes) - set(parse_prompt(event.prompt).keywords)
    return tuple(word for word in event.keywords if word not in seen)


def _batches(events: list[PreferenceEvent]) -> list[list[Judged]]:
    """A profile's events as judged batches: consecutive images of one prompt and batch."""
    found: list[list[Judged]] = []
    last: tuple[object, ...] | None = None
    for event in events:
        image = Judged(
            tuple(event.keywords), event.checkpoint_key, tuple(lora.key for lora in event.loras),
            event.selected,
        )  # fmt: skip
        mark = (event.keywords, event.batch_id, event.session_id)
        if mark == last:
            found[-1].append(image)
        else:
            found.append([image])
        last = mark
    return found


class Fitting:
    """The default strategy's fitted state of each profile, and its refits."""

    def __init__(
        self, store: StoreOpener, strategy: Strategy, *, refit_in_background: bool = True
    ) -> None:
        self.store = store
        self.strategy = strategy
        # Per profile: (read at, state), the version it was read at, the strategy object made
        # with it, and the refits under way in the background.
        self._fitted: dict[str, tuple[float, Fitted]] = {}
        self._versions: dict[str, tuple[int, str] | None] = {}
        self._strategies: dict[str, DefaultStrategy] = {}
        self._refits: dict[str, asyncio.Task[Fitted]] = {}
        self._refit_locks: dict[str, asyncio.Lock] = {}
        # A server refits in the background; a short-lived process (the CLI) refits before it
        # answers, since a background task would not outlive it.
        self.refit_in_background = refit_in_background

    async def refit(self, user_id: str = "default") -> Fitted:
        """Refit the profile's state now and keep it in the store; returns it."""
        user_id = _profile(user_id)
        async with self._refit_lock(user_id):
            return await self._refit(user_id)

    async def settled(self) -> None:
        """Wait until the refits started in the background have finished."""
        while self._refits:
            await asyncio.gather(*list(self._refits.values()), return_exceptions=True)

    async def cancel(self) -> None:
        """Stop the refits under way (the service is closing)."""
        for task in list(self._refits.values()):
            task.cancel()
        await asyncio.gather(*self._refits.values(), return_exceptions=True)

    def forget(self, user_id: str) -> None:
        """Drop what is kept in memory of a profile (it was deleted)."""
        for kept in (self._fitted, self._versions, self._strategies):
            kept.pop(user_id, None)

    def _refit_lock(self, user_id: str) -> asyncio.Lock:
        return self._refit_locks.setdefault(user_id, asyncio.Lock())

    async def _refit(self, user_id: str) -> Fitted:
        store = await self.store.get()
        strategy = self.strategy if isinstance(self.strategy, DefaultStrategy) else None
        rows = await store.statistics(user_id, FIT_TYPES)
        counts = {row.cell: (float(row.counts.selected), float(row.counts.total)) for row in rows}
        events = await store.events(user_id)
        before = await self._stored_state(user_id)
        history = _batches(events)
        if before.events > len(events):
            before = NOTHING_FITTED  # events were deleted: the weights start again
        new = len(_batches(events[before.events :])) if before.events else len(history)
        styles = [
            (event.checkpoint_key, event.selected, event.style, prompt_keywords(event))
            for event in events
            if event.style is not None
        ]
        fitted = await asyncio.to_thread(
            refit_profile, counts, history, before, new_batches=new, strategy=strategy,
            styles=styles,
        )  # fmt: skip
        state = json.dumps(to_json(fitted))
        await store.save_fitted_state(user_id, len(events), state)
        # Read back from its JSON form, as a restart or a second worker will: the same answers.
        fitted = from_json(json.loads(state))
        self._fitted[user_id] = (time.monotonic(), fitted)
        self._versions.pop(user_id, None)
        return fitted

    async def _stored_state(self, user_id: str) -> Fitted:
        found = await (await self.store.get()).fitted_state(user_id)
        return NOTHING_FITTED if found is None else from_json(json.loads(found[1]))

    async def _state(self, user_id: str) -> Fitted:
        """The profile's fitted state: from memory while fresh, else from the store."""
        cached = self._fitted.get(user_id)
        if cached is not None and time.monotonic() - cached[0] < FRESH_SECONDS:
            return cached[1]
        # Parsing the state costs tens of milliseconds at 100,000 events, and a new state object
        # forgets what the strategy worked out: read it again only when it was refitted.
        version = await (await self.store.get()).fitted_version(user_id)
        if cached is not None and version is not None and self._versions.get(user_id) == version:
            self._fitted[user_id] = (time.monotonic(), cached[1])
            return cached[1]
        fitted = await self._stored_state(user_id)
        self._fitted[user_id] = (time.monotonic(), fitted)
        self._versions[user_id] = version  # read before the state: at worst read again once
        return fitted

    async def strategy_for(self, user_id: str) -> Strategy:
        """The service's strategy, reading the profile's fitted state where it has one."""
        if not isinstance(self.strategy, DefaultStrategy):
            return self.strategy
        fitted = await self._state(user_id)
        # The same strategy object while the state stands: it remembers its words' parts.
        known = self._strategies.get(user_id)
        if known is None or known.fitted is not fitted:
            known = self._strategies[user_id] = self.strategy.with_fitted(fitted)
        return known

    async def with_evidence(
        self,
        user_id: str,
        blocks: Callable[[Strategy], list[Block]],
        half_life_days: float | None,
    ) -> tuple[Strategy, Evidence]:
        """The strategy to answer a question with, and the statistics it asks for (``blocks``
        of the strategy): read again from a refitted state when this question showed it stale."""
        store = await self.store.get()
        strategy = await self.strategy_for(user_id)
        evidence = await store.evidence(user_id, blocks(strategy), half_life_days=half_life_days)
        events = evidence.mine((StatType.PROFILE, "", "")).total
        if (refitted := await self.refitted(user_id, strategy, events)) is not strategy:
            strategy = refitted
            evidence = await store.evidence(
                user_id, blocks(strategy), half_life_days=half_life_days
            )
        return strategy, evidence

    async def refitted(self, user_id: str, strategy: Strategy, events: float) -> Strategy:
        """The strategy to answer with, refitting first or in the background when it is stale.

        Stale means the profile has grown by ``REFIT_SHARE`` (at least ``REFIT_EVENTS`` events)
        since its fit. A server answers with the state at hand and refits in the background.
        """
        if not isinstance(strategy, DefaultStrategy) or user_id in self._refits:
            return strategy
        fitted_at = strategy.fitted.events
        if events - fitted_at < max(REFIT_EVENTS, REFIT_SHARE * fitted_at):
            return strategy
        if not self.refit_in_background:
            return strategy.with_fitted(await self.refit(user_id))
        task = asyncio.get_running_loop().create_task(self.refit(user_id))
        self._refits[user_id] = task
        task.add_done_callback(lambda _: self._refits.pop(user_id, None))
        return strategy
