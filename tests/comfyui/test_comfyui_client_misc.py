"""Uploads, model lists, node info, and the router's edge cases."""

from __future__ import annotations

import io
import struct

import pytest
from comfyui_capture import png
from PIL import Image

from discomfy.core.comfyui import router as router_module
from discomfy.core.comfyui.events import Preview, Succeeded
from discomfy.core.comfyui.frames import decode_binary, encode_preview
from discomfy.core.comfyui.router import EventRouter
from discomfy.exceptions import ValidationError


async def test_upload_rename_and_loadimage_really_runs(comfyui_client, fake_comfyui):
    first = await comfyui_client.upload_image(png((20, 10), (10, 20, 30)), "in.png")
    second = await comfyui_client.upload_image(png((20, 10), (200, 100, 0)), "in.png")
    nested = await comfyui_client.upload_image(png((4, 4)), "in.png", subfolder="user7")
    assert (first, second, nested) == ("in.png", "in (1).png", "user7/in.png")
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": second}},
        "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "ImageScale", "inputs": {"image": ["2", 0], "upscale_method": "nearest-exact",
                                                     "width": 40, "height": 0, "crop": "disabled"}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "inv"}},
    }
    prompt_id = await comfyui_client.queue_prompt(graph)
    final = [e async for e in comfyui_client.follow(prompt_id, deadline=5)][-1]
    assert isinstance(final, Succeeded)
    image = Image.open(io.BytesIO(await comfyui_client.download_output(final.images[0].filename)))
    assert image.size == (40, 20) and image.getpixel((0, 0)) == (55, 155, 255)
    graph["1"]["inputs"]["image"] = nested
    assert await comfyui_client.queue_prompt(graph)  # the subfolder form validates too


async def test_model_lists_follow_the_server(comfyui_client, fake_comfyui):
    fake_comfyui.loras = ["b.safetensors", "a.safetensors", "readme.txt"]
    assert await comfyui_client.list_loras() == ["a.safetensors", "b.safetensors"]
    assert await comfyui_client.list_choices("LoraLoaderModelOnly", "lora_name") == ["a.safetensors", "b.safetensors"]
    fake_comfyui.models["vae"] = ["sdxl_vae.safetensors"]
    assert await comfyui_client.list_choices("VAELoader", "vae_name") == ["sdxl_vae.safetensors", "pixel_space"]
    assert await comfyui_client.list_models("checkpoints") == ["dummy_sd15.safetensors", "dummy_sdxl.ckpt"]
    with pytest.raises(ValidationError, match="no models folder called nope"):
        await comfyui_client.list_models("nope")
    with pytest.raises(ValidationError, match="no node called NoSuchNode"):
        await comfyui_client.list_choices("NoSuchNode", "x")
    with pytest.raises(ValidationError, match="KSampler has no choice input called steps"):
        await comfyui_client.list_choices("KSampler", "steps")


async def test_object_info_is_cached_until_refresh(comfyui_client, fake_comfyui):
    everything = await comfyui_client.get_object_info()
    assert len(everything) == 478
    before = fake_comfyui.count("GET", "/object_info")
    await comfyui_client.get_object_info()
    await comfyui_client.get_object_info("KSampler")
    assert fake_comfyui.count("GET", "/object_info") == before
    await comfyui_client.get_object_info("KSampler", refresh=True)
    assert fake_comfyui.count("GET", "/object_info") == before + 1


def test_legacy_preview_goes_to_the_prompt_that_is_running():
    routed = EventRouter(on_complete=lambda ch: None)
    routed.feed_text({"type": "executing", "data": {"node": "3", "display_node": "3", "prompt_id": "A"}})
    routed.feed_binary(encode_preview(b"\xff\xd8jpeg", "image/jpeg"))
    routed.feed_binary(encode_preview(b"\x89PNGx", "image/png", {"prompt_id": "B", "node_id": "9"}))
    a, b = routed.channels["A"].queue, routed.channels["B"].queue
    a.get_nowait()
    assert a.get_nowait() == Preview("A", b"\xff\xd8jpeg", "image/jpeg", None)
    assert b.get_nowait() == Preview("B", b"\x89PNGx", "image/png", "9")


def test_malformed_and_unknown_frames_are_ignored():
    routed = EventRouter(on_complete=lambda ch: None)
    for frame in (b"", b"\x00\x00", struct.pack(">II", 4, 999) + b"{", struct.pack(">I", 77) + b"x"):
        routed.feed_binary(frame)
    for message in ({"type": "crystools.monitor", "data": {"cpu": 3}}, {"type": "progress", "data": None},
                    {"no": "type"}):
        routed.feed_text(message)
    assert routed.channels == {}
    assert decode_binary(b"\x00\x00\x00\x03\x00\x00\x00\x0213hello").text == "hello"


def test_unclaimed_channels_are_bounded(monkeypatch):
    monkeypatch.setattr(router_module, "MAX_UNCLAIMED", 3)
    routed = EventRouter(on_complete=lambda ch: None)
    routed.channel("mine", claim=True)
    for i in range(10):
        routed.feed_text({"type": "execution_start", "data": {"prompt_id": f"other{i}"}})
    assert list(routed.channels) == ["mine", "other7", "other8", "other9"]
