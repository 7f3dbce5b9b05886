"""Model names in their many forms come down to one key; the name as written is kept."""

from __future__ import annotations

import pytest

from tastebud import InvalidInput, PreferenceLearning
from tastebud.names import display_name, matches_model, model_key


@pytest.mark.parametrize(
    "name",
    [
        "sd15/realisticVisionV51_v51VAE.safetensors [abc123ef]",
        "realisticVisionV51_v51VAE",
        "C:\\stable-diffusion\\models\\Stable-diffusion\\realisticVisionV51_v51VAE.ckpt",
        "  realisticvisionv51_v51vae.safetensors  ",
        "realisticVisionV51_v51VAE.safetensors (abc123ef)",
    ],
)
def test_one_key_per_model(name: str) -> None:
    assert model_key(name) == "realisticvisionv51_v51vae"


def test_display_name_keeps_case_and_dots_in_versions() -> None:
    assert display_name("loras/Detail Tweaker v1.5.safetensors") == "Detail Tweaker v1.5"
    assert model_key("dreamshaper_8.pruned") == "dreamshaper_8.pruned"


def test_a_model_name_matches_its_versions_only() -> None:
    assert matches_model("epicrealismxl", "epicrealismxl_purefix")
    assert matches_model("epicrealismxl", "epicrealismxl")
    assert not matches_model("epicrealism", "epicrealismxl_purefix")
    assert not matches_model("epicrealismxl_purefix", "epicrealismxl")


async def test_names_in_any_form_share_statistics(pl: PreferenceLearning) -> None:
    await pl.record_preference(
        prompt="harbour", checkpoint="sd15/dreamshaper_8.safetensors [879db523]", selected=True
    )
    await pl.record_preference(prompt="harbour", checkpoint="DreamShaper_8", selected=False)
    stats = await pl.get_stats()
    assert [(row["checkpoint"], row["total"]) for row in stats["top_checkpoints"]] == [
        ("DreamShaper_8", 2)
    ]
    checkpoint, _ = await pl.recommend_checkpoint("harbour")
    assert checkpoint == "DreamShaper_8"


async def test_two_versions_are_not_merged_by_a_bare_model_name(pl: PreferenceLearning) -> None:
    await pl.record_preference(prompt="fox", checkpoint="juggernautXL_v9", selected=True)
    await pl.record_preference(prompt="fox", checkpoint="juggernautXL_v10", selected=False)
    ranking = await pl.rank_checkpoints("fox", ["juggernautXL", "juggernautXL_v9"])
    # "juggernautXL" is ambiguous between two versions: it is a candidate of its own, unknown.
    assert [item.checkpoint for item in ranking] == ["juggernautXL_v9", "juggernautXL"]
    assert [item.evidence for item in ranking] == [1, 0]


async def test_available_loras_are_checked_and_found_by_model_name(pl: PreferenceLearning) -> None:
    await pl.record_preference(
        prompt="fox", checkpoint="sdxl", loras=[{"name": "add_detail_v2"}], selected=True
    )
    loras = await pl.recommend_loras("fox", available_loras=["add_detail", "unknown_lora"])
    assert [lora.name for lora in loras] == ["add_detail", "unknown_lora"]
    with pytest.raises(InvalidInput) as caught:
        await pl.recommend_loras("fox", available_loras=["ok", 3])  # type: ignore[list-item]
    assert caught.value.field == "available_loras[1]"


async def test_a_short_name_is_found_among_the_asking_profiles_models_only(
    pl: PreferenceLearning,
) -> None:
    """One profile's records never change how another profile's names are read (the demo
    profile's epicrealismXL_pureFix stays its 'epicrealismXL' after another profile records a
    bare epicrealismXL)."""
    for index in range(12):
        await pl.record_preference(
            prompt="beach, sunset",
            checkpoint="epicrealismXL_pureFix.safetensors",
            selected=index % 4 != 0,
            user_id="demo",
        )
        await pl.record_preference(
            prompt="beach, sunset", checkpoint="realvisxlV40.safetensors", selected=index % 4 == 0,
            user_id="demo",
        )  # fmt: skip
    asked = ["epicrealismXL", "realvisxlV40"]
    before = await pl.recommend("beach at sunset", asked, user_id="demo")
    assert before.checkpoint == "epicrealismXL" and before.evidence > 0
    await pl.record_preference(
        prompt="forest", checkpoint="epicrealismXL.safetensors", selected=False
    )  # the default profile's own, unrelated checkpoint
    after = await pl.recommend("beach at sunset", asked, user_id="demo")
    # The same choice on the same evidence (other profiles' images only move the prior a little).
    assert (after.checkpoint, after.evidence, after.why) == (
        before.checkpoint,
        before.evidence,
        before.why,
    )
    assert [item.evidence for item in after.ranking] == [item.evidence for item in before.ranking]
    events = await pl.list_preferences(checkpoint="epicrealismXL", user_id="demo")
    assert events.total == 12
    # The default profile's "epicrealismXL" is its own exact checkpoint.
    assert (await pl.list_preferences(checkpoint="epicrealismXL")).total == 1
