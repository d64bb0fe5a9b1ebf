"""Buttons and Info under a result offer only what makes sense for that result (issue 20, point 8):
no ✏️ Edit under a video, no 🎲 Reroll under an upscale or a seedless pack, no LoRA strength
when no LoRA was used."""

from __future__ import annotations

import json

from discomfy.core.comfyui.workflows.scaffold import scaffold_pack
from discomfy.testing.bot_harness import build_config, running_bot
from tests.bot.support import answer_text, assert_settled, embed_text, png_bytes, wait_result
from tests.conftest import REPO_ROOT


def actions(message) -> set[str]:
    """The action names of a message's buttons (``discomfy:<action>:<job>...``)."""
    return {c.split(":")[1] for c in message.custom_ids if c.startswith("discomfy:")}


async def test_a_video_result_has_no_edit_button(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    video = await wait_result(emu, await emu.invoke("animate", {"prompt": "waves", "seconds": 1}), timeout=30)
    assert video.attachments[0].filename.endswith(".mp4")
    assert "edit" not in actions(video), "✏️ Edit would open a form, then refuse a video"
    image = await wait_result(emu, await emu.invoke("generate", {"prompt": "a red fox"}))
    assert "edit" in actions(image)
    await assert_settled(emu, bot)


async def test_an_upscale_result_has_no_reroll(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    upscaled = await wait_result(emu, await emu.invoke(
        "upscale", {"factor": 2}, attachments={"image": ("photo.png", png_bytes(40, 30), "image/png")}))
    assert "reroll" not in actions(upscaled), "an upscale has no seed: a reroll would make the same image"
    assert {"info", "delete"} <= actions(upscaled)
    await assert_settled(emu, bot)


async def test_info_leaves_out_the_lora_strength_when_no_lora_was_used_and_hidden_options(
        discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    result = await wait_result(emu, await emu.invoke("generate", {"prompt": "a red fox", "seed": 5}))
    text = await answer_text(emu, await emu.click(result, next(c for c in result.custom_ids if ":info:" in c)))
    assert "steps" in text and "lora_strength" not in text, text
    varied = await wait_result(emu, await emu.click(result, next(c for c in result.custom_ids if ":vary:" in c)))
    text = await answer_text(emu, await emu.click(varied, next(c for c in varied.custom_ids if ":info:" in c)))
    assert "init_image" not in text and "denoise" not in text, "set by the Vary button, never chosen by the user"
    await assert_settled(emu, bot)


async def test_a_pack_scaffolded_from_a_graph_without_a_seed_shows_no_seed_and_no_reroll(
        tmp_path, discord_emulator, fake_comfyui):
    export = tmp_path / "api.json"
    export.write_text(json.dumps({
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 48, "batch_size": 1, "color": 255}},
        "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "SaveImage", "inputs": {"filename_prefix": "invert", "images": ["2", 0]}},
    }))
    scaffold_pack("invert", export, tmp_path / "packs")
    config = build_config(tmp_path, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                          plugin_dirs=[REPO_ROOT / "plugins"], workflow_dirs=[tmp_path / "packs"])
    async with running_bot(discord_emulator, fake_comfyui, config) as bot:
        result = await wait_result(discord_emulator, await discord_emulator.invoke("invert", {"width": 32}))
        assert "Seed" not in embed_text(result), embed_text(result)
        assert "reroll" not in actions(result)
        info = await answer_text(discord_emulator, await discord_emulator.click(
            result, next(c for c in result.custom_ids if ":info:" in c)))
        assert "Seed" not in info
        await assert_settled(discord_emulator, bot)
