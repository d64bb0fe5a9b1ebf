"""The fake's model upscaler resizes by the scale its model's name says; latents repeat."""

from __future__ import annotations

import pytest
from PIL import Image

from discomfy.testing.fake_comfyui.catalog import recorded_nodes
from discomfy.testing.fake_comfyui.nodes import NodeRunner
from discomfy.testing.fake_comfyui.semantics import size_of
from discomfy.testing.fake_comfyui.storage import FileStore
from discomfy.testing.fake_comfyui.upscale_nodes import model_scale


def _run(runner: NodeRunner, class_type: str, inputs: dict) -> tuple:
    return runner.run("1", class_type, recorded_nodes()[class_type], inputs).outputs


@pytest.mark.parametrize("name,scale", [("4x-UltraSharp.pth", 4), ("RealESRGAN_x2plus.pth", 2),
                                        ("2x_Anime.safetensors", 2), ("upscaler.pth", 4)])
def test_an_upscale_model_resizes_by_the_scale_its_name_says(name, scale):
    runner = NodeRunner(FileStore())
    (model,) = _run(runner, "UpscaleModelLoader", {"model_name": name})
    image = [Image.new("RGB", (30, 20)), Image.new("RGB", (30, 20))]
    (upscaled,) = _run(runner, "ImageUpscaleWithModel", {"upscale_model": model, "image": image})
    assert model_scale(name) == scale and [im.size for im in upscaled] == [(30 * scale, 20 * scale)] * 2


def test_repeat_latent_batch_multiplies_the_batch():
    runner = NodeRunner(FileStore())
    (encoded,) = _run(runner, "VAEEncode", {"pixels": [Image.new("RGB", (16, 8))], "vae": None})
    (repeated,) = _run(runner, "RepeatLatentBatch", {"samples": encoded, "amount": 3})
    assert size_of(repeated) == ((16, 8), 3)
