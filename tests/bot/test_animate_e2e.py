"""/animate through the real discord.py, the emulator and the fake ComfyUI: a video Discord
plays inline, with the frame count, rate and size the options asked for; one over the guild's
upload limit is re-encoded under it, or refused with a reason."""

from __future__ import annotations

from discomfy.core.media.video_fit import probe
from tests.bot.support import assert_settled, embed_text, png_bytes, wait_outcome, wait_result


def previews_shown(emu, message_id) -> list:
    """Webhook edits of the job's message that carried a live preview frame."""
    return [r for r in emu.requests if r.method == "PATCH" and r.path.endswith(f"/messages/{message_id}")
            and any(f.filename == "preview.jpg" for f in r.files)]


def rendered_graph(fake, prompt_index: int = -1) -> dict:
    return list(fake.worker.history.values())[prompt_index]["prompt"][2]


def of_class(graph: dict, class_type: str) -> list[dict]:
    found = [node for node in graph.values() if node["class_type"] == class_type]
    assert found, f"no {class_type} in the rendered graph"
    return found


async def test_animate_delivers_an_mp4_with_the_asked_frames_rate_and_size(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    fake_comfyui.preview_frames = True  # progress and previews work as for images
    fake_comfyui.simulate("KSampler", steps=6, step_delay=0.05)
    inter = await emu.invoke("animate", {"prompt": "waves roll in", "seconds": 1, "aspect_ratio": "9:16", "seed": 7})
    await emu.wait_for_message(lambda m: m.id == inter.original_message.id and "Step" in embed_text(m), timeout=15)
    message = await wait_result(emu, inter, timeout=30)
    assert previews_shown(emu, message.id), "no live preview was shown while sampling"
    (video,) = message.attachments
    assert video.filename.endswith(".mp4")
    info = probe(video.data)
    assert (info.frames, info.fps, info.width, info.height) == (25, 24, 704, 1280)
    graph = rendered_graph(fake_comfyui)
    (latent,) = of_class(graph, "Wan22ImageToVideoLatent")
    assert (latent["inputs"]["length"], latent["inputs"]["width"], latent["inputs"]["height"]) == (25, 704, 1280)
    assert "start_image" not in latent["inputs"] and not [n for n in graph.values() if n["class_type"] == "LoadImage"]
    assert of_class(graph, "KSampler")[0]["inputs"]["seed"] == 7
    assert "Seed: `7`" in embed_text(message)
    await assert_settled(emu, bot)


async def test_animate_with_an_image_starts_the_video_from_it(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    inter = await emu.invoke("animate", {"prompt": "the cat blinks", "seconds": 2, "aspect_ratio": "1:1"},
                             attachments={"image": ("cat.png", png_bytes(96, 96, "orange"), "image/png")})
    message = await wait_result(emu, inter, timeout=30)
    info = probe(message.attachments[0].data)
    assert (info.frames, info.fps, info.width, info.height) == (49, 24, 960, 960)
    graph = rendered_graph(fake_comfyui)
    (latent,) = of_class(graph, "Wan22ImageToVideoLatent")
    (loader,) = of_class(graph, "LoadImage")
    assert graph[latent["inputs"]["start_image"][0]] is loader
    assert fake_comfyui.files.read_input_image(loader["inputs"]["image"]) == png_bytes(96, 96, "orange")
    await assert_settled(emu, bot)


async def test_a_video_over_the_upload_limit_is_reencoded_under_it(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    first = await emu.invoke("animate", {"prompt": "rain", "seconds": 1, "seed": 1})
    natural = len((await wait_result(emu, first, timeout=30)).attachments[0].data)
    emu.attachment_size_limit = natural * 3 // 4
    inter = await emu.invoke("animate", {"prompt": "rain", "seconds": 1, "seed": 1})
    message = await wait_result(emu, inter, timeout=60)
    (video,) = message.attachments
    assert len(video.data) <= emu.attachment_size_limit < natural
    assert probe(video.data).frames == 25
    assert "re-encoded smaller to fit this server's" in embed_text(message)
    await assert_settled(emu, bot)


async def test_a_video_that_cannot_fit_is_refused_with_the_reason(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    emu.attachment_size_limit = 600
    inter = await emu.invoke("animate", {"prompt": "rain", "seconds": 1})
    message = await wait_outcome(emu, inter, timeout=60)
    assert not message.attachments
    text = embed_text(message)
    assert "/animate failed" in text and "could not be made smaller than 600 bytes" in text
    assert not [r for r in emu.requests if r.status == 413]
    await assert_settled(emu, bot)
