"""``PreferenceLearning``: the one object every adapter (HTTP, CLI, importers) talks to."""

from __future__ import annotations

import asyncio
import gc
import random
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tastebud.batches import judged_events
from tastebud.errors import DatabaseUnavailable, InvalidInput
from tastebud.events import (
    EXPORT_VERSION,
    PreferenceEvent,
    check_user_id,
    events_from_export,
    make_event,
)
from tastebud.generations import REJECTED, SELECTED, UNREVIEWED, Generation, check_status
from tastebud.learning.bayes import BayesStrategy
from tastebud.learning.explain import (
    Explanation,
    explain_avoided,
    explain_choice,
    explain_family,
    label,
)
from tastebud.learning.explore import explore as explore_batch
from tastebud.learning.families import canonical_family, compatible
from tastebud.learning.keys import StatType, stat_key
from tastebud.learning.overview import overview
from tastebud.learning.strategy import Scored, Strategy
from tastebud.learning.strengths import Use, preferred_strength
from tastebud.names import model_key
from tastebud.prompt import parse_prompt
from tastebud.recommendations import (
    Allocation,
    Exploration,
    LoraScore,
    RankedCheckpoint,
    Recommendation,
)
from tastebud.store.database import DEFAULT_DATABASE
from tastebud.store.queue import QueuePage
from tastebud.store.repository import CheckReport, Page, Repository, WriteSummary

