"""The emulator honours ``nonce``/``enforce_nonce`` on Create Message as Discord documents it:
within the window a second post with the same nonce returns the first message and creates
none; after the window the nonce is no longer checked. The bot relies on both halves."""

from __future__ import annotations

import discord
import pytest

from discomfy.testing.discord_emulator.nonces import NONCE_WINDOW


def channel_posts(emu):
    return [m for m in emu.messages.values() if m.interaction_id is None and not m.deleted]


async def test_same_nonce_within_the_window_returns_the_first_message(discord_emulator, bot):
    emu = discord_emulator
    channel = bot.get_partial_messageable(int(emu.channel_id))
    first = await channel.send("result", nonce="job-abc-1")  # discord.py sends enforce_nonce: true
    again = await channel.send("result again", nonce="job-abc-1")
    assert again.id == first.id and [m.content for m in channel_posts(emu)] == ["result"]
    other = await channel.send("another job", nonce="job-def-1")
    assert other.id != first.id and len(channel_posts(emu)) == 2
    posted = await emu.wait_for_request(lambda r: r.method == "POST" and r.path.endswith("/messages"))
    assert posted.json["nonce"] == "job-abc-1" and posted.json["enforce_nonce"] is True


async def test_after_the_window_the_same_nonce_creates_a_second_message(discord_emulator, bot):
    emu = discord_emulator
    channel = bot.get_partial_messageable(int(emu.channel_id))
    first = await channel.send("result", nonce="job-late-1")
    emu.clock.advance(NONCE_WINDOW + 1)
    second = await channel.send("result", nonce="job-late-1")
    assert second.id != first.id and len(channel_posts(emu)) == 2


async def test_without_enforce_nonce_nothing_is_deduplicated_and_long_nonces_are_refused(discord_emulator, bot):
    emu = discord_emulator
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=int(emu.channel_id))
    await bot.http.request(route, json={"content": "a", "nonce": "n1"})
    await bot.http.request(route, json={"content": "b", "nonce": "n1"})
    assert [m.content for m in channel_posts(emu)] == ["a", "b"]
    with pytest.raises(discord.HTTPException) as refused:
        await bot.http.request(route, json={"content": "c", "nonce": "x" * 26, "enforce_nonce": True})
    assert refused.value.status == 400 and "nonce" in str(refused.value)


async def test_history_after_a_message_pages_forward_like_discord(discord_emulator, bot):
    emu = discord_emulator
    channel = bot.get_partial_messageable(int(emu.channel_id))
    sent = [await channel.send(f"m{i}") for i in range(7)]
    seen = [m.content async for m in channel.history(after=sent[1], limit=None)]
    assert seen == [f"m{i}" for i in range(2, 7)]
    newest = [m.content async for m in channel.history(limit=3)]
    assert newest == ["m6", "m5", "m4"]
