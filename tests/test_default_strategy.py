"""The default strategy: keywords weighed by what they have shown, similar words, the fallback."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tastebud.learning import Evidence, StatType
from tastebud.learning.default import DefaultStrategy
from tastebud.learning.fallback import GRID, KeywordWeight
from tastebud.learning.fitted import from_json, refit, to_json
from tastebud.learning.keys import cells

CHECKPOINTS = ["epic", "realvis", "anima", "dream"]
WORDS = ["beach", "forest", "city", "night", "portrait", "anime", "solo"]
GENERIC = ["solo", "portrait", "night", "city"]

History = list[tuple[list[str], str, bool]]


def _counts(history: History) -> dict[tuple[str, str, str], tuple[float, float]]:
    counts: dict[tuple[str, str, str], tuple[float, float]] = {}
    for keywords, checkpoint, selected in history:
        for cell in cells(keywords, checkpoint, [], ""):
            kept, total = counts.get(cell, (0.0, 0.0))
            counts[cell] = (kept + selected, total + 1.0)
    return counts


def _fitted(history: History, *, use: bool = True) -> tuple[DefaultStrategy, Evidence]:
    counts = _counts(history)
    fitted = refit(counts, [keywords for keywords, _, _ in history], meaning=False, use=use)
    return DefaultStrategy().with_fitted(fitted), Evidence(counts, counts)


def _themed(seed: int, images: int = 800) -> History:
    """Beaches suit epic, forests realvis; "solo" and "portrait" are in every other prompt."""
    rng = random.Random(seed)
    best = {"beach": "epic", "forest": "realvis"}
    words_of = {"beach": ["beach", "sand", "ocean"], "forest": ["forest", "moss", "tree"]}
    history: History = []
    for _ in range(images):
        theme = rng.choice(sorted(best))
        words = [theme, *rng.sample(words_of[theme], 2), *rng.sample(GENERIC, 2)]
        checkpoint = rng.choice(CHECKPOINTS)
        history.append(
            (words, checkpoint, rng.random() < (0.8 if best[theme] == checkpoint else 0.3))
        )
    return history


histories = st.lists(
    st.tuples(
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True),
        st.sampled_from(CHECKPOINTS),
        st.booleans(),
    ),
    max_size=60,
)


@settings(max_examples=40, deadline=None)
@given(
    history=histories,
    keywords=st.lists(st.sampled_from([*WORDS, "unseen"]), max_size=4, unique=True),
    names=st.lists(st.sampled_from([*CHECKPOINTS, "never_used"]), min_size=1, unique=True),
)
def test_a_fitted_ranking_is_a_repeatable_reordering(
    history: History, keywords: list[str], names: list[str]
) -> None:
    strategy, evidence = _fitted(history)
    first = strategy.rank_checkpoints(keywords, names, evidence)
    assert sorted(item.key for item in first) == sorted(names)
    assert all(0.0 <= item.score <= 1.0 for item in first)
    again, evidence_again = _fitted(history)
    assert again.rank_checkpoints(keywords, names, evidence_again) == first


def test_no_history_gives_a_defined_answer_in_the_candidates_order() -> None:
    ranking = DefaultStrategy().rank_checkpoints(["beach"], CHECKPOINTS, Evidence())
    assert [item.key for item in ranking] == CHECKPOINTS
    assert {item.score for item in ranking} == {0.5}
    assert DefaultStrategy().rank_loras(["beach"], "epic", ["a", "b"], Evidence())[0].score == 0.5


def test_the_word_that_matters_carries_the_prompt_however_many_tags_surround_it() -> None:
    strategy, evidence = _fitted(_themed(1))
    for words in (["beach"], ["beach", "solo", "portrait", "night", "city"]):
        assert strategy.rank_checkpoints(words, CHECKPOINTS, evidence)[0].key == "epic"
    for words in (["forest"], ["solo", "forest", "portrait", "night", "city"]):
        assert strategy.rank_checkpoints(words, CHECKPOINTS, evidence)[0].key == "realvis"


def test_a_keyword_that_never_separated_checkpoints_weighs_next_to_nothing() -> None:
    strategy, _ = _fitted(_themed(2))
    spreads = strategy.fitted.checkpoints.spreads
    assert spreads["beach"].variance > 20 * max(spreads["solo"].variance, 1e-4)
    assert spreads["forest"].variance > 20 * max(spreads["portrait"].variance, 1e-4)


def test_a_generic_tag_changes_no_ranking() -> None:
    strategy, evidence = _fitted(_themed(3))
    for theme in ("beach", "forest"):
        alone = [item.key for item in strategy.rank_checkpoints([theme], CHECKPOINTS, evidence)]
        tagged = strategy.rank_checkpoints([theme, "solo"], CHECKPOINTS, evidence)
        assert [item.key for item in tagged] == alone


def test_words_used_together_share_evidence() -> None:
    """ "surf" was seen three times, beside "beach" and "sand": it borrows the beaches' evidence."""
    history = _themed(4)
    history += [(["beach", "surf"], "dream", False), (["surf", "sand", "solo"], "anima", False)]
    history += [(["beach", "surf", "city"], "realvis", False)]
    strategy, evidence = _fitted(history)
    assert strategy.rank_checkpoints(["surf"], CHECKPOINTS, evidence)[0].key == "epic"
    ranked = strategy.rank_checkpoints(["surf"], CHECKPOINTS, evidence)[0]
    lent = next(item.similar for item in ranked.keywords if item.keyword == "surf")
    assert "beach" in [word for word, _, _ in lent]