TOP_CHECKPOINTS = 10
MAX_PAGE = 500
_pauses = 0
_pauses_lock = threading.Lock()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for a bulk import, then let it run again.

    An import builds hundreds of thousands of objects that all live until it ends; the collector
    would walk them over and over and free nothing, which was a third of an import's time.
    Reference counting frees memory as usual meanwhile. Overlapping imports share one pause.
    """
    global _pauses
    with _pauses_lock:
        ours = _pauses > 0 or gc.isenabled()  # a host program that paused it keeps it paused
        if ours:
            _pauses += 1
            gc.disable()
    try:
        yield
    finally:
        if ours:
            with _pauses_lock:
                _pauses -= 1
                if _pauses == 0:
                    gc.enable()


MAX_BATCH = 64
OVERVIEW_WEEKS = 52
STRENGTH_HISTORY = 1000


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
    ) -> None:
        if half_life_days is not None and not half_life_days > 0:
            raise InvalidInput("half_life_days", f"must be more than 0, not {half_life_days}")
        self.database = database
        self.strategy: Strategy = strategy or BayesStrategy()
        self.half_life_days = half_life_days
        self._durable = durable
        self._repository: Repository | None = None
        self._opening = asyncio.Lock()

    async def __aenter__(self) -> Self:
        await self._store()
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
        if self._repository is not None:
            repository, self._repository = self._repository, None
            await repository.close()

    async def _store(self) -> Repository:
        if self._repository is None:
            async with self._opening:
                if self._repository is None:
                    try:
                        repository = Repository(self.database, durable=self._durable)
                    except OSError as error:  # the SQLite file's folder cannot be made
                        raise DatabaseUnavailable(str(self.database), str(error)) from error
                    try:
                        await repository.migrate()
                    except BaseException:
                        await repository.close()
                        raise
                    self._repository = repository
        return self._repository

    # -- recording ----------------------------------------------------------------------------

    async def record_preference(self, **fields: Any) -> PreferenceEvent:
        """Record one selected or rejected image; returns the stored event.

        Takes the fields of ``tastebud.events.make_event``: ``prompt``, ``checkpoint``,
        ``selected`` (or ``action``), ``loras``, ``stage``, ``session_id``, ``generation_id``,
        ``user_id`` and the rest. Recording a generation id again replaces the earlier event.
        The event is on disk when this returns.
        """
        event = make_event(**fields)
        await (await self._store()).record([event])
        return event

    async def record_batch(self, events: Sequence[Mapping[str, Any]]) -> WriteSummary:
        """Record many events in one transaction: all of them or, on bad input, none."""
        return await (await self._store()).record(_checked(events, "events"))

    async def record_judged_batch(
        self,
        images: Sequence[Mapping[str, Any]],
        *,
        outcome: str,
        selected: Sequence[str] | None = None,
        feedback: str | None = None,
        **shared: Any,
    ) -> WriteSummary:
        """Record a judged batch in one transaction, the way a generation UI's buttons do.

        ``outcome="advance"``: the images whose generation ids are in ``selected`` were kept, and
        the rest are recorded as implicit rejections. ``outcome="reject_all"``: every image is
        rejected, with the optional ``feedback``. Each image gives the fields of
        ``record_preference`` (its ``generation_id`` is required) but not ``selected`` or
        ``action``; ``session_id``, ``batch_id``, ``stage`` and ``user_id`` given here apply to
        the images that do not name their own. Posting the same batch again changes nothing.
        """
        fields = judged_events(
            images=images, outcome=outcome, selected=selected, feedback=feedback, **shared
        )
        return await (await self._store()).record(_checked(fields, "images"))

    async def delete_preference(self, generation_id: str, *, user_id: str = "default") -> bool:
        """Forget one event (undo a mis-click); statistics follow. False when there was none."""
        _profile(user_id)
        removed = await (await self._store()).delete(user_id, [generation_id])
        return bool(removed)

    # -- recommending -------------------------------------------------------------------------

    async def rank_checkpoints(
        self,
        prompt: str,
        available_checkpoints: Sequence[str] | None = None,
        *,
        user_id: str = "default",
    ) -> list[RankedCheckpoint]:
        """Every candidate checkpoint for the prompt, best first.

        Candidates are ``available_checkpoints`` (names in any form; a model name finds its
        recorded versions, "epicrealismXL" finds "epicrealismXL_pureFix") or, without it, the
        checkpoints this profile has used. Unknown candidates score 0.5, the seed's neutral rate.
        """
        _, scored, names = await self._ranked(prompt, available_checkpoints, user_id)
        return [
            RankedCheckpoint(names[item.key], item.score, item.evidence, item.confidence)
            for item in scored
        ]

    async def _ranked(
        self, prompt: str, available: Sequence[str] | None, user_id: str
    ) -> tuple[tuple[str, ...], list[Scored], dict[str, str]]:
        """The prompt's keywords, the candidates' scores best first, and key -> name."""
        _profile(user_id)
        store = await self._store()
        keywords = parse_prompt(_prompt(prompt)).keywords
        names = await _candidates(store, "checkpoint", available, user_id, "available_checkpoints")
        scored = self.strategy.rank_checkpoints(
            keywords,
            list(names),
            await store.evidence(
                user_id,
                self.strategy.checkpoint_blocks(keywords, list(names)),
                half_life_days=self.half_life_days,
            ),
        )
        return keywords, scored, names

    async def recommend(
        self,
        prompt: str,
        available_checkpoints: Sequence[str] | None = None,
        *,
        user_id: str = "default",
    ) -> Recommendation:
        """The best checkpoint for the prompt with its confidence, label, reasons and ranking.

        ``confidence`` keeps the seed's meaning (the estimated selection rate); the evidence
        level and label say how much history stands behind it; ``why`` says which, in words.
        """
        keywords, scored, names = await self._ranked(prompt, available_checkpoints, user_id)
        ranking = [
            RankedCheckpoint(names[item.key], item.score, item.evidence, item.confidence)
            for item in scored
        ]
        explained = explain_choice(keywords, scored, names, "checkpoint")
        best = scored[0] if scored else None
        return Recommendation(
            checkpoint=names[best.key] if best else None,
            confidence=best.score if best else 0.0,
            evidence=best.evidence if best else 0,
            evidence_level=best.confidence if best else 0.0,
            label=label(best.confidence if best else 0.0),
            why=explained.why,
            reasons=explained.evidence,
            keywords=list(keywords),
            ranking=ranking,
        )

    async def explore(
        self,
        prompt: str,
        batch: int = 8,
        available_checkpoints: Sequence[str] | None = None,
        *,
        top: int = 3,
        seed: int | None = None,
        user_id: str = "default",
    ) -> Exploration:
        """Split a batch of ``batch`` images across the ``top`` most promising checkpoints.

        Thompson sampling on each checkpoint's posterior: uncertain but promising checkpoints
        get some images, ones that keep disappointing fade; with no history the batch is spread
        evenly. Each image carries its propensity: pass it as ``propensity`` when recording the
        judgement. ``seed`` makes the split repeatable.
        """
        for field, value, most in (("batch", batch, MAX_BATCH), ("top", top, 20)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
                raise InvalidInput(field, f"must be a whole number from 1 to {most}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidInput("seed", "must be a whole number")
        keywords, scored, names = await self._ranked(prompt, available_checkpoints, user_id)
        slots = explore_batch(scored, batch, top, random.Random(seed))
        by_key = {item.key: item for item in scored}
        counted: dict[str, int] = {}
        for slot in slots:
            counted[slot.key] = counted.get(slot.key, 0) + 1
        propensity = {slot.key: slot.propensity for slot in slots}
        allocations = sorted(
            (
                Allocation(names[key], images, round(propensity[key], 4), by_key[key].score)
                for key, images in counted.items()
            ),
            key=lambda item: -item.images,
        )
        if not slots:
            why = explain_choice(keywords, scored, names, "checkpoint").why
        elif all(item.overall[1] == 0 and not item.keywords for item in scored):
            why = f"No history yet: the batch is spread evenly over {len(counted)} checkpoints."
        else:
            why = (
                "Split by Thompson sampling: each checkpoint gets images in proportion to its "
                "chance of being the best for this prompt. "
                + explain_choice(keywords, scored, names, "checkpoint").why
            )
        return Exploration(
            batch=batch,
            allocations=allocations,
            slots=[(names[slot.key], round(slot.propensity, 4)) for slot in slots],
            why=why,
        )

    async def recommend_checkpoint(
        self,
        prompt: str,
        available_checkpoints: Sequence[str] | None = None,
        *,
        user_id: str = "default",
    ) -> tuple[str | None, float]:
        """The best checkpoint for the prompt and its score, which the seed calls confidence.

        With no candidates at all (no ``available_checkpoints`` and no history) the answer is
        ``(None, 0.0)``; with candidates but no history, the first candidate and 0.5.
        """
        ranking = await self.rank_checkpoints(prompt, available_checkpoints, user_id=user_id)
        if not ranking:
            return None, 0.0
        return ranking[0].checkpoint, ranking[0].score

    async def recommend_loras(
        self,
        prompt: str,
        checkpoint: str | None = None,
        count: int = 3,
        *,
        available_loras: Sequence[str] | None = None,
        user_id: str = "default",
    ) -> list[LoraScore]:
        """Up to ``count`` LoRAs for the prompt, best first, each with its strength and why.

        Candidates are ``available_loras`` or the LoRAs this profile has used; LoRAs that clash
        with ``checkpoint``, or were made for another model family, are left out. With no
        history the answer is an empty list.
        """
        return [
            lora for lora in await self.explain_loras(
                prompt, checkpoint, count, available_loras=available_loras, user_id=user_id
            ) if not lora.avoided
        ]  # fmt: skip

    async def explain_loras(
        self,
        prompt: str,
        checkpoint: str | None = None,
        count: int = 3,
        *,
        available_loras: Sequence[str] | None = None,
        user_id: str = "default",
    ) -> list[LoraScore]:
        """``recommend_loras``, followed by the LoRAs left out for the checkpoint and why.

        A LoRA is left out when it clashes with the checkpoint ("Avoided anime_v2 with
        epicrealismXL: 8 of 25 kept"), or when both base model families are known and differ.
        """
        _profile(user_id)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100:
            raise InvalidInput("count", "must be a whole number from 1 to 100")
        store = await self._store()
        parsed = parse_prompt(_prompt(prompt))
        checkpoint_key = model_key(checkpoint) if checkpoint else None
        if checkpoint is not None and not checkpoint_key:
            raise InvalidInput("checkpoint", f"{checkpoint!r} is not a model name")
        if checkpoint_key:
            checkpoint_key = (await store.resolve("checkpoint", [checkpoint_key]))[checkpoint_key]
        names = await _candidates(store, "lora", available_loras, user_id, "available_loras")
        left_out: list[LoraScore] = []
        if checkpoint_key and names:
            family = (await store.families("checkpoint", [checkpoint_key]))[checkpoint_key]
            lora_families = await store.families("lora", list(names))
            for key in list(names):
                if not compatible(family, lora_families[key]):
                    explained = explain_family(
                        names[key], str(canonical_family(lora_families[key])), str(checkpoint),
                        str(canonical_family(family)),
                    )  # fmt: skip
                    left_out.append(_lora_score(names[key], 0.0, None, explained, avoided=True))
                    del names[key]
        candidates = list(names)
        evidence = await store.evidence(
            user_id,
            self.strategy.lora_blocks(parsed.keywords, checkpoint_key, candidates),
            half_life_days=self.half_life_days,
        )
        scored: list[Scored] = self.strategy.rank_loras(
            parsed.keywords, checkpoint_key, candidates, evidence
        )
        chosen = [item for item in scored if not item.avoided][:count]
        uses = await store.lora_uses(user_id, [item.key for item in chosen], STRENGTH_HISTORY)
        found: list[LoraScore] = []
        for item in chosen:
            explained = explain_choice(parsed.keywords, [item], names, "lora")
            preferred = preferred_strength(
                (Use(*use) for use in uses.get(item.key, ())), checkpoint_key
            )
            strength = None
            if preferred is not None:
                strength = preferred.strength
                where = f" with {checkpoint}" if preferred.checkpoint else ""
                explained = Explanation(
                    explained.why[:-1]
                    + f". Strength {preferred.strength:g}{where}: {preferred.selected} of "
                    f"{preferred.total} kept.",
                    [*explained.evidence, {
                        "kind": "strength", "lora": names[item.key],
                        "strength": preferred.strength, "selected": preferred.selected,
                        "total": preferred.total,
                        "checkpoint": checkpoint if preferred.checkpoint else None,
                    }],
                )  # fmt: skip
            found.append(_lora_score(names[item.key], item.score, strength, explained))
        for item in scored:
            if item.avoided and checkpoint:
                pair = evidence.mine((StatType.CHECKPOINT_LORA, checkpoint_key or "", item.key))
                explained = explain_avoided(
                    names[item.key], checkpoint, round(pair.selected), round(pair.total)
                )
                left_out.append(
                    _lora_score(names[item.key], item.score, None, explained, avoided=True)
                )
        return found + left_out

    # -- what has been learned ----------------------------------------------------------------

    async def get_stats(self, *, user_id: str = "default") -> dict[str, Any]:
        """Totals and the top checkpoints and LoRAs, in the shape of the seed's stats endpoint."""
        _profile(user_id)
        store = await self._store()
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
                    "confidence": round(row.counts.confidence, 4),
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
        keywords, and the selection rate of each of the last 52 weeks.
        """
        _profile(user_id)
        store = await self._store()
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
        return {"user_id": user_id, **found}

    async def list_profiles(self) -> dict[str, int]:
        """Every profile on the database with its number of events, by name."""
        return await (await self._store()).profile_totals()

    async def create_profile(self, user_id: str) -> bool:
        """Make an empty profile (to switch to before anything is recorded); False if it exists."""
        check_user_id(user_id)
        return await (await self._store()).create_profile(user_id)

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
        _profile(user_id)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise InvalidInput("limit", f"must be a whole number from 1 to {MAX_PAGE}")
        if cursor is not None and (
            isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 1
        ):
            raise InvalidInput("cursor", "must be the next_cursor of an earlier page")
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
        return await (await self._store()).page(
            user_id,
            checkpoint=checkpoint_key,
            keyword=word,
            selected=None if action is None else action == "selected",
            session_id=session_id,
            limit=limit,
            before=cursor,
        )

    # -- generations awaiting review ----------------------------------------------------------

    async def add_generations(
        self, found: Sequence[Generation], *, user_id: str = "default", dry_run: bool = False
    ) -> dict[str, str]:
        """Store images found by an import or a watch; judged ones also record their preference.

        Each generation's ``status`` says what is known: ``unreviewed`` joins the review queue,
        ``selected`` / ``rejected`` (a favourites folder, say) records the event too. Returns the
        outcome of each content hash: ``"added"``, ``"judged"``, ``"unchanged"`` (known, and
        judged already or still unjudged), or ``"failed: <reason>"`` for one that cannot become
        a preference (no checkpoint in its metadata, say), which is then not stored.
        """
        _profile(user_id)
        outcomes: dict[str, str] = {}
        usable: list[Generation] = []
        events: dict[str, PreferenceEvent] = {}
        for item in found:
            check_status(item.status)
            mine = replace(item, user_id=user_id)
            try:
                event = make_event(**mine.event_fields(selected=item.status == SELECTED))
            except InvalidInput as error:
                outcomes[item.content_hash] = f"failed: {error}"
                continue
            usable.append(mine)
            events[item.content_hash] = event
        stored = await (await self._store()).add_generations(
            user_id, usable, events, dry_run=dry_run
        )
        return {**outcomes, **stored}

    async def list_generations(
        self,
        status: str | None = UNREVIEWED,
        *,
        user_id: str | None = "default",
        limit: int = 50,
        cursor: int | None = None,
    ) -> QueuePage:
        """One page of generations with the status (all with ``None``), in the order found.

        Pass the page's ``next_cursor`` as ``cursor`` for the next page.
        """
        _profile(user_id, everyone_allowed=True)
        if status is not None:
            check_status(status)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise InvalidInput("limit", f"must be a whole number from 1 to {MAX_PAGE}")
        if cursor is not None and (
            isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 1
        ):
            raise InvalidInput("cursor", "must be the next_cursor of an earlier page")
        return await (await self._store()).queue_page(user_id, status, limit, cursor)

    async def generation(self, id_: int, *, user_id: str = "default") -> Generation | None:
        """One of the profile's generations by id; None when there is none."""
        _profile(user_id)
        return (await (await self._store()).generations(user_id, [id_])).get(id_)

    async def review_generations(
        self,
        ids: Sequence[int],
        action: str,
        *,
        implicit: bool = False,
        user_id: str = "default",
    ) -> list[Generation]:
        """Judge generations by id: ``selected``, ``rejected``, or ``unreviewed`` to undo.

        Judging records each image's preference (generation id ``image:<content hash>``, so
        judging again replaces it); ``implicit`` marks rejections that were the unselected rest
        of a batch. Undoing removes the event and puts the image back in the queue. An id that
        is not this profile's generation is an error, and then nothing changes.
        """
        check_status(action)
        if not ids:
            raise InvalidInput("ids", "must name at least one generation")
        return await self._judge([("ids", ids, action, implicit)], user_id)

    async def advance_generations(
        self,
        selected: Sequence[int],
        rejected: Sequence[int] = (),
        rest: Sequence[int] = (),
        *,
        user_id: str = "default",
    ) -> list[Generation]:
        """A reviewed page, in one transaction, as "Advance" records a batch.

        ``selected`` were kept, ``rejected`` rejected on purpose, and ``rest`` (shown, not
        chosen) rejected implicitly. An id in two lists, or not this profile's, is an error,
        and then nothing changes.
        """
        seen: set[int] = set()
        for field, given in (("selected", selected), ("rejected", rejected), ("rest", rest)):
            twice = seen.intersection(given)
            if twice:
                raise InvalidInput(field, f"generation {min(twice)} is in two lists")
            seen.update(given)
        if not seen:
            raise InvalidInput("selected", "the page names no generation")
        return await self._judge(
            [("selected", selected, SELECTED, False), ("rejected", rejected, REJECTED, False),
             ("rest", rest, REJECTED, True)],
            user_id,
        )  # fmt: skip

    async def _judge(
        self, groups: Sequence[tuple[str, Sequence[int], str, bool]], user_id: str
    ) -> list[Generation]:
        """Judge ``(field, ids, status, implicit)`` groups in one transaction."""
        _profile(user_id)
        wanted: list[int] = []
        for field, ids, _, _ in groups:
            if any(isinstance(id_, bool) or not isinstance(id_, int) for id_ in ids):
                raise InvalidInput(field, "must be generation ids (whole numbers)")
            wanted += ids
        wanted = list(dict.fromkeys(wanted))
        store = await self._store()
        found = await store.generations(user_id, wanted)
        for field, ids, _, _ in groups:
            missing = [id_ for id_ in ids if id_ not in found]
            if missing:
                raise InvalidInput(
                    field, f"no generation {', '.join(map(str, missing))} for profile {user_id!r}"
                )
        events = [
            make_event(
                **found[id_].event_fields(selected=status == SELECTED),
                implicit=implicit and status == REJECTED,
            )
            for _, ids, status, implicit in groups
            if status != UNREVIEWED
            for id_ in dict.fromkeys(ids)
        ]
        await store.review(
            user_id,
            [(status, [found[id_] for id_ in dict.fromkeys(ids)]) for _, ids, status, _ in groups],
            events,
        )
        after = await store.generations(user_id, wanted)
        return [after[id_] for id_ in wanted]

    async def get_preferences(self, *, user_id: str | None = "default") -> list[PreferenceEvent]:
        """Every stored event of a profile (or of all profiles with ``user_id=None``), oldest first."""
        _profile(user_id, everyone_allowed=True)
        return await (await self._store()).events(user_id)

    # -- export, import, check ----------------------------------------------------------------

    async def export_preferences(self, *, user_id: str | None = "default") -> dict[str, Any]:
        """Every event and statistic of a profile (all profiles with ``user_id=None``) as JSON data."""
        _profile(user_id, everyone_allowed=True)
        events, stats = await (await self._store()).export(user_id)
        return {
            "version": EXPORT_VERSION,
            "total_preferences": len(events),
            "preferences": [event.to_dict() for event in events],
            "stats": [
                {
                    "user_id": row.user_id,
                    "stat_type": row.cell[0],
                    "key": stat_key(row.cell),
                    "key1": row.cell[1],
                    "key2": row.cell[2],
                    "selected_count": row.counts.selected,
                    "total_count": row.counts.total,
                    "selection_rate": row.counts.rate,
                    "confidence": row.counts.confidence,
                }
                for row in stats
            ],
        }

    async def import_preferences(
        self, data: Mapping[str, Any] | bytes | str, *, user_id: str | None = None
    ) -> WriteSummary:
        """Merge an export document; importing the same document again changes nothing.

        ``data`` is the document, or its JSON text as read from the file (faster: parsed and
        checked in one pass). Each event keeps its profile unless ``user_id`` moves them all into
        one. An event whose generation id is stored already replaces it only when it is newer.
        Statistics are recomputed from the events, never taken from the document. A bad document
        raises ``InvalidInput`` naming where it is wrong, and nothing is written.
        """
        with collector_paused():
            events = events_from_export(data, user_id=user_id)
            return await (await self._store()).record(events, newer_wins=True)

    async def ping(self) -> str:
        """Open the database if need be and run a query; returns "sqlite" or "postgresql".

        Raises ``tastebud.errors.DatabaseUnavailable`` when it cannot be reached.
        """
        store = await self._store()
        await store.ping()
        return store.db.dialect

    async def check(self) -> CheckReport:
        """Compare every statistic with a recomputation from the events."""
        return await (await self._store()).check()

    async def repair(self) -> CheckReport:
        """Rebuild the statistics from the events; returns what was wrong before."""
        return await (await self._store()).repair()


def _lora_score(
    name: str,
    score: float,
    strength: float | None,
    explained: Explanation,
    *,
    avoided: bool = False,
) -> LoraScore:
    return LoraScore(
        name, score, strength, explained.why, tuple(explained.evidence), avoided=avoided
    )


def _checked(events: Sequence[Mapping[str, Any]], field: str) -> list[PreferenceEvent]:
    """Every event made and checked, or ``InvalidInput`` naming the first bad one."""
    if isinstance(events, Mapping | str | bytes):
        raise InvalidInput(field, "must be a list of events")
    checked = []
    for index, fields in enumerate(events):
        if not isinstance(fields, Mapping):
            raise InvalidInput(f"{field}[{index}]", "must be an object")
        try:
            checked.append(make_event(**fields))
        except InvalidInput as error:
            raise error.within(f"{field}[{index}]") from None
        except TypeError:  # make_event(**{1: ...}): a field name that is not a string
            raise InvalidInput(f"{field}[{index}]", "field names must be strings") from None
    return checked


async def _candidates(
    store: Repository, kind: str, available: Sequence[str] | None, user_id: str, field: str
) -> dict[str, str]:
    """Stored key -> name to answer with, for each candidate checkpoint (or LoRA).

    Without ``available``, the models this profile has used, by their recorded names.
    """
    if available is None:
        return await store.known_models(kind, user_id)
    if isinstance(available, str):
        available = [available]
    requested: dict[str, str] = {}
    for index, name in enumerate(available):
        if not isinstance(name, str) or not model_key(name):
            raise InvalidInput(f"{field}[{index}]", f"is not a {kind} name")
        requested.setdefault(model_key(name), name)
    stored = await store.resolve(kind, list(requested))
    names: dict[str, str] = {}
    for key, name in requested.items():
        names.setdefault(stored[key], name)
    return names


def _profile(user_id: Any, *, everyone_allowed: bool = False) -> None:
    """Refuse a user_id that names no profile (``None`` means every profile where allowed)."""
    if user_id is None and everyone_allowed:
        return
    check_user_id(user_id)


def _prompt(prompt: Any) -> str:
    if not isinstance(prompt, str):
        raise InvalidInput("prompt", "must be a string")
    return prompt
