"""/settings: a user's defaults reach their next jobs' rendered graphs, explicit options win,
the values survive a restart, /settings reset forgets them, and results say which values
came from the defaults."""

from __future__ import annotations

from discomfy.testing.bot_harness import running_bot
from tests.bot.support import answer_text, assert_settled, embed_text, wait_result

SDXL_CHECKPOINT = "sd_xl_base_1.0.safetensors"


def last_graph(fake) -> dict:
    return list(fake.worker.history.values())[-1]["prompt"][2]


def latent_size(graph) -> tuple[int, int]:
    (node,) = [n for n in graph.values() if "Latent" in n["class_type"] and "width" in n["inputs"]]
    return node["inputs"]["width"], node["inputs"]["height"]


def lora_loaders(graph) -> list[dict]:
    return [n["inputs"] for n in graph.values() if n["class_type"].startswith("LoraLoader")]


def titled(graph, title) -> dict:
    (node,) = [n for n in graph.values() if n.get("_meta", {}).get("title") == title]
    return node["inputs"]


async def generate(emu, user, **options):
    inter = await emu.invoke("generate", {"prompt": "a lighthouse", **options}, user=user)
    return await wait_result(emu, inter, timeout=15)


async def test_defaults_reach_the_graph_explicit_options_win_and_they_survive_a_restart(
        discord_emulator, fake_comfyui, bot_config):
    emu, fake = discord_emulator, fake_comfyui
    fake.checkpoints = [*fake.checkpoints, SDXL_CHECKPOINT]
    alice, bob = emu.make_user("alice"), emu.make_user("bob")
    async with running_bot(emu, fake, bot_config) as bot:
        saved = await emu.invoke("settings set", {"model": "generate:sdxl", "aspect_ratio": "16:9",
                                                  "negative_prompt": "people, text", "lora": "style_a.safetensors",
                                                  "lora_strength": 0.6}, user=alice)
        shown = await answer_text(emu, saved)
        for line in ("Model for /generate: `sdxl`", "Aspect ratio: `16:9`", "LoRA: `style_a.safetensors`",
                     "LoRA strength: `0.6`", "Negative prompt: `people, text`"):
            assert line in shown, shown

        result = await generate(emu, alice)
        graph = last_graph(fake)
        assert titled(graph, "Load Checkpoint")["ckpt_name"] == SDXL_CHECKPOINT  # the sdxl model
        width, height = latent_size(graph)
        assert abs(width / height - 16 / 9) < 0.05
        assert titled(graph, "Negative Prompt")["text"] == "people, text"
        assert [(l["lora_name"], l["strength_model"]) for l in lora_loaders(graph)] == [("style_a.safetensors", 0.6)]
        assert "From your defaults: aspect_ratio, lora, lora_strength, model, negative_prompt" in embed_text(result)
        info = await emu.click(result, next(c for c in result.custom_ids if c.startswith("discomfy:info:")), user=alice)
        info_text = await answer_text(emu, info)
        assert "aspect_ratio (your defaults)" in info_text and "lora (your defaults)" in info_text
        assert "\nprompt (your defaults)" not in info_text and "steps (your defaults)" not in info_text

        result = await generate(emu, alice, model="flux", aspect_ratio="1:1", lora_strength=1.2)
        graph = last_graph(fake)
        assert latent_size(graph) == (1024, 1024)  # explicit aspect ratio and model win
        assert "CheckpointLoaderSimple" not in {n["class_type"] for n in graph.values()}
        assert [(l["lora_name"], l["strength_model"]) for l in lora_loaders(graph)] == [("style_a.safetensors", 1.2)]
        assert "From your defaults: lora\n" in embed_text(result) + "\n"  # flux takes no negative prompt
        reroll = await emu.click(result, next(c for c in result.custom_ids if c.startswith("discomfy:reroll:")), user=alice)
        await wait_result(emu, reroll, timeout=15)  # a reroll reproduces the job, defaults do not creep in
        assert latent_size(last_graph(fake)) == (1024, 1024)
        assert "CheckpointLoaderSimple" not in {n["class_type"] for n in last_graph(fake).values()}

        await generate(emu, bob)  # someone else's jobs are untouched
        assert latent_size(last_graph(fake)) == (1024, 1024) and not lora_loaders(last_graph(fake))
        await assert_settled(emu, bot)

    async with running_bot(emu, fake, bot_config) as bot:  # a restart: the defaults are still there
        await generate(emu, alice)
        graph = last_graph(fake)
        assert titled(graph, "Load Checkpoint")["ckpt_name"] == SDXL_CHECKPOINT
        assert abs(latent_size(graph)[0] / latent_size(graph)[1] - 16 / 9) < 0.05

        await answer_text(emu, await emu.invoke("settings reset", {"setting": "lora"}, user=alice))
        await generate(emu, alice)
        assert not lora_loaders(last_graph(fake))
        cleared = await answer_text(emu, await emu.invoke("settings reset", {}, user=alice))
        assert "no defaults" in cleared
        result = await generate(emu, alice)
        assert latent_size(last_graph(fake)) == (1024, 1024)
        assert "From your defaults" not in embed_text(result)
        await assert_settled(emu, bot)


