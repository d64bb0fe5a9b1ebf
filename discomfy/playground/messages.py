"""A stored message as the page draws it: Discord's message fields plus who may see it.

Attachment URLs point at the page's own ``/cdn/`` route (the emulator listens on loopback only,
the page may be opened from elsewhere with ``--host``), and ``attachment://name`` references in
embeds are resolved the way the Discord client does. Attachments an embed shows are not listed
again below it, as on Discord.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from discomfy.testing.discord_emulator.interactions import COMMAND

if TYPE_CHECKING:
    from discomfy.testing.discord_emulator import DiscordEmulator, StoredAttachment, StoredMessage


def cdn_url(attachment: "StoredAttachment") -> str:
    return f"/cdn/{attachment.id}/{quote(attachment.filename)}"


def message_json(emu: "DiscordEmulator", msg: "StoredMessage") -> dict[str, Any]:
    interaction = emu.interactions.get(msg.interaction_id or "")
    by_name = {a.filename: a for a in msg.attachments}
    shown_in_embeds: set[str] = set()

    def resolve(url: str | None) -> str | None:
        if url and url.startswith("attachment://"):
            found = by_name.get(url[len("attachment://"):])
            if found is None:
                return None
            shown_in_embeds.add(found.id)
            return cdn_url(found)
        return url

    embeds = copy.deepcopy(msg.embeds)
    for embed in embeds:
        for key in ("image", "thumbnail"):
            if isinstance(embed.get(key), dict):
                embed[key]["url"] = resolve(embed[key].get("url"))
    used_by = None
    if interaction is not None:
        user = emu.users.get(interaction.user_id)
        used_by = {"user_id": interaction.user_id, "user": user.name if user else interaction.user_id,
                   "command": _command_line(interaction.data) if interaction.type == COMMAND else None}
    return {
        "id": msg.id,
        "channel_id": msg.channel_id,
        "author": {"id": msg.author["id"], "name": msg.author.get("global_name") or msg.author["username"],
                   "bot": bool(msg.author.get("bot"))},
        "content": msg.content,
        "embeds": embeds,
        "attachments": [{"id": a.id, "filename": a.filename, "content_type": a.content_type,
                         "size": len(a.data), "url": cdn_url(a)}
                        for a in msg.attachments if a.id not in shown_in_embeds],
        "components": msg.components,
        "ephemeral": msg.ephemeral,
        # only the user whose interaction it answers sees an ephemeral message
        "visible_to": interaction.user_id if msg.ephemeral and interaction is not None else None,
        "loading": msg.loading,
        "edited": msg.edits > 0,
        "deleted": msg.deleted,
        "created_at": msg.created_at,
        "interaction": used_by,
    }


def _command_line(data: dict[str, Any]) -> str:
    """``/discomfy reload`` for a subcommand, ``/generate`` otherwise; ``Upscale`` for a message
    command (Apps → Upscale), which Discord shows without a slash."""
    if data.get("type") in (2, 3):
        return data.get("name", "")
    parts = [data.get("name", "")]
    options = data.get("options") or []
    while options and options[0].get("type") in (1, 2):
        parts.append(options[0]["name"])
        options = options[0].get("options") or []
    return "/" + " ".join(parts)
