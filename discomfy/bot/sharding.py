"""The bot on its shards: ``discord.shard_count`` and ``discord.shard_ids`` pick the connection.

Unset (``shard_count = 0``), the bot is a plain ``ComfyUIBot``: one unsharded connection, as
Discord allows below 2,500 guilds. Set, it is a ``ComfyUIBot`` that is also discord.py's
``AutoShardedBot``, connecting ``shard_ids`` (all shards when empty) of ``shard_count``, so
several ``discomfy run`` processes can each hold some shards of one bot and Discord sends each
the interactions of its own guilds. Nothing else changes: replies go through REST with the
interaction's token, which needs no particular shard.
"""

from __future__ import annotations

import logging
from typing import Any

from discord.ext import commands

from discomfy.bot.client import ComfyUIBot
from discomfy.bot.identify_pacing import IdentifyPacing

log = logging.getLogger(__name__)


class ShardedComfyUIBot(ComfyUIBot, commands.AutoShardedBot):
    """``ComfyUIBot`` over discord.py's ``AutoShardedBot`` (give ``shard_count`` and ``shard_ids``)."""

    def __init__(self, config: Any, **options: Any) -> None:
        super().__init__(config, **options)
        self.identify_pacing = IdentifyPacing(self._fetch_max_concurrency)

    async def _fetch_max_concurrency(self) -> int:
        limits = await self.fetch_session_start_limits()
        return limits.max_concurrency

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # by Discord's max_concurrency buckets, instead of discord.py's 5 s before every shard but one
        await self.identify_pacing.before_identify(shard_id or 0)


def shard_settings(config: Any) -> tuple[int, list[int] | None]:
    """``(shard_count, shard_ids)`` from the settings: ``(0, None)`` unsharded; ids None = all."""
    count = int(config.discord.get("shard_count", 0) or 0)
    ids = [int(i) for i in config.discord.get("shard_ids", None) or []]
    return count, (ids or None)


def make_bot(config: Any, **options: Any) -> ComfyUIBot:
    """The bot ``discomfy run`` starts: sharded when ``discord.shard_count`` is set."""
    count, ids = shard_settings(config)
    if not count:
        return ComfyUIBot(config, **options)
    log.info("connecting shards %s of %d", ids if ids is not None else f"0-{count - 1}", count)
    return ShardedComfyUIBot(config, shard_count=count, shard_ids=ids, **options)
