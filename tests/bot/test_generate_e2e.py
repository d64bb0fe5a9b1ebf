"""/generate through the real discord.py, the emulator and the fake ComfyUI."""

from __future__ import annotations

import io

from PIL import Image


async def test_generate_delivers_the_image_with_seed_and_buttons(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    alice = emu.make_user("alice")
    inter = await emu.invoke("generate", {"prompt": "a lighthouse", "aspect_ratio": "16:9", "seed": 1234}, user=alice)
    message = await emu.wait_for_message(lambda m: m.id == inter.original_message.id and m.attachments, timeout=10)
    (image,) = message.attachments
    with Image.open(io.BytesIO(image.data)) as decoded:
        assert decoded.format == "PNG"
    embed = message.embeds[0]
    assert any(f["name"] == "Seed" and "1234" in f["value"] for f in embed["fields"])
    assert [c.split(":")[1] for c in message.custom_ids][:1] == ["reroll"]
    assert not emu.violations and not emu.unhandled
