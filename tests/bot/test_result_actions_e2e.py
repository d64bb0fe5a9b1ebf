"""Per-image buttons, Upscale and Vary, clicked in the emulator against the fake ComfyUI,
also after a restart; the Upscale message menu on another user's image."""

from __future__ import annotations

from discomfy.core.jobs.execution import upload_name
from discomfy.testing.bot_harness import running_bot
from tests.bot.support import (answer_text, embed_text, assert_settled, image_size, job_id_of, png_bytes, wait_idle,
                               wait_result)


def buttons(message) -> dict[str, str]:
    """custom_id -> label of every button on a message."""
    return {c["custom_id"]: c.get("label") for c in message.iter_components() if c.get("type") == 2}


def button(message, action: str, number: int | None = None) -> str:
    wanted = [c for c in message.custom_ids if c.split(":")[1] == action
              and (number is None or c.split(":")[3:] == [str(number)])]
    assert wanted, f"no {action} {number or ''} button on {message!r}"
    return wanted[0]


def last_graph(fake) -> dict:
    return list(fake.worker.history.values())[-1]["prompt"][2]


def loaded_images(graph) -> list[str]:
    return [n["inputs"]["image"] for n in graph.values() if n["class_type"] == "LoadImage"]


async def generate(emu, user=None, **options):
    return await wait_result(emu, await emu.invoke("generate", {"prompt": "a red fox", "seed": 11, **options}, user=user))


