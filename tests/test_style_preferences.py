"""Style preferences: the share kept of each look, the style model, and what it does to a ranking
(with its reason in words), through the service on a real database."""

from __future__ import annotations

import random

from tastebud import PreferenceLearning
from tastebud.learning.styles import fit_style, reason, style_taste
from tastebud.style import FEATURES, Style

NEUTRAL = dict.fromkeys(FEATURES, 0.5) | {"sharpness": 0.8, "flatness": 0.12}


def _style(**changes: float) -> Style:
    return Style(**(NEUTRAL | changes))


def test_the_share_kept_of_each_look_is_counted_and_shrunk() -> None:
    judged = [(True, _style(brightness=0.7))] * 8 + [(False, _style(brightness=0.7))] * 2
    judged += [(False, _style(brightness=0.2))] * 9 + [(True, _style(brightness=0.2))]
    taste = style_taste(judged)
    light = next(scale for scale in taste.scales if scale.feature == "brightness")
    dark, middle, bright = light.looks
    assert (dark.word, dark.selected, dark.total) == ("dark", 1, 10)
    assert (bright.word, bright.selected, bright.total) == ("bright", 8, 10)
    assert (middle.selected, middle.total) == (0, 0)
    # Shrunk toward the profile's 50% with 10 images: 8 of 10 reads 65%, 1 of 10 reads 30%.
    assert 0.6 < bright.rate < 0.7 and 0.25 < dark.rate < 0.35
    assert middle.rate == taste.rate
    assert taste.to_dict()["scales"][0]["looks"][2]["word"] == "bright"


def _history(rng: random.Random, images: int) -> list[tuple[str, bool, Style, tuple[str, ...]]]:
    """A person who keeps bright images; 'gloomXL' makes dark ones, 'sunnyXL' bright ones, and
    'plainXL' middling ones, all otherwise alike."""
    means = {"gloomXL": 0.3, "sunnyXL": 0.7, "plainXL": 0.5}
    found = []
    for _ in range(images):
        checkpoint = rng.choice(list(means))
        brightness = min(max(rng.gauss(means[checkpoint], 0.1), 0.0), 1.0)
        kept = rng.random() < 1 / (1 + 2.718 ** (-(6 * (brightness - 0.5))))
        found.append((checkpoint, kept, _style(brightness=round(brightness, 3)), ("castle",)))
    return found


def test_the_style_model_reads_what_each_look_is_worth_within_each_checkpoint() -> None:
    fit = fit_style(_history(random.Random(1), 900))
    weights = dict(zip(FEATURES, fit.weights, strict=True))
    assert weights["brightness"] > 2  # the truth: 6 per unit of brightness
    assert all(abs(weights[name]) < 1 for name in FEATURES if name != "brightness")
    # A checkpoint never judged counts its whole lean; one judged 200 times little of it.
    gloom, sunny = fit.parts(["castle"], ["gloomXL", "sunnyXL"], [0, 0])
    assert gloom.value < -0.5 < 0.5 < sunny.value
    assert (gloom.feature, gloom.word) == ("brightness", "dark")
    assert reason("gloomXL", gloom) is not None
    assert "dark images gloomXL makes" in (reason("gloomXL", gloom) or "")
    (judged,) = fit.parts(["castle"], ["gloomXL"], [200])
    assert gloom.value < judged.value < 0
    # Asked for dark: what its look cost the dark checkpoint's record is given back, and what
    # its look earned the bright one's is taken back.
    dark, bright = fit.parts(["dark", "castle"], ["gloomXL", "sunnyXL"], [200, 200])
    assert dark.value > 0.5 and bright.value < -0.5
    assert bright.asked == "dark" and "asks for dark images" in (reason("sunnyXL", bright) or "")
    assert fit_style(_history(random.Random(1), 20)).weights == ()  # too few to fit


async def test_a_checkpoint_whose_looks_are_rejected_is_ranked_down_with_its_reason(
    pl: PreferenceLearning,
) -> None:
    rng = random.Random(4)
    events = []
    # 40 images or so of each checkpoint: its look still counts for a third of its score.
    for index, (checkpoint, kept, style, _) in enumerate(_history(rng, 120)):
        events.append({
            "prompt": "a castle on a hill", "checkpoint": checkpoint, "selected": kept,
            "style": style.to_dict(), "generation_id": f"g{index}", "batch_id": f"b{index // 4}",
        })  # fmt: skip
    await pl.record_batch(events)
    await pl.refit()
    overview = await pl.overview()
    light = overview["style"]["scales"][0]
    assert light["looks"][2]["rate"] > light["looks"][0]["rate"] + 0.2
    found = await pl.recommend("a castle on a hill")
    assert found.checkpoint == "sunnyXL"
    assert "Ranked down: you usually reject the dark images gloomXL makes" in found.why
    assert any(item["kind"] == "style" and item["look"] == "dark" for item in found.reasons)
    asked = await pl.recommend("a dark castle on a hill", ["gloomXL", "plainXL"])
    assert "Ranked down: you usually reject the dark images" not in asked.why


def test_a_feature_that_barely_varies_gets_no_outsized_weight() -> None:
    """Styles are stored to three decimals: 3,000 images at flatness 0.200 and one rejected at
    0.201 once made a weight of thousands, and a whole checkpoint's part from one image."""
    judged = [("a", i % 2 == 0, _style(flatness=0.2, brightness=0.3 + (i % 7) / 20), ("castle",)) for i in range(3000)]  # fmt: skip
    judged.append(("c", False, _style(flatness=0.201), ("castle",)))
    fit = fit_style(judged)
    (part,) = fit.parts(["castle"], ["c"], [1])
    assert abs(part.value) < 0.5


def test_the_style_model_reads_what_the_prompt_asked_not_what_the_vision_model_saw() -> None:
    from tastebud import make_event
    from tastebud.events import with_vision
    from tastebud.service.fitting import prompt_keywords

    event = make_event(prompt="a dark castle", checkpoint="sdxl", selected=True)
    seen = with_vision(event, "A castle at night.", ["castle", "night", "moody"])
    assert seen.keywords == ("dark", "castle", "night", "moody")
    assert prompt_keywords(seen) == ("dark", "castle")
