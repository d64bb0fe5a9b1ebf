"""Interaction payloads built from the command schema the bot actually synced.

A test names a command and gives plain Python values; the values are checked and typed
against the synced options exactly as the Discord client would (unknown command or option,
missing required option, wrong type, value outside choices/min/max: a clear test failure
instead of a payload Discord could never send).
"""

from __future__ import annotations

from typing import Any

from .message_ops import make_attachment
from .messages import StoredAttachment, StoredMessage

# The emulator is handed to this part, not imported: server.py assembles the parts.
DiscordEmulator = Any

STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 9, 10, 11
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
TYPE_NAMES = {STRING: "string", INTEGER: "integer", BOOLEAN: "boolean", USER: "user", CHANNEL: "channel",
              ROLE: "role", MENTIONABLE: "mentionable", NUMBER: "number", ATTACHMENT: "attachment"}
Attachments = dict[str, tuple[str, bytes, str]]


def find_command(emu: "DiscordEmulator", name: str, guild_id: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """``"group sub"`` → (top-level command, ["group", "sub"] path below it); with ``guild_id``,
    only a global command or one synced to that guild (what the Discord client offers there)."""
    top, *path = name.split()
    offered = [c for c in emu.commands if guild_id is None or c.get("guild_id") in (None, guild_id)]
    for cmd in offered:
        if cmd["name"] == top and cmd.get("type", 1) == 1:
            return cmd, path
    synced = sorted(c["name"] for c in offered)
    where = f" for guild {guild_id}" if guild_id is not None else ""
    raise AssertionError(f"the bot synced no slash command named {top!r}{where}; synced commands: {synced}")


def command_data(emu: "DiscordEmulator", name: str, values: dict[str, Any], attachments: Attachments | None,
                 focused: str | None, channel_id: str, *, strict: bool = True) -> dict[str, Any]:
    cmd, path = find_command(emu, name, emu.channels.get(channel_id, {}).get("guild_id"))
    resolved: dict[str, dict[str, Any]] = {}
    schema = cmd.get("options") or []
    nesting: list[tuple[str, int]] = []
    for part in path:
        sub = next((o for o in schema if o["name"] == part and o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)), None)
        if sub is None:
            raise AssertionError(f"/{cmd['name']} has no subcommand {part!r}; it has "
                                 f"{[o['name'] for o in schema if o['type'] in (1, 2)]}")
        nesting.append((part, sub["type"]))
        schema = sub.get("options") or []
    if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in schema):
        raise AssertionError(f"/{name} needs a subcommand: one of {[o['name'] for o in schema]}")
    if strict:
        options = _typed_options(emu, f"/{name}", schema, values, dict(attachments or {}), focused, resolved, channel_id)
    else:
        options = _raw_options(emu, schema, values, dict(attachments or {}), resolved, channel_id)
    for part, kind in reversed(nesting):
        options = [{"name": part, "type": kind, "options": options}]
    data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": 1, "options": options}
    if cmd.get("guild_id"):
        data["guild_id"] = cmd["guild_id"]
    if resolved:
        data["resolved"] = resolved
    return data


def _typed_options(emu: "DiscordEmulator", label: str, schema: list[dict[str, Any]], values: dict[str, Any],
                   attachments: Attachments, focused: str | None, resolved: dict[str, dict[str, Any]],
                   channel_id: str) -> list[dict[str, Any]]:
    by_name = {o["name"]: o for o in schema}
    unknown = [k for k in [*values, *attachments] if k not in by_name]
    if unknown:
        raise AssertionError(f"{label} has no option {unknown[0]!r}; its options are {list(by_name)}")
    if focused is not None and focused not in values:
        raise AssertionError(f"focused option {focused!r} needs a value (what the user typed so far)")
    options = []
    for opt in schema:
        name = opt["name"]
        if name in attachments:
            if opt["type"] != ATTACHMENT:
                raise AssertionError(f"{label} option {name!r} is a {TYPE_NAMES.get(opt['type'])}, not an attachment")
            filename, data, content_type = attachments[name]
            att = _upload(emu, channel_id, filename, data, content_type)
            resolved.setdefault("attachments", {})[att.id] = att.to_payload()
            options.append({"name": name, "type": ATTACHMENT, "value": att.id})
            continue
        if name not in values:
            if opt.get("required") and focused is None:
                raise AssertionError(f"{label} requires option {name!r}; give it a value")
            continue
        if name == focused:  # the partial text the user typed: Discord sends it as a string
            options.append({"name": name, "type": opt["type"], "value": str(values[name]), "focused": True})
            continue
        options.append({"name": name, "type": opt["type"], "value": _typed_value(emu, label, opt, values[name], resolved)})
    return options


def _raw_options(emu: "DiscordEmulator", schema: list[dict[str, Any]], values: dict[str, Any],
                 attachments: Attachments, resolved: dict[str, dict[str, Any]], channel_id: str) -> list[dict[str, Any]]:
    """Values exactly as given, typed by the synced option (strings for unknown names)."""
    types = {o["name"]: o["type"] for o in schema}
    options = [{"name": k, "type": types.get(k, STRING), "value": v} for k, v in values.items()]
    for name, (filename, data, content_type) in attachments.items():
        att = _upload(emu, channel_id, filename, data, content_type)
        resolved.setdefault("attachments", {})[att.id] = att.to_payload()
        options.append({"name": name, "type": ATTACHMENT, "value": att.id})
    return options


