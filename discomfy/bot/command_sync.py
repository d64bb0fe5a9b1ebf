"""When and where the command tree is synced to Discord.

Syncing is rate-limited by Discord and global syncs take a while to spread, so we sync only when
the tree's fingerprint changed since the last sync to that target. With a development guild
configured, commands are copied there and synced there only — hot reload never syncs globally.
Without one, start-up syncs globally, once per changed tree, so a fresh install just works.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import discord

log = logging.getLogger(__name__)


def tree_fingerprint(tree: discord.app_commands.CommandTree, guild: discord.abc.Snowflake | None = None) -> str:
    payload = [c.to_dict(tree) for c in tree.get_commands()]
    if guild is not None:
        payload += [c.to_dict(tree) for c in tree.get_commands(guild=guild)]
    text = json.dumps(sorted(payload, key=lambda c: c["name"]), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class CommandSyncer:
    """Remembers what was last synced where, so unchanged trees cost no API call."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.synced: dict[int | None, str] = {}

    @property
    def dev_guild(self) -> discord.Object | None:
        guild_id = int(self.bot.config.discord.dev_guild_id or 0)
        return discord.Object(id=guild_id) if guild_id else None

    async def sync_dev_guild(self) -> bool:
        """Copy the global commands to the development guild and sync it if anything changed."""
        guild = self.dev_guild
        if guild is None:
            return False
        tree = self.bot.tree
        tree.clear_commands(guild=guild)
        tree.copy_global_to(guild=guild)
        fingerprint = tree_fingerprint(tree, guild)
        if self.synced.get(guild.id) == fingerprint:
            return False
        await tree.sync(guild=guild)
        self.synced[guild.id] = fingerprint
        log.info("synced %d commands to development guild %s", len(tree.get_commands(guild=guild)), guild.id)
        return True

    async def sync_global(self) -> bool:
        """Sync the global tree if it changed since the last global sync (explicit, or at start)."""
        fingerprint = tree_fingerprint(self.bot.tree)
        if self.synced.get(None) == fingerprint:
            return False
        await self.bot.tree.sync()
        self.synced[None] = fingerprint
        log.info("synced %d global commands", len(self.bot.tree.get_commands()))
        return True

    async def sync_on_start(self) -> None:
        if self.dev_guild is not None:
            await self.sync_dev_guild()
        else:
            await self.sync_global()
