"""Every bad input gets a clear ephemeral answer in time, and no job is left open.

"In time" is the emulator's job: an answer after Discord's 3 s would be a 10062 violation,
which ``assert_settled`` (run at the end of every test) refuses.
"""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image

from tests.bot.support import answer_text, assert_settled, embed_text, is_failure, png_bytes, wait_outcome, wait_result


def huge_header_png(width: int = 60_000, height: int = 60_000) -> bytes:
    """A tiny file whose header claims a gigantic image (a decompression bomb)."""
    data = bytearray(png_bytes(8, 8))
    ihdr = bytearray(data[16:29])
    ihdr[0:8] = struct.pack(">II", width, height)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


async def refusal(emu, command, options, attachments=None, user=None) -> str:
    inter = await emu.invoke(command, options, attachments=attachments, user=user)
    assert inter.response_type == 4, f"expected an immediate answer, got {inter.response}"
    return await answer_text(emu, inter)


async def test_a_text_file_is_not_an_image(discord_emulator, bot):
    emu = discord_emulator
    text = await refusal(emu, "editflux", {"prompt": "x"}, {"image": ("notes.txt", b"just words", "text/plain")})
    assert "notes.txt" in text and "PNG" in text
    await assert_settled(emu, bot)


async def test_a_truncated_png_is_refused(discord_emulator, bot):
    emu = discord_emulator
    broken = png_bytes(200, 200)[:70]
    text = await refusal(emu, "editqwen", {"prompt": "x"}, {"image": ("cut.png", broken, "image/png")})
    assert "cut.png" in text and ("damaged" in text.lower() or "truncated" in text.lower() or "could not" in text.lower())
    await assert_settled(emu, bot)


async def test_an_oversize_file_is_refused_with_the_limit(discord_emulator, start_bot):
    emu = discord_emulator
    async with start_bot(**{"limits.max_image_mb": 0.05}) as bot:
        buffer = io.BytesIO()
        Image.frombytes("RGB", (200, 200), random.Random(1).randbytes(120_000)).save(buffer, "PNG")
        text = await refusal(emu, "editflux", {"prompt": "x"}, {"image": ("big.png", buffer.getvalue(), "image/png")})
        assert "big.png" in text and "0.05 MB" in text
        await assert_settled(emu, bot)


async def test_a_decompression_bomb_is_refused(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    text = await refusal(emu, "editflux", {"prompt": "x"}, {"image": ("bomb.png", huge_header_png(), "image/png")})
    assert "bomb.png" in text and "pixels" in text.lower()
    assert not fake_comfyui.files.files["input"], "nothing was uploaded to ComfyUI"
    await assert_settled(emu, bot)


async def test_a_value_outside_the_chosen_models_schema_is_refused(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    cfg = await refusal(emu, "generate", {"prompt": "x", "cfg": 5.0})  # cfg is an sdxl option
    assert "cfg" in cfg
    synced = next(o for o in emu.command("generate")["options"] if o["name"] == "steps")
    assert (synced["min_value"], synced["max_value"]) == (10, 60), "Discord enforces the widest range"
    steps = await refusal(emu, "generate", {"prompt": "x", "steps": 55})  # sdxl allows 60, flux 50
    assert "steps" in steps and "50" in steps
    assert not fake_comfyui.worker.history
    await assert_settled(emu, bot)


async def test_an_unknown_lora_is_named_with_a_suggestion(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    text = await refusal(emu, "generate", {"prompt": "x", "lora": "style_c.safetensors"})
    assert "style_c.safetensors" in text and "not installed" in text and "/loras" in text
    await assert_settled(emu, bot)


async def test_comfyui_down_is_answered_at_once(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    await fake_comfyui.stop()
    await bot.jobs.servers.check_all()  # the health check saw it go (the bot read its nodes at start)
    text = await refusal(emu, "generate", {"prompt": "x"})
    assert "not reachable" in text and "try again" in text.lower()
    assert "127.0.0.1" not in text and "http" not in text
    await assert_settled(emu, bot)


async def test_an_execution_error_ends_the_job_with_the_reason(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    fake_comfyui.fail_at("SamplerCustomAdvanced", "CUDA out of memory")
    inter = await emu.invoke("generate", {"prompt": "x"})
    message = await wait_outcome(emu, inter)
    text = embed_text(message)
    assert is_failure(message) and "SamplerCustomAdvanced" in text and "CUDA out of memory" in text
    assert "Traceback" not in text and "execution.py" not in text
    await assert_settled(emu, bot)


async def test_the_rate_limit_says_when_to_try_again(discord_emulator, start_bot):
    emu = discord_emulator
    async with start_bot(**{"limits.per_user": 2}) as bot:
        alice = emu.make_user("alice")
        for n in range(2):
            await wait_outcome(emu, await emu.invoke("generate", {"prompt": f"p{n}"}, user=alice))
        text = await refusal(emu, "generate", {"prompt": "p3"}, user=alice)
        assert "try again" in text.lower() and "s" in text
        other = await emu.invoke("generate", {"prompt": "p4"}, user=emu.make_user("bob"))
        assert not other.original_message.ephemeral, "another user is not limited by alice's use"
        await wait_outcome(emu, other)
        await assert_settled(emu, bot)


async def test_a_slow_comfyui_still_gets_an_answer_within_discords_window(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    fake_comfyui.slow_http(2.6)  # longer than the bot may wait before answering Discord
    # a LoRA the bot has not seen there: it asks the server again before refusing, slowly
    text = await refusal(emu, "generate", {"prompt": "x", "lora": "installed_a_minute_ago.safetensors"})
    assert "did not answer in time" in text or "not reachable" in text
    fake_comfyui.slow_http(0)
    await assert_settled(emu, bot)


async def test_comfyui_down_after_a_recent_check_fails_the_job_at_once_and_retry_works_later(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    await wait_result(emu, await emu.invoke("generate", {"prompt": "one"}))
    await fake_comfyui.stop()  # the bot checked the server a moment ago, so it accepts the next job
    inter = await emu.invoke("generate", {"prompt": "two", "seed": 8})
    failed = await wait_outcome(emu, inter)
    text = embed_text(failed)
    assert is_failure(failed) and "not reachable" in text and "127.0.0.1" not in text
    await fake_comfyui.start()
    retry = next(c for c in failed.custom_ids if ":retry:" in c)
    retried = await wait_result(emu, await emu.click(failed, retry))
    assert "`8`" in embed_text(retried)
    await assert_settled(emu, bot)


async def test_loras_says_when_comfyui_is_down_for_the_command_and_its_page_buttons(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    fake_comfyui.loras = [f"style_{i:02d}.safetensors" for i in range(30)]
    listing = (await emu.invoke("loras")).original_message
    await fake_comfyui.stop()
    page = await emu.click(listing, next(c for c in listing.custom_ids if c.startswith("loras:page:2")))
    assert "not reachable" in await answer_text(emu, page)
    assert "not reachable" in await refusal(emu, "loras", {})
    await assert_settled(emu, bot)
