"""The fake ComfyUI computes what it claims to, marks what it simulates, refuses what it cannot.

Graphs go through the real client, so what is checked is what a plugin under test receives.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from discomfy.core.comfyui.client import ComfyUIClient
from discomfy.core.comfyui.events import Failed, Succeeded
from discomfy.testing.fake_comfyui.catalog import recorded_nodes
from discomfy.testing.fake_comfyui.semantics import BUILTIN, SIMULATED_KEY, NodeResult, as_batch
from tests.conftest import unregistered_image_node


def graph(*nodes: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """Nodes "1".."n" in order; "@k" / ("@k", slot) in an input links to node k."""
    out: dict[str, Any] = {}
    for number, (class_type, inputs) in enumerate(nodes, start=1):
        resolved = {}
        for name, value in inputs.items():
            if isinstance(value, str) and value.startswith("@"):
                value = [value[1:], 0]
            elif isinstance(value, tuple):
                value = [value[0][1:], value[1]]
            resolved[name] = value
        out[str(number)] = {"class_type": class_type, "inputs": resolved}
    return out


def source(width: int = 64, height: int = 48, color: int = 0x3366CC) -> tuple[str, dict[str, Any]]:
    return ("EmptyImage", {"width": width, "height": height, "batch_size": 1, "color": color})


async def saved_images(client: ComfyUIClient, workflow: dict[str, Any]) -> list[Image.Image]:
    prompt_id = await client.queue_prompt(workflow)
    events = [event async for event in client.follow(prompt_id, deadline=10)]
    final = events[-1]
    assert isinstance(final, Succeeded), final
    assert final.images
    return [Image.open(io.BytesIO(await client.download_output(f.filename, f.subfolder, f.type)))
            for f in final.images]


SAVE = ("SaveImage", {"images": "@2", "filename_prefix": "t"})


@pytest.mark.parametrize("node, size", [
    (("ImageScaleBy", {"image": "@1", "upscale_method": "bilinear", "scale_by": 3.0}), (192, 144)),
    (("ImageScale", {"image": "@1", "upscale_method": "lanczos", "width": 100, "height": 0, "crop": "disabled"}), (100, 75)),
    (("ImageScale", {"image": "@1", "upscale_method": "area", "width": 32, "height": 32, "crop": "center"}), (32, 32)),
    (("ImageScaleToTotalPixels", {"image": "@1", "upscale_method": "bicubic", "megapixels": 0.01}), (118, 89)),
    (("ImageScaleToMaxDimension", {"image": "@1", "upscale_method": "bilinear", "largest_size": 128}), (128, 96)),
    (("ImageCrop", {"image": "@1", "width": 40, "height": 40, "x": 30, "y": 0}), (34, 40)),
    (("ImagePadForOutpaint", {"image": "@1", "left": 8, "top": 0, "right": 16, "bottom": 24, "feathering": 4}), (88, 72)),
    (("ImageRotate", {"image": "@1", "rotation": "90 degrees"}), (48, 64)),
    (("FluxKontextImageScale", {"image": "@1"}), (1184, 880)),
    (("ImageFlip", {"image": "@1", "flip_method": "y-axis: horizontally"}), (64, 48)),
    (("RepeatImageBatch", {"image": "@1", "amount": 1}), (64, 48)),
])
async def test_model_free_nodes_produce_comfyui_sizes(comfyui_client, node, size) -> None:
    [image] = await saved_images(comfyui_client, graph(source(), node, SAVE))
    assert image.size == size
    assert SIMULATED_KEY not in image.info  # computed, not simulated


async def test_pixels_are_really_computed(comfyui_client) -> None:
    red, blue = 0xFF0000, 0x0000FF
    workflow = graph(
        source(64, 48, red), ("ImageInvert", {"image": "@1"}),
        ("EmptyImage", {"width": 16, "height": 16, "batch_size": 1, "color": blue}),
        ("ImageCompositeMasked", {"destination": "@2", "source": "@3", "x": 10, "y": 5, "resize_source": False}),
        ("ImageAddNoise", {"image": "@4", "seed": 1, "strength": 0.5}),
        ("ImageBatch", {"image1": "@4", "image2": "@5"}),
        ("SaveImage", {"images": "@6", "filename_prefix": "t"}),
    )
    clean, noisy = await saved_images(comfyui_client, workflow)
    assert clean.getpixel((0, 0)) == (0, 255, 255)          # red inverted
    assert clean.getpixel((12, 8)) == (0, 0, 255)           # the blue square pasted at (10, 5)
    assert noisy.size == clean.size and noisy.tobytes() != clean.tobytes()


async def test_masks_are_computed(comfyui_client) -> None:
    workflow = graph(
        source(64, 48), ("SolidMask", {"value": 1.0, "width": 16, "height": 16}),
        ("ImageCompositeMasked", {"destination": "@1", "source": ("@6", 0), "x": 0, "y": 0, "resize_source": False,
                                  "mask": ("@4", 0)}),
        ("InvertMask", {"mask": "@2"}),
        ("MaskToImage", {"mask": "@4"}),
        ("EmptyImage", {"width": 16, "height": 16, "batch_size": 1, "color": 0xFFFFFF}),
        ("SaveImage", {"images": "@3", "filename_prefix": "t"}),
        ("SaveImage", {"images": "@5", "filename_prefix": "mask"}),
    )
    images = {im.size: im for im in await saved_images(comfyui_client, workflow)}
    assert images[(64, 48)].getpixel((4, 4)) == (0x33, 0x66, 0xCC)  # the inverted solid mask is 0: nothing pasted
    assert images[(16, 16)].getpixel((4, 4)) == (0, 0, 0)  # that mask, as an image


async def test_images_from_simulated_nodes_carry_the_marker(comfyui_client) -> None:
    workflow = graph(
        ("CheckpointLoaderSimple", {"ckpt_name": "dummy_sd15.safetensors"}),
        ("CLIPTextEncode", {"text": "a cat", "clip": ("@1", 1)}),
        ("EmptyLatentImage", {"width": 320, "height": 192, "batch_size": 1}),
        ("KSampler", {"model": "@1", "positive": "@2", "negative": "@2", "latent_image": "@3", "seed": 1,
                      "steps": 2, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0}),
        ("VAEDecode", {"samples": "@4", "vae": ("@1", 2)}),
        ("ImageScaleBy", {"image": "@5", "upscale_method": "bilinear", "scale_by": 0.5}),
        ("SaveImage", {"images": "@6", "filename_prefix": "t"}),
    )
    [image] = await saved_images(comfyui_client, workflow)
    assert image.size == (160, 96)  # the latent's size, halved for real
    marker = image.info[SIMULATED_KEY]
    assert "KSampler (node 4)" in marker and "VAEDecode (node 5)" in marker
    assert "ImageScaleBy" not in marker


async def test_a_node_without_semantics_fails_the_job_naming_it(comfyui_client, fake_comfyui) -> None:
    name = unregistered_image_node()
    prompt_id = await comfyui_client.queue_prompt(graph(source(), (name, {"image": "@1"}), SAVE))
    events = [event async for event in comfyui_client.follow(prompt_id, deadline=10)]
    assert isinstance(events[-1], Failed)
    message = str(events[-1].error)
    assert f"node 2 ({name})" in message
    assert f"fake_comfyui.nodes.simulate('{name}')" in message and "@fake_node" in message
    assert fake_comfyui.worker.history[prompt_id]["outputs"] == {}  # nothing passed through to SaveImage


async def test_a_test_can_register_a_custom_node_on_its_fake(comfyui_client, fake_comfyui) -> None:
    name = unregistered_image_node()

    @fake_comfyui.nodes.register(name, summary="halves the width")
    def halve(ctx, image):
        return NodeResult(([im.resize((im.width // 2, im.height)) for im in as_batch(image)],))

    [image] = await saved_images(comfyui_client, graph(source(), (name, {"image": "@1"}), SAVE))
    assert image.size == (32, 48)
    assert BUILTIN.get(name) is None  # only this fake learnt it


def test_every_registered_node_is_a_real_comfyui_node() -> None:
    table = BUILTIN.table()
    assert len(table) > 60
    assert [s.class_type for s in table if s.class_type not in recorded_nodes()] == []
    assert {"ImageScaleBy", "ImageCrop", "ImagePadForOutpaint", "ImageBlur", "ImageSharpen", "ImageInvert",
            "ImageCompositeMasked", "ImageAddNoise", "ImageBatch"} <= {s.class_type for s in table if not s.simulated}
    assert {"KSampler", "VAEDecode", "CheckpointLoaderSimple"} <= {s.class_type for s in table if s.simulated}
    json.dumps([s.summary for s in table])  # summaries are plain text for the docs


def test_the_docs_show_the_registry_as_it_is() -> None:
    from pathlib import Path

    from discomfy.testing.fake_comfyui.node_docs import replace_docs_section

    docs = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
    text = docs.read_text()
    assert "| `ImageScaleBy` | for real |" in text
    assert replace_docs_section(text) == text, (
        "docs/plugins.md's node table is stale: python -m discomfy.testing.fake_comfyui.node_docs docs/plugins.md")


async def test_a_test_can_simulate_a_node_that_needs_weights(comfyui_client, fake_comfyui) -> None:
    name = unregistered_image_node()
    fake_comfyui.nodes.simulate(name)
    [image] = await saved_images(comfyui_client, graph(source(), (name, {"image": "@1"}), SAVE))
    assert image.size == (64, 48)  # the stand-in keeps the size it was given
    assert image.info[SIMULATED_KEY] == f"{name} (node 2)"
