"""The fake's video nodes against the recorded ``success_video.json``: same messages, same
output shape (videos under ``images`` with ``animated: [true]``), and files that really play
with the frame count, rate and size the graph asked for."""

from __future__ import annotations

import io

import aiohttp
import pytest_asyncio
from comfyui_capture import RawSocket, post_prompt, shapes
from comfyui_replay import load
from PIL import Image

from discomfy.core.comfyui.events import output_files
from discomfy.core.media.video_fit import probe


@pytest_asyncio.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


async def run_trace(fake, session, trace):
    sock = await RawSocket(session, fake.url, trace["client_id"]).connect()
    await sock.read_until(lambda f: f["message"]["type"] == "status")
    status, body = await post_prompt(session, fake.url, trace["request"])
    assert status == 200, body
    frames = await sock.read_until_done(body["prompt_id"])
    await sock.close()
    return body["prompt_id"], frames[1:]


async def view(session, fake, entry):
    async with session.get(fake.url + "/view", params=entry) as response:
        assert response.status == 200, entry
        return response.content_type, await response.read()


async def test_video_outputs_have_the_recorded_shape_and_play(fake_comfyui, session):
    trace = load("success_video.json")
    prompt_id, frames = await run_trace(fake_comfyui, session, trace)
    assert shapes(frames) == shapes(trace["ws_messages"])
    recorded = next(iter(trace["history"]["body"].values()))["outputs"]
    outputs = fake_comfyui.worker.history[prompt_id]["outputs"]
    assert sorted(outputs) == sorted(recorded) == ["4", "5", "6"]
    for node, output in outputs.items():
        assert output["animated"] == [True], node
        assert [e["filename"].rsplit(".", 1)[1] for e in output["images"]] == \
               [e["filename"].rsplit(".", 1)[1] for e in recorded[node]["images"]]

    files = {f.node: f for f in output_files(outputs)}
    assert {n: (f.kind, f.animated) for n, f in files.items()} == {
        "4": ("video", True), "5": ("video", True), "6": ("image", True)}
    types = {entry["params"]["filename"].rsplit(".", 1)[1]: entry["content_type"] for entry in trace["view_headers"]}
    for node in ("4", "5"):  # mp4 (h264) and webm (vp9): 8 frames of 64x48 at 8 fps
        content_type, data = await view(session, fake_comfyui, outputs[node]["images"][0])
        assert content_type == types[files[node].filename.rsplit(".", 1)[1]]
        info = probe(data)
        assert (info.frames, info.fps, info.width, info.height) == (8, 8, 64, 48), node
    content_type, data = await view(session, fake_comfyui, outputs["6"]["images"][0])
    assert content_type == types["webp"]
    with Image.open(io.BytesIO(data)) as webp:
        webp.load()  # Pillow reads a frame's duration when it decodes it
        assert (webp.format, webp.size, webp.n_frames, webp.info["duration"]) == ("WEBP", (64, 48), 8, 125)
