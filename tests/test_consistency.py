"""Statistics never drift from the events: property tests, and check / repair."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tastebud import PreferenceLearning
from tastebud.learning import Counts, cells_of
from tastebud.store.cells import STAT_CODES
from tastebud.store.schema import preference_stats

_profiles = itertools.count()
START = datetime(2026, 1, 1, tzinfo=UTC)

prompts = st.sampled_from(
    ["beach at sunset", "dark forest", "anime girl, long hair", "old man portrait <lora:grain:0.3>",
     "", "city street at night", "(cat:1.3) on a [sofa|bed]"]
)  # fmt: skip
operation = st.one_of(
    st.tuples(
        st.just("record"),
        st.integers(0, 5),  # generation id: few, so they repeat
        prompts,
        st.sampled_from(["epicrealismXL", "animagineXL_v3", "sd15/dreamshaper_8.safetensors"]),
        st.lists(st.sampled_from(["anime_v2", "detail", "film"]), max_size=2, unique=True),
        st.booleans(),
    ),
    st.tuples(st.just("delete"), st.integers(0, 5)),
    st.tuples(st.just("reimport"), st.integers(-2, 2)),  # export, shift timestamps, import back
)


def _recount(events: list[Any]) -> dict[tuple[str, tuple[str, str, str]], Counts]:
    totals: dict[tuple[str, tuple[str, str, str]], Counts] = {}
    for event in events:
        for cell in cells_of(event):
            place = (event.user_id, cell)
            totals[place] = totals.get(place, Counts()) + Counts(int(event.selected), 1)
    return totals


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(operation, max_size=12))
async def test_statistics_equal_a_recount_of_the_events(
    pl: PreferenceLearning, operations: list[tuple[Any, ...]]
) -> None:
    user = f"u{next(_profiles)}"  # one fresh profile per example; the database is shared
    clock = itertools.count()
    for op in operations:
        if op[0] == "record":
            _, gid, prompt, checkpoint, loras, selected = op
            await pl.record_preference(
                prompt=prompt, checkpoint=checkpoint, selected=selected, user_id=user,
                generation_id=f"g{gid}", loras=[{"name": n, "strength": 0.5} for n in loras],
                timestamp=START + timedelta(minutes=next(clock)),
            )  # fmt: skip
        elif op[0] == "delete":
            await pl.delete_preference(f"g{op[1]}", user_id=user)
        else:
            document = await pl.export_preferences(user_id=user)
            for event in document["preferences"]:
                moved = datetime.fromisoformat(event["timestamp"]) + timedelta(minutes=op[1])
                event["timestamp"] = moved.isoformat()
                event["action"] = "rejected" if op[1] > 0 else event["action"]
            await pl.import_preferences(document)
    events = await pl.get_preferences(user_id=user)
    assert len({event.generation_id for event in events}) == len(events)
    stored = {
        (row.user_id, row.cell): row.counts for row in await (await pl._store()).statistics(user)
    }
    assert stored == _recount(events)
    assert (await pl.check()).ok


async def test_check_finds_a_tampered_statistic_and_repair_mends_it(pl: PreferenceLearning) -> None:
    await pl.record_batch(
        [
            {"prompt": "beach", "checkpoint": "epicrealismXL", "selected": i % 3 == 0}
            for i in range(9)
        ]
    )
    assert (await pl.check()).ok
    store = await pl._store()

    def tamper(connection: sa.Connection) -> None:
        connection.execute(
            sa.update(preference_stats)
            .where(preference_stats.c.stat_type == STAT_CODES["keyword_checkpoint"])
            .values(selected_count=7)
        )
        connection.execute(
            sa.delete(preference_stats).where(preference_stats.c.stat_type == STAT_CODES["profile"])
        )

    await store.db.write(tamper)
    report = await pl.check()
    assert not report.ok
    wrong = {(cell[0], have, want) for _, cell, have, want in report.wrong}
    assert ("keyword_checkpoint", Counts(7, 9), Counts(3, 9)) in wrong
    assert ("profile", Counts(0, 0), Counts(3, 9)) in wrong
    assert not (await pl.repair()).ok  # reports what it mended
    assert (await pl.check()).ok
    stats = await pl.get_stats()
    assert stats["action_counts"] == {"selected": 3, "rejected": 6}