def test_the_weight_on_keywords_falls_to_the_overall_standing_where_keywords_mislead() -> None:
    rng = random.Random(5)
    misleading = [(0.0, rng.choice((-2.0, 2.0)), rng.random() < 0.5) for _ in range(400)]
    assert KeywordWeight().scored_with(misleading).weight < 0.1
    helpful = [(0.0, g, rng.random() < 1 / (1 + 2.718**-g)) for g in (-2.0, 2.0) * 200]
    assert KeywordWeight().scored_with(helpful).weight > 0.8
    assert KeywordWeight().weight == sum(GRID) / len(GRID)


def test_the_fitted_state_survives_its_json_form() -> None:
    history = _themed(6, 300)
    strategy, evidence = _fitted(history)
    weighted = strategy.fitted.with_kind(
        StatType.CHECKPOINT,
        type(strategy.fitted.checkpoints)(
            strategy.fitted.checkpoints.spreads,
            strategy.fitted.checkpoints.typical,
            KeywordWeight().scored_with([(0.1, 0.5, True), (0.2, -0.3, False)]),
        ),
    )
    back = from_json(json.loads(json.dumps(to_json(weighted))))
    assert back.checkpoints.weight.scored == 2
    again = strategy.with_fitted(back)
    for words in (["beach", "solo"], ["forest"], ["night"]):
        assert [item.key for item in again.rank_checkpoints(words, CHECKPOINTS, evidence)] == [
            item.key
            for item in strategy.with_fitted(weighted).rank_checkpoints(
                words, CHECKPOINTS, evidence
            )
        ]


lora_histories = st.lists(
    st.tuples(
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True),
        st.sampled_from(CHECKPOINTS),
        st.lists(st.sampled_from(["detail", "grain", "anime"]), max_size=2, unique=True),
        st.booleans(),
        st.sampled_from(["me", "you"]),
    ),
    max_size=60,
)


@settings(max_examples=40, deadline=None)
@given(
    history=lora_histories,
    keywords=st.lists(st.sampled_from([*WORDS, "unseen"]), max_size=4, unique=True),
    names=st.lists(st.sampled_from(["detail", "grain", "anime", "never"]), min_size=1, unique=True),
    checkpoint=st.sampled_from([*CHECKPOINTS, None]),
)
def test_loras_and_several_profiles_keep_the_contract(
    history: list[tuple[list[str], str, list[str], bool, str]],
    keywords: list[str],
    names: list[str],
    checkpoint: str | None,
) -> None:
    """LoRAs are ranked by the same contract, with this profile's counts and everyone's."""
    mine: dict[tuple[str, str, str], tuple[float, float]] = {}
    everyone: dict[tuple[str, str, str], tuple[float, float]] = {}
    for words, used, loras, selected, profile in history:
        for cell in cells(words, used, loras, ""):
            for counts in (everyone, mine) if profile == "me" else (everyone,):
                kept, total = counts.get(cell, (0.0, 0.0))
                counts[cell] = (kept + selected, total + 1.0)
    prompts = [words for words, *_, profile in history if profile == "me"]
    fitted = refit(mine, prompts, meaning=False)
    strategy, evidence = DefaultStrategy().with_fitted(fitted), Evidence(mine, everyone)
    first = strategy.rank_loras(keywords, checkpoint, names, evidence)
    assert sorted(item.key for item in first) == sorted(names)
    assert all(0.0 <= item.score <= 1.0 for item in first)
    avoided = [item.avoided for item in first]
    assert avoided == sorted(avoided)  # those that clash come last
    again = DefaultStrategy().with_fitted(refit(mine, prompts, meaning=False))
    assert again.rank_loras(keywords, checkpoint, names, Evidence(mine, everyone)) == first
    ranked = strategy.rank_checkpoints(keywords, CHECKPOINTS, evidence)
    assert sorted(item.key for item in ranked) == sorted(CHECKPOINTS)


def test_the_table_carries_a_new_word_to_the_checkpoint_of_its_neighbours() -> None:
    """With the shipped table: "seaside" and "surf" were never recorded, "beach" and "sand" were."""
    strategy, evidence = _fitted(_themed(7), use=False)
    strategy = strategy.with_fitted(
        refit(evidence.personal, [k for k, _, _ in _themed(7)], meaning=True, use=False)
    )
    ranked = strategy.rank_checkpoints(["seaside", "surf"], CHECKPOINTS, evidence)
    assert ranked[0].key == "epic"
    assert any(item.similar for item in ranked[0].keywords)