async def test_settings_refuse_what_cannot_be_saved_in_plain_words(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    text = await answer_text(emu, await emu.invoke("settings set", {"model": "generate:nope"}))
    assert "`model` must be a command and one of its models" in text and "`generate:sdxl`" in text
    text = await answer_text(emu, await emu.invoke("settings set", {}))
    assert "Give at least one option" in text
    text = await answer_text(emu, await emu.invoke("settings show", {}))
    assert "no defaults yet" in text
    choices = await emu.autocomplete("settings set", {"model": "sd"}, focused="model")
    assert [c["value"] for c in choices] == ["generate:sdxl"]
    choices = await emu.autocomplete("settings set", {"lora": "style"}, focused="lora")
    assert [c["value"] for c in choices] == ["style_a.safetensors", "style_b.safetensors"]  # the server's LoRAs
    await assert_settled(emu, bot)


async def test_a_default_a_command_cannot_take_is_skipped(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    await answer_text(emu, await emu.invoke("settings set", {"aspect_ratio": "21:9"}))
    inter = await emu.invoke("animate", {"prompt": "rain", "seconds": 1})
    message = await wait_result(emu, inter, timeout=30)  # /animate offers 16:9, 9:16, 1:1 only
    assert latent_size(last_graph(fake_comfyui)) == (1280, 704)
    assert "From your defaults" not in embed_text(message)
    await generate(emu, None)
    width, height = latent_size(last_graph(fake_comfyui))
    assert abs(width / height - 21 / 9) < 0.05
    await assert_settled(emu, bot)


async def test_results_only_to_me_stay_private_even_past_the_token(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    alice = emu.make_user("alice")
    await answer_text(emu, await emu.invoke("settings set", {"results": "me"}, user=alice))
    quick = await emu.invoke("generate", {"prompt": "a secret garden"}, user=alice)
    message = await wait_result(emu, quick)
    assert message.ephemeral and message.attachments  # only alice sees it

    fake_comfyui.simulate("SamplerCustomAdvanced", steps=40, step_delay=0.01)
    slow = await emu.invoke("generate", {"prompt": "a slow secret"}, user=alice)
    assert slow.original_message.ephemeral
    await emu.wait_for_message(lambda m: m.id == slow.original_message.id and "Step" in embed_text(m))
    emu.clock.advance(16 * 60)  # the token is gone: the result must not land in the channel
    late = await emu.wait_for_message(lambda m: m.attachments and m.id not in (message.id, slow.original_message.id),
                                      timeout=10)
    dm = emu.channels[late.channel_id]
    assert dm["type"] == 1 and dm["recipients"][0]["id"] == alice.id, "delivered as a direct message to alice"
    assert not [m for m in emu.messages.values() if m.channel_id == emu.channel_id and m.attachments and not m.ephemeral]

    public = await emu.invoke("generate", {"prompt": "for everyone"})  # other users are unaffected
    assert not (await wait_result(emu, public)).ephemeral
    await assert_settled(emu, bot)


async def test_help_shows_which_values_come_from_the_users_defaults(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    alice, bob = emu.make_user("alice"), emu.make_user("bob")
    await answer_text(emu, await emu.invoke("settings set", {"model": "generate:sdxl", "aspect_ratio": "9:16",
                                                             "negative_prompt": "blur"}, user=alice))
    text = await answer_text(emu, await emu.invoke("help", {}, user=alice))
    assert "/generate: model `sdxl`, aspect_ratio `9:16`, negative_prompt `blur` (your defaults)" in text
    assert "/animate: aspect_ratio `9:16`, negative_prompt `blur` (your defaults)" in text
    assert not [line for line in text.splitlines() if line.startswith("/editflux:") and "your defaults" in line]
    assert "Filled in for you" not in await answer_text(emu, await emu.invoke("help", {}, user=bob))
    await assert_settled(emu, bot)
