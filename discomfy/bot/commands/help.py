"""``/help``: every loaded slash command with its options, and every Apps-menu command,
generated from the command tree.

Nothing here names a plugin: a command a new plugin adds shows up without editing this file.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

EMBED_FIELD_LIMIT = 25
FIELD_VALUE_LIMIT = 1024


def describe_command(command: app_commands.Command | app_commands.Group) -> str:
    """The text of one help entry: description, then one line per option."""
    if isinstance(command, app_commands.Group):
        lines = [command.description]
        lines += [f"`/{c.qualified_name}` — {c.description}" for c in command.walk_commands()]
        return "\n".join(lines)[:FIELD_VALUE_LIMIT]
    lines = [command.description]
    for param in command.parameters:
        flags = "required" if param.required else "optional"
        extra = ""
        if param.min_value is not None or param.max_value is not None:
            extra = f", {param.min_value if param.min_value is not None else ''}–{param.max_value if param.max_value is not None else ''}"
        if param.choices:
            extra = ", one of " + ", ".join(str(c.value) for c in param.choices[:10])
        lines.append(f"• `{param.display_name}` ({flags}{extra}): {param.description}")
    text = "\n".join(lines)
    return text if len(text) <= FIELD_VALUE_LIMIT else text[: FIELD_VALUE_LIMIT - 1] + "…"


def build_help_embed(tree: app_commands.CommandTree, guild: discord.abc.Snowflake | None) -> discord.Embed:
    commands_ = {c.name: c for c in tree.get_commands()}
    if guild is not None:
        commands_.update({c.name: c for c in tree.get_commands(guild=guild)})
    embed = discord.Embed(title="DisComfy commands", colour=discord.Colour.blurple())
    menus = sorted(name for name, c in commands_.items() if isinstance(c, app_commands.ContextMenu))
    slash = sorted(name for name, c in commands_.items() if isinstance(c, (app_commands.Command, app_commands.Group)))
    for name in slash[:EMBED_FIELD_LIMIT - (1 if menus else 0)]:
        embed.add_field(name=f"/{name}", value=describe_command(commands_[name]) or "—", inline=False)
    if menus:  # context menus have no description on Discord: say where they are
        embed.add_field(name="Apps menu", value="\n".join(
            f"Apps → {name} ({'right-click a message' if commands_[name].type is discord.AppCommandType.message else 'right-click a user'})"
            for name in menus)[:FIELD_VALUE_LIMIT], inline=False)
    return embed


class HelpCog(commands.Cog, name="help"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="List every command and its options")
    async def help_command_handler(self, interaction: discord.Interaction) -> None:
        embed = build_help_embed(self.bot.tree, interaction.guild)
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: Any) -> None:
    await bot.add_cog(HelpCog(bot))
