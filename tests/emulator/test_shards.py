"""The emulated gateway shards like Discord, checked on the wire (raw WebSocket sessions) and
with discord.py's own ``AutoShardedClient``: IDENTIFY ``[shard_id, shard_count]``, a guild's
events only to shard ``(guild_id >> 22) % shard_count``, DMs to shard 0, 4010 for an invalid
shard, 4011 when a session would hold too many guilds, ``GET /gateway/bot``'s recommendation."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from discomfy.testing.discord_emulator import DiscordEmulator
from discomfy.testing.discord_emulator.shards import shard_of

MESSAGES_WITH_CONTENT = (1 << 9) | (1 << 12) | (1 << 15)  # guild and DM messages, with content


class RawSession:
    """A gateway client that speaks the wire protocol by hand and keeps every frame it gets."""

    def __init__(self, emu: DiscordEmulator, http: aiohttp.ClientSession) -> None:
        self.emu, self.http = emu, http
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def identify(self, shard: list[int] | None, intents: int = MESSAGES_WITH_CONTENT) -> None:
        self.ws = await self.http.ws_connect(self.emu.gateway_url + "?v=10&encoding=json")
        hello = await self.ws.receive_json()
        assert hello["op"] == 10
        body: dict[str, Any] = {"token": self.emu.token, "intents": intents, "properties": {}}
        if shard is not None:
            body["shard"] = shard
        await self.ws.send_json({"op": 2, "d": body})
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await self.frames.put(msg.json())

    async def next(self, event: str | None = None) -> dict[str, Any]:
        """The next dispatch (of type ``event``), skipping others; fails after 5 s."""
        while True:
            frame = await asyncio.wait_for(self.frames.get(), 5)
            if event is None or frame.get("t") == event:
                return frame

    def pending(self) -> list[dict[str, Any]]:
        """Frames received and not read yet."""
        items = []
        while not self.frames.empty():
            items.append(self.frames.get_nowait())
        return items

    async def close_code(self) -> int | None:
        assert self.ws is not None and self._reader is not None
        await asyncio.wait_for(self._reader, 5)
        return self.ws.close_code

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await self._reader


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def test_each_shard_gets_ready_and_guild_create_for_its_own_guilds_only(http):
    async with DiscordEmulator() as emu:
        home = shard_of(emu.guild_id, 2)
        other = emu.add_guild("Other", shard=(1 - home, 2))
        assert shard_of(other.id, 2) == 1 - home
        sessions = [RawSession(emu, http), RawSession(emu, http)]
        for shard_id, session in enumerate(sessions):
            await session.identify([shard_id, 2])
        for shard_id, session in enumerate(sessions):
            ready = await session.next("READY")
            mine = emu.guild_id if shard_id == home else other.id
            assert ready["d"]["shard"] == [shard_id, 2]
            assert ready["d"]["guilds"] == [{"id": mine, "unavailable": True}]
            created = await session.next("GUILD_CREATE")
            assert created["d"]["id"] == mine
            assert [c["id"] for c in created["d"]["channels"]] == [emu.guilds[mine].channel_id]
        assert emu.gateway.connected([(0, 2), (1, 2)])
        for session in sessions:
            await session.close()


async def test_guild_events_reach_only_their_shard_and_dms_only_shard_zero(http):
    async with DiscordEmulator() as emu:
        guilds = [emu.add_guild(f"g{s}", shard=(s, 3)) for s in range(3)]
        sessions = [RawSession(emu, http) for _ in range(3)]
        for shard_id, session in enumerate(sessions):
            await session.identify([shard_id, 3])
        await emu.gateway.wait_for_shards([(s, 3) for s in range(3)], 5)
        user = emu.make_user("alice")
        for guild in guilds:
            await emu.post_message(f"hello {guild.name}", user=user, channel_id=guild.channel_id)
        async with http.post(emu.api_base + "/users/@me/channels", json={"recipient_id": user.id},
                             headers={"Authorization": f"Bot {emu.token}"}) as opened:
            dm = (await opened.json())["id"]
        await emu.post_message("a DM", user=user, channel_id=dm)
        for guild in guilds:  # the last message each shard gets: anything that leaked comes before it
            await emu.post_message(f"end {guild.name}", user=user, channel_id=guild.channel_id)
        for shard_id, session in enumerate(sessions):
            expected = [f"hello g{shard_id}", *(["a DM"] if shard_id == 0 else []), f"end g{shard_id}"]
            got = [(await session.next("MESSAGE_CREATE"))["d"]["content"] for _ in expected]
            assert got == expected
        for session in sessions:
            await session.close()


@pytest.mark.parametrize("shard", [[3, 3], [0, 0], [-1, 2], [1], "0,1"])
async def test_an_invalid_shard_is_closed_with_4010(http, shard):
    async with DiscordEmulator() as emu:
        session = RawSession(emu, http)
        await session.identify(shard)
        assert await session.close_code() == 4010
        assert emu.violations[-1].code == 4010 and not emu.gateway.sessions


async def test_a_session_holding_too_many_guilds_is_closed_with_4011_and_sharding_fixes_it(http):
    async with DiscordEmulator(max_guilds_per_shard=1) as emu:
        emu.add_guild("second", shard=(1 - shard_of(emu.guild_id, 2), 2))
        unsharded = RawSession(emu, http)
        await unsharded.identify(None)
        assert await unsharded.close_code() == 4011
        assert "Sharding required" in emu.violations[-1].message
        emu.violations.clear()
        sessions = [RawSession(emu, http), RawSession(emu, http)]
        for shard_id, session in enumerate(sessions):
            await session.identify([shard_id, 2])
            assert len((await session.next("READY"))["d"]["guilds"]) == 1
        assert not emu.violations
        for session in sessions:
            await session.close()


async def test_gateway_bot_recommends_a_count_and_counts_session_starts(http):
    async with DiscordEmulator(recommended_shards=3, max_concurrency=16) as emu:
        async def gateway_bot() -> dict[str, Any]:
            async with http.get(emu.api_base + "/gateway/bot", headers={"Authorization": f"Bot {emu.token}"}) as r:
                assert r.status == 200
                return await r.json()

        before = await gateway_bot()
        assert before["url"] == emu.gateway_url and before["shards"] == 3
        assert before["session_start_limit"]["max_concurrency"] == 16
        session = RawSession(emu, http)
        await session.identify([0, 3])
        await session.next("READY")
        after = await gateway_bot()
        assert after["session_start_limit"]["remaining"] == before["session_start_limit"]["remaining"] - 1
        await session.close()


async def test_gateway_bot_recommendation_follows_the_guild_count(http):
    async with DiscordEmulator(max_guilds_per_shard=2) as emu:
        for index in range(4):
            emu.add_guild(f"g{index}")
        async with http.get(emu.api_base + "/gateway/bot", headers={"Authorization": f"Bot {emu.token}"}) as r:
            assert (await r.json())["shards"] == 3  # 5 guilds, at most 2 per shard


class Answering(commands.AutoShardedBot):
    """An ``AutoShardedBot`` whose /where answers with the shard that received it."""

    def __init__(self, **options: Any) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05, **options)

        @self.tree.command(name="where", description="which shard answers")
        async def where(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"shard {interaction.guild.shard_id} of {id(self)}")

    async def setup_hook(self) -> None:
        await self.tree.sync()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # the emulator does not rate-limit IDENTIFY; discord.py would wait 5 s per shard


async def test_two_discord_py_clients_on_their_own_shards_each_answer_their_guilds(discord_emulator):
    emu = discord_emulator
    guilds = {s: emu.add_guild(f"g{s}", shard=(s, 3)) for s in range(3)}
    first, second = Answering(shard_count=3, shard_ids=[0]), Answering(shard_count=3, shard_ids=[1, 2])
    async with emu.run_bot(first), emu.run_bot(second):
        assert {g.id for g in second.guilds} == {int(guilds[1].id), int(guilds[2].id)} | (
            {int(emu.guild_id)} if shard_of(emu.guild_id, 3) else set())
        for shard_id, guild in guilds.items():
            answer = await emu.invoke("where", channel_id=guild.channel_id)
            owner = first if shard_id == 0 else second
            assert answer.response["data"]["content"] == f"shard {shard_id} of {id(owner)}"
    assert not emu.violations


def test_ids_made_for_a_shard_land_on_it_and_stay_time_based():
    from discomfy.testing.discord_emulator import EmulatorClock, SnowflakeFactory, snowflake_time

    clock = EmulatorClock()
    factory = SnowflakeFactory(clock)
    for count in range(1, 6):
        for shard_id in range(count):
            made = factory.next_on_shard(shard_id, count)
            assert shard_of(made, count) == shard_id
            assert 0 <= clock.now() - snowflake_time(made) < 1
    with pytest.raises(ValueError, match="shard 3 is not within 0..2"):
        factory.next_on_shard(3, 3)
