"""``/help``: every loaded slash command with its options, generated from the command tree,
and the values the asking user gets when they leave options out.

Nothing here names a plugin: a command a new plugin adds shows up without editing this file,
and defaults come from whatever plugins answer ``discomfy_default_model`` and
``discomfy_prepare_parameters`` (asked as for a job where the user gave no option).
"""

from __future__ import annotations

from typing import Any

import logging

import discord
from discord import app_commands
from discord.ext import commands

from discomfy.bot.review import access_notes
from discomfy.bot.value_origins import by_origin
from discomfy.core.comfyui.workflows.commands import group_commands

log = logging.getLogger(__name__)

EMBED_FIELD_LIMIT = 25
EMBED_TOTAL_LIMIT = 6000
MORE = "More commands than fit here: type / in Discord to see them all."
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


def clip(text: str) -> str:
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


def within_limits(embed: discord.Embed) -> discord.Embed:
    """Discord refuses an embed over 25 fields or 6,000 characters in all: the last commands
    give way, and the footer says where to find them."""
    while len(embed.fields) > EMBED_FIELD_LIMIT or len(embed) > EMBED_TOTAL_LIMIT - len(MORE):
        embed.remove_field(-1)
        embed.set_footer(text=MORE)
    return embed


def user_defaults(bot: Any, user_id: int) -> list[str]:
    """One line per command whose options a plugin fills for this user, naming the source:
    ``/generate: model `sdxl`, aspect_ratio `16:9` (your defaults)``."""
    lines = []
    for name, command in sorted(group_commands(list(bot.plugins.workflows.all().values())).items()):
        preferred = bot.plugins.default_model(name, user_id)
        spec = command.workflows.get(preferred) or command.workflow_for(None)
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        try:
            bot.plugins.manager.hook.discomfy_prepare_parameters(
                workflow=spec, parameters=values, user_id=user_id, explicit=frozenset(), sources=sources)
        except Exception:  # a hook that needs a real job's values: /help still answers
            log.warning("discomfy_prepare_parameters failed for /help of /%s", name, exc_info=True)
            continue
        shown = [("model", f"model `{spec.model}`")] + [(key, f"{key} `{values[key]}`"[:200]) for key in sorted(values)]
        for source, parts in by_origin(shown, sources).items():
            lines.append(f"/{name}: {', '.join(parts)} ({source})")
    return lines


class HelpCog(commands.Cog, name="help"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="List every command and its options")
    async def help_command_handler(self, interaction: discord.Interaction) -> None:
        embed = build_help_embed(self.bot.tree, interaction.guild)
        defaults = user_defaults(self.bot, interaction.user.id)
        if defaults and len(embed.fields) < EMBED_FIELD_LIMIT:
            text = "\n".join(defaults)
            embed.add_field(name="Filled in for you when you leave options out",
                            value=text if len(text) <= FIELD_VALUE_LIMIT else text[: FIELD_VALUE_LIMIT - 1] + "…", inline=False)
        unavailable = self.bot.jobs.availability.lines()
        if unavailable:  # before the list, so nobody tries a command that cannot run now
            embed.insert_field_at(0, name="Unavailable right now", value=clip("\n".join(unavailable)), inline=False)
        notes = access_notes(self.bot, interaction)
        if notes:  # the server's own rules go first: they decide what the list above means here
            embed.insert_field_at(0, name="On this server", value=clip("\n".join(notes)), inline=False)
        await interaction.response.send_message(embed=within_limits(embed), ephemeral=True)


async def setup(bot: Any) -> None:
    await bot.add_cog(HelpCog(bot))
