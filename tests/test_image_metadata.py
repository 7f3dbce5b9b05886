"""Generation metadata out of real images of every common generator, and out of garbage.

The 40 real files are read in place from ../shared/data/png (never copied into the repository);
the files made here in tmp_path (synthetic A1111 texts, ComfyUI graphs, WebP EXIF, stealth pixels)
are our own test data.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from tastebud.errors import InvalidInput, TastebudError
from tastebud.importers.metadata import (
    GENERATORS,
    ImageMetadata,
    LoraRef,
    ModelRef,
    UnreadableImage,
    load_hash_map,
    read_metadata,
)
from tastebud.names import model_key

PNG_DATA = Path(__file__).parents[2] / "shared" / "data" / "png"
if not PNG_DATA.is_dir():
    pytest.skip(
        f"../shared/data/png is absent: the real images these tests read belong at {PNG_DATA}",
        allow_module_level=True,
    )

HASH_MAP = PNG_DATA.parent / "names" / "civitai_model_hash_map_2023-03.json"
MANIFEST: list[dict[str, Any]] = json.loads((PNG_DATA / "manifest.json").read_text("utf-8"))
ENTRIES = {entry["file"]: entry for entry in MANIFEST}

# The manifest's labels, in the generator names read_metadata uses.
GENERATOR_OF_LABEL = {
    "A1111-style parameters": "A1111",
    "Civitai generator (A1111-style)": "Civitai",
    "Civitai generator (ComfyUI-style JSON)": "Civitai",
}
STEALTH = "sd-parsers/AUTOMATIC1111__automatic1111_stealth.png"
# Where the manifest says less than (or other than) the file, what the file says.
CHECKPOINTS_IN_FILE = {
    # The manifest's own reader does not decode pixels, so it saw nothing in the stealth PNG; the
    # text hidden in its alpha channel ends "Model hash: 15012c538f, Model:
    # realisticVisionV51_v51VAE".
    STEALTH: ["realisticVisionV51_v51VAE"],
    # The manifest adds "stable diffusion", which is sd-metadata's "model" field: the model's
    # kind, not a checkpoint. The weights are in "model_weights": deliberateForInvoke_v08.
    "sd-parsers/InvokeAI__invokeai_sdmeta1.png": ["deliberateForInvoke_v08"],
}
PROMPT_IN_FILE = {
    STEALTH: "a circle",  # as above, the manifest's reader saw no prompt
    # The manifest's excerpt is the raw Dream string, whose opening quote delimits the prompt.
    "sd-parsers/InvokeAI__invokeai_dream1.png": ENTRIES["sd-parsers/InvokeAI__invokeai_dream1.png"][
        "prompt_excerpt"
    ].removeprefix('"'),
}
_LORA_TAG = re.compile(r"<(?:lora|lyco):[^<>]*>")


def _read(name: str) -> ImageMetadata:
    return read_metadata(PNG_DATA / name)


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


def _a1111_png(path: Path, text: str, *, raw_utf8: bool = False) -> Path:
    info = PngInfo()
    if raw_utf8:
        # What many tools do, against the PNG spec: UTF-8 bytes in a tEXt chunk, NUL-terminated.
        info.add(b"tEXt", b"parameters\0" + text.encode("utf-8") + b"\0")
    else:
        info.add_text("parameters", text)
    Image.new("RGB", (8, 8), "white").save(path, pnginfo=info)
    return path


def _comfy_png(path: Path, graph: dict[str, Any]) -> Path:
    info = PngInfo()
    info.add_text("prompt", json.dumps(graph))
    Image.new("RGB", (8, 8), "white").save(path, pnginfo=info)
    return path


# --- Every real file --------------------------------------------------------------------------


@pytest.mark.parametrize("entry", MANIFEST, ids=list(ENTRIES))
def test_the_generator_is_the_manifests(entry: dict[str, Any]) -> None:
    label = entry["generator"]
    expected = "A1111" if label is None else GENERATOR_OF_LABEL.get(label, label)  # None: stealth
    assert _read(entry["file"]).generator == expected
    assert expected in GENERATORS


@pytest.mark.parametrize("entry", MANIFEST, ids=list(ENTRIES))
def test_the_checkpoints_are_the_manifests(entry: dict[str, Any]) -> None:
    expected = CHECKPOINTS_IN_FILE.get(entry["file"], entry["checkpoints"])
    found = _read(entry["file"]).checkpoints
    assert {model_key(ref.name) for ref in found} == {model_key(name) for name in expected}


@pytest.mark.parametrize("entry", MANIFEST, ids=list(ENTRIES))
def test_the_loras_are_the_manifests(entry: dict[str, Any]) -> None:
    found = _read(entry["file"]).loras
    assert {model_key(ref.name) for ref in found} == {model_key(name) for name in entry["loras"]}


@pytest.mark.parametrize("entry", MANIFEST, ids=list(ENTRIES))
def test_the_prompt_is_the_manifests(entry: dict[str, Any]) -> None:
    metadata = _read(entry["file"])
    excerpt = _LORA_TAG.sub("", PROMPT_IN_FILE.get(entry["file"], entry["prompt_excerpt"]))
    if not _words(excerpt):
        return
    if "prompt" in entry["metadata_keys"]:
        # From a ComfyUI graph the manifest lists every text encoder's text in node order,
        # positive and negative mixed, joined by " || " and cut at 200 characters.
        for part in map(_words, excerpt.split(" || ")):
            assert (
                not part
                or part in _words(metadata.prompt)
                or part in _words(metadata.negative_prompt)
            ), part
    else:
        assert _words(metadata.prompt).startswith(_words(excerpt))
    assert "<lora:" not in metadata.prompt and "\x00" not in metadata.prompt


@pytest.mark.parametrize("entry", MANIFEST, ids=list(ENTRIES))
def test_the_value_round_trips_through_json(entry: dict[str, Any]) -> None:
    metadata = _read(entry["file"])
    assert ImageMetadata.from_dict(json.loads(json.dumps(metadata.to_dict()))) == metadata


# --- A1111 text -------------------------------------------------------------------------------


def test_an_a1111_lora_tag_goes_to_the_loras_with_strength_and_hash() -> None:
    metadata = _read("sd-metadata/easy-reforge.png")
    assert metadata.loras == (LoraRef("NoobV065sHyperDmd", 1.0, "45b5bd0819cf"),)
    assert metadata.prompt == (
        "1girl, solo, hatsune miku, テスト, \n"
        "masterpiece, best quality, very aesthetic, absurdres, newest, safe"
    )
    assert metadata.checkpoints == (ModelRef("copycatNoob_v11", "6c015a2deb"),)


def test_a1111_settings_are_numbers() -> None:
    metadata = _read("sd-metadata/sd-webui.png")
    assert (metadata.seed, metadata.steps, metadata.cfg_scale) == (3782896554, 20, 7.0)
    assert (metadata.width, metadata.height, metadata.sampler) == (1024, 1024, "DPM++ 2M")
    assert type(metadata.seed) is int and type(metadata.steps) is int
    assert type(metadata.cfg_scale) is float and type(metadata.width) is int
    # "CFG Scale" in another tool's capitals, Size not the image's own size.
    saver = _read("sd-metadata/comfyui-comfy-image-saver.jpeg")
    assert (saver.cfg_scale, saver.width, saver.height, saver.seed) == (8.0, 512, 512, 0)


def test_lora_hashes_with_commas_inside_quotes(tmp_path: Path) -> None:
    text = (
        "a beach at sunset, <lora:add_detail:0.6> <lyco:film grain> (warm light:1.2)\n"
        "Negative prompt: blurry, <lora:bad_hands_fix:-0.5>\n"
        "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 1234567890, Size: 512x768, "
        "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, "
        'Lora hashes: "add_detail: 7c6bad76eb54, film grain: 1a2b3c4d5e6f, bad_hands_fix: '
        '0f9e8d7c6b5a", TI hashes: "EasyNegative: c74b4e810b03", Version: v1.6.0'
    )
    metadata = read_metadata(_a1111_png(tmp_path / "a1111.png", text))
    assert metadata.loras == (
        LoraRef("add_detail", 0.6, "7c6bad76eb54"),
        LoraRef("film grain", 1.0, "1a2b3c4d5e6f"),  # no strength written: 1.0
        LoraRef("bad_hands_fix", -0.5, "0f9e8d7c6b5a"),
    )
    assert metadata.prompt == "a beach at sunset, (warm light:1.2)"
    assert metadata.negative_prompt == "blurry,"
    assert metadata.embeddings == ("EasyNegative",)
    assert metadata.checkpoints == (ModelRef("v1-5-pruned-emaonly", "6ce0161689"),)
    assert (metadata.seed, metadata.steps, metadata.cfg_scale) == (1234567890, 30, 6.5)
    assert (metadata.width, metadata.height) == (512, 768)


def test_a_model_hash_alone_is_named_through_the_hash_map(tmp_path: Path) -> None:
    hashes = load_hash_map(HASH_MAP)
    assert hashes["fc2511737a"] == "Chilloutmix -ni-pruned-fp32-fix"
    assert all(key == key.lower() for key in hashes)
    settings = "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512"
    only_hash = _a1111_png(tmp_path / "hash.png", f"a cat\n{settings}, Model hash: FC2511737A")
    named = _a1111_png(
        tmp_path / "named.png", f"a cat\n{settings}, Model hash: fc2511737a, Model: my_mix"
    )
    full = "fc2511737a54c5e80b89ab03e0ab4b98d051ab187f92860f3cd664dc9d08b271"
    by_sha = _a1111_png(tmp_path / "sha.png", f"a cat\n{settings}, Model hash: {full}")

    assert read_metadata(only_hash, hashes=hashes).checkpoints == (
        ModelRef("Chilloutmix -ni-pruned-fp32-fix", "fc2511737a"),
    )
    assert read_metadata(named, hashes=hashes).checkpoints == (ModelRef("my_mix", "fc2511737a"),)
    assert read_metadata(by_sha, hashes=hashes).checkpoints[0].name == (
        "Chilloutmix -ni-pruned-fp32-fix"
    )
    # Without a map that knows it, the hash is the only name there is.
    assert read_metadata(only_hash).checkpoints == (ModelRef("fc2511737a", "fc2511737a"),)


def test_a_plain_hash_map_file_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"ABCDEF1234": "someModel_v1", "x": 3}), encoding="utf-8")
    assert load_hash_map(path) == {"abcdef1234": "someModel_v1"}
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InvalidInput):
        load_hash_map(path)


def test_utf8_in_a_text_chunk_comes_out_right(tmp_path: Path) -> None:
    text = "猫, 桜の木の下で\nNegative prompt: ぼやけた\nSteps: 20, Sampler: Euler, Seed: 7, Model: anime"
    metadata = read_metadata(_a1111_png(tmp_path / "utf8.png", text, raw_utf8=True))
    assert (metadata.prompt, metadata.negative_prompt) == ("猫, 桜の木の下で", "ぼやけた")
    # Tensor.Art writes UTF-8 into tEXt and ends it with a NUL.
    tensor_art = _read("sd-metadata/tensorart.png")
    assert tensor_art.prompt.endswith("hatsune miku, #テスト")
    assert tensor_art.checkpoints == (
        ModelRef(
            "WAI-Nsfw-Illustrious-16",
            "a5f58eb1c33616c4f06bca55af39876a7b817913cd829caa8acb111b770c85cc",
        ),
    )
    assert tensor_art.seed == 3036459311  # its own says -1; the graph beside it has the seed used


@pytest.mark.parametrize(
    ("fmt", "encoding"), [("WEBP", "utf-16-be"), ("WEBP", "utf-16-le"), ("JPEG", "utf-16-le")]
)
def test_an_exif_user_comment_in_either_byte_order(tmp_path: Path, fmt: str, encoding: str) -> None:
    text = (
        "a red fox in snow, <lora:fox_v2:0.7>\nNegative prompt: cartoon\n"
        "Steps: 25, Sampler: Euler a, CFG scale: 5, Seed: 99, Size: 832x1216, Model: dreamshaper_8"
    )
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + text.encode(encoding)
    path = tmp_path / f"image.{fmt.lower()}"
    Image.new("RGB", (16, 16), "gray").save(path, fmt, exif=exif)
    metadata = read_metadata(path)
    assert (metadata.generator, metadata.prompt) == ("A1111", "a red fox in snow,")
    assert metadata.loras == (LoraRef("fox_v2", 0.7),)
    assert metadata.checkpoints == (ModelRef("dreamshaper_8"),)
    assert (metadata.width, metadata.height, metadata.seed) == (832, 1216, 99)


def test_a_text_chunk_after_the_image_data_is_read(tmp_path: Path) -> None:
    path = tmp_path / "late.png"
    Image.new("RGB", (8, 8), "white").save(path)
    data = path.read_bytes()
    body = b"parameters\0a late cat\nSteps: 3, Sampler: Euler, Seed: 9, Model: lateModel"
    chunk = len(body).to_bytes(4, "big") + b"tEXt" + body
    chunk += zlib.crc32(b"tEXt" + body).to_bytes(4, "big")
    end = data.rindex(b"IEND") - 4
    path.write_bytes(data[:end] + chunk + data[end:])
    metadata = read_metadata(path)
    assert (metadata.prompt, metadata.checkpoints) == ("a late cat", (ModelRef("lateModel"),))


def test_civitai_resources_name_what_the_text_does_not(tmp_path: Path) -> None:
    resources = [
        {"type": "checkpoint", "modelName": "Juggernaut XL", "modelVersionName": "v9"},
        {"type": "lora", "weight": 0.8, "modelName": "Detail Tweaker", "modelVersionName": "v1"},
        {"type": "embed", "modelName": "EasyNegative", "modelVersionName": "v1"},
    ]
    text = (
        "a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 5, Seed: 1, "
        f"Size: 512x512, Civitai resources: {json.dumps(resources)}, Civitai metadata: {{}}"
    )
    metadata = read_metadata(_a1111_png(tmp_path / "civitai.png", text))
    assert metadata.generator == "Civitai"
    assert metadata.checkpoints == (ModelRef("Juggernaut XL v9"),)
    assert metadata.loras == (LoraRef("Detail Tweaker v1", 0.8),)
    assert metadata.embeddings == ("EasyNegative",)


def test_a_refiner_is_the_second_checkpoint(tmp_path: Path) -> None:
    text = (
        "a cat\nSteps: 20, Sampler: Euler a, CFG scale: 5, Seed: 1, Size: 1024x1024, "
        "Model hash: 31e35c80fc, Model: sd_xl_base_1.0, "
        "Refiner: sd_xl_refiner_1.0 [7440042bbd], Refiner switch at: 0.8"
    )
    assert read_metadata(_a1111_png(tmp_path / "refined.png", text)).checkpoints == (
        ModelRef("sd_xl_base_1.0", "31e35c80fc"),
        ModelRef("sd_xl_refiner_1.0", "7440042bbd"),
    )


def test_fooocus_json_in_a_jpeg(tmp_path: Path) -> None:
    # Fooocus writes its JSON as a plain UserComment, and its scheme as MakerNote, into IFD0.
    parameters = {
        "prompt": "a dog",
        "negative_prompt": "",
        "base_model": "juggernautXL_v8",
        "base_model_hash": "aeb7e9e689",
        "loras": [["sd_xl_offset_example-lora_1.0.safetensors", 0.1, "4852686128"]],
        "seed": "12",
        "steps": 30,
        "guidance_scale": 4,
        "sampler": "dpmpp_2m_sde_gpu",
        "resolution": "(1024, 1024)",
        "version": "Fooocus v2.5.0",
    }
    exif = Image.Exif()
    exif[0x9286] = json.dumps(parameters)
    exif[0x927C] = "fooocus"
    Image.new("RGB", (8, 8)).save(tmp_path / "fooocus.jpg", exif=exif)
    metadata = read_metadata(tmp_path / "fooocus.jpg")
    assert (metadata.generator, metadata.prompt, metadata.negative_prompt) == (
        "Fooocus",
        "a dog",
        None,
    )
    assert metadata.checkpoints == (ModelRef("juggernautXL_v8", "aeb7e9e689"),)
    assert metadata.loras == (
        LoraRef("sd_xl_offset_example-lora_1.0.safetensors", 0.1, "4852686128"),
    )
    assert (metadata.seed, metadata.steps, metadata.cfg_scale, metadata.width) == (
        12,
        30,
        4.0,
        1024,
    )


# --- ComfyUI graphs ---------------------------------------------------------------------------


def test_comfyui_lora_strengths_are_the_model_strengths(tmp_path: Path) -> None:
    multiple = _read("comfyui_examples/lora_lora_multiple.png")
    assert multiple.loras == (
        LoraRef("epiNoiseoffset_v2.safetensors", 1.0),
        LoraRef("theovercomer8sContrastFix_sd15.safetensors", 1.0),
    )
    graph = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "base.safetensors"}},
        "2": {
            "class_type": "LoraLoader",
            "inputs": {
                "lora_name": "first.safetensors",
                "strength_model": 0.65,
                "strength_clip": 0.2,
                "model": ["1", 0],
                "clip": ["1", 1],
            },
        },
        "3": {
            "class_type": "LoraLoaderModelOnly",
            "inputs": {"lora_name": "second.safetensors", "strength_model": 0.4, "model": ["2", 0]},
        },
        "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse", "clip": ["2", 1]}},
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": "fog", "clip": ["2", 1]}},
        "6": {"class_type": "EmptyLatentImage", "inputs": {"width": 640, "height": 960}},
        "7": {
            "class_type": "KSampler",
            "inputs": {
                "seed": ["8", 0],
                "steps": 28,
                "cfg": 4.5,
                "sampler_name": "dpmpp_2m",
                "model": ["3", 0],
                "positive": ["4", 0],
                "negative": ["5", 0],
                "latent_image": ["6", 0],
            },
        },
        "8": {"class_type": "Seed (rgthree)", "inputs": {"seed": 31337}},
    }
    metadata = read_metadata(_comfy_png(tmp_path / "comfy.png", graph))
    assert metadata.loras == (
        LoraRef("second.safetensors", 0.4),
        LoraRef("first.safetensors", 0.65),
    )
    assert (metadata.prompt, metadata.negative_prompt) == ("a lighthouse", "fog")
    assert (metadata.seed, metadata.steps, metadata.cfg_scale) == (31337, 28, 4.5)
    assert (metadata.width, metadata.height, metadata.sampler) == (640, 960, "dpmpp_2m")


def test_a_flux_graph_with_a_guider_and_a_power_lora_loader(tmp_path: Path) -> None:
    graph = {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev-fp8.safetensors"}},
        "2": {"class_type": "DualCLIPLoader", "inputs": {"clip_name1": "clip_l.safetensors"}},
        "3": {
            "class_type": "Power Lora Loader (rgthree)",
            "inputs": {
                "model": ["1", 0],
                "clip": ["2", 0],
                "lora_1": {"on": True, "lora": "flux_realism.safetensors", "strength": 0.8},
                "lora_2": {"on": False, "lora": "unused.safetensors", "strength": 1},
            },
        },
        "9": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "a misty forest"}},
        "4": {"class_type": "CLIPTextEncode", "inputs": {"text": ["9", 0], "clip": ["3", 1]}},
        "5": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["4", 0]}},
        "7": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["4", 0], "guidance": 3.5}},
        "6": {
            "class_type": "CFGGuider",
            "inputs": {"model": ["3", 0], "positive": ["7", 0], "negative": ["5", 0], "cfg": 1.0},
        },
        "8": {"class_type": "RandomNoise", "inputs": {"noise_seed": 777}},
        "10": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "11": {"class_type": "BasicScheduler", "inputs": {"model": ["3", 0], "steps": 28}},
        "12": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 896, "height": 1152}},
        "13": {
            "class_type": "SamplerCustomAdvanced",
            "inputs": {
                "noise": ["8", 0],
                "guider": ["6", 0],
                "sampler": ["10", 0],
                "sigmas": ["11", 0],
                "latent_image": ["12", 0],
            },
        },
    }
    metadata = read_metadata(_comfy_png(tmp_path / "flux.png", graph))
    assert metadata.checkpoints == (ModelRef("flux1-dev-fp8.safetensors"),)
    assert metadata.loras == (LoraRef("flux_realism.safetensors", 0.8),)
    assert (metadata.prompt, metadata.negative_prompt) == ("a misty forest", None)
    assert (metadata.seed, metadata.steps, metadata.cfg_scale, metadata.sampler) == (
        777,
        28,
        1.0,
        "euler",
    )
    assert (metadata.width, metadata.height) == (896, 1152)


def test_without_a_sampler_to_follow_the_encoders_texts_are_taken(tmp_path: Path) -> None:
    graph = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "mix.safetensors"}},
        "2": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "embedding:EasyNegative, lowres", "clip": ["1", 1]},
            "_meta": {"title": "Negative Prompt"},
        },
        "3": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "a red bicycle", "clip": ["1", 1]},
            "_meta": {"title": "Prompt"},
        },
        "4": {"class_type": "MysterySampler", "inputs": {"pipe": ["1", 0], "seed": 5}},
    }
    metadata = read_metadata(_comfy_png(tmp_path / "custom.png", graph))
    assert (metadata.prompt, metadata.negative_prompt) == (
        "a red bicycle",
        "embedding:EasyNegative, lowres",
    )
    assert metadata.checkpoints == (ModelRef("mix.safetensors"),)
    assert metadata.embeddings == ("EasyNegative",)


def test_an_upscaler_is_not_a_checkpoint(tmp_path: Path) -> None:
    graph = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "juggernaut.ckpt"}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a castle", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 1,
                "steps": 20,
                "cfg": 7,
                "sampler_name": "euler",
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "10": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "4x-UltraSharp.pth"}},
        "11": {
            "class_type": "Upscale Model Loader",
            "inputs": {"ckpt_name": "RealESRGAN_x4plus.pth"},
        },
        "12": {
            "class_type": "ImageUpscaleWithModel",
            "inputs": {"upscale_model": ["10", 0], "image": ["8", 0]},
        },
        "13": {"class_type": "SaveImage", "inputs": {"images": ["12", 0]}},
    }
    metadata = read_metadata(_comfy_png(tmp_path / "upscaled.png", graph))
    assert metadata.checkpoints == (ModelRef("juggernaut.ckpt"),)
    assert metadata.negative_prompt is None
    hires = _read("sd-metadata/civitai-hires.jpg")  # its upscaler is an urn:air: id too
    air = "urn:air:sdxl:checkpoint:civitai:827184@2514310"
    assert hires.checkpoints == (ModelRef(air, air),)
    assert hires.prompt.startswith("general, masterpiece") and hires.seed == 1311178179


def test_comfyui_embeddings_are_named_and_kept_in_the_prompt() -> None:
    metadata = _read("comfyui_examples/textual_inversion_embeddings_embedding_example.png")
    assert metadata.embeddings == ("SDA768",)
    assert metadata.prompt.startswith("photograph in the style of embedding:SDA768.pt girl")


def test_comfyui_prompts_follow_the_sampler_links() -> None:
    # Flux: the positive goes through FluxGuidance and InstructPix2Pix's slot 0; the empty
    # encoder is the negative.
    flux = _read("comfyui_examples/flux_flux_depth_lora_example.png")
    assert (flux.prompt, flux.negative_prompt) == ("a photograph of a shark in the sea", None)
    assert flux.checkpoints == (ModelRef("flux1-dev.safetensors"),)  # a UNETLoader
    # Area composition: the prompt for the whole image before the regional ones.
    area = _read("comfyui_examples/area_composition_workflow_night_evening_day_morning.png")
    assert area.prompt.startswith("(masterpiece) (best quality) beautiful landscape breathtaking")
    assert "(best quality) (night:1.3)" in area.prompt
    assert area.negative_prompt and area.negative_prompt.startswith("(hands), text, error")


@pytest.mark.parametrize(
    ("name", "main"),
    [
        ("comfyui_examples/sdxl_sdxl_simple_example.png", "sd_xl_base_1.0.safetensors"),
        ("comfyui_examples/model_merging_model_merging_lora.png", "v1-5-pruned-emaonly.ckpt"),
        (
            "comfyui_examples/area_composition_workflow_night_evening_day_morning.png",
            "Anything-V3.0.ckpt",  # the first pass; AbyssOrangeMix2 does the hires fix
        ),
        (
            "sd-parsers/ComfyUI__unclip_2pass_cropped.png",
            "wd-1-5-beta2-aesthetic-unclip-h-fp32.safetensors",
        ),
    ],
)
def test_the_main_checkpoint_comes_first(name: str, main: str) -> None:
    checkpoints = _read(name).checkpoints
    assert len(checkpoints) == 2 and checkpoints[0].name == main


def test_the_main_samplers_settings() -> None:
    sdxl = _read("comfyui_examples/sdxl_sdxl_simple_example.png")
    assert (sdxl.seed, sdxl.steps, sdxl.cfg_scale, sdxl.sampler) == (
        721897303308196,
        25,
        8.0,
        "euler",
    )
    assert (sdxl.width, sdxl.height) == (1024, 1024)
    turbo = _read("comfyui_examples/sdturbo_sdxlturbo_example.png")  # SamplerCustom
    assert (turbo.steps, turbo.sampler, turbo.cfg_scale) == (1, "euler_ancestral", 1.0)


# --- The other generators ---------------------------------------------------------------------


def test_the_json_generators_settings() -> None:
    swarm = _read("sd-metadata/swarmui.png")
    assert (swarm.seed, swarm.steps, swarm.cfg_scale) == (2083100758, 20, 7.0)
    assert swarm.checkpoints[0].hash == (
        "22d8cb95b807b0c242576b676a12b07ae6b782b57ae4fe07a07254801b2d5d61"
    )
    fooocus = _read("sd-parsers/Fooocus__fooocus1_cropped.png")
    assert (fooocus.seed, fooocus.width, fooocus.height) == (6952411511246973023, 768, 1280)
    assert fooocus.checkpoints == (ModelRef("juggernautXL_v8Rundiffusion", "aeb7e9e689"),)
    novelai = _read("sd-metadata/novelai-full.png")
    assert (novelai.steps, novelai.cfg_scale, novelai.width, novelai.height) == (28, 5.0, 832, 1216)
    invoke = _read("sd-parsers/InvokeAI__invokeai_dream1.png")
    assert invoke.negative_prompt == "rendering, glowing eyes, skinny"
    assert (invoke.seed, invoke.steps, invoke.cfg_scale, invoke.sampler) == (
        2980747362,
        50,
        5.0,
        "k_lms",
    )
    civitai = _read("sd-metadata/civitai.jpeg")
    assert civitai.checkpoints == (ModelRef("WAI-illustrious-SDXL v16.0"),)


# --- Stealth ----------------------------------------------------------------------------------


def test_stealth_metadata_in_the_alpha_channel() -> None:
    metadata = _read(STEALTH)
    assert (metadata.generator, metadata.prompt, metadata.negative_prompt) == (
        "A1111",
        "a circle",
        "a square",
    )
    assert metadata.checkpoints == (ModelRef("realisticVisionV51_v51VAE", "15012c538f"),)
    assert metadata.seed == 2015833630


def _stealth_png(path: Path, text: str, signature: bytes) -> Path:
    """Hide ``text`` the way the stealth_pnginfo extension does: LSBs, column by column."""
    payload = gzip.compress(text.encode()) if signature.endswith(b"comp") else text.encode()
    bits = "".join(f"{byte:08b}" for byte in signature)
    bits += f"{len(payload) * 8:032b}" + "".join(f"{byte:08b}" for byte in payload)
    channels = (0, 1, 2) if b"rgb" in signature else (3,)
    image = Image.new("RGBA", (48, 40), (120, 131, 140, 255))
    pixels = image.load()
    assert pixels is not None
    index = 0
    for x in range(image.width):
        for y in range(image.height):
            pixel = list(pixels[x, y])  # type: ignore[arg-type]
            for channel in channels:
                if index < len(bits):
                    pixel[channel] = (pixel[channel] & ~1) | int(bits[index])
                    index += 1
            pixels[x, y] = tuple(pixel)
    assert index == len(bits), "image too small for the text"
    image.save(path)
    return path


@pytest.mark.parametrize(
    "signature", [b"stealth_pnginfo", b"stealth_pngcomp", b"stealth_rgbinfo", b"stealth_rgbcomp"]
)
def test_every_stealth_variant(tmp_path: Path, signature: bytes) -> None:
    text = "a moon, <lora:glow:0.3>\nSteps: 12, Sampler: Euler, Seed: 3, Model: moonMix_v2"
    metadata = read_metadata(_stealth_png(tmp_path / "stealth.png", text, signature))
    assert (metadata.prompt, metadata.loras) == ("a moon,", (LoraRef("glow", 0.3),))
    assert metadata.checkpoints == (ModelRef("moonMix_v2"),)


# --- Garbage ----------------------------------------------------------------------------------


def _half(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d / "notes.png", "not an image (cannot identify image file)"),
        (lambda d: d / "empty.jpg", "not an image (empty file)"),
        (
            lambda d: _half(PNG_DATA / "sd-metadata/sd-webui.png", d / "half.png"),
            "truncated image file",
        ),
        (
            lambda d: _half(PNG_DATA / "sd-metadata/civitai.jpeg", d / "half.jpeg"),
            "truncated image file",
        ),
        (lambda d: d / "plain.png", "no generation metadata"),
        (lambda d: d / "transparent.png", "no generation metadata"),
        (lambda d: d / "photo.jpg", "no generation metadata"),
        (lambda d: d / "missing.png", "no such file"),
    ],
    ids=[
        "text",
        "empty",
        "truncated-png",
        "truncated-jpeg",
        "plain-png",
        "rgba-png",
        "jpeg",
        "missing",
    ],
)
def test_garbage_is_unreadable_with_a_reason(tmp_path: Path, make: Any, reason: str) -> None:
    (tmp_path / "notes.png").write_text("this is a shopping list, not a picture\n" * 20)
    (tmp_path / "empty.jpg").write_bytes(b"")
    Image.new("RGB", (32, 32), "blue").save(tmp_path / "plain.png")
    Image.new("RGBA", (32, 32), (0, 0, 0, 0)).save(tmp_path / "transparent.png")
    exif = Image.Exif()
    exif[0x0131] = "Camera firmware 1.0"
    Image.new("RGB", (32, 32), "red").save(tmp_path / "photo.jpg", exif=exif)
    path = make(tmp_path)
    with pytest.raises(UnreadableImage) as caught:
        read_metadata(path)
    assert caught.value.reason == reason
    assert str(caught.value) == f"{path}: {reason}"
    assert caught.value.path == str(path)
    assert isinstance(caught.value, TastebudError)


def test_a_corrupt_text_chunk_is_unreadable(tmp_path: Path) -> None:
    path = _a1111_png(tmp_path / "bad.png", "a cat\nSteps: 1, Sampler: Euler, Seed: 1, Model: m")
    data = bytearray(path.read_bytes())
    data[data.index(b"a cat")] ^= 0x20  # the chunk's checksum no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(UnreadableImage, match="corrupt image file"):
        read_metadata(path)


def test_unexpected_json_is_unreadable_not_a_crash(tmp_path: Path) -> None:
    info = PngInfo()
    info.add_text("invokeai_metadata", json.dumps({"model": 3, "loras": "x", "seed": [1]}))
    Image.new("RGB", (4, 4)).save(tmp_path / "odd.png", pnginfo=info)
    metadata = read_metadata(tmp_path / "odd.png")  # nothing usable, but nothing raised either
    assert (metadata.generator, metadata.checkpoints, metadata.seed) == ("InvokeAI", (), None)
    info = PngInfo()
    info.add_text("Dream", "no quotes here -s x")
    Image.new("RGB", (4, 4)).save(tmp_path / "dream.png", pnginfo=info)
    with pytest.raises(UnreadableImage, match="unreadable generation metadata"):
        read_metadata(tmp_path / "dream.png")


def test_from_dict_names_the_wrong_field() -> None:
    data = _read("comfyui_examples/lora_lora.png").to_dict()
    data["loras"][0]["strength"] = "strong"
    with pytest.raises(InvalidInput) as caught:
        ImageMetadata.from_dict(data)
    assert caught.value.field == "loras[0].strength"


# --- What tastebud's own nodes wrote (provenance.py) --------------------------------------------

A1111_TEXT = "a lake at dawn\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Model: lakeModel_v1"


@pytest.mark.parametrize(
    "chunk",
    [
        "{not json",
        "[1, 2]",
        json.dumps({"propensity": 7, "checkpoint": 3, "loras": [{"name": ""}, "x"]}),
        json.dumps({"propensity": True, "loras": [{"name": "a", "strength": "strong"}]}),
    ],
)
def test_a_malformed_tastebud_chunk_is_ignored(tmp_path: Path, chunk: str) -> None:
    path = tmp_path / "lake.png"
    info = PngInfo()
    info.add_text("parameters", A1111_TEXT)
    info.add_text("tastebud", chunk)
    Image.new("RGB", (8, 8), "white").save(path, pnginfo=info)
    found = read_metadata(path)
    assert [ref.name for ref in found.checkpoints] == ["lakeModel_v1"]
    assert found.loras == () and found.propensity is None


def test_the_tastebud_chunk_names_the_checkpoint_first_and_adds_its_loras(tmp_path: Path) -> None:
    path = tmp_path / "lake.png"
    info = PngInfo()
    info.add_text("parameters", A1111_TEXT.replace("dawn", "dawn <lora:film:0.4>"))
    info.add_text("tastebud", json.dumps({
        "checkpoint": "sdxl/chosen.safetensors", "propensity": 0.25, "recommendation_id": "r1",
        "loras": [{"name": "add_detail.safetensors", "strength": 0.6}],
    }))  # fmt: skip
    Image.new("RGB", (8, 8), "white").save(path, pnginfo=info)
    found = read_metadata(path)
    assert [ref.name for ref in found.checkpoints] == ["sdxl/chosen.safetensors", "lakeModel_v1"]
    loras = [(lora.name, lora.strength) for lora in found.loras]
    assert loras == [("film", 0.4), ("add_detail.safetensors", 0.6)]  # the file's, then the node's
    assert (found.propensity, found.recommendation_id) == (0.25, "r1")
