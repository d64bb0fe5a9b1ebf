"""The emulator carries a real discord.py bot through login, sync and every interaction kind."""

from __future__ import annotations

import asyncio

import discord
import pytest

PNG = b"\x89PNG\r\n\x1a\n fake image bytes"


async def test_login_syncs_commands_and_receives_the_guild(discord_emulator, bot):
    emu = discord_emulator
    assert str(bot.user.id) == emu.bot_user["id"]
    assert str(bot.application_id) == emu.application_id
    assert bot.get_guild(int(emu.guild_id)).get_channel(int(emu.channel_id)).name == "general"
    assert {c["name"] for c in emu.commands} == {"generate", "edit", "counter", "model", "whois", "probe"}
    generate = emu.command("generate")
    assert [o["name"] for o in generate["options"]] == ["prompt", "steps", "image", "lora"]
    sync = await emu.wait_for_request(lambda r: r.method == "PUT" and r.path.endswith("/commands"))
    assert sync.headers["Authorization"] == "Bot test-token"
    assert not emu.violations and not emu.unhandled


async def test_slash_command_defer_then_followup_edits_the_original(discord_emulator, bot):
    emu = discord_emulator
    alice = emu.make_user("alice")
    inter = await emu.invoke("generate", {"prompt": "a cat", "steps": 30}, user=alice,
                             attachments={"image": ("cat.png", PNG, "image/png")})
    assert inter.response == {"type": 5}
    msg = await emu.wait_for_message(lambda m: m.content.startswith("done"))
    assert msg.content == f"done: a cat (30 steps, init {len(PNG)} bytes, lora None)"
    assert msg is inter.original_message and not msg.loading and inter.followups == []
    assert msg.attachment("result.png").data == b"\x89PNG result"
    assert msg.attachment("result.png").content_type == "image/png"
    assert msg.custom_ids == ["again", "edit"]
    upload = await emu.wait_for_request(lambda r: r.method == "POST" and r.path.startswith("/webhooks/"))
    assert [(f.name, f.filename, f.data) for f in upload.files] == [("files[0]", "result.png", b"\x89PNG result")]
    assert not emu.violations and not emu.unhandled


async def test_second_followup_is_a_new_message(discord_emulator, bot):
    async def two_followups(interaction: discord.Interaction):
        await interaction.response.defer(thinking=True)
        first = await interaction.followup.send("first", wait=True)
        second = await interaction.followup.send("second", wait=True)
        return first.id, second.id

    outcome = bot.probe.scenario("followups", two_followups)
    inter = await discord_emulator.invoke("probe", {"name": "followups"})
    first_id, second_id = await outcome
    assert str(first_id) == inter.original_message.id
    assert [m.content for m in inter.followups] == ["second"] and str(second_id) == inter.followups[0].id


async def test_button_click_reaches_the_view_registered_for_that_message(discord_emulator, bot):
    emu = discord_emulator
    await emu.invoke("generate", {"prompt": "a dog"})
    msg = await emu.wait_for_message(lambda m: m.content.startswith("done"))
    bob = emu.make_user("bob")
    click = await emu.click(msg, "again", user=bob)
    assert click.response["type"] == 4
    assert click.original_message.content == "again for bob"
    with pytest.raises(AssertionError, match="no component with custom_id='nope'"):
        await emu.click(msg, "nope")


async def test_modal_from_command_and_from_button(discord_emulator, bot):
    emu = discord_emulator
    inter = await emu.invoke("edit")
    assert inter.modal["title"] == "Edit prompt"
    submitted = await emu.submit_modal(inter, {"Prompt": "a red fox"})
    assert submitted.original_message.content == "new prompt: a red fox / blurry"

    await emu.invoke("generate", {"prompt": "x"})
    msg = await emu.wait_for_message(lambda m: m.content.startswith("done"))
    opened = await emu.click(msg, "edit")
    submitted = await emu.submit_modal(opened, {"prompt": "y", "negative": "noise"})
    assert submitted.original_message.content == "new prompt: y / noise"
    with pytest.raises(AssertionError, match="is required"):
        await emu.submit_modal(opened, {"negative": "n"})


async def test_autocomplete_returns_the_bots_choices(discord_emulator, bot):
    choices = await discord_emulator.autocomplete("generate", {"prompt": "p", "lora": "det"}, focused="lora")
    assert [c["value"] for c in choices] == ["detail-tweaker", "detailed-eyes"]


async def test_options_are_checked_against_the_synced_schema(discord_emulator, bot):
    emu = discord_emulator
    with pytest.raises(AssertionError, match="no slash command named 'nope'"):
        await emu.invoke("nope")
    with pytest.raises(AssertionError, match="has no option 'colour'"):
        await emu.invoke("generate", {"prompt": "p", "colour": "red"})
    with pytest.raises(AssertionError, match="requires option 'prompt'"):
        await emu.invoke("generate", {"steps": 3})
    with pytest.raises(AssertionError, match="needs an int"):
        await emu.invoke("generate", {"prompt": "p", "steps": "20"})
    with pytest.raises(AssertionError, match=r"must be within \[1, 150\]"):
        await emu.invoke("generate", {"prompt": "p", "steps": 151})


