"""The repository: every read and write tastebud makes, on SQLite and PostgreSQL alike.

Events and the statistics they move are written in one transaction, so the statistics never drift
from the events. A generation id is one event per profile: recording it again replaces the stored
event and moves the statistics by the difference. The SQL lives in ``reads`` and ``writes``; this
class runs it in transactions and remembers ids only once they are committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from tastebud.events import PreferenceEvent
from tastebud.generations import REJECTED, SELECTED, UNREVIEWED, Generation, QueueFilter
from tastebud.learning.keys import StatType
from tastebud.learning.strategy import Block, Evidence
from tastebud.names import matches_model
from tastebud.store import queue, reads
from tastebud.store.at_once import AtOnce
from tastebud.store.cache import StatisticsCache
from tastebud.store.database import Database
from tastebud.store.ids import Ids, Lookup
from tastebud.store.images import ImageWork
from tastebud.store.migrations import migrate
from tastebud.store.reads import CheckReport, Page, StatRow
from tastebud.store.schema import (
    fitted_state,
    generations,
    image_cleanup,
    preference_stats,
    profiles,
    trashed,
    user_preferences,
)
from tastebud.store.writes import Writer, WriteSummary

__all__ = ["CheckReport", "Page", "Repository", "StatRow", "WriteSummary"]

T = TypeVar("T")
Transaction = Callable[[sa.Connection, Lookup], T]
"""A transaction's work: a function of the connection and the transaction's id look-ups."""

ANALYZE_AFTER = 1_000
"""Events written at once (an import) after which PostgreSQL's planner statistics are renewed."""


def _analyze(connection: sa.Connection) -> None:
    # Until autovacuum comes by (a minute or more), the planner keeps its picture of the tables
    # from before an import: it took a profile of 5,000 events for one of 4 and looked up a
    # batch's stored events by reading all 5,000 (2 ms where 0.05 ms do), the slowest part of a
    # judged batch right after an import.
    connection.exec_driver_sql("ANALYZE user_preferences, preference_stats")


