"""Sharding as Discord does it: which session a guild's events go to, which IDENTIFYs it refuses,
and what ``GET /gateway/bot`` recommends.

A session that IDENTIFYs with ``"shard": [shard_id, shard_count]`` receives the events of the
guilds with ``(guild_id >> 22) % shard_count == shard_id``, and shard 0 also receives what belongs
to no guild (DMs). A session without ``shard`` is ``[0, 1]``: everything. Discord refuses an
invalid shard with close code 4010, and a session that would hold more than 2,500 guilds with
4011 ("sharding required"); the emulator's limit is a parameter so a test can reach it with two
guilds. Sessions on the same shard may overlap (a process taking over from another): each live one
receives the shard's events, as two copies of a bot both answer on Discord.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Iterable

CLOSE_INVALID_SHARD, CLOSE_SHARDING_REQUIRED = 4010, 4011
DISCORD_MAX_GUILDS_PER_SHARD = 2500
GUILDS_PER_RECOMMENDED_SHARD = 1000  # Discord recommends about one shard per 1,000 guilds


class ShardRefused(Exception):
    """An IDENTIFY Discord closes with ``code`` (4010 or 4011); ``reason`` is the close text."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def shard_of(guild_id: int | str | None, shard_count: int) -> int:
    """The shard that receives ``guild_id``'s events; DMs (no guild) go to shard 0."""
    if guild_id is None:
        return 0
    return (int(guild_id) >> 22) % shard_count


def parse_shard(value: Any) -> tuple[int, int] | None:
    """The IDENTIFY's ``shard`` field as ``(shard_id, shard_count)``; None when absent (unsharded).

    Raises ``ShardRefused`` (4010) for anything Discord would call an invalid shard."""
    if value is None:
        return None
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise ShardRefused(CLOSE_INVALID_SHARD, f"Invalid shard: {value!r} is not [shard_id, shard_count].")
    shard_id, count = value
    if count < 1 or not 0 <= shard_id < count:
        raise ShardRefused(CLOSE_INVALID_SHARD, f"Invalid shard: shard_id {shard_id} is not within 0..{count - 1}.")
    return shard_id, count


def owns(shard: tuple[int, int] | None, guild_id: int | str | None) -> bool:
    """Whether a session on ``shard`` (None: unsharded) receives the events of ``guild_id``."""
    return shard is None or shard_of(guild_id, shard[1]) == shard[0]


@dataclasses.dataclass
class ShardPolicy:
    """What the emulated Discord allows and recommends; the defaults are Discord's for a small bot.

    ``recommended_shards`` None: one per 1,000 guilds (at least one), as Discord computes it.
    ``session_start_total`` IDENTIFYs per day; every IDENTIFY counts against it (never refused:
    a test that starts many bots is not a bot that loops on IDENTIFY).
    """

    max_guilds_per_shard: int = DISCORD_MAX_GUILDS_PER_SHARD
    recommended_shards: int | None = None
    max_concurrency: int = 1
    session_start_total: int = 1000
    identifies: int = 0

    def check(self, shard: tuple[int, int] | None, guild_ids: Iterable[str]) -> list[str]:
        """The guilds a session on ``shard`` holds; raises ``ShardRefused`` (4011) when too many."""
        held = [g for g in guild_ids if owns(shard, g)]
        if len(held) > self.max_guilds_per_shard:
            raise ShardRefused(CLOSE_SHARDING_REQUIRED,
                               f"Sharding required: this session would hold {len(held)} guilds, more than "
                               f"{self.max_guilds_per_shard} per shard.")
        self.identifies += 1
        return held

    def recommended(self, guild_count: int) -> int:
        if self.recommended_shards is not None:
            return self.recommended_shards
        return max(1, math.ceil(guild_count / GUILDS_PER_RECOMMENDED_SHARD),
                   math.ceil(guild_count / self.max_guilds_per_shard))

    def gateway_bot(self, url: str, guild_count: int) -> dict[str, Any]:
        """The body of ``GET /gateway/bot``."""
        return {"url": url, "shards": self.recommended(guild_count), "session_start_limit": {
            "total": self.session_start_total,
            "remaining": max(0, self.session_start_total - self.identifies),
            "reset_after": 24 * 3600 * 1000,  # ms until the daily budget is whole again
            "max_concurrency": self.max_concurrency}}


def shards_of(bot: Any) -> list[tuple[int, int] | None] | None:
    """The shards a discord.py client connects: an ``AutoShardedClient``'s ``shard_ids`` (all of
    ``shard_count`` when None), a plain client's one ``shard_id`` or ``[None]`` (unsharded); None
    when an ``AutoShardedClient`` learns its count from ``GET /gateway/bot`` only once started."""
    count = getattr(bot, "shard_count", None)
    if hasattr(bot, "shard_ids"):
        if count is None:
            return None
        return [(shard_id, count) for shard_id in (bot.shard_ids if bot.shard_ids is not None else range(count))]
    shard_id = getattr(bot, "shard_id", None)
    return [None] if shard_id is None or count is None else [(shard_id, count)]
