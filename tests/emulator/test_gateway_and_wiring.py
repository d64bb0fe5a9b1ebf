"""Gateway login checks, message edits through components, ids, and the endpoint redirection."""

from __future__ import annotations

import asyncio
import time

import discord
import pytest
import yarl
from discord.ext import commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from discomfy.bot.discord_endpoints import point_discord_at
from discomfy.testing.discord_emulator import DiscordEmulator, snowflake_time


def plain_bot(intents: discord.Intents) -> commands.Bot:
    return commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.05)


async def test_wrong_token_fails_login(discord_emulator):
    with pytest.raises(discord.LoginFailure):
        async with discord_emulator.run_bot(plain_bot(discord.Intents.default()), token="wrong-token"):
            pass


async def test_privileged_intent_not_enabled_closes_with_4014(discord_emulator):
    discord_emulator.gateway._enabled_privileged = 0
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with discord_emulator.run_bot(plain_bot(discord.Intents.all())):
            pass
    assert discord_emulator.violations[-1].code == 4014
    assert "MESSAGE_CONTENT" in discord_emulator.violations[-1].message


async def test_all_intents_chunk_the_guild_and_become_ready(discord_emulator):
    bot = plain_bot(discord.Intents.all())
    async with discord_emulator.run_bot(bot):
        await asyncio.wait_for(bot.wait_until_ready(), 5)
        guild = bot.get_guild(int(discord_emulator.guild_id))
        assert guild.chunked and {m.name for m in guild.members} == {"DisComfy Test Bot", "owner"}


async def test_button_that_edits_its_message_keeps_working(discord_emulator, bot):
    emu = discord_emulator
    inter = await emu.invoke("counter")
    message = inter.original_message
    for expected in ("count 1", "count 2"):
        click = await emu.click(message, "count")
        assert click.response["type"] == 7 and click.original_message is message
        assert message.content == expected
    assert message.edits == 2 and not emu.violations


async def test_ids_are_time_based_snowflakes_on_the_emulator_clock(discord_emulator, bot):
    emu = discord_emulator
    before = time.time()
    inter = await emu.invoke("edit")
    assert before - 1 <= snowflake_time(inter.id) <= time.time() + 1
    emu.clock.advance(3600)
    later = await emu.invoke("edit")
    assert snowflake_time(later.id) - snowflake_time(inter.id) >= 3600
    assert discord.utils.snowflake_time(int(later.id)).timestamp() == pytest.approx(snowflake_time(later.id))


async def test_point_discord_at_redirects_rest_and_gateway():
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    try:
        point_discord_at("http://127.0.0.1:1234/api/v10/", "ws://127.0.0.1:1234/gateway")
        assert Route("GET", "/users/@me").url == "http://127.0.0.1:1234/api/v10/users/@me"
        assert DiscordWebSocket.DEFAULT_GATEWAY == yarl.URL("ws://127.0.0.1:1234/gateway")
        with pytest.raises(ValueError, match="api_base must look like"):
            point_discord_at("127.0.0.1:1234", "ws://127.0.0.1:1234/gateway")
        with pytest.raises(ValueError, match="gateway_url must be"):
            point_discord_at("http://127.0.0.1:1234/api/v10", "http://127.0.0.1:1234/gateway")
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


async def test_emulator_as_context_manager_reports_its_urls():
    async with DiscordEmulator(guild_id=42, channel_id=43, owner_id=44) as emu:
        assert emu.api_base == f"http://127.0.0.1:{emu.port}/api/v10"
        assert emu.gateway_url == f"ws://127.0.0.1:{emu.port}/gateway"
        assert (emu.guild_id, emu.channel_id, emu.owner.id) == ("42", "43", "44")
