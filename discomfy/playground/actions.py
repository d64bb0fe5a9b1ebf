"""What a person does on the page, sent to the bot as the Discord client would send it.

The page sends option values as typed text; they are typed here against the schema the bot
synced (``steps:20`` becomes the integer 20), then handed to the emulator's strict
``invoke``, which refuses what the Discord client would never send (a missing required
option, a number out of range, a value outside the choices) with a message naming the option.
Those refusals, and a bot that does not answer in time, come back as ``ActionRefused`` with
the text the page shows under the composer.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from discomfy.testing.discord_emulator.injection import (ATTACHMENT, BOOLEAN, CHANNEL, INTEGER, MENTIONABLE, NUMBER,
                                                        SUB_COMMAND, SUB_COMMAND_GROUP, USER, find_command)

if TYPE_CHECKING:
    from discomfy.testing.discord_emulator import DiscordEmulator, EmulatedInteraction, EmulatedUser

MESSAGE_COMMAND = 3  # an application command's type: Apps → name, on a message's context menu

#: Seconds the page waits for the bot's first answer (Discord gives the bot 3 s, then shows
#: "The application did not respond"); a little more so the emulator's verdict comes first.
ANSWER_TIMEOUT = 5.0


class ActionRefused(Exception):
    """The Discord client would refuse this (or the bot did not answer); the text says why."""


@dataclasses.dataclass
class Upload:
    filename: str
    data: bytes
    content_type: str


class PageActions:
    def __init__(self, emu: "DiscordEmulator") -> None:
        self.emu = emu
        self._modals: dict[str, "EmulatedInteraction"] = {}  # interaction id -> the one that opened it

    # --- the composer -------------------------------------------------------------------------
    async def invoke(self, user_id: str, channel_id: str, command: str, text_options: dict[str, str],
                     uploads: dict[str, Upload]) -> dict[str, Any]:
        user, channel = self._user(user_id), self._channel(channel_id)
        # "/upscale image:" then a file chosen with the option's button: the file is the value
        text_options = {name: text for name, text in text_options.items() if name not in uploads}
        options = self.typed_options(command, text_options)
        attachments = {name: (u.filename, u.data, u.content_type) for name, u in uploads.items()}
        inter = await self._run(self.emu.invoke(command, options, user=user, attachments=attachments,
                                                channel_id=channel, timeout=ANSWER_TIMEOUT))
        return self._outcome(inter)

    async def autocomplete(self, user_id: str, command: str, text_options: dict[str, str],
                           focused: str) -> list[dict[str, Any]]:
        """The bot's suggestions for ``focused``; other options that do not parse yet are left out."""
        user = self._user(user_id)
        options: dict[str, Any] = {}
        for name, text in text_options.items():
            if name == focused:
                options[name] = text
                continue
            try:
                options.update(self.typed_options(command, {name: text}))
            except ActionRefused:
                continue
        options.setdefault(focused, "")
        return await self._run(self.emu.autocomplete(command, options, focused=focused, user=user,
                                                     timeout=ANSWER_TIMEOUT))

    async def say(self, user_id: str, channel_id: str, content: str) -> None:
        if not content.strip():
            raise ActionRefused("Type a message, or / for the bot's commands.")
        await self.emu.post_message(content, user=self._user(user_id), channel_id=self._channel(channel_id))

    # --- message context menus (Apps → …) ---------------------------------------------------------
    def message_commands(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """The message commands (type 3) the bot synced that the Discord client offers this user."""
        user = self.emu.users.get(user_id) if user_id else None
        return [{"name": c["name"]} for c in sorted(self.emu.commands, key=lambda c: c["name"].lower())
                if c.get("type") == MESSAGE_COMMAND and (user is None or self.emu.can_use_command(c, user))]

    async def message_command(self, user_id: str, message_id: str, name: str) -> dict[str, Any]:
        """Right-click a message → Apps → ``name``: the bot gets the command with that message."""
        user = self._user(user_id)
        message = self.emu.messages.get(message_id)
        if message is None or message.deleted:
            raise ActionRefused("That message was deleted.")
        if name not in {c["name"] for c in self.message_commands(user_id)}:
            raise ActionRefused(f"{name!r} is not one of this bot's message commands (Apps menu) for {user.name}.")
        inter = await self._run(self.emu.invoke_message_command(name, message, user=user, timeout=ANSWER_TIMEOUT))
        return self._outcome(inter)

    # --- buttons, selects, modals ---------------------------------------------------------------
    async def click(self, user_id: str, message_id: str, custom_id: str,
                    values: list[str] | None = None) -> dict[str, Any]:
        user = self._user(user_id)
        message = self.emu.messages.get(message_id)
        if message is None or message.deleted:
            raise ActionRefused("That message was deleted.")
        inter = await self._run(self.emu.click(message, custom_id, user=user, values=values,
                                               timeout=ANSWER_TIMEOUT))
        return self._outcome(inter)

    async def submit_modal(self, user_id: str, modal_id: str, values: dict[str, str]) -> dict[str, Any]:
        opener = self._modals.pop(modal_id, None)
        if opener is None:
            raise ActionRefused("This form was already submitted or closed; open it again.")
        inter = await self._run(self.emu.submit_modal(opener, values, user=self._user(user_id),
                                                      timeout=ANSWER_TIMEOUT))
        return self._outcome(inter)

    # --- typing option values ---------------------------------------------------------------
    def option_schema(self, command: str) -> list[dict[str, Any]]:
        """The options of ``command`` (``"group sub"`` for a subcommand) as the bot synced them."""
        try:
            top, path = find_command(self.emu, command)
        except AssertionError as exc:
            raise ActionRefused(f"/{command.split()[0] if command else ''} is not a command of this bot.") from exc
        schema = top.get("options") or []
        for part in path:
            sub = next((o for o in schema if o["name"] == part and o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)), None)
            if sub is None:
                raise ActionRefused(f"/{top['name']} has no subcommand {part!r}.")
            schema = sub.get("options") or []
        return schema

    def typed_options(self, command: str, text_options: dict[str, str]) -> dict[str, Any]:
        by_name = {o["name"]: o for o in self.option_schema(command)}
        typed: dict[str, Any] = {}
        for name, text in text_options.items():
            option = by_name.get(name)
            if option is None:
                raise ActionRefused(f"/{command} has no option {name!r}; its options are "
                                    f"{', '.join(by_name) or 'none'}.")
            if option["type"] == ATTACHMENT:
                raise ActionRefused(f"{name} takes a file: choose one with the 📎 {name} button above the "
                                    "message box.")
            if option["type"] in (USER, MENTIONABLE, CHANNEL):
                typed[name] = self._named(option, text.strip())
            else:
                typed[name] = _typed(option, text.strip())
        return typed

    def _named(self, option: dict[str, Any], text: str) -> str:
        """A user (``alice``, ``@alice``, ``<@id>``) or channel (``sandbox``, ``#sandbox``) by name or id."""
        name = option["name"]
        if option["type"] == CHANNEL:
            wanted = text.lstrip("#")
            for channel in self.emu.channels.values():
                if wanted in (channel["id"], channel["name"]):
                    return channel["id"]
            known = ", ".join(f"#{c['name']}" for c in self.emu.channels.values())
            raise ActionRefused(f"{name} needs a channel of this server ({known}); got {text!r}.")
        wanted = text.removeprefix("<@").removesuffix(">").lstrip("@!")
        for user in self.emu.users.values():
            if wanted in (user.id, user.name):
                return user.id
        known = ", ".join(f"@{u.name}" for u in self.emu.users.values())
        raise ActionRefused(f"{name} needs a member of this server ({known}); got {text!r}.")

    # --- helpers ------------------------------------------------------------------------------
    def _user(self, user_id: str) -> "EmulatedUser":
        user = self.emu.users.get(str(user_id))
        if user is None:
            raise ActionRefused(f"Unknown user {user_id!r}; pick one in the user switcher.")
        return user

    def _channel(self, channel_id: str) -> str:
        if str(channel_id) not in self.emu.channels:
            raise ActionRefused(f"Unknown channel {channel_id!r}; pick one in the channel list.")
        return str(channel_id)

    @staticmethod
    async def _run(action: Any) -> Any:
        # The emulator raises AssertionError for input a Discord client would not send and for a
        # bot that never answered: for the page, both are a refusal to show, not a crash.
        try:
            return await action
        except AssertionError as exc:
            raise ActionRefused(str(exc)) from None

    def _outcome(self, inter: "EmulatedInteraction") -> dict[str, Any]:
        modal = inter.modal
        if modal is None:
            return {"ok": True}
        self._modals[inter.id] = inter
        return {"ok": True, "modal": {"id": inter.id, **modal}}


def _typed(option: dict[str, Any], text: str) -> Any:
    kind, name = option["type"], option["name"]
    try:
        if kind == INTEGER:
            return int(text)
        if kind == NUMBER:
            return float(text)
    except ValueError:
        what, example = ("a whole number", "20") if kind == INTEGER else ("a number", "3.5")
        raise ActionRefused(f"{name} needs {what}, e.g. {name}:{example}; got {text!r}.") from None
    if kind == BOOLEAN:
        lowered = text.lower()
        if lowered not in ("true", "false", "yes", "no"):
            raise ActionRefused(f"{name} needs true or false, got {text!r}.")
        return lowered in ("true", "yes")
    return text