async def test_channel_messages_create_edit_fetch_delete(discord_emulator, bot):
    emu = discord_emulator
    channel = bot.get_channel(int(emu.channel_id))
    sent = await channel.send("queued", file=discord.File(__import__("io").BytesIO(b"abc"), "a.txt"))
    await sent.edit(content="finished", attachments=[])
    stored = await emu.wait_for_message(lambda m: m.content == "finished")
    assert stored.id == str(sent.id) and stored.attachments == [] and stored.edits == 1
    fetched = await channel.fetch_message(sent.id)
    assert fetched.content == "finished"
    await fetched.delete()
    assert stored.deleted
    with pytest.raises(discord.NotFound):
        await channel.fetch_message(sent.id)


async def test_attachment_bytes_are_served_for_attachment_read(discord_emulator, bot):
    async def read_back(interaction: discord.Interaction):
        await interaction.response.send_message("here", file=discord.File(__import__("io").BytesIO(PNG), "x.png"))
        message = await interaction.original_response()
        return await message.attachments[0].read()

    outcome = bot.probe.scenario("read", read_back)
    await discord_emulator.invoke("probe", {"name": "read"})
    assert await outcome == PNG


async def test_injected_429_is_retried_by_discord_py(discord_emulator, bot):
    emu = discord_emulator
    emu.inject_429("/channels/*/messages", retry_after=0.05, times=1)
    emu.inject_429("PATCH /channels/*/messages/*", retry_after=0.05, times=2)
    message = await bot.get_channel(int(emu.channel_id)).send("after a rate limit")
    statuses = [r.status for r in emu.requests if r.path == f"/channels/{emu.channel_id}/messages"]
    assert statuses == [429, 200]
    await message.edit(content="edited after two rate limits")
    assert [r.status for r in emu.requests if r.method == "PATCH"] == [429, 429, 200]
    assert (await emu.wait_for_message(lambda m: m.id == str(message.id))).content == "edited after two rate limits"


async def test_injected_global_429_on_a_followup_is_retried(discord_emulator, bot):
    emu = discord_emulator
    rule = emu.inject_429(lambda r: r.method == "POST" and r.path.startswith("/webhooks/"), retry_after=0.05,
                          global_=True)
    await emu.invoke("generate", {"prompt": "rate limited"})
    message = await emu.wait_for_message(lambda m: "rate limited" in m.content)
    limited = [r for r in emu.requests if r.status == 429]
    assert rule.times == 0 and len(limited) == 1 and limited[0].response["global"] is True
    assert message.attachments and not emu.violations


async def test_gateway_reconnect_resumes_and_commands_keep_working(discord_emulator, bot):
    emu = discord_emulator
    await emu.request_reconnect()
    assert emu.gateway.resumes == 1 and emu.gateway.connections == 2
    await emu.invoke("generate", {"prompt": "after resume"})
    assert (await emu.wait_for_message(lambda m: "after resume" in m.content)).attachments


async def test_unknown_routes_answer_404_and_are_recorded(discord_emulator, bot):
    with pytest.raises(discord.NotFound):
        await bot.fetch_guild(int(discord_emulator.guild_id))
    assert [r.path for r in discord_emulator.unhandled] == [f"/guilds/{discord_emulator.guild_id}"]


async def test_bot_that_never_responds_fails_the_wait_clearly(discord_emulator, bot):
    async def silent(interaction: discord.Interaction):
        return None

    bot.probe.scenario("silent", silent)
    with pytest.raises(AssertionError, match=r"no interaction response to /probe"):
        await discord_emulator.invoke("probe", {"name": "silent"}, timeout=0.2)


async def test_subcommand_and_ephemeral_response(discord_emulator, bot):
    inter = await discord_emulator.invoke("model info", {"name": "sdxl", "verbose": True})
    assert inter.original_message.content == "model sdxl verbose=True"
    assert inter.original_message.ephemeral
    with pytest.raises(AssertionError, match="needs a subcommand"):
        await discord_emulator.invoke("model")


async def test_member_option_is_resolved_and_ephemeral_defer_followups(discord_emulator, bot):
    emu = discord_emulator
    carol = emu.make_user("carol")
    inter = await emu.invoke("whois", {"member": carol})
    assert inter.response == {"type": 5, "data": {"flags": 64}}
    second = await emu.wait_for_message(lambda m: m.content == "second, also private")
    assert inter.original_message.content == f"carol ({carol.id})" and inter.original_message.ephemeral
    assert inter.followups == [second] and second.ephemeral


async def test_user_messages_reach_the_bot_without_content_intent(discord_emulator, bot):
    emu = discord_emulator
    alice = emu.make_user("alice")
    seen = asyncio.create_task(bot.wait_for("message", check=lambda m: m.author.id == int(alice.id), timeout=5))
    await emu.post_message("secret words", user=alice)
    assert (await seen).content == ""  # Intents.default() has no MESSAGE_CONTENT
    seen = asyncio.create_task(bot.wait_for("message", check=lambda m: m.author.id == int(alice.id), timeout=5))
    await emu.post_message(f"<@{bot.user.id}> hello", user=alice)
    assert (await seen).content.endswith("hello")


async def test_bot_sees_its_own_channel_messages_as_gateway_events(discord_emulator, bot):
    channel = bot.get_channel(int(discord_emulator.channel_id))
    seen = asyncio.create_task(bot.wait_for("message", check=lambda m: m.content == "mine", timeout=5))
    sent = await channel.send("mine")
    assert (await seen).id == sent.id
