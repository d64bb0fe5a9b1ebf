"""The fake's simulated models draw what the job was, so reroll, vary, edit and upscale show it.

The graphs are the shapes the bot's own workflows send (SDXL's KSampler, FLUX's
SamplerCustomAdvanced, the img2img strategy's VAEEncode, Kontext's ReferenceLatent, the upscale
model), run through the real client against the fake. Pictures are compared by the mean
absolute difference of their pixels (0 = identical, 255 = opposite), above the caption stripe.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from discomfy.core.comfyui.client import ComfyUIClient
from discomfy.core.comfyui.events import Succeeded
from discomfy.testing.fake_comfyui.catalog import model_folder
from discomfy.testing.fake_comfyui.placeholders import COLOURS, MARK_BACKGROUND, MARK_YELLOW, mark_height
from discomfy.testing.fake_comfyui.semantics import SIMULATED_KEY, png_bytes

SIZE = (256, 192)


def txt2img(prompt: str, seed: int, *, batch: int = 1, denoise: float = 1.0, init: str | None = None) -> dict[str, Any]:
    """SDXL's workflow; with ``init``, the img2img strategy's LoadImage -> VAEEncode instead of the empty latent."""
    latent: list[Any] = ["4", 0]
    graph: dict[str, Any] = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt, "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry, green", "clip": ["1", 1]}},
        "4": {"class_type": "EmptyLatentImage", "inputs": {"width": SIZE[0], "height": SIZE[1], "batch_size": batch}},
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
        "7": {"class_type": "SaveImage", "inputs": {"filename_prefix": "t", "images": ["6", 0]}},
    }
    if init is not None:
        graph["8"] = {"class_type": "LoadImage", "inputs": {"image": init}}
        graph["9"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["8", 0], "vae": ["1", 2]}}
        latent = ["9", 0]
    graph["5"] = {"class_type": "KSampler", "inputs": {
        "seed": seed, "steps": 2, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal", "denoise": denoise,
        "model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0], "latent_image": latent}}
    return graph


def flux(prompt: str, seed: int) -> dict[str, Any]:
    """The /generate FLUX workflow: the seed on RandomNoise, the prompt through the guider."""
    return {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev.safetensors", "weight_dtype": "default"}},
        "2": {"class_type": "DualCLIPLoader", "inputs": {"clip_name1": "clip_l.safetensors",
                                                         "clip_name2": "t5xxl_fp16.safetensors", "type": "flux"}},
        "3": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}},
        "4": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt, "clip": ["2", 0]}},
        "5": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["4", 0], "guidance": 3.5}},
        "6": {"class_type": "EmptySD3LatentImage", "inputs": {"width": SIZE[0], "height": SIZE[1], "batch_size": 1}},
        "7": {"class_type": "RandomNoise", "inputs": {"noise_seed": seed}},
        "8": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "9": {"class_type": "BasicScheduler", "inputs": {"scheduler": "simple", "steps": 2, "denoise": 1.0,
                                                         "model": ["1", 0]}},
        "10": {"class_type": "BasicGuider", "inputs": {"model": ["1", 0], "conditioning": ["5", 0]}},
        "11": {"class_type": "SamplerCustomAdvanced", "inputs": {"noise": ["7", 0], "guider": ["10", 0],
                                                                 "sampler": ["8", 0], "sigmas": ["9", 0],
                                                                 "latent_image": ["6", 0]}},
        "12": {"class_type": "VAEDecode", "inputs": {"samples": ["11", 0], "vae": ["3", 0]}},
        "13": {"class_type": "SaveImage", "inputs": {"filename_prefix": "t", "images": ["12", 0]}},
    }


def kontext_edit(prompt: str, seed: int, image: str) -> dict[str, Any]:
    """The /editflux workflow: the image is the reference the prompt edits."""
    return {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev-kontext_fp8_scaled.safetensors",
                                                     "weight_dtype": "default"}},
        "2": {"class_type": "DualCLIPLoader", "inputs": {"clip_name1": "clip_l.safetensors",
                                                         "clip_name2": "t5xxl_fp8_e4m3fn_scaled.safetensors",
                                                         "type": "flux"}},
        "3": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}},
        "4": {"class_type": "LoadImage", "inputs": {"image": image}},
        "6": {"class_type": "VAEEncode", "inputs": {"pixels": ["4", 0], "vae": ["3", 0]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt, "clip": ["2", 0]}},
        "8": {"class_type": "ReferenceLatent", "inputs": {"conditioning": ["7", 0], "latent": ["6", 0]}},
        "9": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["8", 0], "guidance": 2.5}},
        "10": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["7", 0]}},
        "11": {"class_type": "KSampler", "inputs": {"seed": seed, "steps": 2, "cfg": 1.0, "sampler_name": "euler",
                                                    "scheduler": "simple", "denoise": 1.0, "model": ["1", 0],
                                                    "positive": ["9", 0], "negative": ["10", 0],
                                                    "latent_image": ["6", 0]}},
        "12": {"class_type": "VAEDecode", "inputs": {"samples": ["11", 0], "vae": ["3", 0]}},
        "13": {"class_type": "SaveImage", "inputs": {"filename_prefix": "t", "images": ["12", 0]}},
    }


def upscale(image: str) -> dict[str, Any]:
    """The /upscale workflow without its final resize: the 2x model alone."""
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": image}},
        "2": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "RealESRGAN_x2plus.pth"}},
        "3": {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["2", 0], "image": ["1", 0]}},
        "4": {"class_type": "SaveImage", "inputs": {"filename_prefix": "t", "images": ["3", 0]}},
    }


@pytest.fixture(autouse=True)
def model_files(fake_comfyui) -> None:
    """The model files these graphs name, in the fake's folders."""
    for graph in (txt2img("", 0), flux("", 0), kontext_edit("", 0, "x.png"), upscale("x.png")):
        for node in graph.values():
            for name, value in node["inputs"].items():
                folder = model_folder(node["class_type"], name)
                if folder and isinstance(value, str) and value not in fake_comfyui.models.setdefault(folder, []):
                    fake_comfyui.models[folder].append(value)