def _typed_value(emu: "DiscordEmulator", label: str, opt: dict[str, Any], value: Any, resolved: dict[str, dict[str, Any]]) -> Any:
    kind, name = opt["type"], opt["name"]
    where = f"{label} option {name!r} ({TYPE_NAMES.get(kind, kind)})"
    if kind == STRING:
        if not isinstance(value, str):
            raise AssertionError(f"{where} needs a str, got {value!r}")
        if not (opt.get("min_length", 0) <= len(value) <= opt.get("max_length", 6000)):
            raise AssertionError(f"{where} length must be within [{opt.get('min_length', 0)}, "
                                 f"{opt.get('max_length', 6000)}], got {len(value)}")
    elif kind == INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise AssertionError(f"{where} needs an int, got {value!r}")
    elif kind == NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise AssertionError(f"{where} needs a number, got {value!r}")
    elif kind == BOOLEAN:
        if not isinstance(value, bool):
            raise AssertionError(f"{where} needs a bool, got {value!r}")
    elif kind in (USER, MENTIONABLE):
        user = emu._user_for(value)
        resolved.setdefault("users", {})[user.id] = user.user
        resolved.setdefault("members", {})[user.id] = {k: v for k, v in emu._member_in_interaction(user).items()
                                                       if k != "user"}
        return user.id
    elif kind == CHANNEL:
        channel_id = str(getattr(value, "id", value))
        if channel_id not in emu.channels:
            raise AssertionError(f"{where}: unknown channel {channel_id}; known: {list(emu.channels)}")
        resolved.setdefault("channels", {})[channel_id] = {**emu.channels[channel_id], "permissions": "8"}
        return channel_id
    elif kind == ROLE:  # Discord resolves the role, as it does users and channels
        role = emu.role(str(getattr(value, "id", value)))
        resolved.setdefault("roles", {})[role["id"]] = role
        return role["id"]
    if kind in (INTEGER, NUMBER):
        low, high = opt.get("min_value"), opt.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise AssertionError(f"{where} must be within [{low}, {high}], got {value}")
    choices = opt.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise AssertionError(f"{where} must be one of its choices {[c['value'] for c in choices]}, got {value!r}")
    return value


def _upload(emu: "DiscordEmulator", channel_id: str, filename: str, data: bytes, content_type: str) -> StoredAttachment:
    return make_attachment(emu, channel_id, filename, data, content_type)


def message_command_data(emu: "DiscordEmulator", name: str, message: StoredMessage) -> dict[str, Any]:
    """A message context-menu command (Apps → ``name``) run on ``message``."""
    cmd = next((c for c in emu.commands if c["name"] == name and c.get("type") == 3), None)
    if cmd is None:
        synced = sorted(c["name"] for c in emu.commands if c.get("type") == 3)
        raise AssertionError(f"the bot synced no message command named {name!r}; message commands: {synced}")
    data: dict[str, Any] = {"id": cmd["id"], "name": name, "type": 3, "target_id": message.id,
                            "resolved": {"messages": {message.id: message.to_payload()}}}
    if cmd.get("guild_id"):
        data["guild_id"] = cmd["guild_id"]
    return data


def component_data(message: StoredMessage, custom_id: str, values: list[str] | None) -> dict[str, Any]:
    component = message.component(custom_id)
    if component.get("disabled"):
        raise AssertionError(f"component {custom_id!r} on message {message.id} is disabled; a user cannot use it")
    kind = component["type"]
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": kind}
    if kind == 2:
        if component.get("style") == 5 or "url" in component:
            raise AssertionError(f"{custom_id!r} is a link button; clicking it sends nothing to the bot")
        if values is not None:
            raise AssertionError(f"{custom_id!r} is a button; values are only for select menus")
    else:
        chosen = list(values or [])
        low, high = component.get("min_values", 1), component.get("max_values", 1)
        if not (low <= len(chosen) <= high):
            raise AssertionError(f"select {custom_id!r} takes {low}..{high} values, got {chosen}")
        if kind == 3:
            allowed = [o["value"] for o in component.get("options") or []]
            bad = [v for v in chosen if v not in allowed]
            if bad:
                raise AssertionError(f"select {custom_id!r} has no option {bad[0]!r}; options: {allowed}")
        data["values"] = chosen
    return data


def modal_data(modal: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Fill the modal's inputs by custom_id or by label; required inputs must get a value."""
    remaining = dict(values)
    components = []
    inputs_seen = []
    for top in modal.get("components") or []:
        if top.get("type") == 1:
            filled = [_fill_input(c, None, remaining, inputs_seen) for c in top.get("components") or []]
            components.append({"type": 1, "components": filled})
        elif top.get("type") == 18:
            components.append({"type": 18, "id": top.get("id"),
                               "component": _fill_input(top["component"], top.get("label"), remaining, inputs_seen)})
    if remaining:
        raise AssertionError(f"modal {modal.get('title')!r} has no input {next(iter(remaining))!r}; "
                             f"inputs (custom_id, label): {inputs_seen}")
    return {"custom_id": modal["custom_id"], "components": components}


def _fill_input(comp: dict[str, Any], label: str | None, remaining: dict[str, Any], seen: list) -> dict[str, Any]:
    label = comp.get("label", label)
    seen.append((comp.get("custom_id"), label))
    key = comp.get("custom_id") if comp.get("custom_id") in remaining else label if label in remaining else None
    if key is None and label is not None:
        key = next((k for k in remaining if k.lower() == label.lower()), None)
    value = remaining.pop(key) if key is not None else None
    if comp["type"] == 4:
        text = value if value is not None else comp.get("value") or ""
        if comp.get("required", True) and not text:
            raise AssertionError(f"modal input {label or comp.get('custom_id')!r} is required; give it a value")
        return {"type": 4, "custom_id": comp["custom_id"], "value": text}
    return {"type": comp["type"], "custom_id": comp["custom_id"], "values": list(value or [])}
