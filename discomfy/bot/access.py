"""Who may use the bot where: allowed guilds, channels and roles, and owner-only admin commands.

Checked once for every slash command (the tree's ``interaction_check``) and every button, so a
plugin cannot forget it. A refusal tells the user why, in words.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from discomfy.bot.responses import report_error
from discomfy.ops.stop import RESTARTING


def _ids(values: Any) -> set[int]:
    return {int(v) for v in values or []}


def access_problem(config: Any, interaction: discord.Interaction) -> str | None:
    """Why this user may not use the bot here, or None when they may."""
    guilds = _ids(config.discord.allowed_guilds)
    if guilds and (interaction.guild_id is None or interaction.guild_id not in guilds):
        return "This bot is not enabled in this server."
    channels = _ids(config.discord.allowed_channels)
    if channels and interaction.channel_id not in channels:
        mentions = ", ".join(f"<#{c}>" for c in sorted(channels)[:5])
        return f"This bot only answers in {mentions}."
    roles = _ids(config.discord.allowed_roles)
    if roles and not is_owner(config, interaction.user.id):
        user_roles = {r.id for r in getattr(interaction.user, "roles", [])}
        if not roles & user_roles:
            return "You need one of the roles allowed to use this bot; ask a server admin."
    return None


def is_owner(config: Any, user_id: int) -> bool:
    return user_id in _ids(config.discord.owner_ids)


class DisComfyTree(app_commands.CommandTree):
    """The command tree: access checks before every command, one error path after."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        problem = access_problem(self.client.config, interaction)  # type: ignore[attr-defined]
        if getattr(self.client, "stopping", False):  # SIGTERM: answer now rather than time out
            problem = RESTARTING
        if problem is None:
            return True
        if interaction.type is discord.InteractionType.autocomplete:
            await interaction.response.autocomplete([])
        else:
            await interaction.response.send_message(problem, ephemeral=True)
        return False

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        if isinstance(error, app_commands.CheckFailure) and interaction.response.is_done():
            return  # the check that refused already told the user why; a second reply would only confuse
        await report_error(interaction, error)