async def test_a_batch_of_four_shows_u1_to_u4_and_v1_to_v4_a_single_image_the_named_buttons(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    batch = await generate(emu, batch=4)
    job = job_id_of(batch)
    labels = buttons(batch)
    for n in range(1, 5):
        assert labels[f"discomfy:upscale:{job}:{n}"] == f"U{n}"
        assert labels[f"discomfy:vary:{job}:{n}"] == f"V{n}"
    assert not any(":vary_strong:" in c for c in labels), "strong variations are for single images"
    rows = [row for row in batch.components if row["type"] == 1]
    assert len(rows) <= 5 and all(len(row["components"]) <= 5 for row in rows)
    assert [c["label"] for c in rows[1]["components"]] == ["U1", "U2", "U3", "U4"]

    single = await generate(emu)
    single_labels = set(buttons(single).values())
    assert {"Reroll", "Info", "Delete", "Upscale", "Vary (subtle)", "Vary (strong)"} <= single_labels
    await assert_settled(emu, bot)


async def test_u2_upscales_image_two_to_exactly_twice_its_size(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    batch = await generate(emu, batch=4, aspect_ratio="16:9")
    second = batch.attachments[1]
    upscaled = await wait_result(emu, await emu.click(batch, button(batch, "upscale", 2)))
    width, height = image_size(second.data)
    assert image_size(upscaled.attachments[0].data) == (2 * width, 2 * height)
    graph = last_graph(fake_comfyui)
    assert loaded_images(graph) == [upload_name(second.filename)], "image 2 was the one upscaled"
    assert {n["class_type"] for n in graph.values()} >= {"UpscaleModelLoader", "ImageUpscaleWithModel", "ImageScale"}
    await assert_settled(emu, bot)


async def test_v1_varies_image_one_with_a_new_seed_and_subtle_denoise(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    batch = await generate(emu, batch=4, steps=12)
    first = batch.attachments[0]
    varied = await wait_result(emu, await emu.click(batch, button(batch, "vary", 1)))
    job = await bot.jobs.store.get(job_id_of(varied))
    assert job.workflow == "generate-flux" and job.parameters["prompt"] == "a red fox" and job.parameters["steps"] == 12
    assert job.seed != 11 and job.parameters["denoise"] == 0.35
    assert "Denoise" not in embed_text(varied)  # a hidden option: nothing a user reads names it
    graph = last_graph(fake_comfyui)
    assert loaded_images(graph) == [upload_name(first.filename)]
    assert graph["9"]["inputs"]["denoise"] == 0.35 and graph["7"]["inputs"]["noise_seed"] == job.seed
    encoded = next(nid for nid, n in graph.items() if n["class_type"] == "VAEEncode")
    repeat = next(n for n in graph.values() if n["class_type"] == "RepeatLatentBatch")
    assert repeat["inputs"] == {"samples": [encoded, 0], "amount": 4} and len(varied.attachments) == 4
    await assert_settled(emu, bot)


async def test_vary_strong_on_a_single_image_and_no_vary_for_a_model_without_img2img(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    single = await generate(emu)
    strong = await wait_result(emu, await emu.click(single, button(single, "vary_strong")))
    assert (await bot.jobs.store.get(job_id_of(strong))).parameters["denoise"] == 0.65
    assert last_graph(fake_comfyui)["9"]["inputs"]["denoise"] == 0.65
    edited = await wait_result(emu, await emu.invoke("editflux", {"prompt": "add a hat"},
                                                     attachments={"image": ("cat.png", png_bytes(), "image/png")}))
    labels = set(buttons(edited).values())
    assert "Upscale" in labels and not labels & {"Vary (subtle)", "Vary (strong)"}
    await assert_settled(emu, bot)


async def test_upscale_command_gives_the_factor_asked_whatever_the_models_scale(discord_emulator, fake_comfyui, start_bot):
    emu = discord_emulator
    async with start_bot(**{"upscale.model": "RealESRGAN_x2plus.pth"}) as bot:  # the model makes 2x
        photo = png_bytes(90, 60, "blue")
        inter = await emu.invoke("upscale", {"factor": 4}, attachments={"image": ("photo.png", photo, "image/png")})
        result = await wait_result(emu, inter)
        assert image_size(result.attachments[0].data) == (360, 240)
        graph = last_graph(fake_comfyui)
        loader = next(n for n in graph.values() if n["class_type"] == "UpscaleModelLoader")
        assert loader["inputs"]["model_name"] == "RealESRGAN_x2plus.pth"
        await assert_settled(emu, bot)


async def test_upscale_refuses_a_result_larger_than_comfyui_makes(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    wide = png_bytes(4200, 8, "green")
    inter = await emu.invoke("upscale", {"factor": 4}, attachments={"image": ("wide.png", wide, "image/png")})
    text = await answer_text(emu, inter)
    assert "4200×8" in text and "16800×32" in text and "Try factor 2" in text
    assert not fake_comfyui.worker.history
    await assert_settled(emu, bot)


async def test_the_upscale_menu_upscales_an_image_another_user_posted(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    alice, bob = emu.make_user("alice"), emu.make_user("bob")
    posted = await emu.post_message("my drawing", user=alice,
                                    attachments=[("drawing.png", png_bytes(50, 40, "red"), "image/png")])
    inter = await emu.invoke_message_command("Upscale", posted, user=bob)
    result = await wait_result(emu, inter)
    assert image_size(result.attachments[0].data) == (100, 80)
    assert (await bot.jobs.store.get(job_id_of(result))).user_id == int(bob.id)
    text_only = await emu.post_message("no picture here", user=alice)
    refused = await emu.invoke_message_command("Upscale", text_only, user=bob)
    assert "no image to upscale" in await answer_text(emu, refused)
    await assert_settled(emu, bot)


async def test_per_image_buttons_work_after_a_restart(discord_emulator, fake_comfyui, bot_config):
    emu = discord_emulator
    async with running_bot(emu, fake_comfyui, bot_config) as first:
        batch = await generate(emu, batch=2)
        single = await generate(emu, prompt="an owl")
        await wait_idle(first)
    async with running_bot(emu, fake_comfyui, bot_config) as second:
        upscaled = await wait_result(emu, await emu.click(batch, button(batch, "upscale", 2)))
        assert image_size(upscaled.attachments[0].data) == tuple(2 * s for s in image_size(batch.attachments[1].data))
        varied = await wait_result(emu, await emu.click(batch, button(batch, "vary", 1)))
        assert (await second.jobs.store.get(job_id_of(varied))).parameters["denoise"] == 0.35
        strong = await wait_result(emu, await emu.click(single, button(single, "vary_strong")))
        assert (await second.jobs.store.get(job_id_of(strong))).parameters["prompt"] == "an owl"
        await assert_settled(emu, second)


async def test_the_button_factor_setting_applies_to_the_menu_and_the_buttons(discord_emulator, fake_comfyui, start_bot):
    emu = discord_emulator
    async with start_bot(**{"upscale.button_factor": 4}) as bot:
        posted = await emu.post_message("tiny", attachments=[("tiny.png", png_bytes(30, 20, "red"), "image/png")])
        menu = await wait_result(emu, await emu.invoke_message_command("Upscale", posted))
        assert image_size(menu.attachments[0].data) == (120, 80)
        again = await wait_result(emu, await emu.click(menu, button(menu, "upscale")))
        assert image_size(again.attachments[0].data) == (480, 320)
        await assert_settled(emu, bot)


async def test_a_button_of_a_plugin_removed_since_says_so_in_plain_words(discord_emulator, fake_comfyui, start_bot):
    emu = discord_emulator
    async with start_bot() as first:
        result = await generate(emu)
        await wait_idle(first)
    async with start_bot(**{"plugins.disabled": ["vary"]}) as second:
        click = await emu.click(result, button(result, "vary"))
        assert "plugin that is not loaded" in await answer_text(emu, click)
        again = await wait_result(emu, await emu.invoke("generate", {"prompt": "an owl"}))
        assert not any(":vary" in c for c in again.custom_ids), "no Vary button without the plugin"
        await assert_settled(emu, second)


async def test_upscale_refuses_a_factor_discord_would_not_offer(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    inter = await emu.invoke("upscale", {"factor": 3}, strict=False,
                             attachments={"image": ("a.png", png_bytes(), "image/png")})
    assert "`factor` must be 2 or 4 (you gave 3)" in await answer_text(emu, inter)
    assert not fake_comfyui.worker.history
    await assert_settled(emu, bot)
