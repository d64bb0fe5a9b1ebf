"""What a user does in Discord, sent to the bot as INTERACTION_CREATE dispatches.

Mixed into ``DiscordEmulator``. Each action returns the ``EmulatedInteraction``; by default it
first waits for the bot's initial callback (the 3-second acknowledgement), so a test reads the
response right away and a bot that never answers fails with a message naming the command.
"""

from __future__ import annotations

import secrets
from typing import Any

from . import injection
from .interactions import AUTOCOMPLETE, COMMAND, COMPONENT, MODAL_SUBMIT, EmulatedInteraction
from .messages import StoredMessage

# The emulator is handed to this part, not imported: server.py assembles the parts.
DiscordEmulator = EmulatedUser = Any


class InteractionActions:
    async def invoke(self: "DiscordEmulator", command: str, options: dict[str, Any] | None = None, *,
                     user: "EmulatedUser | None" = None,
                     attachments: dict[str, tuple[str, bytes, str]] | None = None,
                     channel_id: str | None = None, wait: bool = True, timeout: float = 5.0,
                     strict: bool = True) -> EmulatedInteraction:
        """Run ``/command`` (``"group sub"`` for subcommands) with options typed against the synced schema.

        ``attachments`` maps an attachment option to ``(filename, bytes, content_type)``; the bytes
        are served by the emulator's CDN so ``Attachment.read()`` works. ``strict=False`` sends
        the values as given, as a hostile or broken client could (out of range, wrong type,
        unknown option), to test that the bot's own validation refuses them. With
        ``enforce_command_permissions``, a command the client would not offer this member raises
        ``CommandNotAvailable`` and nothing is sent.
        """
        channel = channel_id or self.channel_id
        self._refuse_unavailable(injection.find_command(self, command, self.guild_of(channel))[0], user, channel)
        data = injection.command_data(self, command, options or {}, attachments, None, channel, strict=strict)
        return await self._send_interaction(COMMAND, data, user, channel, wait=wait, timeout=timeout)

    async def autocomplete(self: "DiscordEmulator", command: str, options: dict[str, Any], *, focused: str,
                           user: "EmulatedUser | None" = None, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The choices the bot offers while ``focused`` holds the partial text in ``options``."""
        self._refuse_unavailable(injection.find_command(self, command)[0], user, self.channel_id)
        data = injection.command_data(self, command, options, None, focused, self.channel_id)
        inter = await self._send_interaction(AUTOCOMPLETE, data, user, self.channel_id, wait=True, timeout=timeout)
        return inter.choices or []

    async def click(self: "DiscordEmulator", message: Any, custom_id: str, *, user: "EmulatedUser | None" = None,
                    values: list[str] | None = None, wait: bool = True, timeout: float = 5.0) -> EmulatedInteraction:
        """Click a button (or pick ``values`` in a select) on a message the bot sent."""
        stored = self._stored_message(message)
        data = injection.component_data(stored, custom_id, values)
        return await self._send_interaction(COMPONENT, data, user, stored.channel_id, message=stored,
                                            wait=wait, timeout=timeout)

    async def invoke_message_command(self: "DiscordEmulator", name: str, message: Any, *,
                                     user: "EmulatedUser | None" = None, wait: bool = True,
                                     timeout: float = 5.0) -> EmulatedInteraction:
        """Run the message context-menu command ``name`` (Apps → name) on any message: one the
        bot sent or one a user posted (``post_message``)."""
        stored = self._stored_message(message)
        data = injection.message_command_data(self, name, stored)
        self._refuse_unavailable(next(c for c in self.commands if c["id"] == data["id"]), user, stored.channel_id)
        return await self._send_interaction(COMMAND, data, user, stored.channel_id, wait=wait, timeout=timeout)

    async def submit_modal(self: "DiscordEmulator", modal: EmulatedInteraction | dict[str, Any],
                           values: dict[str, Any], *, user: "EmulatedUser | None" = None,
                           wait: bool = True, timeout: float = 5.0) -> EmulatedInteraction:
        """Submit the modal the bot opened (give the interaction it answered, or the modal dict).

        ``values`` are keyed by input custom_id or label; inputs not given keep their default.
        """
        source = modal if isinstance(modal, EmulatedInteraction) else None
        schema = source.modal if source is not None else modal
        if schema is None:
            raise AssertionError(f"the bot did not open a modal for {source.describe()}; "  # type: ignore[union-attr]
                                 f"it responded {source.response}")  # type: ignore[union-attr]
        data = injection.modal_data(schema, values)
        channel = source.payload["channel_id"] if source else self.channel_id
        return await self._send_interaction(MODAL_SUBMIT, data, user or (source and self.users.get(source.user_id)),
                                            channel, message=source.message if source else None,
                                            wait=wait, timeout=timeout)

    def _stored_message(self: "DiscordEmulator", message: Any) -> StoredMessage:
        if isinstance(message, StoredMessage):
            return message
        msg = self.messages.get(str(getattr(message, "id", message)))
        if msg is None or msg.deleted:
            raise AssertionError(f"no live message {message!r} from the bot in the emulator")
        return msg

    async def _send_interaction(self: "DiscordEmulator", kind: int, data: dict[str, Any], user: Any,
                                channel_id: str, *, message: StoredMessage | None = None,
                                wait: bool, timeout: float) -> EmulatedInteraction:
        member = self._user_for(user)
        member_payload = self._member_in_interaction(member)
        guild_id = self.channels[channel_id].get("guild_id", self.guild_id)
        interaction_id = self.snowflakes.next()
        token = f"emu.{interaction_id}.{secrets.token_urlsafe(24)}"
        payload: dict[str, Any] = {
            "id": interaction_id, "application_id": self.application_id, "type": kind, "token": token,
            "version": 1, "data": data, "guild_id": guild_id, "channel_id": channel_id,
            "channel": {**self.channels[channel_id], "permissions": member_payload["permissions"]},
            "member": member_payload, "locale": "en-US", "guild_locale": "en-US",
            "app_permissions": "2248473465835073", "entitlements": [],
            "authorizing_integration_owners": {"0": guild_id}, "context": 0,
            "attachment_size_limit": self.attachment_size_limit,
        }
        if message is not None:
            payload["message"] = message.to_payload()
        inter = EmulatedInteraction(id=interaction_id, token=token, type=kind, data=data, payload=payload,
                                    user_id=member.id, created_at=self.clock.now(), message=message)
        self.interactions[interaction_id] = inter
        self.interactions_by_token[token] = inter
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        if wait:
            await inter.wait_response(timeout)
        return inter
