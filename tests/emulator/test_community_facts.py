"""What moderation code reads from a real discord.py bot, carried by the emulator as Discord does:
the member's roles and permissions, the channel's age-restricted flag, and commands the client
does not offer to members lacking their ``default_member_permissions``."""

from __future__ import annotations

import asyncio
import json
import logging

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from discomfy.testing.discord_emulator import CommandNotAvailable
from discomfy.testing.discord_emulator.permissions import ADMINISTRATOR, ALL_PERMISSIONS, MANAGE_GUILD


def what_discord_py_saw(interaction: discord.Interaction) -> dict:
    member = interaction.user
    return {
        "roles": [[str(r.id), r.name] for r in member.roles if not r.is_default()],
        "manage_guild": interaction.permissions.manage_guild,
        "guild_manage_guild": member.guild_permissions.manage_guild,
        "administrator": interaction.permissions.administrator,
        "nsfw": interaction.channel.is_nsfw(),
        "channel": interaction.channel.name,
    }


class CommunityCog(commands.Cog):
    @app_commands.command(description="Reply with what discord.py saw")
    async def whoami(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(json.dumps(what_discord_py_saw(interaction)))

    @app_commands.command(description="Needs Manage Server")
    @app_commands.default_permissions(manage_guild=True)
    async def modcheck(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"moderating as {interaction.user.name}")

    @app_commands.command(description="Administrators only")
    @app_commands.default_permissions()
    async def lockdown(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("locked")

    mod = app_commands.Group(name="mod", description="Moderation",
                             default_permissions=discord.Permissions(manage_guild=True))

    @mod.command(name="warn", description="Warn a member")
    async def warn(self, interaction: discord.Interaction, member: discord.Member) -> None:
        await interaction.response.send_message(f"warned {member.name}")


class CommunityBot(commands.Bot):
    def __init__(self) -> None:
        intents = discord.Intents.default()
        intents.members = True  # so the member cache exists, and GUILD_MEMBER_UPDATE can be seen to update it
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.05)

    async def setup_hook(self) -> None:
        await self.add_cog(CommunityCog())
        await self.tree.sync()


@pytest.fixture
def community(discord_emulator):
    """The emulator with a Moderator role (Manage Server), alice (plain), mod (Moderator) and an
    age-restricted channel, all before the bot connects; enforcing default_member_permissions."""
    emu = discord_emulator
    emu.enforce_command_permissions = True
    emu.moderator_role = emu.add_role("Moderator", permissions=MANAGE_GUILD)
    emu.alice = emu.make_user("alice")
    emu.mod = emu.make_user("mod", roles=[emu.moderator_role])
    emu.nsfw_channel = emu.add_channel("nsfw-art", nsfw=True)
    logging.getLogger("discord").setLevel(logging.ERROR)
    return emu


async def seen(emu, user, channel_id=None) -> dict:
    inter = await emu.invoke("whoami", user=user, channel_id=channel_id)
    return json.loads(inter.response["data"]["content"])


async def test_roles_permissions_and_age_restriction_reach_discord_py(community):
    emu = community
    assert [r["name"] for r in emu._guild_payload()["roles"]] == ["@everyone", "Moderator"]
    async with emu.run_bot(CommunityBot()):
        plain = await seen(emu, emu.alice)
        assert plain == {"roles": [], "manage_guild": False, "guild_manage_guild": False, "administrator": False,
                         "nsfw": False, "channel": "general"}
        moderator = await seen(emu, emu.mod)
        assert moderator["roles"] == [[emu.moderator_role, "Moderator"]]
        assert moderator["manage_guild"] and moderator["guild_manage_guild"] and not moderator["administrator"]
        assert (await seen(emu, emu.alice, emu.nsfw_channel))["nsfw"] is True
        assert (await seen(emu, emu.mod, emu.nsfw_channel))["channel"] == "nsfw-art"
        owner = await seen(emu, emu.owner)
        assert owner["manage_guild"] and owner["guild_manage_guild"] and owner["administrator"]
    assert emu.permissions_of(emu.alice) & MANAGE_GUILD == 0
    assert emu.permissions_of(emu.owner) == ALL_PERMISSIONS
    assert not emu.violations and not emu.unhandled


async def test_set_roles_and_roles_or_channels_added_after_start_reach_the_bot(community):
    emu = community
    async with emu.run_bot(CommunityBot()) as bot:
        guild = bot.get_guild(int(emu.guild_id))
        updated = asyncio.ensure_future(bot.wait_for("member_update", timeout=5))
        await emu.set_roles(emu.alice, [emu.moderator_role])
        _, after = await updated
        assert [r.name for r in after.roles if not r.is_default()] == ["Moderator"]
        assert guild.get_member(int(emu.alice.id)).guild_permissions.manage_guild  # the cache followed
        assert emu.alice.roles == [emu.moderator_role]
        promoted = await seen(emu, emu.alice)
        assert promoted["roles"] == [[emu.moderator_role, "Moderator"]] and promoted["manage_guild"]

        await emu.set_roles(emu.alice, [])
        assert (await seen(emu, emu.alice))["manage_guild"] is False

        helper = emu.add_role("Helper", permissions=1 << 13)  # GUILD_ROLE_CREATE, before the interaction
        late_channel = emu.add_channel("late-nsfw", nsfw=True)  # CHANNEL_CREATE
        newcomer = emu.make_user("newcomer", roles=[helper])
        late = await seen(emu, newcomer, late_channel)
        assert late["roles"] == [[helper, "Helper"]] and late["nsfw"] is True and late["channel"] == "late-nsfw"
        assert guild.get_channel(int(late_channel)).is_nsfw()
    assert not emu.violations and not emu.unhandled


async def test_admin_users_hold_administrator_through_a_role(community):
    emu = community
    boss = emu.make_user("boss", admin=True)
    async with emu.run_bot(CommunityBot()):
        saw = await seen(emu, boss)
        assert saw["administrator"] and saw["manage_guild"] and saw["guild_manage_guild"]
        assert [name for _, name in saw["roles"]] == ["Administrator"]
    assert emu.permissions_of(boss) == ALL_PERMISSIONS


async def test_a_command_the_client_would_not_offer_is_refused_and_never_sent(community):
    emu = community
    async with emu.run_bot(CommunityBot()):
        assert emu.command("modcheck")["default_member_permissions"] == str(MANAGE_GUILD)
        assert emu.command("lockdown")["default_member_permissions"] == "0"
        assert emu.command("whoami")["default_member_permissions"] is None
        sent_before = [f for f in emu.gateway.sent if f["t"] == "INTERACTION_CREATE"]
        interactions_before = dict(emu.interactions)
        with pytest.raises(CommandNotAvailable, match=r"/modcheck is not offered to alice in #general: "
                                                      r"it needs Manage Server \(MANAGE_GUILD\)") as refused:
            await emu.invoke("modcheck", user=emu.alice)
        assert refused.value.command == "modcheck" and refused.value.missing == MANAGE_GUILD
        with pytest.raises(CommandNotAvailable, match="/mod is not offered to alice"):
            await emu.invoke("mod warn", {"member": emu.mod}, user=emu.alice)  # the group's value applies
        with pytest.raises(CommandNotAvailable, match="administrators only"):
            await emu.invoke("lockdown", user=emu.mod)
        assert emu.interactions == interactions_before
        assert [f for f in emu.gateway.sent if f["t"] == "INTERACTION_CREATE"] == sent_before

        for user in (emu.mod, emu.owner):
            answer = await emu.invoke("modcheck", user=user)
            assert answer.response["data"]["content"] == f"moderating as {user.name}"
        assert (await emu.invoke("mod warn", {"member": emu.alice}, user=emu.mod)).response["data"]["content"] \
            == "warned alice"
        for user in (emu.owner, emu.make_user("root", admin=True)):
            assert (await emu.invoke("lockdown", user=user)).response["data"]["content"] == "locked"
        assert [emu.can_use_command("modcheck", u) for u in (emu.alice, emu.mod, emu.owner)] == [False, True, True]
    assert not emu.violations and not emu.unhandled


async def test_without_enforcement_the_bot_receives_it_as_from_a_granted_or_stale_client(community):
    emu = community
    emu.enforce_command_permissions = False  # the default: tests of the bot's own permission checks
    async with emu.run_bot(CommunityBot()):
        answer = await emu.invoke("modcheck", user=emu.alice)
        assert answer.response["data"]["content"] == "moderating as alice"
    assert not emu.can_use_command("modcheck", emu.alice) and ADMINISTRATOR & emu.permissions_of(emu.owner)
