"""A result over the upload limit says what was done to it: re-encoded as WebP, and the new size
when it had to be scaled down, so /upscale's exact factor is never broken without a word
(issue 20, point 11). Quality gives way before size does."""

from __future__ import annotations

import io
import random
import re

from PIL import Image

from tests.bot.support import assert_settled, embed_text, image_size, wait_result

SCALED = re.compile(r"re-encoded as WebP and scaled to (\d+)×(\d+) to fit this server's [\d.]+ (?:KB|MB) upload limit")


def noisy_png(width: int, height: int) -> bytes:
    """A photo-like worst case: noise compresses badly, so its upscale is large."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), random.Random(7).randbytes(width * height * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def webp_size(data: bytes, quality: int) -> int:
    buffer = io.BytesIO()
    with Image.open(io.BytesIO(data)) as image:
        image.convert("RGB").save(buffer, "WEBP", quality=quality, method=4)
    return len(buffer.getvalue())


async def upscale(emu, photo: bytes):
    inter = await emu.invoke("upscale", {"factor": 2}, attachments={"image": ("photo.png", photo, "image/png")})
    return await wait_result(emu, inter, timeout=30)


async def test_a_result_scaled_down_to_fit_says_its_new_size(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    photo = noisy_png(160, 120)
    full = (await upscale(emu, photo)).attachments[0].data
    assert image_size(full) == (320, 240)
    emu.attachment_size_limit = webp_size(full, 60) // 3  # no quality fits at this size
    message = await upscale(emu, photo)
    (image,) = message.attachments
    note = SCALED.search(embed_text(message))
    assert note, f"the note does not say the new size: {embed_text(message)!r}"
    assert image_size(image.data) == (int(note[1]), int(note[2])) and int(note[1]) < 320
    await assert_settled(emu, bot)


async def test_quality_gives_way_before_the_size_the_user_asked_for(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    photo = noisy_png(160, 120)
    full = (await upscale(emu, photo)).attachments[0].data
    emu.attachment_size_limit = webp_size(full, 60) + 64  # fits at full size, at a lower quality
    assert emu.attachment_size_limit < len(full)
    message = await upscale(emu, photo)
    assert image_size(message.attachments[0].data) == (320, 240), "the factor asked is the factor delivered"
    text = embed_text(message)
    assert "re-encoded as WebP to fit this server's" in text and "scaled" not in text, text
    await assert_settled(emu, bot)
