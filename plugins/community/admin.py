"""``/server``: a Discord server's own rules, edited in Discord by that server's admins.

Only members with Manage Server see the group (``default_member_permissions``), and every use
checks it again (a server may have granted the command to others in its integration settings,
and a component can be replayed): a member without it is refused and nothing changes. Every
value is written for the guild the interaction comes from, never for an id a message carries,
so one server's admins can never change another's rules. Every change goes to the audit channel
naming who changed what.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from .audit import AuditEntry
from .gate import blocked_message, when
from .rules import DAY, GuildRules, RuleBook
from .strikes import Moderation
from .words import check_rule

NOT_ADMIN = "Only members with the Manage Server permission can change this server's bot rules."
RESETTABLE = ("channels", "roles", "nsfw_policy", "nsfw_action", "refuse", "strip", "negative_prompt", "strikes",
              "quota", "audit_channel", "visibility")


def is_admin(interaction: discord.Interaction) -> bool:
    return interaction.guild_id is not None and bool(interaction.permissions.manage_guild)


def describe(rules: GuildRules, classifier_note: str | None) -> list[tuple[str, str]]:
    """(name, value) fields of ``/server show``."""
    quotas = rules.quotas
    period = "day (UTC)" if quotas.period_seconds == DAY else f"{quotas.period_seconds / 3600:g} hours"
    quota = (f"{'unlimited' if quotas.default is None else f'{quotas.default:g}'} {quotas.unit.replace('_', ' ')} "
             f"per {period}")
    quota += "".join(f"\n<@&{r}>: {'unlimited' if v is None else f'{v:g}'}" for r, v in quotas.roles.items())
    quota += "".join(f"\n<@{u}>: {'unlimited' if v is None else f'{v:g}'}" for u, v in quotas.users.items())
    nsfw = f"{rules.nsfw_policy} ({rules.nsfw_action} flagged results)"
    if classifier_note:
        nsfw += f"\n⚠️ {classifier_note}"
    return [
        ("Channels", "\n".join(f"/{c}: {', '.join(f'<#{i}>' for i in ids)}" for c, ids in rules.channels.items() if ids)
         or "every command works in every channel"),
        ("Roles", "\n".join(f"/{c}: {', '.join(f'<@&{i}>' for i in ids)}" for c, ids in rules.roles.items() if ids)
         or "every member may use every command"),
        ("NSFW", nsfw),
        ("Refused words", ", ".join(f"`{w}`" for w in rules.refuse) or "none"),
        ("Stripped words", ", ".join(f"`{w}`" for w in rules.strip) or "none"),
        ("Forced negative prompt", f"`{rules.negative_prompt}`" if rules.negative_prompt else "none"),
        ("Strikes", f"{rules.strikes.count} refusals in {rules.strikes.window_seconds / 60:g} min block for "
                    f"{rules.strikes.block_seconds / 60:g} min" if rules.strikes.count else "off"),
        ("Quota", quota),
        ("Audit channel", f"<#{rules.audit_channel}>" if rules.audit_channel else "none"),
        ("Results", rules.visibility or "each member's own choice (/settings)"),
    ]


class NsfwPolicySelect(discord.ui.DynamicItem[discord.ui.Select], template=r"community:nsfw:(?P<guild>[0-9]+)"):
    """The NSFW policy as a menu under ``/server show``; keeps working after a restart. The
    guild in its custom id must be the guild it is used in, by an admin of it: a replayed or
    forged id from elsewhere changes nothing."""

    cog: ServerAdminCog | None = None  # set by the plugin's setup (the item is built by discord.py)

    def __init__(self, guild_id: int, current: str = "nsfw_channels") -> None:
        self.guild_id = guild_id
        options = [discord.SelectOption(label=label, value=value, default=value == current) for value, label in (
            ("off", "NSFW nowhere: check every result"), ("nsfw_channels", "NSFW only in age-restricted channels"),
            ("everywhere", "NSFW everywhere: check nothing"))]
        super().__init__(discord.ui.Select(custom_id=f"community:nsfw:{guild_id}", options=options,
                                           placeholder="NSFW policy"))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Select,
                             match: Any) -> NsfwPolicySelect:
        return cls(int(match["guild"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = type(self).cog
        if cog is None or not is_admin(interaction) or interaction.guild_id != self.guild_id:
            await interaction.response.send_message(NOT_ADMIN if not is_admin(interaction) else
                                                    "This menu belongs to another server's rules.", ephemeral=True)
            return
        policy = self.item.values[0]
        await cog.change(interaction, "nsfw_policy", policy, f"set the NSFW policy to {policy}")


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ServerAdminCog(commands.GroupCog, group_name="server", group_description="This server's bot rules (admins only)"):
    def __init__(self, bot: Any, rulebook: RuleBook, moderation: Moderation, audit: Any, classifier_off: str | None,
                 clock: Any = time.time) -> None:
        """``classifier_off``: why the NSFW classifier cannot run here (None when it can)."""
        self.bot, self.rulebook, self.moderation = bot, rulebook, moderation
        self.audit, self.classifier_off, self.clock = audit, classifier_off, clock
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if is_admin(interaction):
            return True
        await interaction.response.send_message(NOT_ADMIN, ephemeral=True)
        return False

    # --- helpers ------------------------------------------------------------------------

    def rules(self, interaction: discord.Interaction) -> GuildRules:
        return self.rulebook.for_guild(interaction.guild_id)

    async def change(self, interaction: discord.Interaction, name: str, value: Any, said: str) -> None:
        """Write one setting of *this* guild, tell the admin, and audit who changed what."""
        guild_id = int(interaction.guild_id)
        if value is None:
            await self.rulebook.reset(guild_id, name)
        else:
            await self.rulebook.set(guild_id, name, value)
        self.audit.record(AuditEntry(guild_id, "settings", f"<@{interaction.user.id}> {said}", self.clock()))
        await interaction.response.send_message(f"Done: {said}.", ephemeral=True)

    async def command_names(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = sorted({c.name for c in self.bot.tree.get_commands(guild=interaction.guild)}
                       | {c.name for c in self.bot.tree.get_commands()})
        return [app_commands.Choice(name=f"/{n}", value=n) for n in names if current.lower() in n][:25]

    # --- the commands ---------------------------------------------------------------------

    @app_commands.command(name="show", description="Show this server's bot rules")
    async def show(self, interaction: discord.Interaction) -> None:
        embed = discord.Embed(title="This server's bot rules", colour=discord.Colour.blurple())
        rules = self.rules(interaction)
        off = f"the NSFW classifier is off ({self.classifier_off}): results are not checked" if self.classifier_off else None
        for name, value in describe(rules, off):
            embed.add_field(name=name, value=value[:1024], inline=False)
        view = discord.ui.View(timeout=None)
        view.add_item(NsfwPolicySelect(int(interaction.guild_id), rules.nsfw_policy))
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    @app_commands.command(name="channel", description="Let a command work only in some channels (or everywhere again)")
    @app_commands.describe(command="The command", channel="A channel it may be used in", remove="Take the channel off")
    @app_commands.autocomplete(command=command_names)
    async def channel(self, interaction: discord.Interaction, command: str, channel: discord.TextChannel,
                      remove: bool = False) -> None:
        await self._toggle(interaction, "channels", command, channel.id, remove, f"#{channel.name}")

    @app_commands.command(name="role", description="Let only some roles use a command (or everyone again)")
    @app_commands.describe(command="The command", role="A role that may use it", remove="Take the role off")
    @app_commands.autocomplete(command=command_names)
    async def role(self, interaction: discord.Interaction, command: str, role: discord.Role, remove: bool = False) -> None:
        await self._toggle(interaction, "roles", command, role.id, remove, f"@{role.name}")

    async def _toggle(self, interaction: discord.Interaction, setting: str, command: str, item: int, remove: bool,
                      label: str) -> None:
        current = {c: list(ids) for c, ids in getattr(self.rules(interaction), setting).items()}
        ids = [i for i in current.get(command, []) if i != item] + ([] if remove else [item])
        current[command] = ids
        if not ids:
            current.pop(command)
        verb = "no longer limited to" if remove else "limited to"
        await self.change(interaction, setting, current, f"/{command} {verb} {label} ({setting})")

    @app_commands.command(name="nsfw", description="Where NSFW results are allowed, and what happens to flagged ones")
    @app_commands.describe(policy="off: nowhere · nsfw_channels: age-restricted channels only · everywhere",
                           action="withhold (never posted) or spoiler (posted blurred)")
    async def nsfw(self, interaction: discord.Interaction, policy: Literal["off", "nsfw_channels", "everywhere"],
                   action: Literal["withhold", "spoiler"] | None = None) -> None:
        if action:
            await self.rulebook.set(interaction.guild_id, "nsfw_action", action)
        await self.change(interaction, "nsfw_policy", policy,
                          f"set the NSFW policy to {policy}" + (f", flagged results: {action}" if action else ""))

    @app_commands.command(name="words", description="Add or remove a refused or stripped word (`*` is a wildcard)")
    @app_commands.describe(kind="refuse: prompts with it are refused · strip: it is removed from prompts",
                           word="A word or phrase; `*` matches any letters, e.g. nud*", remove="Remove it instead")
    async def words(self, interaction: discord.Interaction, kind: Literal["refuse", "strip"], word: str,
                    remove: bool = False) -> None:
        word = word.strip()
        problem = check_rule(word)
        if problem and not remove:
            await interaction.response.send_message(f"`{word}` can't be used as a rule: {problem}", ephemeral=True)
            return
        saved = list(self.rulebook.saved(interaction.guild_id).get(kind, []))
        if remove and word not in saved:
            await interaction.response.send_message(f"`{word}` is not on this server's {kind} list "
                                                    "(the operator's own words cannot be removed here).", ephemeral=True)
            return
        saved = [w for w in saved if w != word] + ([] if remove else [word])
        await self.change(interaction, kind, saved, f"{'removed' if remove else 'added'} `{word}` "
                                                    f"{'from' if remove else 'to'} the {kind} list")

    @app_commands.command(name="negative", description="A negative prompt added to every job that takes one")
    @app_commands.describe(text="The negative prompt; leave empty to remove it")
    async def negative(self, interaction: discord.Interaction, text: str = "") -> None:
        await self.change(interaction, "negative_prompt", text.strip(),
                          f"set the forced negative prompt to `{text.strip()}`" if text.strip() else "removed the forced negative prompt")

    @app_commands.command(name="strikes", description="How many refusals block a member, and for how long")
    @app_commands.describe(count="Refusals that block (0: no strikes)", window_minutes="Within how many minutes",
                           block_minutes="How long the block lasts")
    async def strikes(self, interaction: discord.Interaction, count: app_commands.Range[int, 0, 100],
                      window_minutes: app_commands.Range[float, 1.0, 100000.0] = 60.0,
                      block_minutes: app_commands.Range[float, 1.0, 1000000.0] = 60.0) -> None:
        guild_id = interaction.guild_id
        await self.rulebook.set(guild_id, "strike_window_minutes", window_minutes)
        await self.rulebook.set(guild_id, "block_minutes", block_minutes)
        await self.change(interaction, "strikes", count, f"set strikes to {count} in {window_minutes:g} min, "
                                                         f"blocking for {block_minutes:g} min")

    @app_commands.command(name="quota", description="How much each member may use")
    @app_commands.describe(limit="Units per period for every member (0: unlimited)", unit="jobs or gpu_seconds",
                           period_hours="Length of the period; 24 means per calendar day (UTC)")
    async def quota(self, interaction: discord.Interaction, limit: app_commands.Range[float, 0.0, 1000000.0],
                    unit: Literal["jobs", "gpu_seconds"] = "jobs",
                    period_hours: app_commands.Range[float, 0.1, 8760.0] = 24.0) -> None:
        guild_id = interaction.guild_id
        await self.rulebook.set(guild_id, "quota_unit", unit)
        await self.rulebook.set(guild_id, "quota_period_hours", period_hours)
        await self.change(interaction, "quota_default", limit or None,
                          f"set the quota to {'unlimited' if not limit else f'{limit:g}'} {unit} per {period_hours:g} h")

    @app_commands.command(name="quota-for", description="A different quota for one role or one member")
    @app_commands.describe(role="A role (the most generous of a member's roles wins)", member="One member (wins over roles)",
                           limit="Units per period (0: unlimited)", remove="Go back to the server's quota")
    async def quota_for(self, interaction: discord.Interaction, limit: app_commands.Range[float, 0.0, 1000000.0] = 0.0,
                        role: discord.Role | None = None, member: discord.Member | None = None,
                        remove: bool = False) -> None:
        if (role is None) == (member is None):
            await interaction.response.send_message("Name exactly one role or one member.", ephemeral=True)
            return
        setting, target, label = (("quota_roles", role.id, f"@{role.name}") if role is not None
                                  else ("quota_users", member.id, f"<@{member.id}>"))
        saved = dict(self.rulebook.saved(interaction.guild_id).get(setting, {}))
        saved.pop(str(target), None)
        if not remove:
            saved[str(target)] = limit or None
        said = (f"removed the quota of {label}" if remove
                else f"set the quota of {label} to {'unlimited' if not limit else f'{limit:g}'}")
        await self.change(interaction, setting, saved, said)

    @app_commands.command(name="ban", description="Stop a member from using the bot on this server")
    @app_commands.describe(member="Who", reason="Why (they are told)", minutes="For how long (0: until unbanned)")
    async def ban(self, interaction: discord.Interaction, member: discord.Member, reason: str,
                  minutes: app_commands.Range[float, 0.0, 10000000.0] = 0.0) -> None:
        now = self.clock()
        block = self.moderation.ban(interaction.guild_id, member.id, interaction.user.id, reason[:300],
                                    now + minutes * 60 if minutes else None)
        self.audit.record(AuditEntry(interaction.guild_id, "banned", f"<@{interaction.user.id}> banned <@{member.id}> "
                                                                     f"{when(block.until)}: {block.reason}", now))
        await interaction.response.send_message(f"<@{member.id}> is banned {when(block.until)}.", ephemeral=True)

    @app_commands.command(name="unban", description="Let a banned or blocked member use the bot again")
    async def unban(self, interaction: discord.Interaction, member: discord.Member) -> None:
        lifted = self.moderation.unban(interaction.guild_id, member.id)
        if lifted is None:
            await interaction.response.send_message(f"<@{member.id}> is not banned or blocked here.", ephemeral=True)
            return
        self.audit.record(AuditEntry(interaction.guild_id, "unbanned", f"<@{interaction.user.id}> lifted the "
                                                                       f"{lifted.kind} of <@{member.id}>", self.clock()))
        await interaction.response.send_message(f"<@{member.id}> may use the bot again.", ephemeral=True)

    @app_commands.command(name="bans", description="Who is banned or blocked here, and why")
    async def bans(self, interaction: discord.Interaction) -> None:
        rows = self.moderation.blocked(interaction.guild_id, self.clock())
        text = "\n".join(f"<@{user}>: {blocked_message(block)}" for user, block in rows) or "Nobody is banned or blocked."
        await interaction.response.send_message(text[:2000], ephemeral=True)

    @app_commands.command(name="audit", description="The channel receiving refusals, bans, withheld results and changes")
    @app_commands.describe(channel="The audit channel; leave out to stop auditing")
    async def audit_channel(self, interaction: discord.Interaction, channel: discord.TextChannel | None = None) -> None:
        await self.change(interaction, "audit_channel", channel.id if channel else 0,
                          f"set the audit channel to #{channel.name}" if channel else "turned the audit channel off")

    @app_commands.command(name="results", description="Whether results are posted in the channel or shown only to their owner")
    async def results(self, interaction: discord.Interaction,
                      visibility: Literal["public", "private", "members_choose"]) -> None:
        value = None if visibility == "members_choose" else visibility
        await self.change(interaction, "visibility", value, f"set results to {visibility}")

    @app_commands.command(name="reset", description="Go back to the bot's default for one setting")
    async def reset(self, interaction: discord.Interaction, setting: Literal[RESETTABLE]) -> None:  # type: ignore[valid-type]
        names = {"strikes": ("strikes", "strike_window_minutes", "block_minutes"),
                 "quota": ("quota_default", "quota_unit", "quota_period_hours", "quota_roles", "quota_users")}
        for name in names.get(setting, (setting,))[1:]:
            await self.rulebook.reset(interaction.guild_id, name)
        await self.change(interaction, names.get(setting, (setting,))[0], None, f"reset {setting} to the default")


__all__ = ["NOT_ADMIN", "NsfwPolicySelect", "ServerAdminCog", "describe", "is_admin"]
