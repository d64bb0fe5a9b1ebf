"""/usage — a member's quota on this server: what they used, their limit, what is left and when
it comes back, so a refusal is never a surprise. Shown only to them (ephemeral).

The numbers come from the same ``QuotaLedger`` that accepts or refuses submissions, so what
``/usage`` says is exactly what the next submission meets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from .quotas import RESERVED_SECONDS, QuotaLedger, Usage, amount_words, period_words, when_words
from .rules import DAY, QuotaRules, RuleBook


def usage_embed(usage: Usage, rules: QuotaRules, place: str) -> discord.Embed:
    """The member's quota in ``place`` ("on My Server") as one embed."""
    embed = discord.Embed(title=f"Your usage {place}", colour=discord.Colour.blurple())
    if usage.limit is None:
        embed.description = f"No quota {place}: use it as much as you like."
        return embed
    embed.description = f"Your quota: {amount_words(usage.limit, rules.unit)} {period_words(rules)}."
    embed.add_field(name="Used", value=amount_words(usage.used, rules.unit))
    embed.add_field(name="Left", value=amount_words(usage.left or 0, rules.unit))
    embed.add_field(name="Resets", value=reset_words(usage, rules))
    if rules.unit == "gpu_seconds" and usage.running:
        embed.set_footer(text=f"{usage.running} of your jobs {'is' if usage.running == 1 else 'are'} still running: "
                              f"each holds {RESERVED_SECONDS:g} s until its real GPU time is charged when it finishes.")
    return embed


def reset_words(usage: Usage, rules: QuotaRules) -> str:
    if usage.resets_at is None:
        return "Nothing to come back: you have used nothing lately."
    if rules.period_seconds == DAY:
        return f"At midnight UTC, {when_words(usage.resets_at)}"
    return f"Your oldest use comes back {when_words(usage.resets_at)}"


class UsageCog(commands.Cog, name="usage"):
    """The ``/usage`` command; ``clock`` is injectable for tests."""

    def __init__(self, bot: Any, ledger: QuotaLedger, rulebook: RuleBook,
                 clock: Callable[[], float] = time.time) -> None:
        self.bot, self.ledger, self.rulebook, self.clock = bot, ledger, rulebook, clock

    @app_commands.command(name="usage", description="What you used on this server, your quota, and when it resets")
    async def usage(self, interaction: discord.Interaction) -> None:
        guild_id = interaction.guild_id
        # @everyone's role id is the server's id: every member has it, so it grants nothing
        roles = frozenset(r.id for r in getattr(interaction.user, "roles", ()) if r.id != guild_id)
        rules = self.rulebook.for_guild(guild_id).quotas
        usage = self.ledger.usage(guild_id, interaction.user.id, roles, rules, self.clock())
        place = ("in direct messages" if guild_id is None else
                 f"on {interaction.guild.name}" if interaction.guild is not None else "on this server")
        await interaction.response.send_message(embed=usage_embed(usage, rules, place), ephemeral=True)


__all__ = ["UsageCog", "reset_words", "usage_embed"]
