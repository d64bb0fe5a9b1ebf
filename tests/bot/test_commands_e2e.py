"""Every command's happy path, through discord.py, the emulator and the fake ComfyUI."""

from __future__ import annotations

from tests.bot.support import assert_settled, embed_text, image_size, png_bytes, saved_outputs, wait_result


async def test_generate_flux_attaches_the_image_comfyui_made_in_the_asked_shape(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    inter = await emu.invoke("generate", {"prompt": "a lighthouse", "aspect_ratio": "16:9", "seed": 7},
                             user=emu.make_user("alice"))
    message = await wait_result(emu, inter)
    (image,) = message.attachments
    assert image.data in saved_outputs(fake_comfyui)
    width, height = image_size(image.data)
    assert abs(width / height - 16 / 9) < 0.05
    assert "flux" in embed_text(message)
    await assert_settled(emu, bot)


async def test_generate_with_the_sdxl_model_runs_the_sdxl_workflow(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    inter = await emu.invoke("generate", {"prompt": "a castle", "model": "sdxl", "aspect_ratio": "3:2", "batch": 2,
                                          "steps": 55})  # beyond flux's 50: sdxl's own limit applies
    message = await wait_result(emu, inter)
    assert len(message.attachments) == 2, "a batch arrives in one message"
    assert {a.data for a in message.attachments} <= set(saved_outputs(fake_comfyui))
    width, height = image_size(message.attachments[0].data)
    assert abs(width / height - 3 / 2) < 0.05 and width % 64 == 0
    assert "sdxl" in embed_text(message)
    graph = fake_comfyui.worker.history[next(iter(fake_comfyui.worker.history))]["prompt"][2]
    assert any(node["class_type"] == "CheckpointLoaderSimple" for node in graph.values())
    assert [n["inputs"]["steps"] for n in graph.values() if n["class_type"] == "KSampler"] == [55]
    await assert_settled(emu, bot)


async def test_editflux_keeps_the_attached_image_aspect_ratio(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    inter = await emu.invoke("editflux", {"prompt": "make it night"},
                             attachments={"image": ("photo.png", png_bytes(300, 150), "image/png")})
    message = await wait_result(emu, inter)
    (image,) = message.attachments
    assert image.data in saved_outputs(fake_comfyui)
    width, height = image_size(image.data)
    assert abs(width / height - 2.0) < 0.1
    assert png_bytes(300, 150) in fake_comfyui.files.files["input"].values(), "the attachment was uploaded"
    await assert_settled(emu, bot)


async def test_editqwen_takes_one_to_three_images(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    one = await emu.invoke("editqwen", {"prompt": "add a hat"},
                           attachments={"image": ("a.png", png_bytes(120, 160, "blue"), "image/png")})
    message = await wait_result(emu, one)
    width, height = image_size(message.attachments[0].data)
    assert abs(width / height - 120 / 160) < 0.05
    three = await emu.invoke("editqwen", {"prompt": "put them together"}, attachments={
        "image": ("a.png", png_bytes(100, 100, "green"), "image/png"),
        "image2": ("b.png", png_bytes(80, 60, "yellow"), "image/png"),
        "image3": ("c.jpg", _jpeg(64, 64), "image/jpeg"),
    })
    message = await wait_result(emu, three)
    assert message.attachments[0].data in saved_outputs(fake_comfyui)
    uploaded = list(fake_comfyui.files.files["input"].values())
    assert png_bytes(80, 60, "yellow") in uploaded and _jpeg(64, 64) in uploaded
    await assert_settled(emu, bot)


def _jpeg(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "purple").save(buffer, "JPEG")
    return buffer.getvalue()


async def test_loras_lists_filters_and_pages_past_25(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    fake_comfyui.loras = [f"style_{i:02d}.safetensors" for i in range(50)] + [f"anime/char_{i}.safetensors" for i in range(10)]
    first = await emu.invoke("loras")
    page1 = first.original_message
    assert page1.ephemeral
    assert "style_00.safetensors" in embed_text(page1) and "Page 1/3" in embed_text(page1)
    assert embed_text(page1).count(".safetensors`") == 25
    next_id = next(c for c in page1.custom_ids if c.startswith("loras:page:2"))
    await emu.click(page1, next_id)
    assert "Page 2/3" in embed_text(page1)
    shown = embed_text(page1)
    assert "style_00.safetensors" not in shown and "style_25.safetensors" in shown
    filtered = await emu.invoke("loras", {"filter": "anime"})
    text = embed_text(filtered.original_message)
    assert text.count(".safetensors`") == 10 and "style_" not in text.split("Page")[0]
    late = await emu.invoke("loras", {"page": 3})
    last = embed_text(late.original_message)
    assert "Page 3/3" in last and "style_49.safetensors" in last and "style_39.safetensors" not in last
    await assert_settled(emu, bot)


async def test_lora_option_autocompletes_from_the_server(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    fake_comfyui.loras = [f"style_{i:02d}.safetensors" for i in range(40)] + ["portrait_fox.safetensors"]
    choices = await emu.autocomplete("generate", {"prompt": "x", "lora": "fox"}, focused="lora")
    assert [c["value"] for c in choices] == ["portrait_fox.safetensors"]
    many = await emu.autocomplete("generate", {"prompt": "x", "lora": "style"}, focused="lora")
    assert len(many) == 25
    inter = await emu.invoke("generate", {"prompt": "a fox", "lora": "portrait_fox.safetensors"})
    message = await wait_result(emu, inter)
    assert "portrait_fox.safetensors" in embed_text(message)
    graph = next(iter(fake_comfyui.worker.history.values()))["prompt"][2]
    assert any(n["inputs"].get("lora_name") == "portrait_fox.safetensors" for n in graph.values())
    await assert_settled(emu, bot)


async def test_help_lists_every_synced_command_with_its_options(discord_emulator, bot):
    emu = discord_emulator
    inter = await emu.invoke("help")
    text = embed_text(inter.original_message)
    assert inter.original_message.ephemeral
    assert emu.commands
    for command in emu.commands:
        shown = f"/{command['name']}" if command.get("type", 1) == 1 else f"Apps → {command['name']}"
        assert shown in text, f"/help does not mention {shown}"
    for option in ("prompt", "aspect_ratio", "lora", "image2"):
        assert f"`{option}`" in text
    await assert_settled(emu, bot)


async def test_a_result_above_the_upload_limit_is_reencoded_to_fit(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    first = await wait_result(emu, await emu.invoke("generate", {"prompt": "big", "seed": 3}))
    png_size = len(first.attachments[0].data)
    emu.attachment_size_limit = png_size // 2
    inter = await emu.invoke("generate", {"prompt": "big", "seed": 3})
    message = await wait_result(emu, inter)
    (image,) = message.attachments
    assert image.filename.endswith(".webp") and len(image.data) <= png_size // 2
    assert image_size(image.data) == image_size(first.attachments[0].data), "same picture, smaller file"
    assert "re-encoded" in embed_text(message) and "upload limit" in embed_text(message)
    await assert_settled(emu, bot)


def test_help_stays_within_discords_embed_limits_however_many_commands_there_are():
    """Every command gets a field: with many plugins /help would pass Discord's 6,000
    characters or 25 fields, and Discord would refuse the whole answer."""
    import discord

    from discomfy.bot.commands.help import EMBED_TOTAL_LIMIT, MORE, within_limits

    embed = discord.Embed(title="DisComfy commands")
    for n in range(30):
        embed.add_field(name=f"/command{n:02}", value="an option described at length. " * 10, inline=False)
    assert len(embed) > EMBED_TOTAL_LIMIT
    fitted = within_limits(embed)
    assert len(fitted) <= EMBED_TOTAL_LIMIT and len(fitted.fields) <= 25
    assert fitted.fields[0].name == "/command00" and fitted.footer.text == MORE
