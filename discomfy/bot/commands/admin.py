"""``/discomfy reload|sync|plugins``: owner-only maintenance without a restart.

Only user ids in ``discord.owner_ids`` may run these; everyone else is told so, once. The group
is also hidden from non-administrators by its default permissions. A reload is
atomic per plugin (a broken plugin keeps its old version) and syncs only the development guild
when the command tree changed; ``sync`` is the only way to sync globally, and it is explicit.
"""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from discomfy.bot.access import is_owner


# Hidden from members who are not administrators (Discord's default_member_permissions, which
# server admins may widen under Integrations); the owner check below still decides.
@app_commands.default_permissions(administrator=True)
class AdminCog(commands.GroupCog, group_name="discomfy", group_description="Bot owner maintenance commands"):
    def __init__(self, bot: Any) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if is_owner(self.bot.config, interaction.user.id):
            return True
        await interaction.response.send_message(
            "Only the bot's owners (discord.owner_ids in the settings) can use /discomfy.", ephemeral=True)
        return False

    @app_commands.command(name="reload", description="Reload every plugin from disk (a broken one keeps its old version)")
    async def reload(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.bot.plugins.reloader.reload_all()
        lines = [f"Reloaded: {', '.join(result.reloaded) or 'nothing'}"]
        lines += [f"Kept the old version of {name}: {reason}" for name, reason in result.failed.items()]
        if result.synced:
            lines.append("Development guild commands synced.")
        await interaction.followup.send("\n".join(lines)[:2000], ephemeral=True)

    @app_commands.command(name="sync", description="Sync slash commands with Discord (globally, or to the development guild)")
    @app_commands.describe(scope="global: every server (takes a while to appear); guild: the development guild")
    async def sync(self, interaction: discord.Interaction, scope: Literal["guild", "global"] = "guild") -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        syncer = self.bot.plugins.syncer
        if scope == "global":
            changed = await syncer.sync_global()
            text = "Global commands synced." if changed else "Global commands were already up to date."
        elif syncer.dev_guild is None:
            text = "No development guild is set (discord.dev_guild_id); use `/discomfy sync scope:global`."
        else:
            changed = await syncer.sync_dev_guild()
            text = "Development guild synced." if changed else "Development guild was already up to date."
        await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(name="plugins", description="Show the plugin load report")
    async def plugins(self, interaction: discord.Interaction) -> None:
        report = self.bot.plugins.report.format()
        await interaction.response.send_message(f"```\n{report[:1900]}\n```", ephemeral=True)


async def setup(bot: Any) -> None:
    await bot.add_cog(AdminCog(bot))
