"""The contract every strategy keeps, Explore mode's split, and the reasons given in words."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tastebud.learning import Evidence, SeedStrategy, StatType, Strategy
from tastebud.learning.bayes import BayesStrategy
from tastebud.learning.default import DefaultStrategy
from tastebud.learning.explain import explain_choice, label
from tastebud.learning.explore import explore
from tastebud.learning.families import canonical_family, compatible
from tastebud.learning.keys import cells
from tastebud.learning.rates import fitted_pseudo_count
from tastebud.learning.strengths import Use, preferred_strength

STRATEGIES: list[Strategy] = [SeedStrategy(), BayesStrategy(), DefaultStrategy()]
CHECKPOINTS = ["epic", "realvis", "anima", "dream"]
WORDS = ["beach", "forest", "city", "night", "portrait", "anime"]


def _evidence(history: list[tuple[list[str], str, bool]]) -> Evidence:
    counts: dict[tuple[str, str, str], tuple[int, int]] = {}
    for keywords, checkpoint, selected in history:
        for cell in cells(keywords, checkpoint, [], ""):
            kept, total = counts.get(cell, (0, 0))
            counts[cell] = (kept + selected, total + 1)
    return Evidence(personal=counts, pooled=counts)


histories = st.lists(
    st.tuples(
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True),
        st.sampled_from(CHECKPOINTS),
        st.booleans(),
    ),
    max_size=60,
)
prompts = st.lists(st.sampled_from([*WORDS, "unseen"]), max_size=4, unique=True)
candidates = st.lists(st.sampled_from([*CHECKPOINTS, "never_used"]), min_size=1, unique=True)


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda strategy: strategy.name)
@settings(max_examples=60, deadline=None)
@given(history=histories, keywords=prompts, names=candidates)
def test_a_ranking_is_a_repeatable_reordering_of_the_candidates(
    strategy: Strategy, history: list, keywords: list[str], names: list[str]
) -> None:
    evidence = _evidence(history)
    first = strategy.rank_checkpoints(keywords, names, evidence)
    assert sorted(item.key for item in first) == sorted(names)
    assert all(0.0 <= item.score <= 1.0 for item in first)
    assert [item.score for item in first] == sorted((item.score for item in first), reverse=True)
    assert strategy.rank_checkpoints(keywords, names, _evidence(history)) == first


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda strategy: strategy.name)
def test_no_history_gives_every_candidate_the_same_score_in_their_order(strategy: Strategy) -> None:
    ranking = strategy.rank_checkpoints(["beach"], CHECKPOINTS, Evidence())
    assert [item.key for item in ranking] == CHECKPOINTS
    assert {item.score for item in ranking} == {0.5}
    assert {item.evidence for item in ranking} == {0}
    assert strategy.rank_loras(["beach"], "epic", ["a", "b"], Evidence())[0].score == 0.5


def test_keywords_with_no_history_contribute_nothing() -> None:
    history = [(["beach"], "epic", i < 15) for i in range(20)] + [
        (["beach"], "realvis", i < 5) for i in range(20)
    ]
    strategy, evidence = BayesStrategy(), _evidence(history)
    alone = strategy.rank_checkpoints(["beach"], ["epic", "realvis"], evidence)
    with_new_words = strategy.rank_checkpoints(
        ["beach", "sunset", "golden", "hour"], ["epic", "realvis"], evidence
    )
    assert [(item.key, item.score) for item in with_new_words] == [
        (item.key, item.score) for item in alone
    ]


def test_a_keyword_seen_once_does_not_outvote_the_rest() -> None:
    # "forest" kept 1 of 1 with realvis; "beach" 18 of 20 with epic, 4 of 20 with realvis.
    history = [(["beach"], "epic", i < 18) for i in range(20)]
    history += [(["beach"], "realvis", i < 4) for i in range(20)]
    history += [(["forest"], "realvis", True)]
    ranking = BayesStrategy().rank_checkpoints(
        ["beach", "forest"], ["realvis", "epic"], _evidence(history)
    )
    assert ranking[0].key == "epic"


def test_shrinkage_trusts_many_images_more_than_few() -> None:
    # 3 of 3 kept against 70 of 100: the seed's rule prefers the lucky three, the default does not.
    history = [(["beach"], "lucky", True) for _ in range(3)]
    history += [(["beach"], "steady", i < 70) for i in range(100)]
    history += [(["city"], "lucky", i < 10) for i in range(40)]
    evidence = _evidence(history)
    assert SeedStrategy().rank_checkpoints(["beach"], ["lucky", "steady"], evidence)[0].key == (
        "lucky"
    )
    assert BayesStrategy().rank_checkpoints(["beach"], ["lucky", "steady"], evidence)[0].key == (
        "steady"
    )


def test_prior_strengths_are_fitted_from_the_spread_of_rates() -> None:
    # Rates that differ far beyond sampling noise: a weak prior. Identical rates: the strongest.
    spread = [(90.0, 100.0, 0.5), (10.0, 100.0, 0.5), (50.0, 100.0, 0.5), (80.0, 100.0, 0.5)]
    same = [(50.0, 100.0, 0.5)] * 4
    assert fitted_pseudo_count(spread, 10.0) < 5.0
    assert fitted_pseudo_count(same, 10.0) == 1000.0
    assert fitted_pseudo_count(spread[:2], 10.0) == 10.0  # too few cells: the default


def test_other_profiles_move_a_newcomers_prior() -> None:
    # This profile has never used either; everyone else kept "epic" far more.
    pooled = {
        (StatType.PROFILE, "", ""): (60, 100),
        (StatType.CHECKPOINT, "epic", ""): (45, 50),
        (StatType.CHECKPOINT, "realvis", ""): (15, 50),
    }
    ranking = BayesStrategy().rank_checkpoints(
        ["beach"], ["realvis", "epic"], Evidence(personal={}, pooled=pooled)
    )
    assert ranking[0].key == "epic"


# -- Explore mode -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    history=histories,
    names=candidates,
    batch=st.integers(1, 16),
    top=st.integers(1, 4),
    seed=st.integers(0, 10),
)
def test_explore_fills_the_batch_from_the_candidates_only(
    history: list, names: list[str], batch: int, top: int, seed: int
) -> None:
    ranking = BayesStrategy().rank_checkpoints(["beach"], names, _evidence(history))
    slots = explore(ranking, batch, top, random.Random(seed), draws=200)
    assert len(slots) == batch
    assert {slot.key for slot in slots} <= set(names)
    assert len({slot.key for slot in slots}) <= top
    assert all(0.0 < slot.propensity <= 1.0 for slot in slots)
    assert explore(ranking, batch, top, random.Random(seed), draws=200) == slots


def test_explore_spreads_a_cold_start_evenly() -> None:
    ranking = BayesStrategy().rank_checkpoints(["beach"], CHECKPOINTS, Evidence())
    slots = explore(ranking, 8, 3, random.Random(0))
    assert [slot.key for slot in slots] == ["epic", "realvis", "anima"] * 2 + ["epic", "realvis"]
    assert all(slot.propensity == pytest.approx(1 / 3) for slot in slots)


def test_explore_tries_the_uncertain_and_drops_the_bad() -> None:
    history = [(["beach"], "good", i < 30) for i in range(40)]  # 75% of 40
    history += [(["beach"], "bad", i < 2) for i in range(40)]  # 5% of 40
    history += [(["beach"], "new", True)]  # 1 of 1: promising, uncertain
    ranking = BayesStrategy().rank_checkpoints(
        ["beach"], ["good", "bad", "new"], _evidence(history)
    )
    slots = explore(ranking, 64, 2, random.Random(1))
    given_to = {key: sum(slot.key == key for slot in slots) for key in ("good", "new", "bad")}
    assert given_to["bad"] == 0
    assert given_to["good"] > given_to["new"] > 0


# -- explanations, families, strengths --------------------------------------------------------


def test_the_explanation_names_the_evidence_it_used() -> None:
    history = [(["beach"], "epic", i < 15) for i in range(20)]
    ranking = BayesStrategy().rank_checkpoints(
        ["beach", "forest"], ["epic", "realvis"], _evidence(history)
    )
    explained = explain_choice(
        ["beach", "forest"], ranking, {"epic": "epicrealismXL"}, "checkpoint"
    )
    assert explained.why == (
        "Based on your 15 'beach' selections from epicrealismXL (75% of 20 kept). "
        "New here: no history for 'forest' yet."
    )
    assert explained.evidence[0] == {
        "kind": "keyword", "keyword": "beach", "checkpoint": "epicrealismXL",
        "selected": 15, "total": 20, "rate": 0.75,
    }  # fmt: skip
    assert {"kind": "new", "keyword": "forest"} in explained.evidence


def test_labels_follow_the_evidence_level() -> None:
    assert [label(level) for level in (0.0, 0.2, 0.25, 0.7, 0.75, 1.0)] == [
        "Exploring", "Exploring", "Learning", "Learning", "High confidence", "High confidence",
    ]  # fmt: skip


def test_families_are_compared_in_one_form() -> None:
    assert [canonical_family(name) for name in ("SDXL 1.0", "sd_xl", "SD 1.5", "Pony", "Flux.1 D")] == [
        "sdxl", "sdxl", "sd15", "pony", "flux",
    ]  # fmt: skip
    assert compatible("SDXL 1.0", "sdxl") and compatible(None, "pony") and compatible("flux", None)
    assert not compatible("pony", "sdxl") and not compatible("SD 1.5", "SDXL")


def test_the_preferred_strength_is_the_best_kept_with_enough_images() -> None:
    uses = [Use(0.8, i < 12, "epic") for i in range(16)] + [
        Use(1.0, i < 4, "epic") for i in range(16)
    ]
    uses += [Use(0.4, True, "epic")]  # one lucky image does not win
    assert preferred_strength(uses).strength == 0.8
    # On another checkpoint with 5 images of its own, those decide.
    uses += [Use(0.5, True, "anima") for _ in range(5)]
    found = preferred_strength(uses, "anima")
    assert (found.strength, found.checkpoint) == (0.5, "anima")
    assert preferred_strength([]) is None
