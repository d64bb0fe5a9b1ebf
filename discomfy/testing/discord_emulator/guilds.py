"""The guilds the bot is in: the emulator's own one, and more for tests of a bot on several shards.

Mixed into ``DiscordEmulator``. Each guild has its own channels; every guild has the same
members and the same roles (each its own @everyone, whose id is the guild's), so a user made
with ``make_user`` can act anywhere. Which shard receives a guild follows from its id (see
:mod:`.shards`); ``add_guild(shard=(1, 3))`` picks an id that lands on shard 1 of 3.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from . import payloads

# The emulator is handed to this part, not imported: server.py assembles the parts.
DiscordEmulator = Any


@dataclasses.dataclass
class EmulatedGuild:
    id: str
    name: str
    channel_id: str  # its first text channel, "general"


class Guilds:
    def add_guild(self: "DiscordEmulator", name: str = "Another Guild", *,
                  shard: tuple[int, int] | None = None) -> EmulatedGuild:
        """Another guild with one text channel; ``shard`` ``(shard_id, shard_count)`` picks an id
        on that shard. A connected bot whose session owns it is sent GUILD_CREATE (it joined)."""
        guild_id = self.snowflakes.next_on_shard(*shard) if shard else self.snowflakes.next()
        channel_id = self.snowflakes.next()
        self.channels[channel_id] = payloads.text_channel(channel_id, guild_id)
        guild = EmulatedGuild(guild_id, name, channel_id)
        self.guilds[guild_id] = guild
        self._tell_bot_soon("GUILD_CREATE", self._guild_payload(guild_id))
        return guild

    def guild_of(self: "DiscordEmulator", channel_id: str) -> str | None:
        """The guild a channel belongs to; None for a DM channel."""
        channel = self.channels.get(channel_id)
        if channel is None:
            raise AssertionError(f"unknown channel {channel_id}; known: {list(self.channels)}")
        return channel.get("guild_id")

    def _guild_payload(self: "DiscordEmulator", guild_id: str | None = None) -> dict[str, Any]:
        guild = self.guilds[guild_id or self.guild_id]
        bot_member = payloads.member(self.bot_user, self.clock.now())
        members = [bot_member, *(u.member for u in self.users.values())]
        channels = [c for c in self.channels.values() if c.get("guild_id") == guild.id]
        return payloads.guild(guild.id, self.owner.id, channels, members, name=guild.name,
                              roles=self._roles_in(guild.id))

    def _roles_in(self: "DiscordEmulator", guild_id: str) -> list[dict[str, Any]]:
        """The guild's roles: its own @everyone (as the emulator's guild's), then the shared ones."""
        everyone = self.roles[self.guild_id]
        shared = [r for role_id, r in self.roles.items() if role_id != self.guild_id]
        return [{**everyone, "id": guild_id}, *shared]
