"""Discord-shaped JSON payloads with every field discord.py 2.7 indexes directly.

discord.py raises KeyError deep in its parsers (and only logs it) when a field it needs is
missing, so the symptom is "nothing happens". Building payloads here, in one place, keeps the
required fields (member ``flags``, ``attachment_size_limit``, AppInfo keys...) from being forgotten.
"""

from __future__ import annotations

import datetime
from typing import Any

EVERYONE_PERMISSIONS = "1071698660929"  # view, send, embed, attach, read history, use app commands
ADMIN_PERMISSIONS = "8"


def iso_time(unix_seconds: float) -> str:
    return datetime.datetime.fromtimestamp(unix_seconds, datetime.timezone.utc).isoformat()


def user(user_id: str, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


def member(user_payload: dict[str, Any], joined_at: float, *, roles: list[str] | None = None,
           permissions: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "user": user_payload,
        "roles": roles or [],
        "joined_at": iso_time(joined_at),
        "nick": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
    }
    if permissions is not None:
        payload["permissions"] = permissions
    return payload


def dm_channel(channel_id: str, recipient: dict[str, Any]) -> dict[str, Any]:
    """A direct-message channel with one user (type 1), as ``POST /users/@me/channels`` returns it."""
    return {"id": channel_id, "type": 1, "last_message_id": None, "flags": 0, "recipients": [recipient]}


def text_channel(channel_id: str, guild_id: str, name: str = "general", *, nsfw: bool = False) -> dict[str, Any]:
    """``nsfw`` is the age-restricted flag (discord.py's ``TextChannel.is_nsfw()``)."""
    return {
        "id": channel_id,
        "type": 0,
        "guild_id": guild_id,
        "name": name,
        "position": 0,
        "permission_overwrites": [],
        "nsfw": nsfw,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
    }


def role(role_id: str, name: str, permissions: int | str, position: int) -> dict[str, Any]:
    """A guild role; ``permissions`` goes on the wire as a decimal string, as Discord sends it.
    The @everyone role's id is the guild's id."""
    return {"id": role_id, "name": name, "permissions": str(int(permissions)), "position": position,
            "color": 0, "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False, "icon": None, "unicode_emoji": None, "managed": False, "mentionable": False,
            "flags": 0}


def guild(guild_id: str, owner_id: str, channels: list[dict[str, Any]], members: list[dict[str, Any]],
          *, name: str = "Emulated Guild", roles: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``roles`` defaults to @everyone alone, with ``EVERYONE_PERMISSIONS``."""
    return {
        "id": guild_id,
        "name": name,
        "icon": None,
        "owner_id": owner_id,
        "unavailable": False,
        "large": False,
        "member_count": len(members),
        "features": [],
        "roles": roles if roles is not None else [role(guild_id, "@everyone", EVERYONE_PERMISSIONS, 0)],
        "channels": [{k: v for k, v in c.items() if k != "guild_id"} for c in channels],
        "members": members,
        "threads": [],
        "emojis": [],
        "stickers": [],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "joined_at": iso_time(0),
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "system_channel_flags": 0,
    }


def application(app_id: str, owner: dict[str, Any], name: str = "DisComfy Test App") -> dict[str, Any]:
    return {
        "id": app_id,
        "name": name,
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": owner,
        "verify_key": "0" * 64,
        "flags": 0,
        "team": None,
    }
