"""Each Discord limit is answered with Discord's status, code and error body, and recorded.

The bot side is real discord.py: the exceptions asserted here are what a bot would get from
Discord in production. Payloads discord.py refuses to build itself (6 action rows, 26 options)
are sent as raw requests through the bot's own HTTP client.
"""

from __future__ import annotations

import asyncio
import io

import discord
import pytest
from discord.http import Route


def raw_channel_message(bot, emu, payload):
    return bot.http.request(Route("POST", "/channels/{channel_id}/messages", channel_id=emu.channel_id), json=payload)


def buttons(count, prefix="b"):
    return [{"type": 2, "style": 1, "label": f"{prefix}{i}", "custom_id": f"{prefix}{i}"} for i in range(count)]


async def run_probe(emu, bot, func, **invoke):
    outcome = bot.probe.scenario(func.__name__, func)
    inter = await emu.invoke("probe", {"name": func.__name__}, **invoke)
    return inter, outcome


async def test_initial_response_after_3_seconds_is_unknown_interaction(discord_emulator, bot):
    gate = asyncio.Event()

    async def slow(interaction: discord.Interaction):
        await gate.wait()
        await interaction.response.defer()

    inter, outcome = await run_probe(discord_emulator, bot, slow, wait=False)
    discord_emulator.clock.advance(3.5)
    gate.set()
    with pytest.raises(discord.NotFound) as caught:
        await outcome
    assert caught.value.code == 10062
    assert (discord_emulator.violations[-1].status, discord_emulator.violations[-1].code) == (404, 10062)
    with pytest.raises(AssertionError, match="rejected"):
        await inter.wait_response()


async def test_token_expires_after_15_minutes(discord_emulator, bot):
    gate = asyncio.Event()

    async def late_edit(interaction: discord.Interaction):
        await interaction.response.defer()
        await gate.wait()
        await interaction.edit_original_response(content="finally")

    inter, outcome = await run_probe(discord_emulator, bot, late_edit)
    discord_emulator.clock.advance(15 * 60 + 1)
    gate.set()
    with pytest.raises(discord.HTTPException) as caught:
        await outcome
    assert (caught.value.status, caught.value.code) == (401, 50027)
    assert inter.original_message.loading


async def test_second_acknowledgement_is_rejected(discord_emulator, bot):
    async def answer_twice(interaction: discord.Interaction):
        await interaction.response.defer()
        route = Route("POST", "/interactions/{id}/{token}/callback", id=interaction.id, token=interaction.token)
        await bot.http.request(route, json={"type": 4, "data": {"content": "again"}})

    _, outcome = await run_probe(discord_emulator, bot, answer_twice)
    with pytest.raises(discord.HTTPException) as caught:
        await outcome
    assert (caught.value.status, caught.value.code) == (400, 40060)