async def run(client: ComfyUIClient, workflow: dict[str, Any]) -> list[tuple[Image.Image, bytes]]:
    prompt_id = await client.queue_prompt(workflow)
    events = [event async for event in client.follow(prompt_id, deadline=10)]
    assert isinstance(events[-1], Succeeded), events[-1]
    found = []
    for f in events[-1].images:
        data = await client.download_output(f.filename, f.subfolder, f.type)
        found.append((Image.open(io.BytesIO(data)), data))
    return found


async def one(client: ComfyUIClient, workflow: dict[str, Any]) -> Image.Image:
    [(image, _)] = await run(client, workflow)
    return image


def upload(fake, name: str, image: Image.Image) -> str:
    fake.add_input_image(name, png_bytes(image))
    return name


def above_mark(image: Image.Image) -> Image.Image:
    return image.convert("RGB").crop((0, 0, image.width, image.height - mark_height(image.size)))


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel, 0..255, of the pictures above their caption stripes."""
    a, b = above_mark(a), above_mark(b)
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def mean(image: Image.Image) -> tuple[float, float, float]:
    return tuple(ImageStat.Stat(above_mark(image)).mean)  # type: ignore[return-value]


async def test_a_reroll_draws_another_picture_and_the_same_graph_the_same_bytes(comfyui_client, fake_comfyui):
    fake_comfyui.cache_enabled = False  # really run the second, identical graph
    [(first, first_bytes)] = await run(comfyui_client, txt2img("a red fox in the snow", 1))
    [(again, again_bytes)] = await run(comfyui_client, txt2img("a red fox in the snow", 1))
    reroll = await one(comfyui_client, txt2img("a red fox in the snow", 2))
    assert again_bytes == first_bytes  # deterministic
    assert first.size == SIZE and SIMULATED_KEY in first.info
    assert difference(first, reroll) > 20, "a reroll (new seed) should move the composition"
    flat = ImageStat.Stat(above_mark(first)).stddev
    assert min(flat) > 15, f"not a flat square: channel spread {flat}"


async def test_the_colours_a_prompt_names_colour_the_picture(comfyui_client):
    red, blue = await one(comfyui_client, txt2img("red", 5)), await one(comfyui_client, txt2img("blue", 5))
    assert mean(red)[0] > mean(red)[2] + 40 and mean(blue)[2] > mean(blue)[0] + 40, (mean(red), mean(blue))
    # the negative prompt ("blurry, green") colours nothing; FLUX's guider chain carries the prompt too
    green = await one(comfyui_client, flux("a green meadow", 5))
    assert mean(green)[1] > mean(green)[0] + 30 and mean(green)[1] > mean(green)[2] + 30, mean(green)
    assert COLOURS["green"]


async def test_flux_seeds_on_random_noise_reroll_too(comfyui_client):
    first, second = await one(comfyui_client, flux("a castle", 11)), await one(comfyui_client, flux("a castle", 12))
    assert difference(first, second) > 20


async def test_a_subtle_variation_stays_close_and_a_strong_one_moves_more(comfyui_client, fake_comfyui):
    original = await one(comfyui_client, txt2img("a purple lighthouse at dusk", 7))
    init = upload(fake_comfyui, "vary.png", original)
    subtle = await one(comfyui_client, txt2img("a purple lighthouse at dusk", 8, denoise=0.35, init=init))
    strong = await one(comfyui_client, txt2img("a purple lighthouse at dusk", 8, denoise=0.65, init=init))
    reroll = await one(comfyui_client, txt2img("a purple lighthouse at dusk", 8))
    d_subtle, d_strong, d_reroll = (difference(original, other) for other in (subtle, strong, reroll))
    assert 1 < d_subtle < d_strong < d_reroll, (d_subtle, d_strong, d_reroll)
    assert d_subtle < 0.5 * d_reroll and d_strong > 1.5 * d_subtle


async def test_a_batch_of_variations_differs_from_image_to_image(comfyui_client, fake_comfyui):
    images = [im for im, _ in await run(comfyui_client, txt2img("orange boats", 3, batch=4))]
    assert len(images) == 4
    assert min(difference(a, b) for i, a in enumerate(images) for b in images[i + 1:]) > 10


async def test_an_edit_keeps_the_picture_and_changes_what_its_prompt_asks(comfyui_client, fake_comfyui):
    original = await one(comfyui_client, txt2img("a red barn under a blue sky", 21))
    source = upload(fake_comfyui, "edit.png", original)
    edited = await one(comfyui_client, kontext_edit("make everything green", 21, source))
    unrelated = await one(comfyui_client, txt2img("make everything green", 21))
    assert mean(edited)[1] > mean(original)[1] + 15, (mean(original), mean(edited))
    assert difference(original, edited) < difference(original, unrelated), "an edit keeps the picture it was given"


async def test_an_upscale_is_the_same_picture_larger(comfyui_client, fake_comfyui):
    original = await one(comfyui_client, txt2img("yellow sunflowers", 4))
    larger = await one(comfyui_client, upscale(upload(fake_comfyui, "up.png", original)))
    assert larger.size == (2 * SIZE[0], 2 * SIZE[1])
    back = larger.convert("RGB").resize(SIZE, Image.Resampling.BILINEAR)
    assert difference(original, back) < 4


async def test_every_drawn_picture_carries_the_fake_comfyui_stripe(comfyui_client):
    image = (await one(comfyui_client, txt2img("a teal whale", 9))).convert("RGB")
    stripe = image.crop((0, image.height - mark_height(image.size), image.width, image.height))
    colours = {colour for _, colour in stripe.getcolors(maxcolors=1 << 16)}
    assert MARK_YELLOW in colours and MARK_BACKGROUND in colours  # the hazard tape
    assert len(colours) > 8  # and a caption (anti-aliased text), not only the tape