class Repository(ImageWork):
    """Storage of events and statistics in one database."""

    def __init__(self, database: str | Path, *, durable: bool = True) -> None:
        self.db = Database(database, durable=durable)
        self.ids = Ids()
        self._writer = Writer(self.db.is_postgres)
        self._at_once = AtOnce(self.db.is_postgres)
        self.cache = StatisticsCache()

    async def migrate(self) -> int:
        """Create or bring forward the schema and load the id tables; returns the old version."""
        version = await self.db.write(migrate)
        await self._read(lambda connection, ids: ids.preload())
        return version

    async def close(self) -> None:
        await self.db.close()

    async def _write(self, work: Transaction[T], *, autocommit: bool = False) -> T:
        def run(connection: sa.Connection) -> tuple[T, Lookup]:
            lookup = self.ids.lookup(connection, self.db.dialect)
            return work(connection, lookup), lookup

        try:
            try:
                result, lookup = await self.db.write(run, autocommit=autocommit)
            except sa.exc.IntegrityError as error:
                if not _names_a_deleted_row(error):
                    raise
                # An id this process remembered belongs to a row that is gone (a profile deleted
                # by another worker): forget every remembered id and run the work once more. A
                # write done twice changes nothing, so the retry is safe.
                self.ids.forget()
                result, lookup = await self.db.write(run, autocommit=autocommit)
        finally:
            self.cache.wrote()  # after the commit: a read from now on starts a new snapshot
        lookup.commit()
        return result

    async def _read(self, work: Transaction[T], *, small: bool = False) -> T:
        return await self.db.read(
            lambda connection: work(connection, self.ids.lookup(connection, self.db.dialect)),
            small=small,
        )

    # -- writes -------------------------------------------------------------------------------

    async def record(
        self, events: Sequence[PreferenceEvent], *, newer_wins: bool = False
    ) -> WriteSummary:
        """Store the events and move the statistics, all in one transaction.

        An event whose (user_id, generation_id) is stored already replaces it, unless it is the same
        event again (nothing changes) or, with ``newer_wins``, the stored one is newer. Within
        ``events`` the last event of a generation id counts.
        """
        latest = {(event.user_id, event.generation_id): event for event in events}
        if not latest:
            return WriteSummary()
        if self._at_once.takes(new := list(latest.values())):
            # One image or a judged batch, the common cases, in single statements on PostgreSQL.
            work = lambda c, ids: self._at_once.record(c, ids, new, newer_wins)
            done: WriteSummary | None = await self._write(work, autocommit=True)
            if done is not None:
                return done
        summary: WriteSummary = await self._write(
            lambda c, ids: self._writer.record(c, ids, latest, newer_wins)
        )
        if self.db.is_postgres and summary.added + summary.replaced >= ANALYZE_AFTER:
            await self.db.write(_analyze, autocommit=True)
        return summary

    async def delete(self, user_id: str, generation_ids: Iterable[str]) -> list[PreferenceEvent]:
        """Remove events (undo a mis-click); returns the events removed."""
        wanted = list(generation_ids)
        return await self._write(lambda c, ids: self._writer.delete(c, ids, user_id, wanted))

    async def repair(self) -> CheckReport:
        """Rebuild every statistic from the events; returns what was wrong before."""

        def work(connection: sa.Connection, ids: Lookup) -> CheckReport:
            self._writer.lock_everything(connection)
            report, events = reads.check(connection, ids)
            if not report.ok:
                self._writer.rebuild(connection, ids, events)
            return report

        return await self._write(work)

    # -- the review queue ---------------------------------------------------------------------

    async def add_generations(
        self,
        user_id: str,
        found: Sequence[Generation],
        events: Mapping[str, PreferenceEvent],
        *,
        dry_run: bool = False,
    ) -> dict[str, str]:
        """Store new generations, and record the events of those found judged; one transaction.

        ``events`` holds, by content hash, the event of each generation found already judged
        (kept in a favourites folder, say). Returns each content hash's outcome: ``"added"``,
        ``"judged"`` (stored and unreviewed, now judged) or ``"unchanged"``. A generation that
        was judged before keeps its judgement, and so does an event already stored under the
        generation id. With ``dry_run`` nothing is written.
        """

        def work(connection: sa.Connection, ids: Lookup) -> dict[str, str]:
            now = datetime.now(UTC)
            stored = queue.known(connection, ids, user_id, [item.content_hash for item in found])
            outcomes: dict[str, str] = {}
            new: list[Generation] = []
            judged: dict[str, list[int]] = {SELECTED: [], REJECTED: []}
            to_record: list[PreferenceEvent] = []
            for item in found:
                if item.content_hash in outcomes:
                    continue  # the same content twice in one import: the first copy counts
                before = stored.get(item.content_hash)
                if before is None:
                    outcomes[item.content_hash] = "added"
                    new.append(item)
                elif before.status == UNREVIEWED and item.status != UNREVIEWED:
                    outcomes[item.content_hash] = "judged"
                    judged[item.status].append(before.id)
                else:
                    outcomes[item.content_hash] = "unchanged"
                    continue
                if item.status != UNREVIEWED:
                    to_record.append(events[item.content_hash])
            if dry_run:
                return outcomes
            queue.follow_files(connection, ids, user_id, found, stored)
            queue.add(connection, ids, user_id, new, now)
            for status, row_ids in judged.items():
                queue.set_status(connection, row_ids, status, now)
            if to_record:
                latest = {(event.user_id, event.generation_id): event for event in to_record}
                # A judgement recorded another way stays: the picker's, with its batch, for an
                # image it judged that a later SaveImage wrote to the folder.
                self._writer.record(connection, ids, latest, False, keep_stored=True)
            return outcomes

        if dry_run:
            return await self._read(work)
        return await self._write(work)

    async def generations(self, user_id: str, row_ids: Sequence[int]) -> dict[int, Generation]:
        """This profile's generations among ``row_ids``, by row id."""
        return await self._read(lambda c, ids: queue.by_ids(c, ids, user_id, row_ids), small=True)

    async def review(
        self,
        user_id: str,
        groups: Sequence[tuple[str, Sequence[Generation]]],
        events: Sequence[PreferenceEvent],
    ) -> None:
        """Judge groups of generations in one transaction: ``(status, generations)`` each.

        ``events`` are the preferences of the judged ones; a group with status ``unreviewed``
        has its judgement taken back (its events removed).
        """

        def work(connection: sa.Connection, ids: Lookup) -> None:
            now = datetime.now(UTC)
            for status, found in groups:
                if status == UNREVIEWED:
                    self._writer.delete(
                        connection, ids, user_id, [item.generation_id for item in found]
                    )
                row_ids = [item.id for item in found if item.id is not None]
                queue.set_status(connection, row_ids, status, now)
            if events:
                latest = {(event.user_id, event.generation_id): event for event in events}
                self._writer.record(connection, ids, latest, False)

        await self._write(work)

    async def queue_page(
        self, user_id: str | None, status: str | None, limit: int, after: int | None
    ) -> queue.QueuePage:
        """One page of generations with the status, in the order they were found."""
        return await self._read(lambda c, ids: queue.page(c, ids, user_id, status, limit, after))

    async def filtered_queue(
        self, user_id: str, status: str | None, chosen: QueueFilter
    ) -> list[Generation]:
        """The profile's generations with the status that pass the filter, in the order found."""
        return await self._read(lambda c, ids: queue.filtered(c, ids, user_id, status, chosen))

    async def queue_counts(self, user_id: str) -> dict[str, int]:
        """How many of the profile's generations have each status."""
        return await self._read(lambda c, ids: queue.counts(c, ids, user_id), small=True)

    # -- reads --------------------------------------------------------------------------------

    async def evidence(
        self, user_id: str, blocks: Sequence[Block], *, half_life_days: float | None = None
    ) -> Evidence:
        """The statistics a strategy asked for: this profile's, and pooled over all profiles.

        With ``half_life_days`` an image counts ``0.5 ** (age / half_life_days)``: summed from
        the events rather than read from the statistics, so it costs a scan of them.
        """
        if half_life_days is not None:
            now = datetime.now(UTC)
            return await self._read(
                lambda c, ids: reads.decayed_evidence(c, ids, user_id, blocks, half_life_days, now)
            )
        writes = self.cache.writes  # counted before the read's snapshot starts

        def work(connection: sa.Connection, ids: Lookup) -> Evidence:
            found = self.cache.snapshot(connection, writes)
            if found is None:
                return reads.evidence(connection, ids, user_id, blocks)
            return reads.cached_evidence(connection, ids, user_id, blocks, found)

        return await self._read(work, small=True)

    async def resolve(self, kind: str, keys: Sequence[str], user_id: str) -> dict[str, str]:
        """Requested key -> the stored key it stands for, among this profile's own models: itself,
        or the one version of it the profile has recorded.

        "epicrealismxl" stands for "epicrealismxl_purefix" when that is the only version this
        profile has used; a key that matches nothing, or several versions, stands for itself.
        Another profile's models never count: what one person records changes nothing another
        person is answered.
        """
        own = await self.known_models(kind, user_id)
        found: dict[str, str] = {}
        for key in keys:
            if key in own:
                found[key] = key
                continue
            versions = [stored for stored in own if matches_model(key, stored)]
            found[key] = versions[0] if len(versions) == 1 else key
        return found

    async def known_models(self, kind: str, user_id: str | None = None) -> dict[str, str]:
        """Key -> display name of the checkpoints (or LoRAs) with statistics, for one profile or all."""
        writes = self.cache.writes  # counted before the read's snapshot starts

        def work(connection: sa.Connection, ids: Lookup) -> dict[str, str]:
            found = self.cache.snapshot(connection, writes)
            if found is None:
                return reads.known_models(connection, ids, kind, user_id)
            profile = None if user_id is None else ids.profile_ids([user_id]).get(user_id, -1)
            place = (kind, profile)
            known = found.known_models.get(place)
            if known is None:
                known = found.known_models[place] = reads.known_models(
                    connection, ids, kind, user_id
                )
            return dict(known)  # the caller may change its copy

        return await self._read(work, small=True)

    async def lora_uses(
        self, user_id: str, keys: Sequence[str], limit: int = 1000
    ) -> dict[str, list[tuple[float, bool, str]]]:
        """(strength, selected, checkpoint key) of the latest ``limit`` images with each LoRA."""
        return await self._read(
            lambda c, ids: reads.lora_uses(c, ids, user_id, keys, limit), small=True
        )

    async def families(self, kind: str, keys: Sequence[str]) -> dict[str, str | None]:
        """The recorded base model family of each checkpoint (or LoRA) key."""
        return await self._read(lambda c, ids: reads.families(ids, kind, keys), small=True)

    async def statistics(
        self, user_id: str | None, stat_types: Sequence[StatType] | None = None
    ) -> list[StatRow]:
        """Stored statistics of one profile (or all), optionally of some types only."""
        return await self._read(lambda c, ids: reads.statistics(c, ids, user_id, stat_types))

    async def export(
        self, user_id: str | None
    ) -> tuple[list[PreferenceEvent], list[StatRow], list[Generation]]:
        """Events, statistics and review queue of one profile (or all), in one snapshot."""

        def work(
            connection: sa.Connection, ids: Lookup
        ) -> tuple[list[PreferenceEvent], list[StatRow], list[Generation]]:
            return (
                reads.events(connection, ids, user_id),
                reads.statistics(connection, ids, user_id),
                queue.every_generation(connection, ids, user_id),
            )

        return await self._read(work)

    async def restore_generations(self, found: Sequence[Generation]) -> int:
        """Store the generations of an imported review queue, each with its status and profile;
        a content hash the profile has already is left as it is. Returns how many were new."""

        def work(connection: sa.Connection, ids: Lookup) -> int:
            by_user: dict[str, dict[str, Generation]] = {}
            for item in found:
                by_user.setdefault(item.user_id, {}).setdefault(item.content_hash, item)
            added = 0
            now = datetime.now(UTC)
            for user_id, items in by_user.items():
                stored = queue.known(connection, ids, user_id, list(items))
                new = [item for hash_, item in items.items() if hash_ not in stored]
                queue.add(connection, ids, user_id, new, now)
                added += len(new)
            return added

        return await self._write(work)

    async def events(self, user_id: str | None = None) -> list[PreferenceEvent]:
        """Stored events of one profile (or all), oldest first."""
        return await self._read(lambda c, ids: reads.events(c, ids, user_id))

    async def page(
        self,
        user_id: str,
        *,
        checkpoint: str | None = None,
        keyword: str | None = None,
        selected: bool | None = None,
        session_id: str | None = None,
        limit: int = 50,
        before: int | None = None,
    ) -> Page:
        """One page of a profile's events, most recently recorded first, filtered."""
        checkpoint_key = None
        if checkpoint is not None:
            resolved = await self.resolve("checkpoint", [checkpoint], user_id)
            checkpoint_key = resolved[checkpoint]

        def work(connection: sa.Connection, ids: Lookup) -> Page:
            return reads.events_page(
                connection, ids, user_id, checkpoint_key=checkpoint_key, keyword=keyword,
                selected=selected, session_id=session_id, limit=limit, before=before,
            )  # fmt: skip

        return await self._read(work)

    async def judged_times(self, user_id: str, since: datetime) -> list[tuple[datetime, bool]]:
        """(when, selected) of the profile's events since ``since``."""
        return await self._read(lambda c, ids: reads.judged_times(c, ids, user_id, since))

    async def fitted_state(self, user_id: str) -> tuple[int, str] | None:
        """(events at the fit, the state as JSON) of the profile's fitted state, if any."""
        return await self._fitted(user_id, fitted_state.c.state)

    async def fitted_version(self, user_id: str) -> tuple[int, str] | None:
        """(events at the fit, when it was fitted) of the profile's fitted state: a cheap way to
        tell whether the state was refitted since it was read."""
        return await self._fitted(user_id, fitted_state.c.fitted_at)

    async def _fitted(self, user_id: str, column: sa.Column[Any]) -> tuple[int, str] | None:
        def work(connection: sa.Connection, ids: Lookup) -> tuple[int, str] | None:
            profile = ids.profile_ids([user_id]).get(user_id)
            if profile is None:
                return None
            table = fitted_state.c
            row = connection.execute(
                sa.select(table.events, column).where(table.profile_id == profile)
            ).first()
            return None if row is None else (int(row[0]), str(row[1]))

        return await self._read(work, small=True)

    async def save_fitted_state(self, user_id: str, events: int, state: str) -> None:
        """Keep the profile's fitted state (replacing the one before)."""

        def work(connection: sa.Connection, ids: Lookup) -> None:
            profile = ids.profile_ids([user_id]).get(user_id)
            if profile is None:
                return  # the profile is gone (a repair, a test's reset): nothing to keep
            table = fitted_state.c
            connection.execute(sa.delete(fitted_state).where(table.profile_id == profile))
            connection.execute(
                sa.insert(fitted_state).values(
                    profile_id=profile, events=events, fitted_at=datetime.now(UTC), state=state
                )
            )

        await self._write(work)

    async def profile_totals(self) -> dict[str, int]:
        """Every profile and its number of events."""
        return await self._read(lambda c, ids: reads.profile_totals(c), small=True)

    async def delete_profile(self, user_id: str) -> int | None:
        """Delete a profile and everything of it: events, statistics, review queue, fitted
        state. Returns how many events it had; None when there is no such profile. Nothing of
        another profile is touched (statistics are kept per profile)."""

        def work(connection: sa.Connection, ids: Lookup) -> int | None:
            profile = ids.profile_ids([user_id]).get(user_id)
            if profile is None:
                return None
            self._writer.lock_profile(connection, profile)
            events = connection.execute(
                user_preferences.delete().where(user_preferences.c.profile_id == profile)
            ).rowcount
            for table in (preference_stats, generations, fitted_state, image_cleanup, trashed):
                connection.execute(table.delete().where(table.c.profile_id == profile))
            connection.execute(profiles.delete().where(profiles.c.id == profile))
            ids.forget_profile(user_id)
            return int(events)

        return await self._write(work)

    async def create_profile(self, user_id: str) -> bool:
        """Make an empty profile; False when it exists already."""

        def work(connection: sa.Connection, ids: Lookup) -> bool:
            if ids.profile_ids([user_id]):
                return False
            ids.profile_ids([user_id], create=True)
            return True

        return await self._write(work)

    async def ping(self) -> None:
        """Run the smallest query there is; raises when the database cannot be reached."""
        await self.db.read(
            lambda connection: connection.execute(sa.text("SELECT 1")).scalar(), small=True
        )

    async def check(self) -> CheckReport:
        """Compare every stored statistic with a recomputation from the events."""
        return await self._read(lambda c, ids: reads.check(c, ids)[0])


def _names_a_deleted_row(error: sa.exc.IntegrityError) -> bool:
    """Whether the write failed on a foreign key: it named a row (a profile) that is gone."""
    original = error.orig
    if getattr(original, "sqlstate", None) == "23503":  # PostgreSQL: foreign_key_violation
        return True
    return "FOREIGN KEY" in str(original) and getattr(original, "sqlite_errorcode", 0) == 787
