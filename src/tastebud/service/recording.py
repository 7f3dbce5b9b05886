"""Recording what was kept and rejected: one event, a batch, a judged batch, and undoing one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tastebud.batches import BatchInput, check_batch, judged_events
from tastebud.errors import InvalidInput
from tastebud.events import (
    MAX_REQUEST_STATISTICS,
    EventInput,
    PreferenceEvent,
    check_event,
    event_from,
    make_event,
    statistics_of,
)
from tastebud.service.base import StoreOpener, _profile
from tastebud.store.repository import WriteSummary


class Recording:
    """Writes of preference events: one, a batch, a judged batch, and undoing one."""

    def __init__(self, store: StoreOpener) -> None:
        self.store = store

    async def record_preference(self, /, **fields: Any) -> PreferenceEvent:
        """Record one selected or rejected image; returns the stored event.

        Takes the fields of ``tastebud.events.make_event``: ``prompt``, ``checkpoint``,
        ``selected`` (or ``action``), ``loras``, ``stage``, ``session_id``, ``generation_id``,
        ``user_id`` and the rest. Recording a generation id again replaces the earlier event.
        The event is on disk when this returns.
        """
        return await self.record_event(check_event(fields))

    async def record_event(self, given: EventInput) -> PreferenceEvent:
        """``record_preference`` for fields already checked as ``EventInput`` (by
        ``tastebud.events.check_event``, or by the HTTP API from the same type)."""
        event = event_from(given)
        await (await self.store.get()).record([event])
        return event

    async def record_batch(self, events: Sequence[Mapping[str, Any]]) -> WriteSummary:
        """Record many events in one transaction: all of them or, on bad input, none.

        A bulk write for Python callers (no HTTP route takes it): each event is held to the
        limits of one image, the call as a whole is not.
        """
        return await (await self.store.get()).record(_checked(events, "events"))

    async def record_judged_batch(
        self,
        /,
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
        batch = {
            "images": images, "outcome": outcome, "selected": selected, "feedback": feedback,
            **shared,
        }  # fmt: skip
        return await self.record_judged(check_batch(batch))

    async def record_judged(self, batch: BatchInput) -> WriteSummary:
        """``record_judged_batch`` for a batch already checked as ``BatchInput`` (by
        ``tastebud.batches.check_batch``, or by the HTTP API from the same type)."""
        events = judged_events(batch)
        counted = 0
        for index, event in enumerate(events):
            counted += statistics_of(event)
            if counted > MAX_REQUEST_STATISTICS:
                raise InvalidInput(
                    "images",
                    f"the first {index + 1} images count towards {counted:,} statistics; at most "
                    f"{MAX_REQUEST_STATISTICS:,} in one batch: send them in smaller batches",
                )
        return await (await self.store.get()).record(events)

    async def delete_preference(self, generation_id: str, *, user_id: str = "default") -> bool:
        """Forget one event (undo a mis-click); statistics follow. False when there was none."""
        user_id = _profile(user_id)
        removed = await (await self.store.get()).delete(user_id, [generation_id])
        return bool(removed)


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
