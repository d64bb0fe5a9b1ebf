"""``discord.shard_count`` / ``discord.shard_ids``: what a process connects, the combinations the
settings check refuses (naming the fix), IDENTIFY paced by Discord's ``max_concurrency``, and the
operator's line when Discord requires sharding."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from discord.ext import commands

from discomfy.bot.client import ComfyUIBot
from discomfy.bot.identify_pacing import IdentifyPacing
from discomfy.bot.sharding import ShardedComfyUIBot, make_bot
from discomfy.config import get_config, validate_config
from discomfy.testing.discord_emulator import DiscordEmulator
from discomfy.testing.discord_emulator.shards import shard_of

DISCOMFY = str(Path(sys.executable).with_name("discomfy"))


def config_with(project: Path, discord_table: str):
    (project / "settings.toml").write_text("[discord]\ntoken = \"t\"\n" + discord_table)
    return get_config(project)


def shard_problems(config) -> list[str]:
    return [p for p in validate_config(config) if p.startswith("[discord-shards]")]


def test_unset_is_one_unsharded_process_as_before(project: Path) -> None:
    config = config_with(project, "")
    assert not shard_problems(config)
    bot = make_bot(config)
    assert type(bot) is ComfyUIBot and not isinstance(bot, commands.AutoShardedBot)


def test_a_process_with_shard_ids_connects_only_those(project: Path) -> None:
    bot = make_bot(config_with(project, "shard_count = 3\nshard_ids = [1, 2]\n"))
    assert isinstance(bot, ShardedComfyUIBot) and isinstance(bot, commands.AutoShardedBot)
    assert (bot.shard_count, bot.shard_ids) == (3, [1, 2])


def test_a_count_without_ids_connects_every_shard(project: Path) -> None:
    bot = make_bot(config_with(project, "shard_count = 2\n"))
    assert (bot.shard_count, bot.shard_ids) == (2, None)


def test_shard_ids_come_from_the_environment_too(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCOMFY_DISCORD__SHARD_COUNT", "4")
    monkeypatch.setenv("DISCOMFY_DISCORD__SHARD_IDS", "[0, 3]")
    bot = make_bot(config_with(project, ""))
    assert (bot.shard_count, bot.shard_ids) == (4, [0, 3])


@pytest.mark.parametrize("table, words", [
    ("shard_ids = [0, 1]\n", ["discord.shard_ids = [0, 1] needs discord.shard_count", "shard_count = 2"]),
    ("shard_count = 2\nshard_ids = [2]\n", ["names shard 2", "numbers shards 0 to 1", "fix it in settings.toml"]),
    ("shard_count = 2\nshard_ids = [1, 1]\n", ["names a shard twice"]),
    ("shard_count = -1\n", ["discord.shard_count = -1 must be a whole number"]),
    ("shard_count = 2\nshard_ids = \"0\"\n", ["must be a list of shard numbers"]),
])
def test_a_bad_combination_is_named(project: Path, table: str, words: list[str]) -> None:
    problems = shard_problems(config_with(project, table))
    assert len(problems) == 1
    for word in words:
        assert word in problems[0]


class FakeTime:
    """A clock that only moves when the pacing sleeps, recording each sleep."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


async def test_identify_waits_only_within_a_max_concurrency_bucket() -> None:
    time = FakeTime()

    async def max_concurrency() -> int:
        return 2

    pacing = IdentifyPacing(max_concurrency, clock=time.clock, sleep=time.sleep)
    for shard_id in (0, 1):  # two buckets: both at once
        await pacing.before_identify(shard_id)
    assert time.sleeps == []
    await pacing.before_identify(2)  # bucket 0 again: 5 s after shard 0
    assert time.sleeps == [5.0]
    time.now += 7
    await pacing.before_identify(3)  # bucket 1, last used 12 s ago
    assert time.sleeps == [5.0]


async def test_identify_falls_back_to_one_per_5_s_when_the_limit_cannot_be_read() -> None:
    time = FakeTime()

    async def unreachable() -> int:
        raise OSError("connection refused")

    pacing = IdentifyPacing(unreachable, clock=time.clock, sleep=time.sleep)
    for shard_id in (0, 1, 2):
        await pacing.before_identify(shard_id)
    assert time.sleeps == [5.0, 5.0]


async def test_run_where_discord_requires_sharding_names_the_settings(project: Path) -> None:
    async with DiscordEmulator(max_guilds_per_shard=1) as emulator:
        emulator.add_guild("second", shard=(1 - shard_of(emulator.guild_id, 2), 2))
        environ = {k: v for k, v in os.environ.items() if not k.startswith("DISCOMFY_")}
        process = await asyncio.create_subprocess_exec(
            DISCOMFY, "--root", str(project), "run", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**environ, "DISCOMFY_DISCORD__TOKEN": emulator.token,
                 "DISCOMFY_DISCORD__API_BASE": emulator.api_base, "DISCOMFY_DISCORD__GATEWAY_URL": emulator.gateway_url,
                 "DISCOMFY_OPS__PORT": "0"})
        out, err = await asyncio.wait_for(process.communicate(), 120)
    text = out.decode() + err.decode()
    assert process.returncode == 1, text
    assert "Discord requires sharding (gateway close 4011)" in text and "discord.shard_count" in text
    assert "Traceback" not in text
    assert emulator.violations[-1].code == 4011