async def test_content_over_2000_characters(discord_emulator, bot):
    async def long_reply(interaction: discord.Interaction):
        await interaction.response.send_message("x" * 2001)

    inter, outcome = await run_probe(discord_emulator, bot, long_reply, wait=False)
    with pytest.raises(discord.HTTPException) as caught:
        await outcome
    assert (caught.value.status, caught.value.code) == (400, 50035)
    assert "In data.content: Must be 2000 or fewer in length." in str(caught.value)
    assert discord_emulator.violations[-1].errors == {"data": {"content": {"_errors": [
        {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}}
    assert inter.response is None  # a rejected callback does not count as the acknowledgement


async def test_empty_message(discord_emulator, bot):
    with pytest.raises(discord.HTTPException) as caught:
        await raw_channel_message(bot, discord_emulator, {"content": ""})
    assert (caught.value.status, caught.value.code) == (400, 50006)
    assert str(discord_emulator.violations[-1]).endswith("Cannot send an empty message")


@pytest.mark.parametrize("embed, field", [
    (discord.Embed(title="t" * 257), "embeds.0.title"),
    (discord.Embed(description="d" * 4097), "embeds.0.description"),
    (discord.Embed(title="many").add_field(name="n", value="v" * 1025), "embeds.0.fields.0.value"),
    (discord.Embed(description="d" * 4000).set_footer(text="f" * 2001), "embeds"),
])
async def test_embed_limits(discord_emulator, bot, embed, field):
    with pytest.raises(discord.HTTPException) as caught:
        await bot.get_channel(int(discord_emulator.channel_id)).send(embed=embed)
    assert (caught.value.status, caught.value.code) == (400, 50035)
    assert f"In {field}" in str(caught.value)


async def test_more_than_25_embed_fields(discord_emulator, bot):
    fields = [{"name": f"f{i}", "value": "v"} for i in range(26)]
    with pytest.raises(discord.HTTPException, match="In embeds.0.fields: Must be 25 or fewer"):
        await raw_channel_message(bot, discord_emulator, {"embeds": [{"title": "t", "fields": fields}]})


@pytest.mark.parametrize("components, field", [
    ([{"type": 1, "components": buttons(1, f"r{i}-")} for i in range(6)], "components: Must be 5 or fewer"),
    ([{"type": 1, "components": buttons(6)}], "components.0.components: Must be 5 or fewer"),
    ([{"type": 1, "components": [{"type": 2, "style": 1, "label": "x", "custom_id": "c" * 101}]}],
     "components.0.components.0.custom_id: Must be between 1 and 100"),
    ([{"type": 1, "components": [{"type": 3, "custom_id": "pick",
                                  "options": [{"label": str(i), "value": str(i)} for i in range(26)]}]}],
     "components.0.components.0.options: Must be 25 or fewer"),
])
async def test_component_limits(discord_emulator, bot, components, field):
    with pytest.raises(discord.HTTPException) as caught:
        await raw_channel_message(bot, discord_emulator, {"content": "c", "components": components})
    assert (caught.value.status, caught.value.code) == (400, 50035)
    assert f"In {field}" in str(caught.value)


async def test_modal_with_more_than_5_inputs(discord_emulator, bot):
    async def big_modal(interaction: discord.Interaction):
        rows = [{"type": 1, "components": [{"type": 4, "custom_id": f"i{i}", "label": "L", "style": 1}]}
                for i in range(6)]
        route = Route("POST", "/interactions/{id}/{token}/callback", id=interaction.id, token=interaction.token)
        await bot.http.request(route, json={"type": 9, "data": {"custom_id": "m", "title": "T", "components": rows}})

    _, outcome = await run_probe(discord_emulator, bot, big_modal, wait=False)
    with pytest.raises(discord.HTTPException, match="In data.components: Must be between 1 and 5"):
        await outcome


async def test_more_than_25_autocomplete_choices(discord_emulator, bot):
    bot.probe.lora_choice_count = 26
    with pytest.raises(AssertionError, match="rejected"):
        await discord_emulator.autocomplete("generate", {"prompt": "p", "lora": ""}, focused="lora")
    violation = discord_emulator.violations[-1]
    assert (violation.code, violation.errors) == (50035, {"data": {"choices": {"_errors": [
        {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 25 or fewer in length."}]}}})


async def test_command_with_more_than_25_options_fails_to_sync(discord_emulator, bot):
    options = [{"type": 3, "name": f"o{i}", "description": "d"} for i in range(26)]
    with pytest.raises(discord.HTTPException, match="In 0.options: Must be 25 or fewer"):
        await bot.http.bulk_upsert_guild_commands(bot.application_id, discord_emulator.guild_id,
                                                  [{"name": "big", "description": "d", "options": options}])


async def test_attachment_over_the_guild_limit(discord_emulator, bot):
    discord_emulator.attachment_size_limit = 1024
    with pytest.raises(discord.HTTPException) as caught:
        await bot.get_channel(int(discord_emulator.channel_id)).send(
            file=discord.File(io.BytesIO(b"x" * 1025), "big.png"))
    assert (caught.value.status, caught.value.code) == (413, 40005)


async def test_more_than_10_files(discord_emulator, bot):
    files = [discord.File(io.BytesIO(b"x"), f"f{i}.png") for i in range(11)]
    with pytest.raises(discord.HTTPException, match="In files: Must be 10 or fewer"):
        await raw_send_files(bot, discord_emulator, files)


async def raw_send_files(bot, emu, files):
    params = discord.http.handle_message_parameters(content="many", files=files)
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=emu.channel_id)
    return await bot.http.request(route, files=params.files, form=params.multipart)
