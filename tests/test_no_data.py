"""With no data at all, every question has a defined answer, and no exception."""

from __future__ import annotations

from tastebud import PreferenceLearning


async def test_empty_database_answers(pl: PreferenceLearning) -> None:
    assert await pl.recommend_checkpoint("beach sunset") == (None, 0.0)
    assert await pl.recommend_checkpoint("beach", ["b_model", "a_model"]) == ("b_model", 0.5)
    assert await pl.recommend_loras("beach", checkpoint="sdxl") == []
    assert await pl.rank_checkpoints("", []) == []
    stats = await pl.get_stats()
    assert stats["total_preferences"] == 0
    assert stats["action_counts"] == {"selected": 0, "rejected": 0}
    assert stats["top_checkpoints"] == []
    assert await pl.export_preferences() == {
        "version": "1.1", "total_preferences": 0, "preferences": [], "stats": [],
        "generations": [],
    }  # fmt: skip
    assert (await pl.check()).ok


async def test_a_prompt_with_no_keywords_falls_back_to_overall_rates(
    pl: PreferenceLearning,
) -> None:
    await pl.record_batch(
        [{"prompt": "cat", "checkpoint": "good", "selected": True} for _ in range(3)]
        + [{"prompt": "cat", "checkpoint": "poor", "selected": False} for _ in range(3)]
    )
    ranking = await pl.rank_checkpoints("", ["poor", "good"])
    assert [item.checkpoint for item in ranking] == ["good", "poor"]


async def test_a_new_profile_is_not_told_every_checkpoint_scores_the_same_when_they_differ(
    pl: PreferenceLearning,
) -> None:
    """Another profile's history moves a new profile's scores apart; the reason must not say
    they are all the same."""
    for number in range(12):
        await pl.record_preference(
            prompt="beach at sunset", checkpoint="sunny", selected=number % 4 != 0,
            generation_id=f"s{number}", user_id="someone",
        )  # fmt: skip
        await pl.record_preference(
            prompt="beach at sunset", checkpoint="gloomy", selected=number % 4 == 0,
            generation_id=f"g{number}", user_id="someone",
        )  # fmt: skip
    found = await pl.recommend("beach at sunset", ["sunny", "gloomy"], user_id="newcomer")
    scores = [round(item.score, 4) for item in found.ranking]
    assert len(set(scores)) == 2, scores
    assert "scores the same" not in found.why
    assert found.why.startswith("No history of yours yet: sunny leads"), found.why
