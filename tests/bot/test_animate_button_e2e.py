"""The 🎬 Animate button under a single-image result (registered by the animate plugin through
``discomfy_register_result_actions``): a click animates that very image into an mp4."""

from __future__ import annotations


from discomfy.core.media.video_fit import probe
from tests.bot.support import assert_settled, job_id_of, wait_result


def animate_id(message) -> str:
    ids = [c for c in message.custom_ids if c.startswith("discomfy:animate:")]
    assert ids, f"no 🎬 Animate button under the result; its buttons: {message.custom_ids}"
    return ids[0]


async def test_animate_button_turns_the_result_image_into_a_video(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    alice = emu.make_user("alice")
    inter = await emu.invoke("generate", {"prompt": "a lighthouse at dusk", "aspect_ratio": "16:9"}, user=alice)
    result = await wait_result(emu, inter, timeout=15)
    custom_id = animate_id(result)
    assert custom_id == f"discomfy:animate:{job_id_of(result)}"
    click = await emu.click(result, custom_id, user=alice)
    video_message = await wait_result(emu, click, timeout=60)
    (video,) = video_message.attachments
    info = probe(video.data)
    assert video.filename.endswith(".mp4") and (info.frames, info.fps) == (73, 24)  # 3 s at 24 fps
    assert (info.width, info.height) == (1280, 704)  # the 16:9 image keeps its shape
    graph = list(fake_comfyui.worker.history.values())[-1]["prompt"][2]
    (loader,) = [n for n in graph.values() if n["class_type"] == "LoadImage"]
    assert fake_comfyui.files.read_input_image(loader["inputs"]["image"]) == result.attachments[0].data
    prompts = [n["inputs"]["text"] for n in graph.values() if n.get("_meta", {}).get("title") == "Positive Prompt"]
    assert prompts == ["a lighthouse at dusk"]
    assert not [c for c in video_message.custom_ids if c.startswith("discomfy:animate:")], "a video offers 🎬 again"
    await assert_settled(emu, bot)


async def test_a_batch_result_has_no_whole_result_animate_button(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    inter = await emu.invoke("generate", {"prompt": "two foxes", "batch": 2})
    result = await wait_result(emu, inter, timeout=15)
    assert len(result.attachments) == 2
    assert any(c.startswith("discomfy:reroll:") for c in result.custom_ids)
    assert not [c for c in result.custom_ids if c.startswith("discomfy:animate:")]
    await assert_settled(emu, bot)
