"""Sending the bot what a hostile or broken client could: values the emulator's typed
``invoke`` would refuse to build (out of range, wrong type, not a choice, too long).

Discord checks option types and ranges itself, but the bot must not rely on it: a value that
slips through (an API change, a Discord-compatible server, a crafted request) must be refused
by the bot's own validation with a clear message, never crash it, and never reach ComfyUI.
"""

from __future__ import annotations

from typing import Any

from discomfy.testing.discord_emulator.injection import find_command
from discomfy.testing.discord_emulator.interactions import COMMAND, EmulatedInteraction
from discomfy.testing.discord_emulator.message_ops import make_attachment

STRING, ATTACHMENT = 3, 11


def raw_command(emu: Any, name: str, values: dict[str, Any],
                attachments: dict[str, tuple[str, bytes, str]] | None = None) -> dict[str, Any]:
    """An APPLICATION_COMMAND payload with ``values`` as given (typed by the synced option, or
    as strings for names the command does not have)."""
    cmd, _ = find_command(emu, name)
    types = {o["name"]: o["type"] for o in cmd.get("options") or []}
    options: list[dict[str, Any]] = [{"name": k, "type": types.get(k, STRING), "value": v} for k, v in values.items()]
    resolved: dict[str, Any] = {}
    for key, (filename, data, content_type) in (attachments or {}).items():
        att = make_attachment(emu, emu.channel_id, filename, data, content_type)
        resolved.setdefault("attachments", {})[att.id] = att.to_payload()
        options.append({"name": key, "type": ATTACHMENT, "value": att.id})
    data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": 1, "options": options}
    if cmd.get("guild_id"):
        data["guild_id"] = cmd["guild_id"]
    if resolved:
        data["resolved"] = resolved
    return data


async def raw_invoke(emu: Any, name: str, values: dict[str, Any], *, user: Any,
                     attachments: dict[str, tuple[str, bytes, str]] | None = None,
                     timeout: float = 4.0) -> EmulatedInteraction:
    """Dispatch the raw command as ``user`` and wait for the bot's first answer."""
    data = raw_command(emu, name, values, attachments)
    return await emu._send_interaction(COMMAND, data, user, emu.channel_id, wait=True, timeout=timeout)
