"""REST routes a bot uses outside interactions: login, command sync, gateway, channel and DM messages."""

from __future__ import annotations

from typing import Any

from . import limits, message_ops, nonces, payloads
from .http_layer import ApiDispatcher
from .messages import StoredMessage
from .recording import RecordedRequest

# The emulator is handed to this part, not imported: server.py assembles the parts.
DiscordEmulator = Any


def register(api: ApiDispatcher, emu: "DiscordEmulator") -> None:
    routes = AppRoutes(emu)
    api.add("GET", "/users/@me", routes.me)
    api.add("GET", "/oauth2/applications/@me", routes.application)
    api.add("GET", "/gateway", routes.gateway)
    api.add("GET", "/gateway/bot", routes.gateway_bot)
    api.add("GET", "/applications/{app_id}/commands", routes.get_commands)
    api.add("PUT", "/applications/{app_id}/commands", routes.put_commands)
    api.add("GET", "/applications/{app_id}/guilds/{guild_id}/commands", routes.get_commands)
    api.add("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", routes.put_commands)
    api.add("POST", "/users/@me/channels", routes.create_dm)
    api.add("GET", "/channels/{channel_id}", routes.get_channel)
    api.add("GET", "/channels/{channel_id}/messages", routes.list_messages)
    api.add("POST", "/channels/{channel_id}/messages", routes.create_message)
    api.add("GET", "/channels/{channel_id}/messages/{message_id}", routes.get_message)
    api.add("PATCH", "/channels/{channel_id}/messages/{message_id}", routes.edit_message)
    api.add("DELETE", "/channels/{channel_id}/messages/{message_id}", routes.delete_message)
    api.add("POST", "/channels/{channel_id}/typing", routes.typing)


def unauthorized() -> limits.DiscordAPIError:
    return limits.DiscordAPIError(401, 0, "401: Unauthorized")


class AppRoutes:
    def __init__(self, emu: "DiscordEmulator") -> None:
        self.emu = emu

    def _auth(self, rec: RecordedRequest) -> None:
        if rec.headers.get("Authorization") != f"Bot {self.emu.token}":
            raise unauthorized()

    def _app(self, params: dict[str, str]) -> None:
        if params.get("app_id") not in (None, self.emu.application_id):
            raise limits.DiscordAPIError(404, 10002, "Unknown Application")
        if params.get("guild_id") is not None and params["guild_id"] not in self.emu.guilds:
            raise limits.DiscordAPIError(404, 10004, "Unknown Guild")

    async def me(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        self._auth(rec)
        return 200, self.emu.bot_user

    async def application(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        self._auth(rec)
        return 200, self.emu.application

    async def gateway(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        return 200, {"url": self.emu.gateway_url}

    async def gateway_bot(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        self._auth(rec)
        return 200, self.emu.gateway.policy.gateway_bot(self.emu.gateway_url, len(self.emu.guilds))

    def _command_store(self, params: dict[str, str]) -> dict[str, dict[str, Any]]:
        if params.get("guild_id"):
            return self.emu._guild_commands.setdefault(params["guild_id"], {})
        return self.emu._global_commands

    async def get_commands(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        self._auth(rec)
        self._app(params)
        return 200, list(self._command_store(params).values())

    async def put_commands(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        """Bulk overwrite: validated like Discord, ids kept for commands that keep their name."""
        self._auth(rec)
        self._app(params)
        commands = rec.json or []
        limits.check_commands(commands)
        store = self._command_store(params)
        synced: dict[str, dict[str, Any]] = {}
        for cmd in commands:
            key = f"{cmd.get('type', 1)}:{cmd['name']}"
            old = store.get(key)
            entry = {"type": 1, "description": "", "options": [], "version": self.emu.snowflakes.next(),
                     "default_member_permissions": None, "dm_permission": True, "nsfw": False, **cmd,
                     "id": old["id"] if old else self.emu.snowflakes.next(),
                     "application_id": self.emu.application_id}
            if entry["default_member_permissions"] is not None:  # Discord stores the bitfield as a string
                entry["default_member_permissions"] = str(int(entry["default_member_permissions"]))
            if params.get("guild_id"):
                entry["guild_id"] = params["guild_id"]
            synced[key] = entry
        store.clear()
        store.update(synced)
        return 200, list(synced.values())

    def _channel(self, rec: RecordedRequest, params: dict[str, str]) -> str:
        self._auth(rec)
        if params["channel_id"] not in self.emu.channels:
            raise limits.DiscordAPIError(404, 10003, "Unknown Channel")
        return params["channel_id"]

    def _message(self, rec: RecordedRequest, params: dict[str, str]) -> StoredMessage:
        channel_id = self._channel(rec, params)
        msg = self.emu.messages.get(params["message_id"])
        if msg is None or msg.deleted or msg.channel_id != channel_id or msg.ephemeral:
            raise limits.unknown_message()
        return msg

    async def create_dm(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        """Open (or find) the direct-message channel with a guild member."""
        self._auth(rec)
        recipient = str((rec.json or {}).get("recipient_id", ""))
        user = self.emu.users.get(recipient)
        if user is None:
            raise limits.DiscordAPIError(400, 50007, "Cannot send messages to this user")
        for channel in self.emu.channels.values():
            if channel.get("type") == 1 and channel["recipients"][0]["id"] == recipient:
                return 200, channel
        channel = payloads.dm_channel(self.emu.snowflakes.next(), user.user)
        self.emu.channels[channel["id"]] = channel
        return 200, channel

    async def get_channel(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        return 200, self.emu.channels[self._channel(rec, params)]

    async def list_messages(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        channel_id = self._channel(rec, params)
        limit = int(rec.query.get("limit", 50))
        after, before = int(rec.query.get("after", 0)), int(rec.query.get("before", 0)) or None
        found = [m for m in self.emu.messages.values()
                 if m.channel_id == channel_id and not m.deleted and not m.ephemeral
                 and int(m.id) > after and (before is None or int(m.id) < before)]
        found.sort(key=lambda m: int(m.id))
        # newest first, like Discord; with ``after`` the page is the messages right after it
        page = found[:limit] if "after" in rec.query and "before" not in rec.query else found[-limit:]
        return 200, [m.to_payload() for m in reversed(page)]

    async def create_message(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        channel_id = self._channel(rec, params)
        body = rec.json or {}
        earlier = nonces.earlier_message(self.emu, body, self.emu.bot_user["id"])
        if earlier is not None:  # enforce_nonce: Discord returns the first copy, creates none
            return 200, earlier.to_payload()
        msg = self.emu._new_message(channel_id)
        msg.nonce = nonces.nonce_of(body)
        message_ops.apply(self.emu, msg, body, rec, creating=True)
        await self.emu._store_message(msg, created=True)
        return 200, msg.to_payload()

    async def typing(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        self._channel(rec, params)
        return 204, None

    async def get_message(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        return 200, self._message(rec, params).to_payload()

    async def edit_message(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        msg = self._message(rec, params)
        if msg.author["id"] != self.emu.bot_user["id"]:
            raise limits.DiscordAPIError(403, 50005, "Cannot edit a message authored by another user")
        message_ops.apply(self.emu, msg, rec.json or {}, rec, creating=False)
        await self.emu._store_message(msg, created=False)
        return 200, msg.to_payload()

    async def delete_message(self, rec: RecordedRequest, params: dict[str, str]) -> tuple[int, Any]:
        msg = self._message(rec, params)
        msg.deleted = True
        await self.emu._store_message(msg, created=False)
        return 204, None
