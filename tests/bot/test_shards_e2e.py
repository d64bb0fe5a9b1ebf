"""Two DisComfy processes (two bots here, each a ``discomfy run`` with its own ``shard_ids``) on
one PostgreSQL store, against the sharded emulator: Discord sends each guild's /generate only to
the process holding that guild's shard, and that process acknowledges it and stores the job, and
the member gets the image."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, AsyncIterator

import discord

from discomfy.bot.sharding import ShardedComfyUIBot, make_bot
from discomfy.core.jobs.store import JobStore
from discomfy.testing.bot_harness import build_config, install_models
from discomfy.testing.discord_emulator.shards import shard_of
from tests.conftest import REPO_ROOT
from tests.core.postgres_server import postgres_server  # noqa: F401 - the session's server


@contextlib.asynccontextmanager
async def process(emu: Any, fake: Any, root: Path, store_url: str, shard_ids: list[int],
                  received: list[int]) -> AsyncIterator[ShardedComfyUIBot]:
    """One bot as ``discomfy run`` builds it from its settings, recording the interactions it gets."""
    root.mkdir()
    config = build_config(root, emulator=emu, comfyui_url=fake.url, plugin_dirs=[REPO_ROOT / "plugins"],
                          workflow_dirs=[REPO_ROOT / "workflows"],
                          settings={"discord.shard_count": 3, "discord.shard_ids": shard_ids,
                                    "discord.dev_guild_id": 0,  # global commands: offered in every guild
                                    "jobs.store_url": store_url})
    bot = make_bot(config)
    assert isinstance(bot, ShardedComfyUIBot)
    bot.discord_clock = emu.clock.now
    load = bot.plugins.load

    async def load_then_install() -> Any:
        report = await load()
        install_models(fake, bot)
        return report

    bot.plugins.load = load_then_install  # type: ignore[method-assign]

    async def record(interaction: discord.Interaction) -> None:
        received.append(interaction.id)

    bot.add_listener(record, "on_interaction")
    async with emu.run_bot(bot):
        yield bot


async def test_each_guilds_generate_reaches_the_process_of_its_shard_and_is_answered(
        tmp_path, discord_emulator, fake_comfyui, postgres_server):  # noqa: F811
    emu = discord_emulator
    guilds = [emu.add_guild(f"guild on shard {s}", shard=(s, 3)) for s in range(3)]
    store_url = await postgres_server.create_database()
    got: dict[str, list[int]] = {"first": [], "second": []}
    async with process(emu, fake_comfyui, tmp_path / "first", store_url, [0], got["first"]) as first, \
            process(emu, fake_comfyui, tmp_path / "second", store_url, [1, 2], got["second"]) as second:
        assert {g.id for g in first.guilds} >= {int(guilds[0].id)}
        assert int(guilds[0].id) not in {g.id for g in second.guilds}
        asked = []
        for guild in guilds:
            user = emu.make_user(f"member of {guild.name}")
            inter = await emu.invoke("generate", {"prompt": f"a lighthouse in {guild.name}"}, user=user,
                                     channel_id=guild.channel_id, timeout=30)
            asked.append((guild, user, inter))
        for guild, user, inter in asked:
            owner, other = ("first", "second") if shard_of(guild.id, 3) == 0 else ("second", "first")
            assert int(inter.id) in got[owner] and int(inter.id) not in got[other]
            assert inter.response is not None and inter.response_error is None
        async with JobStore(store_url) as store:
            for guild, user, inter in asked:
                (job,) = await store.jobs_for_user(int(user.id), active_only=False)
                assert job.guild_id == int(guild.id) and job.interaction_token == inter.token
        for guild, user, inter in asked:  # and each member gets their image
            await emu.wait_for_message(lambda m: m.id == inter.original_message.id and m.attachments, timeout=30)
    assert not emu.violations and not emu.unhandled
