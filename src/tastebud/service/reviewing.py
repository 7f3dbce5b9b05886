"""The review queue: images found by an import or a watch, listed, judged, and judged again.

Judging a generation records its preference event in the same transaction that sets its
status, so the queue and the statistics never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from tastebud.errors import InvalidInput
from tastebud.events import PreferenceEvent, make_event
from tastebud.generations import (
    REJECTED,
    SELECTED,
    UNREVIEWED,
    Generation,
    QueueFilter,
    check_status,
    facets,
)
from tastebud.paging import PageRequest
from tastebud.service.base import StoreOpener, _profile
from tastebud.store.looks import Unstyled
from tastebud.store.queue import QueuePage
from tastebud.style import Style


class Reviewing:
    """The review queue: generations awaiting review, and judging them."""

    def __init__(self, store: StoreOpener) -> None:
        self.store = store

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
        user_id = _profile(user_id)
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
        stored = await (await self.store.get()).add_generations(
            user_id, usable, events, dry_run=dry_run
        )
        return {**outcomes, **stored}

    async def unstyled_generations(self, limit: int, after: int = 0) -> list[Unstyled]:
        """Up to ``limit`` generations (of every profile) above row ``after`` whose style the
        style pass has not read (``tastebud.importers.styles``), oldest first."""
        return await (await self.store.get()).unstyled(limit, after)

    async def set_styles(self, found: Sequence[tuple[Unstyled, Style | None]]) -> None:
        """Store the styles read from the pixels: on each generation, and on its event if it
        was judged already. None marks a file whose pixels could not be read (not tried again)."""
        await (await self.store.get()).set_styles(found)

    async def undescribed(self, limit: int, after: int = 0) -> list[tuple[int, str, str, str]]:
        """Judged images with a file that the vision model has not described yet, of every
        profile, above event row ``after``: (row id, profile, generation id, image path)."""
        return await (await self.store.get()).undescribed(limit, after)

    async def keep_vision(
        self, user_id: str, generation_id: str, description: str, words: Sequence[str]
    ) -> bool:
        """Keep what the vision model saw on the image's event (its words become keywords of
        that image, marked as the model's in ``vision_themes``); False if the event is gone or
        described already."""
        return await (await self.store.get()).describe(user_id, generation_id, description, words)

    async def list_generations(
        self,
        status: str | None = UNREVIEWED,
        *,
        user_id: str | None = "default",
        limit: int = 50,
        cursor: int | None = None,
        only: QueueFilter | None = None,
    ) -> QueuePage:
        """One page of generations with the status (all with ``None``), in the order found;
        ``only`` narrows them (a folder, a checkpoint, a LoRA, dates; one profile's).

        Pass the page's ``next_cursor`` as ``cursor`` for the next page.
        """
        user_id = _profile(user_id, everyone_allowed=True)
        if status is not None:
            check_status(status)
        page = PageRequest(limit, cursor)
        store = await self.store.get()
        if only is None or only.empty:
            return await store.queue_page(user_id, status, page.limit, page.cursor)
        if user_id is None:
            raise InvalidInput("user_id", "a filtered queue is one profile's")
        found = await store.filtered_queue(user_id, status, only)
        after = [item for item in found if page.cursor is None or (item.id or 0) > page.cursor]
        shown = after[: page.limit]
        more = len(after) > page.limit and bool(shown)
        return QueuePage(shown, len(found), shown[-1].id if more else None)

    async def queue_facets(
        self, status: str | None = UNREVIEWED, *, user_id: str = "default"
    ) -> dict[str, Any]:
        """What the queue's filters can choose from (``generations.facets``): its folders,
        checkpoints and LoRAs with how many generations have each, and its first and last day."""
        user_id = _profile(user_id)
        if status is not None:
            check_status(status)
        found = await (await self.store.get()).filtered_queue(user_id, status, QueueFilter())
        return facets(found)

    async def generation(self, id_: int, *, user_id: str = "default") -> Generation | None:
        """One of the profile's generations by id; None when there is none."""
        user_id = _profile(user_id)
        return (await (await self.store.get()).generations(user_id, [id_])).get(id_)

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
        user_id = _profile(user_id)
        wanted: list[int] = []
        for field, ids, _, _ in groups:
            if any(isinstance(id_, bool) or not isinstance(id_, int) for id_ in ids):
                raise InvalidInput(field, "must be generation ids (whole numbers)")
            wanted += ids
        wanted = list(dict.fromkeys(wanted))
        store = await self.store.get()
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
