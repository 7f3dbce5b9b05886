"""Export and import: a portable backup that merges without counting anything twice."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tastebud import InvalidInput, PreferenceLearning


async def _fill(pl: PreferenceLearning) -> None:
    await pl.record_batch(
        [
            {"prompt": "beach at sunset <lora:film:0.4>", "checkpoint": "epicrealismXL",
             "selected": True, "generation_id": "g1", "session_id": "s1", "stage": 1,
             "feedback": "warm", "propensity": 0.5, "vision_themes": ["sea"]},
            {"prompt": "dark forest", "checkpoint": "epicrealismXL", "selected": False,
             "generation_id": "g2", "implicit": True, "negative_prompt": "blurry"},
            {"prompt": "anime girl", "checkpoint": "animagineXL", "selected": True,
             "generation_id": "g3", "user_id": "bob"},
        ]
    )  # fmt: skip


async def test_export_has_the_seed_shape(pl: PreferenceLearning) -> None:
    await _fill(pl)
    data = await pl.export_preferences()
    assert set(data) == {"version", "total_preferences", "preferences", "stats", "generations"}
    assert (data["version"], data["total_preferences"]) == ("1.1", 2)
    assert {event["generation_id"] for event in data["preferences"]} == {"g1", "g2"}
    beach = next(s for s in data["stats"] if s["key"] == "beach:epicrealismxl")
    assert beach["stat_type"] == "keyword_checkpoint"
    assert (beach["selected_count"], beach["total_count"], beach["selection_rate"]) == (1, 1, 1.0)
    assert beach["evidence_level"] == pytest.approx(0.05)
    json.dumps(data)  # plain JSON all through
    everyone = await pl.export_preferences(user_id=None)
    assert everyone["total_preferences"] == 3


async def test_round_trip_into_a_fresh_database(pl: PreferenceLearning, tmp_path) -> None:
    await _fill(pl)
    data = json.loads(json.dumps(await pl.export_preferences(user_id=None)))
    async with PreferenceLearning(database=tmp_path / "copy.db") as other:
        summary = await other.import_preferences(data)
        assert summary.added == 3
        again = await other.export_preferences(user_id=None)
    assert again["preferences"] == data["preferences"]
    assert again["stats"] == data["stats"]


async def test_importing_the_same_file_twice_changes_nothing(pl: PreferenceLearning) -> None:
    await _fill(pl)
    data = await pl.export_preferences()
    summary = await pl.import_preferences(data)
    assert (summary.added, summary.replaced, summary.unchanged) == (0, 0, 2)
    assert await pl.export_preferences() == data
    assert (await pl.check()).ok


async def test_import_into_another_profile(pl: PreferenceLearning) -> None:
    await _fill(pl)
    data = await pl.export_preferences()
    await pl.import_preferences(data, user_id="carol")
    assert (await pl.get_stats(user_id="carol"))["total_preferences"] == 2
    assert (await pl.get_stats())["total_preferences"] == 2


async def test_a_newer_stored_judgement_is_kept(pl: PreferenceLearning) -> None:
    await _fill(pl)
    old = await pl.export_preferences()
    await pl.record_preference(
        prompt="beach at sunset <lora:film:0.4>", checkpoint="epicrealismXL", selected=False,
        generation_id="g1",
    )  # fmt: skip
    summary = await pl.import_preferences(old)
    assert summary.kept_newer == 1
    events = {event.generation_id: event for event in await pl.get_preferences()}
    assert events["g1"].action == "rejected"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], "document"),
        ({"version": "2.0", "preferences": []}, "version"),
        ({"version": "1.0"}, "preferences"),
        ({"version": "1.0", "preferences": [{"prompt": "x"}]}, "preferences[0].checkpoint"),
        ({"version": "1.0", "preferences": [{"prompt": "x", "checkpoint": "a", "action": "selected"}]},
         "preferences[0].generation_id"),
        ({"version": "1.0", "preferences": [
            {"prompt": "x", "checkpoint": "a", "action": "selected", "generation_id": "1"},
            {"prompt": "x", "checkpoint": "a", "action": "selected", "generation_id": "2",
             "loras": [{"name": "l", "strength": "strong"}]},
        ]}, "preferences[1].loras[0].strength"),
        ({"version": "1.0", "preferences": [
            {"prompt": "x", "checkpoint": "a", "action": "selected", "generation_id": "1",
             "colour": "red"}]},
         "preferences[0].colour"),
        ({"version": "1.0", "preferences": [
            {"prompt": "x", "checkpoint": "a", "action": "selected", "generation_id": "1"},
            {"prompt": "x", "checkpoint": "models/.safetensors", "action": "selected",
             "generation_id": "2"}]},
         "preferences[1].checkpoint"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("form", ["parsed", "JSON text"])
async def test_a_bad_document_changes_nothing(
    pl: PreferenceLearning, document: object, field: str, form: str
) -> None:
    await _fill(pl)
    before = await pl.export_preferences(user_id=None)
    given = copy.deepcopy(document) if form == "parsed" else json.dumps(document).encode()
    with pytest.raises(InvalidInput) as caught:
        await pl.import_preferences(given)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert await pl.export_preferences(user_id=None) == before


async def test_the_file_as_read_imports_like_the_parsed_document(
    pl: PreferenceLearning, tmp_path: Path
) -> None:
    await _fill(pl)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(await pl.export_preferences(user_id=None)), encoding="utf-8")
    for data in (path.read_bytes(), path.read_text(encoding="utf-8")):
        copy_ = PreferenceLearning(database=tmp_path / f"copy-{type(data).__name__}.db")
        summary = await copy_.import_preferences(data)
        assert (summary.added, summary.replaced) == (3, 0)
        assert await copy_.export_preferences(user_id=None) == await pl.export_preferences(
            user_id=None
        )
        await copy_.aclose()


@pytest.mark.parametrize("text", [b"", b"{", b'{"version": "1.0", "preferences": [}', b"\xff"])
async def test_a_file_that_is_not_json_is_refused(pl: PreferenceLearning, text: bytes) -> None:
    with pytest.raises(InvalidInput) as caught:
        await pl.import_preferences(text)
    assert caught.value.field == "document"
    assert "JSON" in caught.value.reason
