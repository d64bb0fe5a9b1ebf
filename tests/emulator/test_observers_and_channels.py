"""A second channel, and watching every message as it happens (what the playground's feed uses)."""

from __future__ import annotations

import logging

import discord

from probe_cog import ProbeBot


async def test_a_second_channel_reaches_the_bot_and_takes_commands(discord_emulator):
    emu = discord_emulator
    second = emu.add_channel("sandbox")
    logging.getLogger("discord").setLevel(logging.ERROR)
    async with emu.run_bot(ProbeBot()) as bot:
        guild = bot.get_guild(int(emu.guild_id))
        assert {c.name for c in guild.text_channels} == {"general", "sandbox"}
        inter = await emu.invoke("model info", {"name": "flux"}, channel_id=second)
        assert inter.original_message.channel_id == second
        assert emu.channel_messages(second) == [inter.original_message]
        assert inter.original_message not in emu.channel_messages()


async def test_observers_see_creates_edits_ephemerals_and_deletes_in_order(discord_emulator):
    emu = discord_emulator
    seen: list[tuple[str, bool, str, bool, bool]] = []
    stop = emu.observe_messages(lambda m, created: seen.append((m.id, created, m.content, m.ephemeral, m.deleted)))
    logging.getLogger("discord").setLevel(logging.ERROR)
    async with emu.run_bot(ProbeBot()) as bot:
        private = await emu.invoke("model info", {"name": "flux"})
        assert seen[-1] == (private.original_message.id, True, "model flux verbose=False", True, False)
        channel = bot.get_channel(int(emu.channel_id))
        sent = await channel.send("queued")
        await sent.edit(content="finished")
        await sent.delete()
        assert seen[-3:] == [(str(sent.id), True, "queued", False, False),
                             (str(sent.id), False, "finished", False, False),
                             (str(sent.id), False, "finished", False, True)]
        stop()
        await channel.send("unseen")
        assert all(entry[2] != "unseen" for entry in seen)
        with_file = await channel.send("x", file=discord.File(__import__("io").BytesIO(b"abc"), "a.txt"))
        assert str(with_file.id) not in {entry[0] for entry in seen}


async def test_request_observers_see_each_answered_request(discord_emulator):
    emu = discord_emulator
    seen = []
    stop = emu.observe_requests(lambda rec: seen.append((rec.method, rec.path, rec.status)))
    logging.getLogger("discord").setLevel(logging.ERROR)
    async with emu.run_bot(ProbeBot()):
        assert ("PUT", f"/applications/{emu.application_id}/commands", 200) in seen
        stop()
        count = len(seen)
        await emu.invoke("model info", {"name": "flux"})
        assert len(seen) == count
