"""The fake's model upscaler resizes by the scale its model's name says; latents repeat."""

from __future__ import annotations

import pytest
from PIL import Image

from discomfy.testing.fake_comfyui.catalog import recorded_nodes
from discomfy.testing.fake_comfyui.extra_nodes import ExtraNodeRunner, model_scale
from discomfy.testing.fake_comfyui.nodes import size_of
from discomfy.testing.fake_comfyui.storage import FileStore


@pytest.mark.parametrize("name,scale", [("4x-UltraSharp.pth", 4), ("RealESRGAN_x2plus.pth", 2),
                                        ("2x_Anime.safetensors", 2), ("upscaler.pth", 4)])
def test_an_upscale_model_resizes_by_the_scale_its_name_says(name, scale):
    runner = ExtraNodeRunner(FileStore())
    (model,) = runner.run("UpscaleModelLoader", recorded_nodes()["UpscaleModelLoader"], {"model_name": name}).outputs
    image = [Image.new("RGB", (30, 20)), Image.new("RGB", (30, 20))]
    node = recorded_nodes()["ImageUpscaleWithModel"]
    (upscaled,) = runner.run("ImageUpscaleWithModel", node, {"upscale_model": model, "image": image}).outputs
    assert model_scale(name) == scale and [im.size for im in upscaled] == [(30 * scale, 20 * scale)] * 2


def test_repeat_latent_batch_multiplies_the_batch():
    runner = ExtraNodeRunner(FileStore())
    encoded = runner.run("VAEEncode", recorded_nodes()["VAEEncode"], {"pixels": [Image.new("RGB", (16, 8))], "vae": None}).outputs[0]
    (repeated,) = runner.run("RepeatLatentBatch", recorded_nodes()["RepeatLatentBatch"], {"samples": encoded, "amount": 3}).outputs
    assert size_of(repeated) == ((16, 8), 3)
