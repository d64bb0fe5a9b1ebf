"""Permission arithmetic as Discord does it for a guild member, and the names the client shows.

Discord computes a member's permissions server-side and puts them in every interaction
(``member.permissions``): @everyone's permissions OR those of each of the member's roles;
ADMINISTRATOR, or owning the guild, means every permission. A command's
``default_member_permissions`` hides it from members lacking any of its bits (``"0"``: from
everyone but administrators). Kept apart from the guild's state so the rule can be read, and
tested, in one place. Channel overwrites are not modelled: the emulator's channels have none.
"""

from __future__ import annotations

from typing import Iterable

#: (bit, API name, what the Discord client calls it), from Discord's permission reference
PERMISSIONS: tuple[tuple[int, str, str], ...] = (
    (0, "CREATE_INSTANT_INVITE", "Create Invite"), (1, "KICK_MEMBERS", "Kick Members"),
    (2, "BAN_MEMBERS", "Ban Members"), (3, "ADMINISTRATOR", "Administrator"),
    (4, "MANAGE_CHANNELS", "Manage Channels"), (5, "MANAGE_GUILD", "Manage Server"),
    (6, "ADD_REACTIONS", "Add Reactions"), (7, "VIEW_AUDIT_LOG", "View Audit Log"),
    (8, "PRIORITY_SPEAKER", "Priority Speaker"), (9, "STREAM", "Video"),
    (10, "VIEW_CHANNEL", "View Channels"), (11, "SEND_MESSAGES", "Send Messages"),
    (12, "SEND_TTS_MESSAGES", "Send Text-to-Speech Messages"), (13, "MANAGE_MESSAGES", "Manage Messages"),
    (14, "EMBED_LINKS", "Embed Links"), (15, "ATTACH_FILES", "Attach Files"),
    (16, "READ_MESSAGE_HISTORY", "Read Message History"), (17, "MENTION_EVERYONE", "Mention @everyone"),
    (18, "USE_EXTERNAL_EMOJIS", "Use External Emoji"), (19, "VIEW_GUILD_INSIGHTS", "View Server Insights"),
    (20, "CONNECT", "Connect"), (21, "SPEAK", "Speak"), (22, "MUTE_MEMBERS", "Mute Members"),
    (23, "DEAFEN_MEMBERS", "Deafen Members"), (24, "MOVE_MEMBERS", "Move Members"),
    (25, "USE_VAD", "Use Voice Activity"), (26, "CHANGE_NICKNAME", "Change Nickname"),
    (27, "MANAGE_NICKNAMES", "Manage Nicknames"), (28, "MANAGE_ROLES", "Manage Roles"),
    (29, "MANAGE_WEBHOOKS", "Manage Webhooks"), (30, "MANAGE_GUILD_EXPRESSIONS", "Manage Expressions"),
    (31, "USE_APPLICATION_COMMANDS", "Use Application Commands"), (32, "REQUEST_TO_SPEAK", "Request to Speak"),
    (33, "MANAGE_EVENTS", "Manage Events"), (34, "MANAGE_THREADS", "Manage Threads"),
    (35, "CREATE_PUBLIC_THREADS", "Create Public Threads"), (36, "CREATE_PRIVATE_THREADS", "Create Private Threads"),
    (37, "USE_EXTERNAL_STICKERS", "Use External Stickers"),
    (38, "SEND_MESSAGES_IN_THREADS", "Send Messages in Threads"), (39, "USE_EMBEDDED_ACTIVITIES", "Use Activities"),
    (40, "MODERATE_MEMBERS", "Timeout Members"),
    (41, "VIEW_CREATOR_MONETIZATION_ANALYTICS", "View Creator Monetization Analytics"),
    (42, "USE_SOUNDBOARD", "Use Soundboard"), (43, "CREATE_GUILD_EXPRESSIONS", "Create Expressions"),
    (44, "CREATE_EVENTS", "Create Events"), (45, "USE_EXTERNAL_SOUNDS", "Use External Sounds"),
    (46, "SEND_VOICE_MESSAGES", "Send Voice Messages"), (48, "SET_VOICE_CHANNEL_STATUS", "Set Voice Channel Status"),
    (49, "SEND_POLLS", "Create Polls"), (50, "USE_EXTERNAL_APPS", "Use External Apps"),
    (51, "PIN_MESSAGES", "Pin Messages"), (52, "BYPASS_SLOWMODE", "Bypass Slowmode"),
)
ADMINISTRATOR, MANAGE_CHANNELS, MANAGE_GUILD = 1 << 3, 1 << 4, 1 << 5
MANAGE_MESSAGES, MODERATE_MEMBERS = 1 << 13, 1 << 40
ALL_PERMISSIONS = sum(1 << bit for bit, _, _ in PERMISSIONS)


def member_permissions(everyone: int, role_permissions: Iterable[int], *, owner: bool = False) -> int:
    """A member's permissions in a channel without overwrites: what Discord sends as
    ``member.permissions`` (and discord.py reads as ``interaction.permissions``)."""
    if owner:
        return ALL_PERMISSIONS
    total = everyone
    for value in role_permissions:
        total |= value
    return ALL_PERMISSIONS if total & ADMINISTRATOR else total


def missing_for_command(default_member_permissions: str | int | None, permissions: int) -> int | None:
    """The bits of a command's ``default_member_permissions`` a member lacks: None when the
    client offers the command, else the missing bits (ADMINISTRATOR alone for ``"0"``)."""
    if default_member_permissions is None or permissions & ADMINISTRATOR:
        return None
    required = int(default_member_permissions)
    if required == 0:  # Discord: "0" disables the command for everyone but administrators
        return ADMINISTRATOR
    missing = required & ~permissions
    return missing or None


def names(bits: int) -> list[str]:
    """``["Manage Server (MANAGE_GUILD)", ...]`` for each set bit, as a refusal names them."""
    found = [f"{label} ({api})" for bit, api, label in PERMISSIONS if bits & (1 << bit)]
    found += [f"1 << {bit}" for bit in range(bits.bit_length()) if bits & ~ALL_PERMISSIONS & (1 << bit)]
    return found
