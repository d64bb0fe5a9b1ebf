"""Guild roles, who holds them, and which commands the Discord client offers whom.

Mixed into ``DiscordEmulator``. Moderation code reads these from real discord.py objects:
``interaction.user.roles`` (role ids in the interaction, resolved against the guild's roles
that GUILD_CREATE / GUILD_ROLE_CREATE carried), ``interaction.permissions`` (computed here as
Discord does, see :mod:`.permissions`) and ``interaction.user.guild_permissions`` (discord.py
computes it from the cached roles and the guild's owner). A command whose
``default_member_permissions`` a member lacks is never offered by the client, so with
``enforce_command_permissions`` the emulator refuses to send it (``CommandNotAvailable``).
"""

from __future__ import annotations

from typing import Any, Iterable

from . import payloads, permissions
from .injection import find_command

# The emulator is handed to this part, not imported: server.py assembles the parts.
DiscordEmulator = EmulatedUser = Any

ADMINISTRATOR_ROLE = "Administrator"  # what ``make_user(admin=True)`` is given


class CommandNotAvailable(AssertionError):
    """The Discord client does not offer this command to this member (its
    ``default_member_permissions``), so nothing was sent to the bot.

    An ``AssertionError`` like the emulator's other refusals of what no client could send.
    """

    def __init__(self, command: str, user: str, channel: str, missing: int) -> None:
        self.command, self.user, self.channel, self.missing = command, user, channel, missing
        need = ("administrators only (default_member_permissions \"0\")" if missing == permissions.ADMINISTRATOR
                else " and ".join(permissions.names(missing)))
        super().__init__(f"/{command} is not offered to {user} in #{channel}: it needs {need}, which {user} "
                         "lacks (Discord's client hides it); nothing was sent to the bot")


class GuildRoles:
    def add_role(self: "DiscordEmulator", name: str, *, permissions: int = 0) -> str:
        """A new guild role (its id); a connected bot is sent GUILD_ROLE_CREATE, like Discord does."""
        role_id = self.snowflakes.next()
        role = payloads.role(role_id, name, permissions, position=len(self.roles))
        self.roles[role_id] = role
        for guild_id in self.guilds:  # every guild shares the roles (see guilds.py)
            self._tell_bot_soon("GUILD_ROLE_CREATE", {"guild_id": guild_id, "role": role})
        return role_id

    def role(self: "DiscordEmulator", name_or_id: str) -> dict[str, Any]:
        """A role's payload by id or name (``"@everyone"`` included)."""
        found = self.roles.get(str(name_or_id)) or next(
            (r for r in self.roles.values() if r["name"] == name_or_id), None)
        if found is None:
            raise AssertionError(f"no role {name_or_id!r}; roles: {[r['name'] for r in self.roles.values()]}")
        return found

    async def set_roles(self: "DiscordEmulator", user: "EmulatedUser | str", role_ids: Iterable[str]) -> None:
        """Replace a member's roles; the bot is sent GUILD_MEMBER_UPDATE so its cache follows."""
        member = self._user_for(user)
        member.member["roles"] = self._known_roles(role_ids)
        for guild_id in self.guilds:  # every guild has the same members (see guilds.py)
            await self.gateway.dispatch("GUILD_MEMBER_UPDATE", {"guild_id": guild_id, **member.member})

    def permissions_of(self: "DiscordEmulator", user: "EmulatedUser | str | None" = None) -> int:
        """The member's permissions as Discord puts them in an interaction: @everyone's OR each
        role's; everything for ADMINISTRATOR or the guild's owner. The same in every channel,
        as the emulator's channels have no permission overwrites."""
        member = self._user_for(user)
        held = [int(self.roles[role_id]["permissions"]) for role_id in member.member["roles"]]
        return permissions.member_permissions(int(self.roles[self.guild_id]["permissions"]), held,
                                              owner=member.id == self.owner.id)

    def can_use_command(self: "DiscordEmulator", command: str | dict[str, Any],
                        user: "EmulatedUser | str | None" = None) -> bool:
        """Whether the Discord client offers ``command`` (a synced command, or a slash command's
        name; ``"group sub"`` is judged by its group) to ``user``, by ``default_member_permissions``."""
        cmd = command if isinstance(command, dict) else find_command(self, command)[0]
        return permissions.missing_for_command(cmd.get("default_member_permissions"),
                                               self.permissions_of(user)) is None

    def _refuse_unavailable(self: "DiscordEmulator", cmd: dict[str, Any], user: "EmulatedUser | None",
                            channel_id: str) -> None:
        """Raise ``CommandNotAvailable`` before anything is sent, when enforcing and not offered."""
        if not self.enforce_command_permissions:
            return
        member = self._user_for(user)
        missing = permissions.missing_for_command(cmd.get("default_member_permissions"), self.permissions_of(member))
        if missing is not None:
            channel = self.channels.get(channel_id, {}).get("name", channel_id)
            raise CommandNotAvailable(cmd["name"], member.name, channel, missing)

    def _member_in_interaction(self: "DiscordEmulator", member: "EmulatedUser") -> dict[str, Any]:
        """The member object an interaction carries: with ``permissions``, as a decimal string."""
        return {**member.member, "permissions": str(self.permissions_of(member))}

    def _known_roles(self: "DiscordEmulator", role_ids: Iterable[str]) -> list[str]:
        ids = [str(getattr(r, "id", r)) for r in role_ids]
        for role_id in ids:
            if role_id == self.guild_id:
                raise AssertionError("@everyone is every member's role; Discord does not list it in member.roles")
            if role_id not in self.roles:
                raise AssertionError(f"unknown role {role_id!r}; create roles with emu.add_role(name)")
        return list(dict.fromkeys(ids))

    def _administrator_role(self: "DiscordEmulator") -> str:
        """The role ``make_user(admin=True)`` gives: ADMINISTRATOR, created on first use."""
        for role_id, role in self.roles.items():
            if role["name"] == ADMINISTRATOR_ROLE and int(role["permissions"]) & permissions.ADMINISTRATOR:
                return role_id
        return self.add_role(ADMINISTRATOR_ROLE, permissions=permissions.ADMINISTRATOR)
