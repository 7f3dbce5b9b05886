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
        "version": "1.0", "total_preferences": 0, "preferences": [], "stats": [],
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
